"""A teacher's classes in the database (issue 28), on SQLite and on a real PostgreSQL server: join
codes, joining with every refusal, hostile display names, the roster, removal with the data,
assignments, what the dashboard reads (only the class's members, in one query), the shared
sign-in lock, the grade exports and the migration."""
import contextlib
import datetime as dt
import io
import itertools
import json
import math
import threading
import unicodedata
import zoneinfo

import pandas as pd
import pytest
import torch
from sqlalchemy import event, insert, text

import db
from db import classes, grades
from db.classes import ALPHABET, CODE_LENGTH, JoinError
from db.engine import get_engine
from db.migrate import current, downgrade, head, migrate
from db.schema import Base, SignInFailureRow, utcnow

_names = itertools.count()
KST = zoneinfo.ZoneInfo("Asia/Seoul")


@pytest.fixture(params=["sqlite", "postgres"])
def url(request, tmp_path):
    """An empty database: SQLite in tmp_path, or a fresh database on the throwaway PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'playground.db'}"
    else:
        yield request.getfixturevalue("postgres_server").create_database(f"classes_{next(_names)}")


@pytest.fixture
def database(url):
    database = db.connect(url, heartbeat=False)
    yield database
    database.close()


@contextlib.contextmanager
def statements(engine):
    """The SQL statements `engine` runs inside the block (BEGIN/COMMIT left out)."""
    seen: list[str] = []

    def record(_connection, _cursor, statement, *_):
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "PRAGMA")):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def reason(call) -> str:
    with pytest.raises(JoinError) as caught:
        call()
    assert caught.value.reason in classes.REASONS
    return caught.value.reason


def learner(database):
    return database.create_workspace()[1]


def keep(database, ws, store, accuracy, run_no=1):
    return database.keep_run(ws, store, run_no, {"lr": 0.1, "store": store}, [{"kind": "epoch", "loss": 0.5}],
                             {"kind": "end", "reason": "done", "message": "ok"}, {"accuracy": accuracy},
                             f"http://localhost:8501/ann?ann_lr={accuracy}", {"w": torch.full((3,), accuracy)})


# --- classes and codes ---------------------------------------------------------------------------

def test_codes_use_the_look_alike_free_alphabet_and_are_found_in_any_form(database):
    assert not set(ALPHABET) & set("0O1IL") and len(set(ALPHABET)) == len(ALPHABET) == 31
    made = [database.create_class(f"Class {i}") for i in range(12)]
    assert len({c.code for c in made}) == 12
    for info in made:
        assert len(info.code) == CODE_LENGTH and set(info.code) <= set(ALPHABET)
        assert info.created.tzinfo is not None and info.closes is None
    info = made[0]
    code = info.code
    full_width = code.translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)})  # "ＡＢ３…" from an IME
    for typed in (code, code.lower(), info.display_code, f"  {code[:3]} {code[3:]} ",
                  f"{code[:2]}-{code[2:4]}-{code[4:]}", f"\t{code.lower()}\n", f"{code[:3]}\u2013{code[3:]}",
                  full_width):
        assert database.find_class(typed) == info, typed
    assert database.get_class(info.id) == info and database.get_class(str(info.id)) == info
    assert [c.id for c in database.classes()] == [c.id for c in made]


@pytest.mark.parametrize("garbled", ["", "ABC", "ABCDEFG", "ABC!23", "O0O0O0", "I1LI1L", "ABC\x00EF",
                                     "A" * 10_000, "-" * 10_000, " " * 10_000 + "ABCDEF", "ABCDEF' OR '1'='1",
                                     None, 123456, b"ABCDEF", ["ABCDEF"], "ßßßßßß"])
def test_garbled_codes_find_nothing_without_a_query(database, garbled):
    with statements(database.engine) as seen:
        assert database.find_class(garbled) is None
    assert seen == []
    _, ws = database.create_workspace()
    assert reason(lambda: database.join_class(ws, garbled, "Kim")) == "unknown_code"


def test_a_code_collision_draws_again(database, monkeypatch):
    first = database.create_class("First")
    drawn = iter([first.code, first.code, "ABCDEF"])
    monkeypatch.setattr(classes, "new_code", lambda: next(drawn))
    assert database.create_class("Second").code == "ABCDEF"
    assert database.find_class("abc-def").name == "Second"


def test_class_names_closing_and_deleting(database):
    info = database.create_class("  3-A  Monday 월요일 ")
    assert info.name == "3-A  Monday 월요일"
    for bad in ("", "   ", "x" * 81, "a\nb", "a\x00b", None, 3):
        with pytest.raises((ValueError, TypeError)):
            database.create_class(bad)
    assert database.create_class("x" * 80).name == "x" * 80
    with pytest.raises(ValueError):
        database.create_class("Naive", dt.datetime(2030, 1, 1))  # no time zone: refused, never guessed
    closes = dt.datetime(2030, 3, 2, 9, 0, tzinfo=KST)
    closed = database.close_class(info.id, closes)
    assert closed.closes == closes and closed.closes.tzinfo == dt.UTC and not closed.closed()
    assert closed.closed(now=closes) and database.get_class(info.id).closes == closes
    assert database.close_class(info.id, None).closes is None
    assert database.close_class(999_999, closes) is None
    ws = learner(database)
    database.join_class(ws, info.code, "Kim")
    database.set_assignments(info.id, [("xor_hidden", None)])
    assert database.delete_class(info.id) and not database.delete_class(info.id)
    assert database.get_class(info.id) is None and database.find_class(info.code) is None
    assert database.memberships(ws) == [] and database.assignments(info.id) == []
    assert database.touch(ws).id == ws.id  # the learner's workspace stays
    for garbage in (None, "x", -1, 0, 2**40, 1.5, True, "1; DROP TABLE classes"):
        assert database.get_class(garbage) is None and database.roster(garbage) == []


# --- joining -------------------------------------------------------------------------------------------

def test_join_refuses_with_each_reason(database):
    info, other = database.create_class("A"), database.create_class("B")
    kim, lee = learner(database), learner(database)
    database.join_class(kim, info.code, "Kim Chul")
    assert reason(lambda: database.join_class(lee, "ABCDEF" if info.code != "ABCDEF" else "ABCDEG",
                                              "Lee")) == "unknown_code"
    for empty in ("", "   ", "\u200b\u200b", "\u3000", None):
        assert reason(lambda n=empty: database.join_class(lee, info.code, n)) == "name_empty", repr(empty)
    for long in ("x" * 41, "가" * 41, "x" * 10_000, " " + "y" * 200):
        assert reason(lambda n=long: database.join_class(lee, info.code, n)) == "name_long"
    for invalid in ("Lee\x00", "Lee\nKim", "Lee\tKim", "مرحبا\u202eabc", "a\u2066b", "a\u2028b", "\x1b[31mred",
                    "a\ud800", 42):
        assert reason(lambda n=invalid: database.join_class(lee, info.code, n)) == "name_invalid", repr(invalid)
    for taken in ("Kim Chul", "kim chul", "KIM CHUL", " Kim  Chul ", "Kim \u200bChul"):
        assert reason(lambda n=taken: database.join_class(lee, info.code, n)) == "name_taken", repr(taken)
    assert database.join_class(lee, other.code, "Kim Chul").display_name == "Kim Chul"  # another class: free
    database.close_class(info.id, utcnow() - dt.timedelta(seconds=1))
    assert reason(lambda: database.join_class(lee, info.code, "Lee")) == "closed"
    assert reason(lambda: database.join_class(lee, info.code, "\x00")) == "closed"  # closed is said first
    assert [m.display_name for m in database.roster(info.id)] == ["Kim Chul"]
    with pytest.raises(db.UnknownWorkspace):
        database.join_class(987_654, other.code, "Ghost")


HOSTILE_KEPT = ["<script>alert('x')</script>", "<b>bold</b> &amp; \"q\"", "Robert'); DROP TABLE members;--",
                "김철수", "مرحبا", "שלום abc", "😀🎉 Emoji",
                "👨‍👩‍👧‍👦 family", "x" * 40, "가" * 40, "=HYPERLINK(\"x\")",
                "Zoë", "{name} {{}} %s"]


def test_hostile_names_are_kept_exactly_or_refused(database):
    info = database.create_class("Hostile")
    for name in HOSTILE_KEPT:
        ws = learner(database)
        member = database.join_class(ws, info.code, name)
        assert member.display_name == name, name
    assert sorted(m.display_name for m in database.roster(info.id)) == sorted(HOSTILE_KEPT)
    decomposed = unicodedata.normalize("NFD", "박영희")  # typed on a keyboard that sends jamo
    assert len(decomposed) > 3
    assert database.join_class(learner(database), info.code, decomposed).display_name == "박영희"
    assert reason(lambda: database.join_class(learner(database), info.code, "박영희")) == "name_taken"
    assert reason(lambda: database.join_class(learner(database), info.code, "ZOË")) == "name_taken"


def test_joining_again_is_idempotent_and_renames_when_free(database):
    info = database.create_class("A")
    kim, lee = learner(database), learner(database)
    first = database.join_class(kim, info.code, "Kim")
    again = database.join_class(kim, info.code.lower(), " Kim ")
    assert again == first and len(database.roster(info.id)) == 1
    database.join_class(lee, info.code, "Lee")
    assert reason(lambda: database.join_class(kim, info.code, "LEE")) == "name_taken"
    renamed = database.join_class(kim, info.code, "KIM")  # only the case: still its own name
    assert renamed.display_name == "KIM" and renamed.joined == first.joined
    assert database.join_class(kim, info.code, "Kim Minji").display_name == "Kim Minji"
    assert database.join_class(lee, info.code, "Kim").display_name == "Kim"  # the old name is free again
    assert [m.display_name for m in database.roster(info.id)] == ["Kim", "Kim Minji"]
    database.close_class(info.id, utcnow())
    assert database.join_class(kim, info.code, "Kim Minji").display_name == "Kim Minji"  # closed, same name
    assert reason(lambda: database.join_class(kim, info.code, "Other")) == "closed"


def test_two_learners_taking_one_name_at_once_one_gets_it(database):
    info = database.create_class("Race")
    wss = [learner(database) for _ in range(8)]
    results: list = [None] * len(wss)
    barrier = threading.Barrier(len(wss))

    def join(i):
        barrier.wait()
        try:
            results[i] = database.join_class(wss[i], info.code, "Same Name")
        except JoinError as error:
            results[i] = error.reason

    threads = [threading.Thread(target=join, args=(i,)) for i in range(len(wss))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(isinstance(r, classes.Member) for r in results) == 1, results
    assert sorted(r for r in results if isinstance(r, str)) == ["name_taken"] * (len(wss) - 1)


def test_memberships_roster_and_the_closed_server_check(database):
    a, b = database.create_class("A"), database.create_class("B")
    kim, lee, stranger = learner(database), learner(database), learner(database)
    database.join_class(kim, a.code, "kim")
    database.join_class(kim, b.code, "Kimmy")
    database.join_class(lee, a.code, "Lee")
    assert [(m.class_id, m.class_name, m.display_name) for m in database.memberships(kim)] == [
        (a.id, "A", "kim"), (b.id, "B", "Kimmy")]
    roster = database.roster(a.id)
    assert [(m.workspace_id, m.display_name) for m in roster] == [(kim.id, "kim"), (lee.id, "Lee")]
    assert all(m.last_seen.tzinfo is not None and m.joined.tzinfo is not None for m in roster)
    database.touch(lee)
    assert database.roster(a.id)[1].last_seen > roster[1].last_seen
    assert database.is_member_anywhere(kim) and database.is_member_anywhere(lee.id)
    assert not database.is_member_anywhere(stranger) and database.memberships(stranger) == []
    database.delete_workspace(lee)  # deleted by the learner (or purged): off every roster
    assert [m.display_name for m in database.roster(a.id)] == ["kim"]


def test_removing_a_member_with_and_without_their_data(database):
    a, b = database.create_class("A"), database.create_class("B")
    kim, lee, outsider = learner(database), learner(database), learner(database)
    for ws in (kim, lee, outsider):
        keep(database, ws, "ann_runs", 90.0)
        database.save_progress(ws, "lesson", "lr_too_big", "opened")
    database.join_class(kim, a.code, "Kim")
    database.join_class(kim, b.code, "Kim")
    database.join_class(lee, a.code, "Lee")
    database.join_class(outsider, b.code, "Out")
    assert not database.remove_member(a.id, outsider)  # not in this class: nothing happens
    assert database.usage(outsider).runs == 1 and database.is_member_anywhere(outsider)
    assert database.remove_member(a.id, lee, delete_data=False)
    assert [m.display_name for m in database.roster(a.id)] == ["Kim"] and database.usage(lee).runs == 1
    assert database.remove_member(a.id, kim.id)  # with the data: the workspace, its runs, every class
    assert database.roster(a.id) == [] and [m.display_name for m in database.roster(b.id)] == ["Out"]
    assert database.load_runs(kim, "ann_runs") == [] and database.load_progress(kim) == []
    with pytest.raises(db.UnknownWorkspace):
        database.touch(kim)
    assert not database.remove_member(a.id, kim) and not database.remove_member("x", "y")


# --- assignments ----------------------------------------------------------------------------------------

def test_assignments_keep_the_order_and_the_due_times(database):
    a, b = database.create_class("A"), database.create_class("B")
    due = dt.datetime(2030, 4, 1, 23, 59, tzinfo=KST)
    items = [("lstm_long_memory", due), ("xor_hidden", None), ("lr_too_big", due + dt.timedelta(days=7))]
    made = database.set_assignments(a.id, items)
    found = database.assignments(a.id)
    assert found == made and [(x.lesson_id, x.position, x.due) for x in found] == [
        ("lstm_long_memory", 0, due), ("xor_hidden", 1, None), ("lr_too_big", 2, due + dt.timedelta(days=7))]
    assert found[0].due.tzinfo == dt.UTC and found[0].due.hour == 14  # 23:59 in Seoul is 14:59 UTC
    assert found[0].late(due + dt.timedelta(seconds=1)) and not found[0].late(due)
    assert not found[1].late(None) and found[0].late(None, now=due + dt.timedelta(hours=1))
    database.set_assignments(a.id, [("xor_hidden", None), ("lstm_long_memory", None)])  # replaced
    assert [(x.lesson_id, x.position, x.due) for x in database.assignments(a.id)] == [
        ("xor_hidden", 0, None), ("lstm_long_memory", 1, None)]
    for bad in ([("x", None), ("x", None)], [("", None)], [("a b", None)], [("x" * 65, None)], [(None, None)],
                [("x", dt.datetime(2030, 1, 1))], [("x", "tomorrow")]):
        with pytest.raises((ValueError, TypeError)):
            database.set_assignments(a.id, bad)
    assert len(database.assignments(a.id)) == 2  # a refused list changes nothing
    with pytest.raises(db.UnknownClass):
        database.set_assignments(999_999, [("x", None)])
    database.set_assignments(b.id, [("overfitting", due)])
    kim, stranger = learner(database), learner(database)
    database.join_class(kim, b.code, "Kim")
    database.join_class(kim, a.code, "Kim")
    assert [(c.name, x.lesson_id) for c, x in database.assignments_for(kim)] == [
        ("B", "overfitting"), ("A", "xor_hidden"), ("A", "lstm_long_memory")]
    assert database.assignments_for(stranger) == []
    database.set_assignments(a.id, [])
    assert database.assignments(a.id) == []


# --- what the dashboard reads ----------------------------------------------------------------------------

def test_the_dashboard_reads_only_the_class_in_one_query(database):
    a, b = database.create_class("A"), database.create_class("B")
    kim, lee, quiet, other = (learner(database) for _ in range(4))
    for ws, klass, name in ((kim, a, "Kim"), (lee, a, "Lee"), (quiet, a, "Quiet"), (other, b, "Other")):
        database.join_class(ws, klass.code, name)
    keep(database, kim, "ann_runs", 91.0)
    keep(database, kim, "ann_runs", 95.5, run_no=2)
    keep(database, kim, "rnn_memory", 50.0)
    keep(database, lee, "ann_runs", 88.0)
    keep(database, other, "ann_runs", 99.0)
    database.save_progress(kim, "prediction", "lr_too_big", "answered", {"choice": "diverges", "number": 0.1})
    database.save_progress(kim, "lesson", "lr_too_big", "opened")
    database.save_progress(lee, "challenge", "ann_97", "open", {"closest": 88.0})
    database.save_progress(other, "lesson", "lr_too_big", "opened")

    with statements(database.engine) as seen:
        progress = database.class_progress(a.id)
    assert len(seen) == 1, seen
    assert set(progress) == {kim.id, lee.id, quiet.id} and progress[quiet.id] == []
    assert [(p.kind, p.item, p.status) for p in progress[kim.id]] == [
        ("lesson", "lr_too_big", "opened"), ("prediction", "lr_too_big", "answered")]
    assert progress[kim.id][1].detail == {"choice": "diverges", "number": 0.1}
    assert progress[lee.id][0].detail == {"closest": 88.0}
    assert [p.item for p in database.class_progress(a.id, "prediction")[kim.id]] == ["lr_too_big"]

    with statements(database.engine) as seen:
        found = database.class_runs(a.id, ["ann_runs"])
    assert len(seen) == 1, seen
    assert set(found) == {kim.id, lee.id, quiet.id} and found[quiet.id] == {}
    assert [r.results["accuracy"] for r in found[kim.id]["ann_runs"]] == [91.0, 95.5]
    assert [r.results["accuracy"] for r in found[lee.id]["ann_runs"]] == [88.0]
    assert all(r.state_dict is None and r.history for runs in found.values() for rs in runs.values() for r in rs)
    assert set(database.class_runs(a.id)[kim.id]) == {"ann_runs", "rnn_memory"}
    big = torch.arange(4000, dtype=torch.float32)  # past codec.INLINE_BYTES: kept in the run's arrays
    database.keep_run(lee, "rnn_memory", 1, {"lr": 0.1}, [{"kind": "epoch", "curve": big * 2}], None,
                      {"accuracy": 70.0, "curve": big}, "", None)
    with statements(database.engine) as seen:
        light = database.class_runs(a.id, ["ann_runs", "rnn_memory"], history=False)
    assert len(seen) == 1, seen
    full = database.class_runs(a.id, ["ann_runs", "rnn_memory"])
    assert set(light) == set(full) and light[quiet.id] == {}
    for ws_id, by_store in full.items():
        for store, rs in by_store.items():
            for whole, summary in zip(rs, light[ws_id][store], strict=True):
                assert summary.history == [] and whole.history and summary.problems == ()
                assert (summary.run_no, summary.settings, summary.end, summary.link, summary.status) == (
                    whole.run_no, whole.settings, whole.end, whole.link, whole.status)
                assert summary.results.keys() == whole.results.keys()
    assert torch.equal(light[lee.id]["rnn_memory"][0].results["curve"], big)
    assert torch.equal(full[lee.id]["rnn_memory"][0].history[0]["curve"], big * 2)
    assert database.class_runs(a.id, []) == {kim.id: {}, lee.id: {}, quiet.id: {}}
    assert database.class_runs(999_999, ["ann_runs"]) == {} and database.class_progress(999_999) == {}

    run = database.member_run(a.id, kim, "ann_runs", 2)
    assert run.results == {"accuracy": 95.5} and torch.equal(run.state_dict["w"], torch.full((3,), 95.5))
    assert database.member_run(a.id, other, "ann_runs", 1) is None  # in another class: refused
    assert database.member_run(b.id, kim.id, "ann_runs", 1) is None
    assert database.member_run(a.id, kim, "ann_runs", 3) is None
    for args in ((a.id, kim, "ann_runs", "1; --"), ("x", kim, "ann_runs", 1), (a.id, None, "ann_runs", 1),
                 (a.id, kim, None, 1), (a.id, kim, "ann_runs", 2**40)):
        assert database.member_run(*args) is None


def test_a_prediction_is_a_progress_kind(database):
    ws = learner(database)
    database.save_progress(ws, "prediction", "plain_vs_residual", "answered", {"choice": "residual"})
    [found] = database.load_progress(ws, "prediction")
    assert (found.item, found.status, found.detail) == ("plain_vs_residual", "answered", {"choice": "residual"})


# --- the sign-in lock ------------------------------------------------------------------------------------------

def test_five_wrong_passwords_lock_sign_in_for_a_minute_on_every_replica(database):
    assert database.sign_in_locked() == 0.0 and database.sign_in_failures_since(60) == 0
    for i in range(4):
        database.note_sign_in_failure(f"10.0.0.{i}\x00" + "x" * 500)
    assert database.sign_in_failures_since(60) == 4 and database.sign_in_locked() == 0.0
    database.note_sign_in_failure()
    left = database.sign_in_locked()
    assert 58 < left <= 60
    replica = db.Database(database.url)  # another process's view of the same database
    assert 58 < replica.sign_in_locked() <= 60 and replica.sign_in_failures_since(60) == 5
    now = utcnow()
    assert classes.sign_in_locked(database.engine, now=now + dt.timedelta(seconds=61)) == 0.0
    assert 0 < classes.sign_in_locked(database.engine, now=now + dt.timedelta(seconds=30)) <= 30
    assert database.sign_in_locked(limit=6) == 0.0
    assert database.clear_sign_in_failures() == 5 and database.sign_in_locked() == 0.0

    def failed_at(*seconds_ago):
        with database.engine.begin() as connection:
            connection.execute(insert(SignInFailureRow), [{"at": now - dt.timedelta(seconds=s), "source": ""}
                                                          for s in seconds_ago])

    failed_at(115, 100, 85, 70, 50)  # five, but never five within one minute
    assert database.sign_in_locked() == 0.0
    failed_at(45)  # 100…45: five within a minute; locked until 45 s ago + 60 s
    assert 13 < database.sign_in_locked() <= 15
    failed_at(2 * 86_400)  # older than a day: dropped by the next failure noted
    database.note_sign_in_failure()
    assert database.sign_in_failures_since(3 * 86_400) == 7
    with database.engine.connect() as connection:
        assert connection.execute(text("SELECT max(length(source)) FROM sign_in_failures")).scalar() <= 200


# --- grades out ------------------------------------------------------------------------------------------------

def test_csv_has_a_bom_and_reads_back_with_pandas_hangul_intact():
    when = dt.datetime(2030, 4, 1, 5, 6, 7, tzinfo=dt.UTC)
    rows = [{"name": "김철수", "xor_hidden status": "met", "xor_hidden figure": 97.25, "xor_hidden time": when,
             "xor_hidden late": False, "ignored": "x"},
            {"name": "=HYPERLINK(\"http://evil\")", "xor_hidden status": "ran", "xor_hidden figure": math.nan,
             "xor_hidden late": True},
            {"name": "Zoë, \"the\"\nsecond", "xor_hidden status": None, "xor_hidden figure": -3}]
    columns = ["name", "xor_hidden status", "xor_hidden figure", "xor_hidden time", "xor_hidden late"]
    data = grades.export_csv(rows, columns)
    assert data.startswith(b"\xef\xbb\xbf") and "김철수".encode() in data
    frame = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig")
    assert list(frame.columns) == columns and len(frame) == 3
    assert frame["name"].tolist() == ["김철수", "'=HYPERLINK(\"http://evil\")", "Zoë, \"the\"\nsecond"]
    assert frame["xor_hidden figure"].tolist()[0] == 97.25 and math.isnan(frame["xor_hidden figure"][1])
    assert frame["xor_hidden figure"][2] == -3  # a number keeps its sign
    assert frame["xor_hidden time"][0] == "2030-04-01T05:06:07+00:00"
    assert db.export_csv(rows, columns, formulas_safe=False).count(b"'=") == 0
    assert grades.export_csv([], ["a", "b"]) == "\ufeffa,b\r\n".encode()


def test_json_keeps_hangul_as_text():
    rows = [{"name": "김철수", "figure": 97.25, "bad": math.inf, "at": dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
             "cells": {"xor_hidden": {"status": "met", "late": False}}}]
    data = db.export_json(rows)
    assert "김철수".encode() in data and b"\\u" not in data
    assert json.loads(data) == [{"name": "김철수", "figure": 97.25, "bad": None, "at": "2030-01-01T00:00:00+00:00",
                                 "cells": {"xor_hidden": {"status": "met", "late": False}}}]


# --- the migration ---------------------------------------------------------------------------------------------

def test_migration_0002_adds_the_class_tables_and_removes_them_again(url):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    new_tables = {"classes", "members", "assignments", "sign_in_failures"}
    migrate(url, "0001")
    database = db.Database(url)
    _, ws = database.create_workspace()
    database.save_progress(ws, "lesson", "xor_hidden", "opened")
    migrate(url)
    assert current(url) == head() == "0002"
    with get_engine(url).connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)
        assert diff == []
        assert new_tables <= set(connection.dialect.get_table_names(connection))
    info = database.create_class("A")
    database.join_class(ws, info.code, "Kim")
    downgrade(url, "0001")
    assert current(url) == "0001"
    with get_engine(url).connect() as connection:
        assert not new_tables & set(connection.dialect.get_table_names(connection))
    assert [p.item for p in database.load_progress(ws)] == ["xor_hidden"]  # the learners' work stays
    migrate(url)
    assert database.classes() == [] and database.memberships(ws) == []
    database.close()
