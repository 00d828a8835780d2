"""A class at once, in real Chromium: two learners through HAProxy with two replicas each stay
on their replica and both get their result (the load test's smoke mode)."""
import concurrent.futures
import shutil

import pytest
import torch

from conftest import _require_browser
from deploy.classroom import haproxy_config


def test_haproxy_config_is_sticky_and_health_checked():
    config = haproxy_config([8601, 8602], 8500)
    assert "cookie PLAYGROUND_REPLICA insert indirect nocache" in config
    assert "option httpchk GET /_stcore/health" in config
    assert "server r1 127.0.0.1:8601 check inter 2s cookie r1" in config
    assert "server r2 127.0.0.1:8602 check inter 2s cookie r2" in config
    assert "timeout tunnel 1h" in config  # WebSockets stay open


def test_two_learners_through_haproxy_stay_on_their_replica_and_finish():
    import os

    _require_browser()
    if shutil.which("haproxy") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("HAProxy must be installed under CI (apt-get install haproxy)")
        pytest.skip("HAProxy is not installed (apt-get install haproxy)")
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
