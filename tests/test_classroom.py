"""A class at once, in real Chromium: two learners through HAProxy with two replicas each stay
on their replica and both get their result (the load test's smoke mode); HAProxy's configuration
as HAProxy itself reads it; the logs the README names."""
import concurrent.futures
import os
import shutil
import subprocess

import pytest
import torch

from conftest import _require_browser
from deploy.classroom import LOG_DIR, haproxy_config, keep_previous, replica_env


def require_haproxy():
    if shutil.which("haproxy") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("HAProxy must be installed under CI (apt-get install haproxy)")
        pytest.skip("HAProxy is not installed (apt-get install haproxy)")


def test_haproxy_config_is_sticky_health_checked_and_logged():
    config = haproxy_config([8601, 8602], 8500)
    assert "cookie PLAYGROUND_REPLICA insert indirect nocache" in config
    assert "option httpchk GET /ready" in config  # a replica gets learners once it has warmed up
    assert "server r1 127.0.0.1:8601 check inter 2s cookie r1" in config
    assert "server r2 127.0.0.1:8602 check inter 2s cookie r2" in config
    assert "timeout tunnel 1h" in config  # WebSockets stay open
    assert "timeout http-request 10s" in config  # a slow client cannot hold a connection open
    assert "log stdout format raw" in config and "option httplog" in config


def test_haproxy_accepts_its_configuration(tmp_path):
    require_haproxy()
    path = tmp_path / "haproxy.cfg"
    path.write_text(haproxy_config([8601, 8602], 8500))
    result = subprocess.run(["haproxy", "-c", "-f", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[WARNING]" not in result.stdout + result.stderr


def test_replicas_get_the_database_and_a_share_of_the_cores(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("PLAYGROUND_DATABASE_URL", raising=False)
    env = replica_env("r2", replicas=2, cpu_cores=5, database="postgresql+psycopg://db/playground")
    assert env["PLAYGROUND_REPLICA"] == "r2" and env["OMP_NUM_THREADS"] == "2"
    assert env["PLAYGROUND_DATABASE_URL"] == "postgresql+psycopg://db/playground"
    assert "PLAYGROUND_DATABASE_URL" not in replica_env("r1", 2, 5)


def test_a_new_start_keeps_the_previous_log(tmp_path):
    log = tmp_path / "haproxy.log"
    assert keep_previous(log) == log and not log.exists()
    log.write_text("yesterday\n")
    keep_previous(log)
    assert not log.exists() and (tmp_path / "haproxy.log.1").read_text() == "yesterday\n"


def test_two_learners_through_haproxy_stay_on_their_replica_and_finish():
    _require_browser()
    require_haproxy()
    from bench import classroom

    # Its own thread: the sync Playwright fixtures of other browser tests hold this thread's loop.
    with concurrent.futures.ThreadPoolExecutor(1) as worker:
        lines = worker.submit(lambda: list(classroom.run(quick=True, device=torch.device("cpu"),
                                                         learners=2, replicas=2))).result()
    learners = [line for line in lines if "learner" in line]
    assert len(learners) == 2
    for line in learners:
        assert line["replica"] in ("r1", "r2") and line["replica_after"] == line["replica"]
        assert 0 < line["value"] < 300 and 0 <= line["wait_seconds"] <= line["value"]
    summary = {line["metric"]: line["value"] for line in lines if "learner" not in line}
    assert summary["p95_click_to_result_seconds"] >= summary["p50_click_to_result_seconds"] > 0
    assert summary["newcomer_home_load_seconds"] > 0
    # The logs the README names: HAProxy's requests, each replica's output (its warm-up included).
    assert '"GET /' in (LOG_DIR / "haproxy.log").read_text()
    for replica in ("r1", "r2"):
        assert "Warm-up finished" in (LOG_DIR / f"{replica}.log").read_text()
