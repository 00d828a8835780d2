"""The fair training-slot queue: order, positions, leaving, and a slot always given back."""
import threading
import time

import pytest

from core import slots
from core.slots import TrainingSlots


def test_first_come_first_served_with_positions():
    queue = TrainingSlots(capacity=1)
    a, b, c = queue.join("a"), queue.join("b"), queue.join("c")
    assert a.granted and not b.granted and not c.granted
    assert [queue.position(t) for t in (a, b, c)] == [0, 1, 2]
    assert queue.busy == (1, 2)
    queue.release(a)
    assert b.granted and not c.granted
    assert [queue.position(t) for t in (b, c)] == [0, 1]
    queue.release(b)
    assert c.granted and queue.busy == (1, 0)
    queue.release(c)
    assert queue.busy == (0, 0)


def test_two_slots_grant_two_and_leaving_the_queue_moves_the_rest_up():
    queue = TrainingSlots(capacity=2)
    tickets = [queue.join(str(i)) for i in range(5)]
    assert [t.granted for t in tickets] == [True, True, False, False, False]
    queue.release(tickets[3])  # the learner at place 2 leaves the queue
    assert tickets[3].released and not tickets[3].granted
    assert queue.position(tickets[4]) == 2
    queue.release(tickets[0])
    assert tickets[2].granted and queue.position(tickets[4]) == 1
    queue.release(tickets[0])  # a second release changes nothing
    assert queue.busy == (2, 1)


def test_wait_returns_when_a_slot_frees_and_times_out_otherwise():
    queue = TrainingSlots(capacity=1)
    holder, waiter = queue.join(), queue.join()
    assert queue.wait(waiter, timeout=0.05) is False
    threading.Timer(0.1, queue.release, args=(holder,)).start()
    assert queue.wait(waiter, timeout=5) is True and waiter.granted


def test_the_slot_is_given_back_after_an_exception():
    queue = TrainingSlots(capacity=1)

    def training():
        ticket = queue.join()
        try:
            raise RuntimeError("the model blew up")
        finally:
            queue.release(ticket)

    with pytest.raises(RuntimeError):
        training()
    assert queue.busy == (0, 0)


def test_a_slot_held_by_a_thread_that_died_is_reclaimed():
    queue = TrainingSlots(capacity=1)
    held = []
    thread = threading.Thread(target=lambda: held.append(queue.join()))
    thread.start()
    thread.join()
    assert held[0].granted  # the thread ended without releasing (a closed tab)
    waiter = queue.join()
    assert queue.wait(waiter, timeout=5)
    assert held[0].released


def test_estimated_wait_from_recent_run_lengths():
    queue = TrainingSlots(capacity=1)
    first = queue.join()
    second = queue.join()
    assert queue.estimated_wait(second) is None  # no finished run to go by yet
    first.granted_at -= 10.0  # pretend it ran 10 s
    queue.release(first)
    third, fourth = queue.join(), queue.join()
    assert second.granted
    second.granted_at = time.monotonic() - 4.0  # 4 s into a typical 10 s run
    assert queue.estimated_wait(third) == pytest.approx(6.0, abs=0.5)
    assert queue.estimated_wait(fourth) == pytest.approx(16.0, abs=0.5)
    assert queue.estimated_wait(second) == 0.0


def test_capacity_defaults_and_overrides(monkeypatch):
    monkeypatch.delenv(slots.ENV_VAR, raising=False)
    assert slots.configured_capacity("cpu", cpu_cores=2) == 1
    assert slots.configured_capacity("cpu", cpu_cores=16) == 15
    assert slots.configured_capacity("cpu", cpu_cores=1) == 1
    assert slots.configured_capacity("cuda") == slots.GPU_SLOTS
    monkeypatch.setenv(slots.ENV_VAR, "3")
    assert slots.configured_capacity("cpu", cpu_cores=2) == 3
    with pytest.raises(ValueError):
        TrainingSlots(0)


def _panel_script():
    """A page that trains through ui.training.run_training; the test sets what the run does."""
    import streamlit as st

    from ui.runs import RunStore
    from ui.training import run_training

    def events():
        for epoch in range(1, 3):
            yield {"kind": "epoch", "epoch": epoch, "progress": epoch / 2}
            if st.session_state.get("fail"):
                raise RuntimeError("the model blew up")
        yield {"kind": "end", "reason": "completed", "message": "done"}

    store = RunStore("slot_runs")
    run_training(events(), key="slot", label="Run", store=store,
                 settings=None)


@pytest.fixture
def fresh_queue(monkeypatch):
    """A one-slot queue for the app under test (the process-wide one is left alone)."""
    queue = TrainingSlots(capacity=1)
    monkeypatch.setattr(slots, "_shared", queue)
    return queue


def test_the_page_gives_its_slot_back_after_a_run_and_after_an_error(fresh_queue):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_panel_script, default_timeout=30)
    at.run()
    assert not at.exception and fresh_queue.busy == (0, 0)
    assert len(at.session_state["slot_runs"]["runs"]) == 1
    at.session_state["fail"] = True
    at.run()
    assert at.exception and "blew up" in at.exception[0].message
    assert fresh_queue.busy == (0, 0)
    assert len(at.session_state["slot_runs"]["runs"]) == 2  # the partial run was kept


def test_a_queued_page_waits_its_turn_then_trains(fresh_queue):
    from streamlit.testing.v1 import AppTest

    holder = fresh_queue.join("another learner")
    threading.Timer(1.5, fresh_queue.release, args=(holder,)).start()
    at = AppTest.from_function(_panel_script, default_timeout=30)
    started = time.perf_counter()
    at.run()
    assert not at.exception
    assert time.perf_counter() - started >= 1.4  # it waited for the other learner's slot
    assert fresh_queue.busy == (0, 0)
    assert at.session_state["slot_runs"]["runs"][0].end["reason"] == "completed"
    assert at.button(key="slot_stop")  # the Stop button replaced "Leave the queue"
