"""The database layer (issue 27): every page's run kept and read back exactly, on SQLite and on a
real PostgreSQL server; workspace keys, isolation, bounds, interrupted runs, purge, export,
concurrency, migrations, the codec's edge cases and the no-Streamlit rule."""
import dataclasses
import datetime as dt
import io
import itertools
import json
import math
import os
import re
import subprocess
import sys
import threading
import zipfile
import zoneinfo
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from sqlalchemy import select, text, update

import db
from db import codec, keys, servers
from db.engine import get_engine, normalize_url
from db.migrate import current, downgrade, head, migrate
from db.schema import Base, RunRow, ServerRow, WorkspaceRow, utcnow

ROOT = Path(__file__).resolve().parent.parent
_names = itertools.count()


# --- fixtures -----------------------------------------------------------------------------------

@pytest.fixture(params=["sqlite", "postgres"])
def url(request, tmp_path):
    """An empty database: SQLite in tmp_path, or a fresh database on the throwaway PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'playground.db'}"
    else:
        yield request.getfixturevalue("postgres_server").create_database(f"test_{next(_names)}")


@pytest.fixture
def database(url):
    database = db.connect(url, heartbeat=False)
    yield database
    database.close()


@pytest.fixture(scope="module")
def page_runs():
    """A real, small run of every page's store (bench.store builds them with core's own code)."""
    from bench.store import page_runs

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return page_runs()
    finally:
        torch.set_num_threads(before)


def same(a, b, path="value"):
    """Equal, of the same types all the way down (arrays, tensors and frames compared exactly)."""
    assert type(a) is type(b), (path, type(a), type(b))
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True, check_index_type=True, check_column_type=True)
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b, check_exact=True, check_index_type=True)
    elif isinstance(a, pd.Index):
        pd.testing.assert_index_equal(a, b, exact=True)
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, path
        assert np.array_equal(a, b, equal_nan=a.dtype.kind in "fcmM"), path
    elif isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b), path
    elif isinstance(a, dict):
        assert list(a) == list(b), path
        for k in a:
            same(a[k], b[k], f"{path}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{path}[{i}]")
    elif dataclasses.is_dataclass(a):
        assert a == b, path
        for f in dataclasses.fields(a):
            same(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}")
    elif a is pd.NaT or a is pd.NA:
        assert b is a, path
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b), path
    else:
        assert a == b, (path, a, b)


def keep(database, ws, store, run, run_no=1, **options) -> db.Kept:
    return database.keep_run(ws, store, run_no, run["settings"], run["history"], run["end"], run["results"],
                             run["link"], run["state_dict"], **options)


def ann_run(page_runs, **changes) -> dict:
    return {**page_runs["ann_runs"], **changes}


# --- every page's run, exactly --------------------------------------------------------------------

def _stores_in_the_app() -> set[str]:
    """Every RunStore key the pages use (read from their source: no Streamlit import here)."""
    found = set()
    for path in itertools.chain(ROOT.glob("views/**/*.py"), ROOT.glob("pages/*.py"), ROOT.glob("ui/*.py")):
        found |= set(re.findall(r"RunStore\(\s*\"(\w+)\"", path.read_text(encoding="utf-8")))
    return found


def test_the_samples_cover_every_store_a_page_keeps(page_runs):
    assert _stores_in_the_app() <= set(page_runs), _stores_in_the_app() - set(page_runs)


def test_every_page_store_round_trips(database, page_runs):
    _, ws = database.create_workspace()
    for store, run in page_runs.items():
        started = database.start_run(ws, store, 1, run["settings"])
        assert [r.status for r in database.load_runs(ws, store)] == ["training"]
        kept = keep(database, ws, store, run)
        assert (kept.run_no, kept.row_id, kept.dropped) == (1, started.row_id, ())  # the training row, replaced
        [back] = database.load_runs(ws, store)
        assert (back.store, back.run_no, back.status, back.link, back.problems) == (store, 1, "kept", run["link"], ())
        for name in ("settings", "history", "end", "results"):
            same(run[name], getattr(back, name), f"{store}.{name}")
        assert back.settings == run["settings"]  # what the pages compare ("settings changed")
        if run["state_dict"] is None:
            assert back.state_dict is None and back.weights_note is None
        elif codec.tensor_bytes(run["state_dict"]) > db.settings.max_weights_bytes():
            assert back.state_dict is None and "above the 20 MB limit" in back.weights_note  # ResNet-18: 43 MB
        else:
            same(run["state_dict"], back.state_dict, f"{store}.state_dict")
            same(run["state_dict"], database.load_weights(ws, store, 1))
    assert set(database.load_all(ws)) == set(page_runs)


HOSTILE = "'; DROP TABLE runs; -- \" \\ \x00 NUL\n\t😀 한국어 \ud83d" + "x" * 10_000


def test_hostile_settings_text_is_read_back_exactly(database, page_runs):
    from core.stocks import StockSettings

    settings = StockSettings(symbol=HOSTILE, features=(HOSTILE, "Open"))
    results = {HOSTILE: [HOSTILE], "$t": "not a tag", "nested": {"$t": "tuple", "v": [1]}}
    _, ws = database.create_workspace()
    database.start_run(ws, "stocks_runs", 1, settings)
    database.keep_run(ws, "stocks_runs", 1, settings, [{"kind": HOSTILE}], None, results, "/stocks?q=%00")
    [back] = database.load_runs(ws, "stocks_runs")
    assert back.settings == settings and back.settings.symbol == HOSTILE
    assert back.history == [{"kind": HOSTILE}] and back.results == results
    assert back.link == "/stocks?q=%00"
    with database.engine.connect() as connection:  # the tables are all still there
        assert connection.execute(select(RunRow.id)).all()


# --- workspaces -------------------------------------------------------------------------------------

def test_keys_are_random_and_strictly_checked():
    made = {keys.new_key() for _ in range(100)}
    assert len(made) == 100 and all(keys.valid_key(k) and len(k) == 43 for k in made)
    for bad in (None, 123, b"x" * 43, "", "short", "a" * 10_000, "a" * 65, "ü" * 43, "' OR 1=1 --" + "a" * 30,
                "a" * 42 + "\n", "a" * 42 + "=", " " + "a" * 42, "a" * 20 + "\x00" + "a" * 22):
        assert not keys.valid_key(bad), bad
    key = keys.new_key()
    assert keys.key_hash(key) == keys.key_hash(key) != keys.key_hash(keys.new_key()) and len(keys.key_hash(key)) == 64


def test_forged_garbled_or_huge_keys_open_a_fresh_workspace(database, page_runs):
    key, ws = database.create_workspace()
    keep(database, ws, "ann_runs", page_runs["ann_runs"])
    forged = [None, "", "a" * 10_000, "garbled!" * 6, key[:-1] + ("A" if key[-1] != "A" else "B"), key + "x",
              keys.new_key(), "'; DROP TABLE workspaces; --", key.upper() if key.upper() != key else key.lower()]
    for bad in forged:
        assert database.find_workspace(bad) is None
        new_key, fresh, created = database.open_workspace(bad)
        assert created and new_key != key and keys.valid_key(new_key) and fresh.id != ws.id
        assert database.load_runs(fresh, "ann_runs") == []
    again_key, again, created = database.open_workspace(key)
    assert (again_key, again.id, created) == (key, ws.id, False) and len(database.load_runs(ws, "ann_runs")) == 1
    with database.engine.connect() as connection:  # the key itself is nowhere in the database
        hashes = connection.execute(select(WorkspaceRow.key_hash)).scalars().all()
    assert keys.key_hash(key) in hashes and key not in hashes


def test_two_workspaces_never_see_each_others_runs(database, page_runs):
    (key_a, a), (_, b) = database.create_workspace(), database.create_workspace()
    run = page_runs["ann_runs"]
    keep(database, a, "ann_runs", run, 1)
    keep(database, a, "ann_runs", run, 2)
    keep(database, b, "ann_runs", run, 1)
    assert [r.run_no for r in database.load_runs(a, "ann_runs")] == [1, 2]
    assert [r.run_no for r in database.load_runs(b, "ann_runs")] == [1]
    assert database.remove_runs(b, "ann_runs", [1, 2]) == 1 and len(database.load_runs(a, "ann_runs")) == 2
    database.save_progress(a, "lesson", "ann_first", "opened")
    assert database.load_progress(b) == []
    assert database.delete_workspace(key_a) and database.find_workspace(key_a) is None
    assert database.load_runs(a, "ann_runs") == [] and database.load_progress(a) == []
    assert not database.delete_workspace(key_a)
    with database.engine.connect() as connection:
        assert connection.execute(select(RunRow.workspace_id)).scalars().all() == []  # b's was removed above


def test_remove_and_clear_and_next_run_no(database, page_runs):
    _, ws = database.create_workspace()
    for n in (1, 2, 3):
        keep(database, ws, "cnn_runs", page_runs["cnn_runs"], n)
    keep(database, ws, "rnn_runs", page_runs["rnn_runs"], 1)
    assert database.next_run_no(ws, "cnn_runs") == 4 and database.next_run_no(ws, "ann_runs") == 1
    assert database.remove_runs(ws, "cnn_runs", [2]) == 1
    assert [r.run_no for r in database.load_runs(ws, "cnn_runs")] == [1, 3]
    assert database.clear(ws, "cnn_runs") == 2 and database.load_runs(ws, "cnn_runs") == []
    assert len(database.load_runs(ws, "rnn_runs")) == 1


def test_lesson_progress_and_verdicts(database):
    from core import lessons

    _, ws = database.create_workspace()
    verdict = lessons.Verdict(True, {"run": "#2", "accuracy": 97.5}, ())
    database.save_progress(ws, "challenge", "ann_97", "met", verdict)
    database.save_progress(ws, "lesson", "ann_first", "opened")
    database.save_progress(ws, "lesson", "ann_first", "dismissed", {"at": dt.date(2025, 3, 1)})
    found = database.load_progress(ws)
    assert [(p.kind, p.item, p.status) for p in found] == [("challenge", "ann_97", "met"),
                                                           ("lesson", "ann_first", "dismissed")]
    assert found[0].detail == verdict and found[1].detail == {"at": dt.date(2025, 3, 1)}
    assert [p.item for p in database.load_progress(ws, "lesson")] == ["ann_first"]
    with pytest.raises(ValueError):
        database.save_progress(ws, "page", "x", "y")


# --- bounds -------------------------------------------------------------------------------------------

def test_the_store_limit_drops_the_oldest_and_says_so(database, page_runs):
    _, ws = database.create_workspace()
    run = page_runs["perceptron_sine_runs"]
    dropped = [keep(database, ws, "perceptron_sine_runs", run, n, limit=3).dropped for n in range(1, 6)]
    assert dropped[:3] == [(), (), ()]
    assert dropped[3:] == [(db.Dropped("perceptron_sine_runs", 1, "limit"),),
                           (db.Dropped("perceptron_sine_runs", 2, "limit"),)]
    assert [r.run_no for r in database.load_runs(ws, "perceptron_sine_runs")] == [3, 4, 5]


def test_the_workspace_quota_drops_the_oldest_of_any_store(database, page_runs):
    _, ws = database.create_workspace()
    ann, rnn = page_runs["ann_runs"], page_runs["rnn_runs"]
    first = keep(database, ws, "ann_runs", ann, 1)
    second = keep(database, ws, "rnn_runs", rnn, 1)
    quota = first.size_bytes + second.size_bytes + 1000  # room for these two, not for a third ANN run
    third = keep(database, ws, "ann_runs", ann, 2, quota_bytes=quota)
    assert third.dropped == (db.Dropped("ann_runs", 1, "quota"),) and third.weights_stored
    assert [r.run_no for r in database.load_runs(ws, "ann_runs")] == [2]
    assert database.usage(ws).bytes == second.size_bytes + third.size_bytes <= quota
    alone = keep(database, ws, "ann_runs", ann, 3, quota_bytes=first.size_bytes // 2)  # too big on its own
    assert not alone.weights_stored and "quota" in alone.weights_note
    assert alone.dropped == (db.Dropped("rnn_runs", 1, "quota"), db.Dropped("ann_runs", 2, "quota"))  # oldest first
    [back] = database.load_runs(ws, "ann_runs")
    assert back.state_dict is None and "quota" in back.weights_note


def test_oversize_weights_are_not_stored_and_the_run_says_so(database, page_runs, monkeypatch):
    _, ws = database.create_workspace()
    run = page_runs["ann_runs"]
    kept = keep(database, ws, "ann_runs", run, 1, max_weights_bytes=1000)
    assert not kept.weights_stored and "above the 0 MB limit" in kept.weights_note
    monkeypatch.setenv("PLAYGROUND_MAX_WEIGHTS_MB", "0.01")
    kept = keep(database, ws, "ann_runs", run, 2)
    assert not kept.weights_stored
    [one, two] = database.load_runs(ws, "ann_runs")
    assert one.state_dict is None and two.state_dict is None and "limit" in one.weights_note
    same(run["history"], two.history)  # the rest of the run is all there


# --- interrupted runs -----------------------------------------------------------------------------------

def test_a_run_whose_thread_ended_without_keeping_comes_back_interrupted(database, page_runs):
    _, ws = database.create_workspace()
    settings = page_runs["cnn_runs"]["settings"]
    release, started = threading.Event(), []
    worker = threading.Thread(target=lambda: (started.append(database.start_run(ws, "cnn_runs", 1, settings,
                                                                                "/cnn?cnn_epochs=2")),
                                              release.wait(30)))
    worker.start()
    while not started:
        release.wait(0.01)
    assert [r.status for r in database.load_runs(ws, "cnn_runs")] == ["training"]  # its thread still trains
    release.set()
    worker.join()
    [back] = database.load_runs(ws, "cnn_runs")
    assert back.interrupted and back.settings == settings and back.history == [] and back.end is None
    assert back.link == "/cnn?cnn_epochs=2" and back.results == {}  # enough for a one-click rerun
    with database.engine.connect() as connection:
        assert connection.execute(select(RunRow.status)).scalar() == "interrupted"
    kept = keep(database, ws, "cnn_runs", page_runs["cnn_runs"], 1)  # a late keep still replaces it
    assert kept.row_id == started[0].row_id and database.load_runs(ws, "cnn_runs")[0].status == "kept"


def test_a_run_of_a_dead_server_comes_back_interrupted(database, page_runs):
    _, ws = database.create_workspace()
    settings = page_runs["rnn_runs"]["settings"]
    owners = {1: "gone-server", 2: "stale-server", 3: "alive-server", 4: "dead-pid-here", 5: "my-pid-before"}
    for run_no in owners:
        database.start_run(ws, "rnn_runs", run_no, settings)
    now = utcnow()
    with database.engine.begin() as connection:
        for run_no, owner in owners.items():
            connection.execute(update(RunRow).where(RunRow.run_no == run_no).values(owner=owner))
        connection.execute(ServerRow.__table__.insert(), [
            {"instance": "stale-server", "host": "elsewhere", "pid": 1, "started": now,
             "heartbeat": now - dt.timedelta(seconds=servers.STALE_S + 5)},
            {"instance": "alive-server", "host": "elsewhere", "pid": 1, "started": now, "heartbeat": now},
            {"instance": "dead-pid-here", "host": servers.HOST, "pid": 2 ** 22 + 7, "started": now, "heartbeat": now},
            {"instance": "my-pid-before", "host": servers.HOST, "pid": os.getpid(), "started": now,
             "heartbeat": now}])  # a container restarted within the heartbeat's grace: pid 1 again
    statuses = {r.run_no: r.status for r in database.load_runs(ws, "rnn_runs")}
    assert statuses == {1: "interrupted", 2: "interrupted", 3: "training", 4: "interrupted", 5: "interrupted"}
    assert database.mark_interrupted() == 0  # nothing else is stale


def test_discarded_runs_leave_nothing_and_clear_spares_a_live_training(database, page_runs):
    _, ws = database.create_workspace()
    settings = page_runs["ann_runs"]["settings"]
    started = database.start_run(ws, "ann_runs", 1, settings)
    database.discard_run(started.row_id)
    assert database.load_runs(ws, "ann_runs") == []
    live = database.start_run(ws, "ann_runs", 1, settings)  # this thread is alive: it is training
    keep(database, ws, "ann_runs", page_runs["ann_runs"], 2)
    assert database.clear(ws, "ann_runs") == 1
    assert [(r.run_no, r.status) for r in database.load_runs(ws, "ann_runs")] == [(1, "training")]
    database.discard_run(live.row_id)


def test_a_taken_run_number_moves_to_the_next_free_one(database, page_runs):
    """Two tabs of one workspace both think their next run is #1."""
    _, ws = database.create_workspace()
    run = page_runs["cnn_runs"]
    first, second = (database.start_run(ws, "cnn_runs", 1, run["settings"]) for _ in range(2))
    assert (first.run_no, second.run_no) == (1, 2)
    assert keep(database, ws, "cnn_runs", run, 1).run_no == 1
    assert keep(database, ws, "cnn_runs", run, 1).run_no == 3  # #1 is kept: not overwritten
    assert keep(database, ws, "cnn_runs", run, 2).row_id == second.row_id


def test_the_heartbeat_marks_this_server_alive_until_it_stops(url):
    database = db.connect(url)  # starts the heartbeat
    try:
        with database.engine.connect() as connection:
            row = connection.execute(select(ServerRow).where(ServerRow.instance == servers.instance_id())).one()
        assert row.host == servers.HOST and utcnow() - row.heartbeat.replace(tzinfo=dt.UTC) < dt.timedelta(minutes=1)
    finally:
        database.close()
    with get_engine(url).connect() as connection:
        assert connection.execute(select(ServerRow.instance)).all() == []


# --- purge and export --------------------------------------------------------------------------------

def test_purge_drops_idle_workspaces_only(database, page_runs, monkeypatch):
    (idle_key, idle), (busy_key, busy) = database.create_workspace(), database.create_workspace()
    keep(database, ws=idle, store="ann_runs", run=page_runs["ann_runs"])
    keep(database, ws=busy, store="ann_runs", run=page_runs["ann_runs"])
    database.save_progress(idle, "lesson", "x", "opened")
    with database.engine.begin() as connection:
        connection.execute(update(WorkspaceRow).where(WorkspaceRow.id == idle.id)
                           .values(last_seen=utcnow() - dt.timedelta(days=31)))
    assert database.purge_idle(days=40) == 0
    assert database.purge_idle() == 1  # the default: 30 days
    assert database.find_workspace(idle_key) is None and database.find_workspace(busy_key) is not None
    assert database.load_runs(idle, "ann_runs") == [] and database.load_progress(idle) == []
    assert len(database.load_runs(busy, "ann_runs")) == 1
    monkeypatch.setenv("PLAYGROUND_RETENTION_DAYS", "0")
    assert database.purge_idle() == 1


def test_export_is_a_zip_of_json_and_weights(database, page_runs):
    key, ws = database.create_workspace()
    for store in ("ann_runs", "perceptron_mlp_runs", "stocks_runs"):
        keep(database, ws, store, page_runs[store])
    database.start_run(ws, "cnn_runs", 1, page_runs["cnn_runs"]["settings"])
    database.save_progress(ws, "challenge", "ann_97", "open", {"closest": "#1"})
    assert database.export_workspace(keys.new_key()) is None and database.export_workspace("x" * 10_000) is None
    archive = zipfile.ZipFile(io.BytesIO(database.export_workspace(key)))

    def strict(constant):
        raise ValueError(f"not JSON: {constant}")

    document = json.loads(archive.read("workspace.json"), parse_constant=strict)
    assert "README.txt" in archive.namelist()
    found = {(r["store"], r["run"]): r for r in document["runs"]}
    assert set(found) == {("ann_runs", 1), ("perceptron_mlp_runs", 1), ("stocks_runs", 1), ("cnn_runs", 1)}
    assert found[("cnn_runs", 1)]["status"] == "training"
    assert document["progress"] == [{"kind": "challenge", "item": "ann_97", "status": "open",
                                     "detail": {"closest": "#1"}, "updated": document["progress"][0]["updated"]}]
    for store in ("ann_runs", "stocks_runs"):
        weights = torch.load(io.BytesIO(archive.read(found[(store, 1)]["weights"])), weights_only=True)
        same(page_runs[store]["state_dict"], weights)
    arrays = torch.load(io.BytesIO(archive.read(found[("perceptron_mlp_runs", 1)]["arrays"])), weights_only=True)
    back = codec.decode(json.dumps(found[("perceptron_mlp_runs", 1)]["history"]), arrays)
    same(page_runs["perceptron_mlp_runs"]["history"], back)


# --- concurrency -----------------------------------------------------------------------------------------

def _together(n: int, work) -> list:
    """Run work(i) in n threads released at the same moment; their results (or exceptions)."""
    barrier, results = threading.Barrier(n), [None] * n

    def worker(i):
        barrier.wait()
        try:
            results[i] = work(i)
        except Exception as error:
            results[i] = error

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_eight_learners_keep_runs_at_the_same_moment(database, page_runs):
    run = page_runs["ann_runs"]
    spaces = [database.create_workspace()[1] for _ in range(8)]

    def learner(i):
        for n in (1, 2, 3):
            started = database.start_run(spaces[i], "ann_runs", n, run["settings"])
            keep(database, spaces[i], "ann_runs", run, started.run_no)
        return [r.run_no for r in database.load_runs(spaces[i], "ann_runs")]

    assert _together(8, learner) == [[1, 2, 3]] * 8


def test_eight_tabs_of_one_workspace_keep_at_the_same_moment(database, page_runs):
    run = page_runs["rnn_runs"]
    _, ws = database.create_workspace()

    def tab(i):
        started = database.start_run(ws, "rnn_runs", 1, run["settings"])  # every tab thinks it is #1
        return keep(database, ws, "rnn_runs", run, started.run_no, limit=5)

    kept = _together(8, tab)
    assert all(isinstance(k, db.Kept) for k in kept), kept
    assert sorted(k.run_no for k in kept) == list(range(1, 9))
    left = [r.run_no for r in database.load_runs(ws, "rnn_runs")]
    dropped = [d.run_no for k in kept for d in k.dropped]
    assert len(left) == 5 and sorted(left + dropped) == list(range(1, 9))  # the keeps' order decides which


# --- migrations ----------------------------------------------------------------------------------------------

def test_migrations_upgrade_downgrade_and_match_the_models(url):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    assert current(url) is None
    migrate(url)
    assert current(url) == head() == "0002"
    with get_engine(url).connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)
    assert diff == []
    downgrade(url, "-1")  # one step down: the classes go, the workspaces stay
    assert current(url) == "0001"
    with get_engine(url).connect() as connection:
        tables = connection.dialect.get_table_names(connection)
        assert "runs" in tables and "classes" not in tables
    downgrade(url, "base")
    assert current(url) is None
    with get_engine(url).connect() as connection:
        assert "runs" not in connection.dialect.get_table_names(connection)
    migrate(url)
    assert current(url) == head()
    database = db.connect(url, heartbeat=False)
    try:
        _, ws = database.create_workspace()
        assert database.load_runs(ws, "ann_runs") == []
    finally:
        database.close()


def test_processes_starting_together_migrate_once(url):
    code = "import sys; from db.migrate import migrate; migrate(sys.argv[1])"
    started = [subprocess.Popen([sys.executable, "-c", code, url], cwd=ROOT, stderr=subprocess.PIPE, text=True)
               for _ in range(3)]
    for process in started:
        assert process.wait(timeout=120) == 0, process.stderr.read()
    assert current(url) == head()


# --- configuration ----------------------------------------------------------------------------------------

def test_urls_and_settings(monkeypatch, tmp_path):
    from core import slots

    assert normalize_url("postgres://u:p@h:5/d").drivername == "postgresql+psycopg"
    assert normalize_url("postgresql://u@h/d").drivername == "postgresql+psycopg"
    assert normalize_url("postgresql+psycopg://u@h/d").drivername == "postgresql+psycopg"
    assert normalize_url(str(tmp_path / "x.db")).database == str(tmp_path / "x.db")
    monkeypatch.setattr(slots, "SETTINGS_FILE", tmp_path / "missing.toml")
    for name in ("PLAYGROUND_DATABASE_URL", "PLAYGROUND_DATA_DIR", "PLAYGROUND_QUOTA_MB", "PLAYGROUND_RETENTION_DAYS"):
        monkeypatch.delenv(name, raising=False)
    assert db.settings.database_url() == f"sqlite:///{ROOT / 'data' / '.workspaces' / 'playground.db'}"
    assert db.settings.quota_bytes() == 200 * 2 ** 20 and db.settings.retention_days() == 30
    file = tmp_path / "playground.toml"
    file.write_text('[database]\nurl = "postgresql://teacher@db/class"\n[workspaces]\nquota_mb = 50\n')
    monkeypatch.setattr(slots, "SETTINGS_FILE", file)
    assert db.settings.database_url() == "postgresql://teacher@db/class" and db.settings.quota_bytes() == 50 * 2 ** 20
    monkeypatch.setenv("PLAYGROUND_DATABASE_URL", "sqlite:////srv/x.db")
    monkeypatch.setenv("PLAYGROUND_QUOTA_MB", "not a number")
    assert db.settings.database_url() == "sqlite:////srv/x.db" and db.settings.quota_bytes() == 200 * 2 ** 20
    monkeypatch.delenv("PLAYGROUND_DATABASE_URL")
    monkeypatch.setattr(slots, "SETTINGS_FILE", tmp_path / "missing.toml")
    monkeypatch.setenv("PLAYGROUND_DATA_DIR", str(tmp_path / "work"))
    assert db.settings.database_url() == f"sqlite:///{tmp_path / 'work' / 'playground.db'}"


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path):
    database = db.connect(f"sqlite:///{tmp_path / 'nested' / 'playground.db'}", heartbeat=False)
    try:
        with database.engine.connect() as connection:
            pragma = {name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                      for name in ("journal_mode", "busy_timeout", "foreign_keys")}
        assert pragma == {"journal_mode": "wal", "busy_timeout": 10_000, "foreign_keys": 1}
    finally:
        database.close()


def test_the_database_layer_never_imports_streamlit_or_ui():
    code = ("import sys, db, db.export, db.progress, db.migrate; db.connect(sys.argv[1], heartbeat=False); "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('streamlit', 'ui', 'views')); "
            "print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code, "sqlite://"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


# --- the codec ---------------------------------------------------------------------------------------------

def round_trip(value):
    arrays = {}
    text_ = codec.encode(value, arrays)
    json.loads(text_, parse_constant=lambda c: pytest.fail(f"bare {c} in the JSON"))
    assert text_.isascii()
    problems = []
    back = codec.decode(text_, codec.unpack_tensors(codec.pack_tensors(arrays)) if arrays else {}, problems)
    assert problems == []
    return back, arrays


def test_the_codec_keeps_every_kind_of_value():
    from core.words import Words

    seoul = zoneinfo.ZoneInfo("Asia/Seoul")
    values = {
        "floats": [math.nan, math.inf, -math.inf, -0.0, 1e-310, 0.1], "ints": [0, -1, 2 ** 80], "bools": [True, False],
        "text": HOSTILE, "none": None, "tuple": (1, (2, "3")), "empty": ((), [], {}),
        "words": Words("engine.completed", {"epochs": 3, "why": Words("x.y", {})}),
        "non_str_keys": {1: "a", (2, 3): "b", None: "c", "$t": "d"}, "set": {1, 2}, "frozenset": frozenset({"a"}),
        "bytes": b"\x00\xff", "complex": 1 + 2j,
        "datetime": dt.datetime(2024, 1, 2, 3, 4, 5, 6), "aware": dt.datetime(2024, 1, 2, tzinfo=dt.UTC),
        "zoned": dt.datetime(2024, 1, 2, 9, tzinfo=seoul), "date": dt.date(2024, 2, 29), "time": dt.time(1, 2, 3),
        "timedelta": dt.timedelta(days=-1, seconds=5, microseconds=7),
        "np_scalars": [np.float32(0.1), np.float64(math.nan), np.int8(-3), np.uint64(2 ** 63), np.bool_(True),
                       np.str_("s"), np.datetime64("2024-01-02T03:04", "us"), np.complex64(1 - 1j),
                       np.float16(1.5), np.timedelta64(3, "D")],
        "arrays": [np.arange(10, dtype=np.int16), np.array([[1.5, np.nan]], dtype=np.float32),
                   np.zeros((0, 3)), np.array(["a", "bc"]), np.array([1, "x", None], dtype=object),
                   np.arange(5000, dtype=np.float64).reshape(50, 100)[:, ::3],  # large and strided: a blob
                   np.array(["2024-01-01", "NaT"], dtype="datetime64[s]"), np.ones(3, dtype=">i4"),
                   np.random.default_rng(0).random(2000).astype(np.float32) > 0.5],
        "tensors": [torch.arange(6).reshape(2, 3), torch.randn(50, 50), torch.randn(100, 100)[::2, 1:],
                    torch.ones(3, dtype=torch.bfloat16), torch.tensor(3.5), torch.zeros(0)],
        "torch": [torch.device("cpu"), torch.float16],
        "pandas": [pd.Timestamp("2024-01-02 03:04:05.123456789"), pd.Timestamp("2024-01-02", tz="Asia/Seoul"),
                   pd.Timedelta("1 day 2 ns"), pd.NaT,
                   pd.Series([1.0, None, 3.0], index=["a", "b", "c"], name="s"),
                   pd.Index([3, 1, 2], name="i"), pd.date_range("2024-01-01", periods=3, tz="UTC"),
                   pd.DataFrame({"n": [1, 2, 3], "f": [0.5, np.nan, 1e300], "s": ["x", None, "z"],
                                 "c": pd.Categorical(["a", "b", "a"], categories=["b", "a"], ordered=True),
                                 "d": pd.to_datetime(["2024-01-01", None, "2024-03-01"]).as_unit("us"),
                                 "tz": pd.date_range("2024-01-01", periods=3, tz="Asia/Seoul"),
                                 "i": pd.array([1, None, 3], dtype="Int64"), "o": [{"a": 1}, [2], (3,)]},
                                index=pd.Index(["p", "q", "r"], name="row")),
                   pd.DataFrame(np.arange(6000.0).reshape(1000, 6), columns=list("abcdef")),
                   pd.DataFrame([[1, 2]], columns=pd.MultiIndex.from_tuples([("a", 1), ("a", 2)])),
                   pd.DataFrame([[1, 2]], columns=["same", "same"]), pd.DataFrame()],
    }
    back, arrays = round_trip(values)
    same(values, back)
    assert back["zoned"].tzinfo == seoul and back["pandas"][1].tz is not None
    assert len(arrays) >= 4  # the large array, tensors and frame columns went to the blob


def test_encode_names_where_an_unkeepable_value_sits():
    from core.stocks import StockSettings

    with pytest.raises(TypeError, match=r"results\['curves'\]\[2\]\['x'\].*function"):
        codec.encode({"curves": [1, 2, {"x": lambda: 0}]}, {}, "results")
    with pytest.raises(TypeError, match=r"settings\.symbol.*object"):
        codec.encode(dataclasses.replace(StockSettings(), symbol=object()), {}, "settings")

    @dataclasses.dataclass
    class Local:
        a: int = 1

    with pytest.raises(TypeError, match="Local.*not a class the app can rebuild"):
        codec.encode(Local(), {}, "settings")
    with pytest.raises(TypeError, match="sparse"):
        codec.encode(torch.eye(3).to_sparse(), {}, "x")


def test_an_old_row_never_crashes_a_newer_app():
    from core.ann import AnnSettings

    old = {"$t": "dataclass", "cls": "core.ann:AnnSettings",
           "v": {"hidden": {"$t": "tuple", "v": [64]}, "lr": 0.1, "a_removed_field": 1}}  # others: added since
    problems = []
    back = codec.decode(json.dumps(old), {}, problems)
    assert back == AnnSettings(hidden=(64,), lr=0.1) and "a_removed_field" in problems[0]
    renamed = {"$t": "dataclass", "cls": "core.ann:OldSettings", "v": {"lr": 0.1}}
    problems = []
    assert codec.decode(json.dumps(renamed), {}, problems) == {"lr": 0.1} and "no longer exists" in problems[0]
    for forbidden in ("os:system", "builtins:eval", "subprocess:Popen"):
        problems = []
        assert codec.decode(json.dumps({"$t": "dataclass", "cls": forbidden, "v": {}}), {}, problems) == {}
        assert "not a class the app rebuilds" in problems[0]
    problems = []
    assert codec.decode('{"$t": "from_the_future", "v": 1}', {}, problems) is None and "newer app" in problems[0]
    problems = []
    assert codec.decode('{"$t": "tensor", "blob": "a9"}', {}, problems) is None and "missing" in problems[0]


def test_a_damaged_row_reads_with_problems_not_an_exception(database, page_runs):
    _, ws = database.create_workspace()
    keep(database, ws, "perceptron_mlp_runs", page_runs["perceptron_mlp_runs"])
    with database.engine.begin() as connection:
        connection.execute(update(RunRow).values(results="{not json", arrays=b"garbage"))
    [back] = database.load_runs(ws, "perceptron_mlp_runs")
    assert back.results == {} and back.settings == page_runs["perceptron_mlp_runs"]["settings"]
    assert any(p.startswith("results") for p in back.problems) and any(p.startswith("arrays") for p in back.problems)


def test_weights_are_torch_save_bytes_loaded_with_weights_only():
    state = {"plain": {"w": torch.randn(3, 4), "steps": torch.tensor(5)}, "b": torch.arange(10.0)[2:5]}
    data = codec.pack_tensors(state)
    assert codec.tensor_bytes(state) == 48 + 8 + 12
    same(state, codec.unpack_tensors(data))
    with pytest.raises(TypeError, match=r"weights\['x'\]"):
        codec.pack_tensors({"x": object()})
    import pickle

    evil = pickle.dumps(subprocess.Popen, protocol=2)  # a pickle that would import a class: weights_only refuses it
    with pytest.raises(Exception, match="(?i)weights.only|unsupported|global"):
        codec.unpack_tensors(evil)
    with get_engine("sqlite://").connect() as connection:  # the in-memory URL works too (no file lock)
        assert connection.execute(text("SELECT 1")).scalar() == 1
