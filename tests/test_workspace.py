"""The learner's workspace under AppTest: found by its personal link, hostile keys refused
without an exception, the key kept out of every link and report, delete and progress, and the
pages still working when the database cannot be reached."""
import json

import pytest

from conftest import open_link, open_page
from core.words import sections
from ui import workspace

HOME, PERCEPTRON = "views/home/home.py", "views/perceptron/perceptron.py"
WORK = sections("en", "workspace")


def _key(at) -> str:
    return at.session_state["_workspace"]["key"]


def _toasts(at) -> list[str]:
    return [t.value for t in at.get("toast")]


def test_a_first_visit_gets_a_random_workspace_key():
    first, second = open_page(HOME), open_page(HOME)
    assert not first.exception and not second.exception
    keys = {_key(first), _key(second)}
    assert len(keys) == 2 and all(len(k) >= 43 for k in keys)  # 256 bits, url-safe base64


@pytest.mark.parametrize("forged", ["x" * 10_000, "' OR 1=1; --", "../../etc/passwd", "%00\x00", "🙂" * 30,
                                    "A" * 32, ""])
def test_a_forged_or_garbled_key_gets_a_fresh_workspace_and_a_notice(forged):
    at = open_link(HOME, {"ws": forged, "lang": "en"})
    assert not at.exception, [e.message for e in at.exception]
    assert "ws" not in at.query_params and _key(at) != forged
    assert WORK["unknown_link"] in _toasts(at)


def test_the_key_is_in_no_share_link_and_no_report():
    at = open_link(PERCEPTRON, {"lang": "en", "perceptron_dataset": "XOR"})
    at.button(key="perceptron_mlp_train").click().run()
    assert not at.exception, [e.message for e in at.exception]
    key = _key(at)
    shown = " ".join(c.value for c in at.sidebar.code) + " ".join(c.value for c in at.code)
    assert "perceptron_dataset=XOR" in shown and key not in shown
    from ui import lessons

    data = lessons.report({"perceptron_mlp_runs": at.session_state["perceptron_mlp_runs"]["runs"]})
    assert data["runs"] and key not in json.dumps(data) and key not in lessons.report_markdown(data)
    assert all(key not in value for value in at.query_params.values())


def test_delete_my_data_empties_the_workspace_and_the_old_key_is_gone():
    at = open_link(PERCEPTRON, {"lang": "en", "perceptron_sine_open": "true"})
    at.button(key="perceptron_sine_run").click().run()
    old = _key(at)
    assert len(at.session_state["perceptron_sine_runs"]["runs"]) == 1
    assert at.button(key="workspace_delete").disabled  # a confirmation first
    at.checkbox(key="workspace_delete_sure").check().run()
    at.button(key="workspace_delete").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert _key(at) != old and at.session_state["perceptron_sine_runs"]["runs"] == []
    assert WORK["deleted"] in _toasts(at)
    again = open_link(PERCEPTRON, {"ws": old, "lang": "en"})  # the old personal link leads nowhere now
    assert again.session_state["perceptron_sine_runs"]["runs"] == [] and WORK["unknown_link"] in _toasts(again)


def test_a_lesson_opened_and_a_challenge_met_are_kept_as_progress():
    from core import lessons

    lesson = lessons.lessons()["xor_hidden"]
    at = open_link(PERCEPTRON, {"lang": "en", **lesson.settings, "lesson": lesson.id})
    at.button(key="perceptron_mlp_train").click().run()  # the lesson starts at 1 hidden neuron: 75 %
    assert not at.exception, [e.message for e in at.exception]
    ws = at.session_state["_workspace"]["ws"]
    progress = {(p.kind, p.item): p for p in workspace.database().load_progress(ws)}
    assert progress[("lesson", "xor_hidden")].status == "ran"  # opened, then a run of its page kept
    first = at.session_state["perceptron_mlp_runs"]["runs"][0]
    assert progress[("lesson", "xor_hidden")].detail == {"run": "#1", "figure": 75.0, "link": first.link}
    assert progress[("challenge", "xor_fewest")].status == "tried"
    at.slider(key="perceptron_mlp_hidden").set_value(2).run()
    at.button(key="perceptron_mlp_train").click().run()
    met = {(p.kind, p.item): p for p in workspace.database().load_progress(ws)}[("challenge", "xor_fewest")]
    assert met.status == "met" and met.detail["run"] == "#2" and "perceptron_mlp_hidden=2" in met.detail["link"]


def test_without_a_database_the_pages_work_and_say_so(monkeypatch):
    monkeypatch.setattr(workspace, "database", lambda: None)
    at = open_link(PERCEPTRON, {"lang": "en", "perceptron_sine_open": "true"})
    at.button(key="perceptron_sine_run").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert len(at.session_state["perceptron_sine_runs"]["runs"]) == 1  # kept in this session
    assert any(WORK["no_database"] in w.value for w in at.sidebar.warning)


def test_an_interrupted_run_comes_back_with_a_one_click_rerun():
    """A run whose server died: its training row stays behind; the page offers it again and one
    click trains it with its own settings."""
    from core import perceptron

    at = open_link(PERCEPTRON, {"lang": "en"})
    ws = at.session_state["_workspace"]["ws"]
    database = workspace.database()
    settings = perceptron.CubicFitConfig(steps=300)
    started = database.start_run(ws, "perceptron_sine_runs", 1, settings,
                                 "http://localhost/perceptron?lang=en&perceptron_sine_steps=300")
    from db import servers

    servers.untrack(started.row_id)  # as if the process that trained it had died
    database.mark_interrupted()
    again = open_link(PERCEPTRON, {"ws": _key(at), "lang": "en"})
    assert any("was still training when the server stopped" in w.value for w in again.warning)
    again.button(key="perceptron_sine_runs_rerun_1").click().run()
    again.run()
    assert not again.exception, [e.message for e in again.exception]
    runs = again.session_state["perceptron_sine_runs"]["runs"]
    assert len(runs) == 1 and runs[0].settings.steps == 300 and runs[0].end["reason"] == "completed"
    assert not again.session_state["perceptron_sine_runs"]["interrupted"]
