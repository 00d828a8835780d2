"""Lessons and challenges: the catalog, every lesson opening its page with its settings, the
question above the controls, teacher focus mode, the checks behind the ✓, the hand-in report."""
import json
import math

import pytest

from conftest import link_query, open_link, share_link, widget
from core import lessons
from core.words import sections
from ui import share
from ui.lessons import record, report, report_markdown
from ui.runs import Run

LESSONS = lessons.lessons()


def test_the_catalog_has_a_dozen_lessons_on_every_topic_with_texts_in_both_languages():
    assert len(LESSONS) >= 12
    assert all(lessons.by_topic()[topic] for topic in lessons.TOPICS)
    assert len(lessons.challenges()) >= 4
    assert {lesson.challenge for lesson in LESSONS.values()} - {None} == set(lessons.challenges())
    for lang in ("en", "ko"):
        texts = sections(lang, "lessons")
        for lesson_id in LESSONS:
            for part in ("title", "question", "look", "why"):
                assert texts.get(f"{lesson_id}_{part}", "").strip(), (lang, lesson_id, part)
        for challenge_id in lessons.challenges():
            assert texts.get(f"challenge_{challenge_id}", "").strip(), (lang, challenge_id)
            assert texts.get(f"challenge_{challenge_id}_reach", "").strip(), (lang, challenge_id)


@pytest.mark.parametrize("lesson_id", list(LESSONS))
def test_every_lesson_opens_its_page_with_its_settings_and_question(lesson_id):
    lesson = LESSONS[lesson_id]
    at = open_link(f"views/{lesson.page}/{lesson.page}.py", {"lang": "en", **lesson.settings, "lesson": lesson.id})
    assert not at.exception, at.exception
    assert not [w for w in at.warning.values if "link" in w], at.warning.values  # nothing ignored
    specs = at.session_state["_share"]["specs"]
    for key, text in lesson.settings.items():
        wanted, problem = share.parse(specs[key], text)
        assert problem is None and wanted is not None, (key, text)
        got = widget(at, key).value
        assert got == wanted or (isinstance(got, float) and math.isclose(got, wanted)), (key, got, wanted)
    banner = " ".join(m.value for m in at.markdown)
    assert sections("en", "lessons")[f"{lesson_id}_question"].strip()[:40] in banner
    assert link_query(share_link(at))["lesson"] == lesson.id  # the Share link keeps the lesson
    for key in lesson.focus:
        assert key in specs, f"lesson {lesson_id}: focus key {key} is not a setting of its page"
    assert lesson.section in [h.proto.anchor for h in at.header], "the lesson's link down goes nowhere"
    assert f"](#{lesson.section})" in banner


def test_focus_mode_hides_the_settings_a_lesson_does_not_use_with_a_way_out():
    lesson = LESSONS["xor_hidden"]
    at = open_link("views/perceptron/perceptron.py",
                   {"lang": "en", **lesson.settings, "lesson": lesson.id, "focus": "1"})
    style = " ".join(e.proto.body for e in at.get("html"))
    assert ".st-key-perceptron_depth," in style and ".st-key-perceptron_noise," in style
    for key in (*lesson.settings, *lesson.focus):
        assert f".st-key-{key}," not in style and f".st-key-{key} " not in style
    at.button(key="lesson_show_all").click().run()
    assert "focus" not in at.query_params
    assert not any(".st-key-" in e.proto.body for e in at.get("html"))
    assert at.session_state["_share"]["specs"]["perceptron_mlp_hidden"].value == 1  # settings stay


def test_the_question_stays_until_dismissed_and_the_lesson_leaves_the_link():
    lesson = LESSONS["vanishing_depth"]
    at = open_link("views/perceptron/perceptron.py", {"lang": "ko", **lesson.settings, "lesson": lesson.id})
    question = sections("ko", "lessons")["vanishing_depth_question"].strip()[:30]
    assert question in " ".join(m.value for m in at.markdown)
    at.slider(key="perceptron_depth").set_value(12).run()  # working on the page keeps it
    assert question in " ".join(m.value for m in at.markdown)
    at.button(key="lesson_dismiss").click().run()
    assert question not in " ".join(m.value for m in at.markdown)
    assert "lesson" not in at.query_params and at.slider(key="perceptron_depth").value == 12


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_lessons_page_opens_a_lesson_in_the_same_session(lang):
    at = open_link("views/lessons/lessons.py", {"lang": lang})
    assert not at.exception
    assert len([b for b in at.button if b.key.startswith("lesson_open_")]) == len(LESSONS)
    at.button(key="lesson_open_simplecnn_mismatch").click().run()
    assert not at.exception
    assert at.selectbox(key="cnn_preset").value == "simplecnn_mnist"
    assert at.query_params["lesson"] == "simplecnn_mismatch" and at.query_params["lang"] == lang
    assert sections(lang, "lessons")["simplecnn_mismatch_question"].strip()[:30] in " ".join(at.markdown.values)


def test_a_lesson_run_meets_its_challenge_and_shows_the_tick():
    lesson = LESSONS["xor_hidden"]
    at = open_link("views/perceptron/perceptron.py", {"lang": "en", **lesson.settings, "lesson": lesson.id})
    at.button(key="perceptron_mlp_train").click().run()  # 1 hidden neuron: XOR stays out of reach
    assert not [s for s in at.success.values if "Challenge met" in s]
    at.slider(key="perceptron_mlp_hidden").set_value(2).run()
    at.button(key="perceptron_mlp_train").click().run()
    met = [s for s in at.success.values if "Challenge met" in s]
    assert met and "#2" in met[0], at.success.values
    runs = {"perceptron_mlp_runs": at.session_state["perceptron_mlp_runs"]["runs"]}
    data = report(runs)
    xor = next(c for c in data["challenges"] if c["challenge"] == "xor_fewest")
    assert xor["met"] and xor["run"] == "#2" and "perceptron_mlp_hidden=2" in xor["link"]
    assert [r["hidden"] for r in data["runs"]] == [1, 2]
    assert "perceptron_dataset=XOR" in data["runs"][0]["link"]
    json.dumps(data)  # plain data all through
    markdown = report_markdown(data)
    assert "✓" in markdown and "#2" in markdown and data["runs"][1]["link"] in markdown


# --- The checks, on hand-made run records ----------------------------------------------------------

def _verdict(challenge_id: str, *records: dict) -> lessons.Verdict:
    return lessons.verdict(lessons.challenges()[challenge_id], list(records))


CHECKS = [  # (challenge, record, met)
    ("xor_fewest", {"ok": True, "dataset": "XOR", "accuracy": 100.0, "hidden": 2}, True),
    ("xor_fewest", {"ok": True, "dataset": "XOR", "accuracy": 100.0, "hidden": 3}, False),
    ("xor_fewest", {"ok": True, "dataset": "XOR", "accuracy": 99.5, "hidden": 2}, False),
    ("xor_fewest", {"ok": True, "dataset": "AND", "accuracy": 100.0, "hidden": 1}, False),
    ("xor_fewest", {"ok": False, "dataset": "XOR", "accuracy": 100.0, "hidden": 2}, False),
    ("small_accurate", {"ok": True, "accuracy": 98.2, "parameters": 47_710}, True),
    ("small_accurate", {"ok": True, "accuracy": 98.2, "parameters": 50_890}, False),
    ("small_accurate", {"ok": True, "accuracy": 97.9, "parameters": 47_710}, False),
    ("small_accurate", {"ok": True, "accuracy": None, "parameters": 47_710}, False),
    ("residual_30", {"ok": True, "depth": 30, "residual_accuracy": 91.0}, True),
    ("residual_30", {"ok": True, "depth": 28, "residual_accuracy": 95.0}, False),
    ("residual_30", {"ok": True, "depth": 30, "residual_accuracy": 90.0}, False),
    ("lstm_remembers", {"ok": True, "longest_T": 60, "lstm_accuracy": 93.0}, True),
    ("lstm_remembers", {"ok": True, "longest_T": 40, "lstm_accuracy": 99.0}, False),
    ("beat_naive", {"ok": True, "best_model_rmse": 990.0, "naive_rmse": 1000.0}, True),
    ("beat_naive", {"ok": True, "best_model_rmse": 1000.0, "naive_rmse": 1000.0}, False),
    ("beat_naive", {"ok": True, "best_model_rmse": math.nan, "naive_rmse": 1000.0}, False),
    ("beat_naive", {"ok": True, "naive_rmse": 1000.0}, False),
]


@pytest.mark.parametrize("challenge_id,rec,met", CHECKS)
def test_challenge_checks_on_hand_made_records(challenge_id, rec, met):
    assert _verdict(challenge_id, rec).met is met


def test_the_verdict_names_the_first_run_that_met_it_else_the_closest_try():
    far = {"run": "#1", "ok": True, "dataset": "AND", "accuracy": 50.0, "hidden": 4}
    close = {"run": "#2", "ok": True, "dataset": "XOR", "accuracy": 75.0, "hidden": 1}
    good = {"run": "#3", "ok": True, "dataset": "XOR", "accuracy": 100.0, "hidden": 2}
    later = {**good, "run": "#4"}
    assert _verdict("xor_fewest", far, close, good, later).record["run"] == "#3"
    missed = _verdict("xor_fewest", far, close)
    assert not missed.met and missed.record["run"] == "#2"
    assert [c.field for c in missed.unmet] == ["accuracy"]
    assert _verdict("xor_fewest") == lessons.Verdict(False, None, ())


def test_records_read_the_pages_runs():
    grid = {"kind": "grid", "accuracy": 100.0}
    from core.perceptron import MLPConfig, ToyData
    run = Run(1, MLPConfig(hidden=2), [grid], {"reason": "completed"}, {"data": ToyData("XOR")}, link="/x?y=1")
    rec = record("perceptron_mlp_runs", run)
    assert (rec["run"], rec["hidden"], rec["dataset"], rec["accuracy"], rec["ok"], rec["link"]) == \
        ("#1", 2, "XOR", 100.0, True, "/x?y=1")
    stopped = Run(2, MLPConfig(hidden=2), [], None, {"data": ToyData("XOR")})
    assert record("perceptron_mlp_runs", stopped)["ok"] is False
    assert not _verdict("xor_fewest", record("perceptron_mlp_runs", stopped)).met
