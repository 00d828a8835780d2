"""Predictions before a lesson's first run, the figures each page declares for its runs (one
contract: content/lessons.toml names only settings and declared figures), and each lesson's
status for the teacher's view: all plain functions of core.lessons, on hand-made runs and rows."""
import dataclasses
import datetime as dt
import math

import pandas as pd
import pytest

from conftest import open_link, widget
from core import ann, lessons, perceptron, rnn
from core.words import sections
from ui.runs import Run

LESSONS = lessons.lessons()
UTC = dt.UTC


# --- Every lesson asks one, in both languages ----------------------------------------------------

def test_every_lesson_asks_a_prediction_with_words_in_both_languages():
    kinds = set()
    for lesson in LESSONS.values():
        spec = lessons.prediction(lesson)
        assert spec is not None and spec is lessons.prediction(lesson.id), lesson.id
        kinds.add(spec.kind)
        for lang in ("en", "ko"):
            texts = sections(lang, "lessons")
            assert texts.get(f"{lesson.id}_predict", "").strip(), (lang, lesson.id)
            labels = {k.removeprefix(f"{lesson.id}_predict_") for k in texts if k.startswith(f"{lesson.id}_predict_")}
            assert labels == set(spec.options), (lang, lesson.id, labels)  # a label per option, none left over
            assert all(texts[f"{lesson.id}_predict_{o}"].strip() for o in spec.options)
        if spec.kind == "number":
            assert spec.unit and spec.min < spec.max and spec.step > 0 and (spec.tolerance or spec.relative)
    assert kinds == {"choice", "number"}


# --- One contract for figures ---------------------------------------------------------------------

def test_the_catalog_names_only_settings_and_declared_figures():
    assert lessons.check_fields() == []


def test_a_field_neither_a_setting_nor_a_figure_is_caught(tmp_path, monkeypatch):
    text = lessons.CATALOG.read_text(encoding="utf-8")
    text = text.replace('{ field = "residual_accuracy", op = ">", value = 90.0 }',
                        '{ field = "residual_acc", op = ">", value = 90.0 }')  # a renamed figure
    text = text.replace('runs = "ann_runs"\nfigure = "gap"', 'runs = "ann_runs"\nfigure = "overfit_gap"')
    text = text.replace('when.leaky = [{ field = "leaky_rmse", op = "<", than = "lstm_rmse" }]',
                        'when.leaky = [{ field = "leaky_rmse", op = "<", than = "lstm_rmes" }]')
    (tmp_path / "lessons.toml").write_text(text, encoding="utf-8")
    monkeypatch.setattr(lessons, "CATALOG", tmp_path / "lessons.toml")
    lessons.catalog.cache_clear()
    try:
        problems = "\n".join(lessons.check_fields())
    finally:
        monkeypatch.undo()
        lessons.catalog.cache_clear()
    assert "challenge residual_30: 'residual_acc'" in problems
    assert "lesson overfitting: 'overfit_gap'" in problems
    assert "lesson leaky_scaler: 'lstm_rmes'" in problems
    assert len(problems.splitlines()) == 3
    assert lessons.check_fields() == []  # the real catalog again


def test_a_reader_that_breaks_its_declaration_raises(monkeypatch):
    run = _run(ann.AnnSettings(), [_epoch(90.0)], {"reason": "completed"}, {"accuracy": 89.0})
    assert set(lessons.figures("ann_runs", run)) == {"accuracy", "train_accuracy", "gap", "parameters"}
    with pytest.raises(KeyError):  # a result renamed in core: loud, never a challenge silently out of reach
        lessons.record("ann_runs", dataclasses.replace(run, results={"test_accuracy": 89.0}))
    spec = lessons.stores()["ann_runs"]
    monkeypatch.setitem(lessons.stores(), "ann_runs", dataclasses.replace(spec, read=lambda run: {"accuracy": 1.0}))
    with pytest.raises(ValueError, match="declares"):
        lessons.figures("ann_runs", run)


def test_every_store_reads_a_stopped_run_without_raising():
    stopped = {
        "perceptron_rule_runs": _run(perceptron.PerceptronConfig(), [], None, {"data": perceptron.ToyData("XOR")}),
        "perceptron_mlp_runs": _run(perceptron.MLPConfig(), [], None, {"data": perceptron.ToyData("XOR")}),
        "ann_runs": _run(ann.AnnSettings(), [], None, {"accuracy": 9.8}),
        "resnet_runs": _run(_resnet_settings(), [], None, {"accuracy": {"plain": None, "residual": None}}),
        "rnn_memory": _run(rnn.MemorySettings(), [], None, {"points": []}),
        "stocks_runs": _run(_stock_settings(), [], None, {"table": _stock_table(lstm=1125.0)}),
    }
    for store, run in stopped.items():
        rec = lessons.record(store, run)
        assert rec["end"] == "stopped" and rec["ok"] is False
        assert set(lessons.stores()[store].fields) == set(rec), store
    assert lessons.record("rnn_memory", stopped["rnn_memory"])["lstm_accuracy"] is None
    assert lessons.record("stocks_runs", stopped["stocks_runs"])["best_model_rmse"] == 1125.0


def test_a_store_without_declared_figures_keeps_its_settings_only():
    rec = lessons.record("rnn_runs", _run(rnn.MemorySettings(), [], {"reason": "completed"}, {}))
    assert rec["ok"] is True and rec["epochs"] == 30 and "lstm_accuracy" not in rec


# --- Each lesson's outcome, on runs shaped like the README's -------------------------------------

def _epoch(train_acc: float, epoch: int = 1) -> dict:
    return {"kind": "epoch", "epoch": epoch, "train_acc": train_acc, "val_acc": None, "train_loss": 0.1}


def _run(settings, history, end, results) -> Run:
    return Run(1, settings, history, end, results, link="/page?x=1")


def _resnet_settings(**changes):
    from core.resnet import ExperimentSettings
    return ExperimentSettings(**changes)


def _stock_settings(**changes):
    from core.stocks import StockSettings
    return StockSettings(**changes)


def _stock_table(**rmse) -> pd.DataFrame:
    from core.stocks import DRIFT, NAIVE
    rows = {"lstm_leaky" if k == "leaky" else k: v for k, v in rmse.items()} | {NAIVE: 889.0, DRIFT: 888.0}
    return pd.DataFrame({"method": list(rows), "RMSE": list(rows.values())}).set_index("method")


def _points(t_values, **accuracy) -> list[dict]:
    return [{"cell": cell, "T": T, "accuracy": acc, "diverged": False}
            for cell, values in accuracy.items() for T, acc in zip(t_values, values)]


DONE, NOT_LEARNED = {"reason": "completed"}, {"reason": "not_learned"}
XOR = {"data": perceptron.ToyData("XOR")}
RUNS = {  # lesson -> a run as the README's lessons table reports it
    "xor_one_line": _run(perceptron.PerceptronConfig(), [
        {"kind": "epoch", "epoch": e, "accuracy": a} for e, a in enumerate([25.0, 65.0, 25.0, 50.0])], DONE, XOR),
    "xor_hidden": _run(perceptron.MLPConfig(hidden=1), [{"kind": "grid", "epoch": 200, "accuracy": 75.0}], DONE, XOR),
    "lr_too_big": _run(ann.AnnSettings(lr=1.0, n_train=10_000, epochs=3), [_epoch(10.2, 3)], NOT_LEARNED,
                       {"accuracy": 10.1}),
    "lr_too_small": _run(ann.AnnSettings(lr=0.0001, n_train=10_000, epochs=3), [_epoch(24.0, 3)], DONE,
                         {"accuracy": 25.3}),
    "overfitting": _run(ann.AnnSettings(hidden=(512, 512), n_train=1_000, epochs=30), [_epoch(99.8, 30)], DONE,
                        {"accuracy": 86.7}),
    "small_and_accurate": _run(ann.AnnSettings(hidden=(60,), optimizer="adam", lr=0.001, epochs=15),
                               [_epoch(97.7, 15)], DONE, {"accuracy": 97.07}),
    "plain_vs_residual": _run(_resnet_settings(depth=20), [], DONE,
                              {"accuracy": {"plain": 10.0, "residual": 87.0}}),
    "residual_30": _run(_resnet_settings(depth=30), [], DONE, {"accuracy": {"plain": 10.0, "residual": 85.7}}),
    "rnn_forgets": _run(rnn.MemorySettings(t_values=(2, 5, 10, 20)), [], DONE, {"points": _points(
        (2, 5, 10, 20), rnn=(100.0, 97.4, 18.2, 31.8), lstm=(100.0,) * 4, gru=(100.0,) * 4)}),
    "lstm_long_memory": _run(rnn.MemorySettings(t_values=(8, 15, 30, 60)), [], DONE, {"points": _points(
        (8, 15, 30, 60), rnn=(83.4, 20.0, 20.0, 20.0), lstm=(100.0, 100.0, 100.0, 71.6), gru=(100.0,) * 4)}),
    "leaky_scaler": _run(_stock_settings(with_leaky=True, epochs=30), [], DONE,
                         {"table": _stock_table(lstm=1125.0, gru=995.0, leaky=1075.0)}),
    "beat_tomorrow_is_today": _run(_stock_settings(epochs=30), [], DONE,
                                   {"table": _stock_table(lstm=1125.0, gru=995.0)}),
}
EXPECTED = {  # lesson -> (the outcome, the lesson's figure), as the README's lessons table reports them
    "xor_one_line": ("no", 50.0), "xor_hidden": (75.0, 75.0), "vanishing_depth": ("millionth", 0.25 ** 10),
    "softmax_temperature": (pytest.approx(99.995, abs=0.001), pytest.approx(99.995, abs=0.001)),
    "lr_too_big": (10.1, 10.1), "lr_too_small": (25.3, 25.3), "overfitting": (86.7, pytest.approx(13.1)),
    "small_and_accurate": ("no", 97.07), "simplecnn_mismatch": ("n400", 400), "padding_keeps_size": ("size5", 5),
    "plain_vs_residual": ("residual", 87.0), "residual_30": (85.7, 85.7), "rnn_forgets": ("gated", 31.8),
    "lstm_long_memory": ("gru", 71.6), "leaky_scaler": ("leaky", 1075.0), "beat_tomorrow_is_today": ("no", 995.0),
}


def _record(lesson_id: str) -> dict:
    lesson = LESSONS[lesson_id]
    if lessons.stores()[lesson.runs].computed:
        return lessons.computed_record(lesson)  # the section's own computation, at the lesson's settings
    return lessons.record(lesson.runs, RUNS[lesson_id])


def test_every_lesson_has_a_readme_case():
    assert set(EXPECTED) == set(LESSONS)
    assert set(RUNS) == {i for i, lesson in LESSONS.items() if not lessons.stores()[lesson.runs].computed}


@pytest.mark.parametrize("lesson_id", list(EXPECTED))
def test_the_outcome_of_a_run_like_the_readmes(lesson_id):
    lesson, (answer, figure) = LESSONS[lesson_id], EXPECTED[lesson_id]
    rec = _record(lesson_id)
    spec = lessons.prediction(lesson)
    got = lessons.outcome(spec, rec)
    assert got == answer
    assert rec[lesson.figure] == figure
    assert lessons.judge(spec, got, got)  # the run's own answer is right…
    wrong = next(o for o in spec.options if o != got) if spec.kind == "choice" else got + 3 * spec.tolerance + 1
    assert not lessons.judge(spec, wrong, got)  # …and a far one is not
    assert lessons.run_detail(lesson, rec) == {"run": rec["run"], "link": rec["link"], "figure": rec[lesson.figure]}
    if lesson.challenge:
        assert lessons.lesson_of(lesson.challenge).id == lesson.id


def test_readme_figures_the_records_hold():
    assert _record("small_and_accurate")["parameters"] == 47_710  # 784 × 60 + 60 + 10 × 60 + 10
    assert _record("overfitting")["parameters"] == 669_706
    assert _record("simplecnn_mismatch")["parameters"] == 60_074
    assert _record("lr_too_big")["ok"] is False  # "did not learn", yet it has an outcome
    assert _record("rnn_forgets")["longest_T"] == 20


def test_outcomes_the_run_cannot_tell_or_a_fallback_option():
    forgets = lessons.prediction("rnn_forgets")
    base = _record("rnn_forgets")
    assert lessons.outcome(forgets, {**base, "rnn_accuracy": 95.0}) == "all"
    assert lessons.outcome(forgets, {**base, "gru_accuracy": 50.0, "lstm_accuracy": 50.0}) == "none"
    assert lessons.outcome(forgets, {**base, "gru_accuracy": 50.0}) == "mixed"  # only the LSTM: the fallback
    assert lessons.outcome(forgets, {**base, "gru_accuracy": None}) is None  # the GRU never got to T = 20
    assert lessons.outcome(forgets, {**base, "end": "stopped"}) is None
    memory = lessons.prediction("lstm_long_memory")
    assert lessons.outcome(memory, {"end": "completed", "lstm_accuracy": 100.0, "gru_accuracy": 100.0}) == "tie"
    assert lessons.outcome(memory, {"end": "completed", "lstm_accuracy": 95.0, "gru_accuracy": math.nan}) is None
    big = lessons.prediction("lr_too_big")
    assert lessons.outcome(big, {"end": "diverged", "accuracy": 9.8}) == 9.8
    assert lessons.outcome(big, {"end": "completed"}) is None


def test_computed_lessons_follow_the_page_values_they_are_given():
    vanishing = LESSONS["vanishing_depth"]
    assert lessons.computed_record(vanishing, {"perceptron_vanish_z": "1.0"})["sigmoid_gradient"] == \
        pytest.approx(8.6e-8, rel=0.01)  # the README: z = 1, sigmoid 8.6 × 10⁻⁸
    assert lessons.computed_record(vanishing, {"perceptron_depth": 1})["sigmoid_gradient"] == 0.25
    softmax = LESSONS["softmax_temperature"]
    assert lessons.computed_record(softmax, {"perceptron_logits": "2, two"})["top_probability"] is None  # typed wrong
    assert lessons.outcome(softmax.predict, lessons.computed_record(softmax, {"perceptron_logits": "1, 1"})) == 50.0
    padding = LESSONS["padding_keeps_size"]
    assert lessons.computed_record(padding, {"cnn_conv_padding": 0})["output_size"] == 3
    with pytest.raises(ValueError):
        lessons.computed_record(LESSONS["lr_too_big"])


@pytest.mark.parametrize("page, stores", [("perceptron", ("perceptron_vanishing", "perceptron_softmax")),
                                          ("cnn", ("cnn_shapes", "cnn_conv"))])
def test_computed_sections_start_where_their_page_starts(page, stores):
    """The settings dataclasses' defaults are the page's widgets' defaults (the page draws them)."""
    at = open_link(f"views/{page}/{page}.py", {"lang": "en"})
    assert not at.exception
    for store in stores:
        spec = lessons.stores()[store]
        defaults = {f.name: f.default for f in dataclasses.fields(spec.settings)}
        for key, name in spec.keys.items():
            assert widget(at, key).value == defaults[name], (store, key)


# --- judge(): a choice is the same option; a number is within the tolerance -----------------------

def test_judge_a_choice():
    spec = lessons.prediction("plain_vs_residual")
    assert lessons.judge(spec, "residual", "residual")
    assert not lessons.judge(spec, "both", "residual")
    assert not lessons.judge(spec, None, "residual") and not lessons.judge(spec, "residual", None)


@pytest.mark.parametrize("answer, outcome, right", [
    (75.0, 75.0, True), (80.0, 75.0, True), (70.0, 75.0, True), (80.01, 75.0, False), (69.9, 75.0, False),
    ("76", 75.0, True), ("abc", 75.0, False), (math.nan, 75.0, False), (math.inf, 75.0, False),
    (75.0, None, False), (None, 75.0, False), (0.1 + 0.2 + 4.7, 0.0, True),  # the edge, float noise and all
])
def test_judge_a_number_within_its_tolerance(answer, outcome, right):
    spec = lessons.prediction("xor_hidden")  # ± 5 points
    assert spec.tolerance == 5.0
    assert lessons.judge(spec, answer, outcome) is right


def test_judge_a_number_within_a_relative_tolerance():
    spec = dataclasses.replace(lessons.prediction("xor_hidden"), tolerance=0.0, relative=0.2)
    assert lessons.judge(spec, 120.0, 100.0) and lessons.judge(spec, 80.0, 100.0)
    assert not lessons.judge(spec, 120.5, 100.0)
    assert lessons.judge(spec, -0.9, -1.0) and not lessons.judge(spec, 0.1, 0.0)
    wide = dataclasses.replace(spec, tolerance=1.0)  # the wider of the two
    assert lessons.judge(wide, 0.9, 0.0) and lessons.judge(wide, 119.0, 100.0)


def test_compare_gives_the_compared_rows_detail():
    spec = lessons.prediction("lr_too_big")
    assert lessons.compare(spec, 12.0, {"end": "not_learned", "accuracy": 10.1}) == \
        {"answer": 12.0, "outcome": 10.1, "right": True}
    assert lessons.compare(spec, 50.0, {"end": "stopped", "accuracy": 10.1}) == \
        {"answer": 50.0, "outcome": None, "right": None}


def test_bad_prediction_specs_are_refused():
    for spec in ({"kind": "guess"}, {"kind": "choice", "options": ["a"]},
                 {"kind": "choice", "options": ["a", "b"], "when": {"c": [{"field": "x", "op": "<", "value": 1}]}},
                 {"kind": "choice", "options": ["a", "b", "c"], "when": {"a": [{"field": "x", "op": "<", "value": 1}]}},
                 {"kind": "choice", "options": ["a", "b"], "when": {"a": [{"field": "x", "op": "~", "value": 1}]}},
                 {"kind": "number", "figure": "x", "min": 5, "max": 5},
                 {"kind": "number", "min": 0, "max": 1},
                 {"kind": "number", "figure": "x", "tolerance": -1},
                 {"kind": "number", "figure": "x", "tolerence": 1}):
        with pytest.raises(ValueError):
            lessons._prediction("x", spec)


# --- lesson_status: what the teacher's table shows -------------------------------------------------

def _row(kind, item, status, detail=None, day=10, hour=12):
    from db import Progress
    return Progress(kind, item, status, detail or {}, dt.datetime(2025, 3, day, hour, tzinfo=UTC))


DUE = dt.datetime(2025, 3, 12, 23, 59, tzinfo=UTC)
NOW = dt.datetime(2025, 3, 11, tzinfo=UTC)


def test_each_status_of_a_lesson_with_a_challenge():
    lesson = LESSONS["small_and_accurate"]
    opened = _row("lesson", lesson.id, "opened", day=9)
    predicted = _row("prediction", lesson.id, "answered", {"answer": "yes"}, day=10)
    ran = _row("lesson", lesson.id, "ran", {"run": "#1", "link": "/ann?x", "figure": 97.07}, day=11)
    compared = _row("prediction", lesson.id, "compared", {"answer": "yes", "outcome": "no", "right": False}, day=11)
    tried = _row("challenge", "small_accurate", "tried", {"run": "#1", "link": "/ann?x", "figure": 97.07}, day=11)
    met = _row("challenge", "small_accurate", "met", {"run": "#4", "link": "/ann?y", "figure": 98.1}, day=13)
    status = lessons.lesson_status
    assert status(lesson, [], DUE, NOW) == lessons.Cell("not_opened")
    assert status(lesson, [opened], DUE, NOW) == lessons.Cell("opened", time=opened.updated)
    cell = status(lesson, [opened, predicted], DUE, NOW)
    assert (cell.status, cell.answer, cell.outcome, cell.right, cell.time) == ("predicted", "yes", None, None,
                                                                                predicted.updated)
    cell = status(lesson, [ran, compared, tried], DUE, NOW)  # "ran" wrote over "opened"
    assert (cell.status, cell.figure, cell.answer, cell.outcome, cell.right) == ("ran", 97.07, "yes", "no", False)
    assert not cell.late and not cell.overdue
    cell = status(lesson, [ran, compared, tried], DUE, DUE + dt.timedelta(hours=1))
    assert cell.status == "ran" and cell.overdue and not cell.late
    cell = status(lesson, [ran, compared, met], DUE, NOW)
    assert (cell.status, cell.figure, cell.time, cell.late, cell.overdue) == ("met", 98.1, met.updated, True, False)
    assert status(lesson, [ran, compared, met], None, NOW).late is False  # no due date: never late
    no_figure = _row("challenge", "small_accurate", "met", {"run": "#1", "link": "/ann?x"}, day=11)
    assert status(lesson, [ran, no_figure], DUE, NOW).figure == 97.07  # an older challenge row: the run's figure


def test_a_lesson_without_a_challenge_is_met_by_a_run_kept_while_it_was_open():
    lesson = LESSONS["lr_too_big"]
    ran = _row("lesson", lesson.id, "ran", {"run": "#2", "link": "/ann?lr", "figure": 10.1}, day=12, hour=8)
    other = _row("lesson", "lr_too_small", "ran", {"figure": 25.3}, day=13)
    challenge = _row("challenge", "small_accurate", "met", {"figure": 98.1}, day=13)  # another lesson's
    cell = lessons.lesson_status(lesson, [ran, other, challenge], DUE, NOW)
    assert (cell.status, cell.figure, cell.time, cell.late) == ("met", 10.1, ran.updated, False)
    assert lessons.lesson_status(lesson, [other, challenge], DUE, NOW).status == "not_opened"


def test_late_is_the_status_rows_time_after_the_due_date_naive_times_are_utc():
    lesson = LESSONS["softmax_temperature"]
    late = _row("lesson", lesson.id, "opened", day=13)
    assert lessons.lesson_status(lesson, [late], DUE, NOW).late
    naive = {"kind": "lesson", "item": lesson.id, "status": "opened", "detail": None,
             "updated": dt.datetime(2025, 3, 13)}  # a dict row, a naive time: UTC
    cell = lessons.lesson_status(lesson, [naive], DUE.replace(tzinfo=None), dt.datetime(2025, 3, 14))
    assert (cell.status, cell.late, cell.overdue, cell.time.tzinfo) == ("opened", True, True, UTC)
    assert list(lessons.STATUSES) == ["not_opened", "opened", "predicted", "ran", "met"]
