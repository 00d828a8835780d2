"""Issue 32: no setting freezes a page. The time estimates, untrained figures and previews a rerun
waits on touch a bounded amount of work whatever the settings (checked by counting it, not by
timing it), and every page's extreme settings still give an estimate, in both languages."""
import dataclasses
import math

import pytest
import torch

from bench.reruns import CASES
from conftest import open_page, widget
from core import ann, cnn, engine, perceptron, photos, regression, resnet, rnn, stocks, transfer
from core.augment import from_toggles
from core.data import load_stock_csv
from core.models import count_params

CPU = torch.device("cpu")
WIDE = (4096,) * 6  # the widest and deepest MLP the ANN page's hidden-layer boxes accept
CACHES = (ann._costs, ann._timed, regression._costs, regression._timed, rnn._timed_sequences, rnn._spill,
          stocks._timed_windows, resnet._timed_twin,
          cnn._costs, cnn._augment_seconds, transfer._costs, photos._costs, photos._head_costs)
MEASUREMENTS = 6  # measure_costs calls one estimate may make at most (three RNN cells; two copies of a wide MLP)


@pytest.fixture
def work(monkeypatch):
    """Every training and evaluation an estimate runs through core.engine, recorded; caches emptied,
    so that the estimate measures."""
    found = {"train": [], "evaluate": []}
    real_train, real_evaluate = engine.train, engine.evaluate

    def train(model, data, config, device, **kwargs):
        found["train"].append({"rows": len(data[0]), "batch": config.batch_size, "epochs": config.epochs,
                               "shape": tuple(data[0].shape[1:]), "parameters": count_params(model)})
        return real_train(model, data, config, device, **kwargs)

    def evaluate(model, x, y, *args, **kwargs):
        found["evaluate"].append({"rows": len(x), "shape": tuple(x.shape[1:])})
        return real_evaluate(model, x, y, *args, **kwargs)
    monkeypatch.setattr(engine, "train", train)
    monkeypatch.setattr(rnn, "train", train)  # a large batch's one real step (rnn._spill)
    monkeypatch.setattr(engine, "evaluate", evaluate)
    for cache in CACHES:
        cache.cache_clear()
    yield found
    for cache in CACHES:
        cache.cache_clear()


def _stock_plan(**changes):
    frame = load_stock_csv("005930")
    settings = dataclasses.replace(stocks.StockSettings(), **changes)
    return stocks.plans(frame, stocks.prepare(frame, settings))


ESTIMATES = {  # the far ends of every page's widgets, each estimate as the page makes it
    "ann: six hidden layers of 4,096, batch 1,024": lambda: ann.estimate_seconds(
        ann.AnnSettings(hidden=WIDE, batch_size=1024, epochs=30), CPU),
    "ann: six hidden layers of 4,096, batch 16, GELU, dropout, RMSprop": lambda: ann.estimate_seconds(
        ann.AnnSettings(hidden=WIDE, batch_size=16, activation="gelu", dropout=0.8, optimizer="rmsprop"), CPU),
    "regression: six hidden layers of 4,096, batch 8, 1,000 epochs": lambda: regression.estimate_seconds(
        regression.RegressionSettings(hidden=WIDE, batch_size=8, epochs=1000), CPU),
    "cnn: CIFAR-10, batch 256, every augmentation, both arms": lambda: cnn.compare_estimate(dataclasses.replace(
        cnn.DEFAULTS["cifar"], batch_size=256, epochs=10, augment=from_toggles("cifar", ["crop", "flip", "jitter"])),
        CPU),
    "resnet: convolutional, depth 50, 32 channels, CIFAR-10, batch 256": lambda: resnet.estimate_seconds(
        resnet.ExperimentSettings(kind="conv", depth=50, width=32, dataset="cifar10", batchnorm=True,
                                  batch_size=256, n_train=10_000, epochs=10), CPU),
    "resnet: fully connected, depth 50, width 256, batch 16": lambda: resnet.estimate_seconds(
        resnet.ExperimentSettings(depth=50, width=256, batch_size=16, n_train=60_000, epochs=10), CPU),
    "transfer: 500 labels per class, sweep": lambda: transfer.sweep_estimate_seconds(
        transfer.TransferSettings(per_class=500, epochs=30), CPU),
    "photos: five classes of 100 photos, 60 epochs, batch 16": lambda: photos.estimate_seconds(
        photos.PhotoSettings(classes=tuple("abcde"), counts=(photos.MAX_PER_CLASS,) * 5, epochs=60), CPU),
    "rnn: the issue's T 200, 4,300 sequences, 2 layers, hidden 128, full batch": lambda: rnn.estimate_sine_seconds(
        rnn.SineSettings(seq_len=200, samples=4300, num_layers=2, hidden_size=128, batch_size=3440), CPU),
    "rnn: T 200, 5,000 sequences, 3 layers, hidden 128, batch 16, 300 epochs": lambda: rnn.estimate_sine_seconds(
        rnn.SineSettings(seq_len=200, samples=5000, num_layers=3, hidden_size=128, batch_size=16, epochs=300), CPU),
    "rnn memory: T up to 100, 2,048 sequences, 100 epochs": lambda: rnn.estimate_memory_seconds(
        rnn.MemorySettings(t_values=(12, 25, 50, 100), samples=2048, epochs=100), CPU),
    "stocks: window 120, six features, hidden 64, 3 layers, batch 8, leaky model": lambda: stocks.estimate_seconds(
        _stock_plan(features=stocks.FEATURE_CHOICES, window=120, hidden=64, layers=3, batch_size=8, epochs=300,
                    patience=None, with_leaky=True, start="1990-01-01"), CPU),
}


@pytest.mark.parametrize("case", list(ESTIMATES))
def test_an_estimate_touches_bounded_work_whatever_the_settings(case, work):
    seconds = ESTIMATES[case]()
    assert math.isfinite(seconds) and seconds > 0
    trains, evaluations = work["train"], work["evaluate"]
    assert trains, "the estimate timed nothing"
    for call in trains:  # an epoch or two of a few batches of a bounded model on bounded rows
        assert call["epochs"] <= 2 and call["batch"] <= max(engine.TIMED_ROWS, rnn.SPILL_ROWS)
        assert call["rows"] <= engine.TIMED_ROWS * engine.TIMED_STEPS
        assert call["parameters"] <= engine.TIMED_PARAMETERS
        if len(call["shape"]) == 2 and case.startswith(("rnn", "stocks")):  # (positions, features)
            assert call["shape"][0] <= engine.TIMED_SEQUENCE
    steps = sum(math.ceil(c["rows"] / c["batch"]) * c["epochs"] for c in trains)
    assert steps <= MEASUREMENTS * engine.TIMED_STEPS
    assert sum(c["batch"] > engine.TIMED_ROWS for c in trains) <= 3  # the one calibration of a large batch
    assert all(e["rows"] <= engine.TIMED_EVAL_ROWS for e in evaluations)
    assert len(evaluations) <= MEASUREMENTS * 5


def test_the_perceptron_page_estimates_are_bounded(monkeypatch):
    X, y = perceptron.ToyData("circles", 1000, 1.0, 0).make()
    visits, steps = [], []
    real_rule, real_mlp, real_cubic = perceptron.train_perceptron, perceptron.train_mlp, perceptron.fit_cubic
    monkeypatch.setattr(perceptron, "train_perceptron",
                        lambda X, y, config: visits.append(len(X) * config.epochs) or real_rule(X, y, config))
    monkeypatch.setattr(perceptron, "train_mlp", lambda X, y, config, *args: steps.append(
        config.epochs * math.ceil(len(X) / config.train_config(len(X)).batch_size)) or real_mlp(X, y, config, *args))
    monkeypatch.setattr(perceptron, "fit_cubic", lambda config: steps.append(config.steps) or real_cubic(config))

    rule = perceptron.PerceptronConfig(lr=0.001, epochs=200)
    assert perceptron.estimate_rule_seconds(X, y, rule) > perceptron.PACED_FIRST * perceptron.PACED_PAUSE
    assert visits and sum(visits) <= perceptron.TIMED_VISITS
    mlp = perceptron.MLPConfig(hidden=32, epochs=2000, batch_size=16, optimizer="rmsprop")
    assert perceptron.estimate_mlp_seconds(X, y, mlp, CPU) > 0
    assert sum(steps) <= perceptron.TIMED_MLP_STEPS
    steps.clear()
    assert perceptron.estimate_cubic_seconds(perceptron.CubicFitConfig(steps=10_000)) > 0
    assert sum(steps) <= 1 + 50 + 250


def test_a_wide_network_is_timed_as_narrower_copies_in_proportion_to_its_parameters():
    timed = []

    def measure(widths, rows):  # a fake network: 1 ms a step, 10 ns per parameter, 0.1 ns per parameter and row
        timed.append((widths, rows))
        size, batch = engine.mlp_parameters(784, widths, 10), rows or 64
        return engine.Costs(step=0.001 + 1e-8 * size + 1e-10 * size * batch, eval_row=1e-9 * size, batch=batch)
    costs = engine.costs_by_width(WIDE, 784, 10, measure)
    assert all(engine.mlp_parameters(784, w, 10) <= engine.TIMED_PARAMETERS for w, _ in timed) and len(timed) == 3
    assert sorted(rows or 64 for _, rows in timed) == [engine.WIDE_ROWS, engine.WIDE_ROWS, 64]
    timed.clear()
    engine.costs_by_width(WIDE, 784, 10, lambda widths, rows: measure(widths, rows or engine.WIDE_ROWS))
    assert len(timed) == 2  # a batch of WIDE_ROWS: the middle copy's one timing serves for both
    size = engine.mlp_parameters(784, WIDE, 10)
    assert costs.step == pytest.approx(1e-8 * size + 1e-10 * size * 64, rel=0.02)  # its fixed 1 ms scaled too
    assert costs.at_batch(1024).step == pytest.approx(1e-8 * size + 1e-10 * size * 1024, rel=0.02)
    assert costs.eval_row == pytest.approx(1e-9 * size)
    small = engine.costs_by_width((128, 64), 784, 10, measure)
    assert small.step == pytest.approx(0.001 + 1.64e-8 * engine.mlp_parameters(784, (128, 64), 10))


def test_costs_scale_in_rows_and_sequence_length():
    costs = engine.Costs(step=0.01, eval_fixed=0.1, eval_row=0.001, epoch_fixed=0.02, step_row=1e-4, batch=64)
    assert costs.at_batch(1064).step == pytest.approx(0.01 + 0.1) and costs.at_batch(64) is costs
    lengths = []
    long = engine.costs_by_length(10 * engine.TIMED_SEQUENCE, lambda T: lengths.append(T) or costs)
    assert lengths == [engine.TIMED_SEQUENCE]  # never the length itself
    assert long.step == pytest.approx(0.1) and long.eval_row == pytest.approx(0.01)
    assert long.eval_fixed == costs.eval_fixed and long.epoch_fixed == costs.epoch_fixed
    deeper = costs.along(3, dataclasses.replace(costs, step=0.02), 5, 24)
    assert deeper.step == pytest.approx(0.01 + 0.005 * 21)


def test_a_large_networks_untrained_accuracy_waits_for_a_button():
    assert ann.untrained_quick(ann.AnnSettings()) and ann.untrained_quick(ann.AnnSettings(hidden=(1024, 1024)))
    assert not ann.untrained_quick(ann.AnnSettings(hidden=WIDE))
    s = ann.AnnSettings(hidden=(32,))
    events = list(ann.untrained_steps(s, CPU, rows=250, chunk=100))
    assert [round(e["progress"], 2) for e in events[:-1]] == [0.1, 0.46, 0.82, 1.0]
    assert events[-1]["accuracy"] == pytest.approx(ann.untrained_accuracy(s, CPU, rows=250))


def _drive(at, changes: list[dict]):
    """Set each change's widgets; one not drawn yet (a dataset's own sliders), or drawn disabled, is
    set after a rerun."""
    from streamlit.testing.v1.errors import AppTestError

    for change in changes:
        for key, value in change.items():
            try:
                widget(at, key).set_value(value)
            except (KeyError, AppTestError):  # not drawn yet, or drawn disabled before the last changes
                at.run()
                assert not at.exception, [e.message for e in at.exception]
                widget(at, key).set_value(value)
    at.run()
    return at


ESTIMATES_SHOWN = {"perceptron": 3, "ann": 2, "cnn": 2, "resnet": 3, "rnn": 2, "stocks": 1}


@pytest.mark.parametrize("language", ["en", "ko"])
@pytest.mark.parametrize("page", list(CASES))
def test_the_worst_settings_of_every_page_give_an_estimate(page, language):
    worst = CASES[page][-1][1]  # the page's last case: its worst combination (bench.reruns)
    at = _drive(open_page(f"views/{page}/{page}.py", timeout=300, query={"lang": language}), worst)
    assert not at.exception, [e.message for e in at.exception]
    shown = [c.value for c in at.caption if c.value.startswith("⏱")]
    assert len(shown) >= ESTIMATES_SHOWN.get(page, 0), shown


def test_a_wide_networks_untrained_accuracy_is_measured_in_a_training_slot(monkeypatch):
    from core import slots

    monkeypatch.setattr(ann, "UNTRAINED_PARAMETERS", 100_000)  # a 128-wide net counts as large here
    at = _drive(open_page("views/ann/ann.py"), [{"ann_hidden": "128"}])
    metric = next(m for m in at.metric if m.label == "Untrained accuracy")
    assert metric.value == "—" and not at.exception
    before = slots.shared("cpu").busy
    at.button(key="ann_untrained_measure").click().run()
    assert not at.exception, [e.message for e in at.exception]
    metric = next(m for m in at.metric if m.label == "Untrained accuracy")
    assert 2 < float(metric.value.rstrip(" %")) < 25 and slots.shared("cpu").busy == before  # the slot is back
    at.run()  # measured once for every session: the next rerun shows it, without the button
    assert "ann_untrained_measure" not in [b.key for b in at.button]
    assert next(m for m in at.metric if m.label == "Untrained accuracy").value == metric.value


@pytest.mark.parametrize("estimate", ["ann", "regression"])
def test_a_wide_networks_activation_or_dropout_change_re_times_only_its_small_copy(estimate, monkeypatch):
    """The widest timed copy's few-row steps are its weights' traffic: one timing serves every
    activation and dropout, so moving either re-times only the copy an eighth of its size."""
    timed, real = [], engine.measure_costs
    monkeypatch.setattr(engine, "measure_costs", lambda model, *a, **k: timed.append(count_params(model)) or real(
        model, *a, **k))
    for cache in CACHES:
        cache.cache_clear()
    make = {"ann": lambda **k: ann.estimate_seconds(ann.AnnSettings(hidden=WIDE, batch_size=8, **k), CPU),
            "regression": lambda **k: regression.estimate_seconds(
                regression.RegressionSettings(hidden=WIDE, batch_size=8, **k), CPU)}[estimate]
    make()
    assert max(timed) > engine.TIMED_PARAMETERS // 2  # the widest copy was timed once
    timed.clear()
    assert make(dropout=0.5, activation="gelu") > 0
    assert timed and max(timed) <= engine.TIMED_PARAMETERS // 8, timed


def test_large_sequence_batches_share_the_memory_bus():
    """Small steps run side by side on the workers; a step whose saved activations far outgrow the
    caches takes turns with the others (the cells' sum), and a size between is in between."""
    seconds = [4.0, 3.0, 1.0]
    assert rnn.contended_seconds(seconds, 2, rnn.SPILL_SIZE // 2) == engine.parallel_seconds(seconds, 2) == 4.0
    assert rnn.contended_seconds(seconds, 2, rnn.SPILL_SIZE * rnn.CONTENDED * 4) == 8.0
    assert 4.0 < rnn.contended_seconds(seconds, 2, rnn.SPILL_SIZE * 4) < 8.0
