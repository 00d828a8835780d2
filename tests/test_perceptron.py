"""Page 1: activations (autograd vs formulas), perceptron rule, toy MLP, losses, cubic fit, recipes, page."""
import json
import math
import re

import numpy as np
import pandas as pd
import pyarrow
import pytest
import torch

from conftest import open_page, reopen_workspace, run_recipe
from core import perceptron
from core.engine import TrainConfig
from core.words import sections

CPU = torch.device("cpu")


# --- Activations -------------------------------------------------------------------------------

def _analytic(name: str, x: torch.Tensor, slope: float, alpha: float) -> torch.Tensor:
    if name == "sigmoid":
        s = 1 / (1 + torch.exp(-x))
        return s * (1 - s)
    if name == "tanh":
        return 1 - torch.tanh(x) ** 2
    if name == "relu":
        return (x > 0).double()
    if name == "leaky_relu":
        return torch.where(x > 0, torch.ones_like(x), torch.full_like(x, slope))
    if name == "elu":
        return torch.where(x > 0, torch.ones_like(x), alpha * torch.exp(x))
    if name == "gelu":
        pdf = torch.exp(-x ** 2 / 2) / math.sqrt(2 * math.pi)
        cdf = 0.5 * (1 + torch.erf(x / math.sqrt(2)))
        return cdf + x * pdf
    raise AssertionError(name)


@pytest.mark.parametrize("name", perceptron.ACTIVATIONS)
def test_autograd_derivatives_equal_the_analytic_formulas(name):
    x = torch.linspace(-6, 6, 1000, dtype=torch.float64)  # even count: 0 is not on the grid
    slope, alpha = 0.07, 1.7
    got = perceptron.derivative(name, x, slope=slope, alpha=alpha)
    torch.testing.assert_close(got, _analytic(name, x, slope, alpha), rtol=1e-9, atol=1e-12)


def test_activation_curves_carry_the_autograd_derivative():
    curves = perceptron.activation_curves(-3, 3, points=61, slope=0.2)
    assert set(curves["activation"]) == set(perceptron.ACTIVATIONS)
    sig = curves[(curves["activation"] == "sigmoid") & (curves["series"] == "f'(x)")]
    s = 1 / (1 + np.exp(-sig["x"].to_numpy()))
    np.testing.assert_allclose(sig["value"].to_numpy(), s * (1 - s), rtol=1e-9)
    leaky = curves[(curves["activation"] == "leaky_relu") & (curves["series"] == "f'(x)") & (curves["x"] < -0.01)]
    np.testing.assert_allclose(leaky["value"].to_numpy(), 0.2)
    with pytest.raises(ValueError):
        perceptron.activation_curves(1, 1)


def test_softmax_jacobian_matches_formula_and_temperature_sharpens():
    logits = [2.0, 1.0, 0.1, -1.0]
    for temperature in (0.3, 1.0, 4.0):
        probs, jac = perceptron.softmax_with_jacobian(logits, temperature)
        assert probs.sum() == pytest.approx(1.0)
        np.testing.assert_allclose(jac, (np.diag(probs) - np.outer(probs, probs)) / temperature, atol=1e-12)
        np.testing.assert_allclose(jac.sum(axis=1), 0.0, atol=1e-12)
    cold, _ = perceptron.softmax_with_jacobian(logits, 0.1)
    hot, _ = perceptron.softmax_with_jacobian(logits, 10.0)
    assert cold.max() > 0.99 and hot.max() < 0.35
    big, _ = perceptron.softmax_with_jacobian([1000.0, 0.0], 0.05)  # stable, no NaN
    assert np.isfinite(big).all()


def test_parse_logits_gives_readable_errors():
    assert perceptron.parse_logits("2, 1; 0.1 -1") == [2.0, 1.0, 0.1, -1.0]
    for bad, key in (("", "logits_too_few"), ("3", "logits_too_few"), ("a, b", "logits_unreadable"),
                     ("1, nan", "logits_not_finite"), (",".join(["1"] * 21), "logits_too_many")):
        with pytest.raises(ValueError) as error:
            perceptron.parse_logits(bad)
        assert error.value.words.key == f"perceptron.{key}"  # the page shows content/<lang>/perceptron.md [[key]]


def test_vanishing_gradient_is_a_product_of_derivatives():
    table = perceptron.gradient_through_layers(12, z=1.0)
    at = table[table["layer"] == 12].set_index("activation")["gradient"]
    assert at["sigmoid_best"] == pytest.approx(0.25 ** 12)
    s = 1 / (1 + math.exp(-1.0))
    assert at["sigmoid"] == pytest.approx((s * (1 - s)) ** 12)
    assert at["tanh"] == pytest.approx((1 - math.tanh(1.0) ** 2) ** 12)
    assert at["relu"] == pytest.approx(1.0)
    negative = perceptron.gradient_through_layers(3, z=-1.0, slope=0.1).query("layer == 3").set_index("activation")
    assert negative.loc["relu", "gradient"] == 0.0
    assert negative.loc["leaky_relu", "gradient"] == pytest.approx(0.1 ** 3)


# --- Perceptron and MLP -------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["AND", "OR"])
@pytest.mark.parametrize("activation", ["step", "sigmoid"])
def test_perceptron_rule_learns_and_or(name, activation):
    X, y = perceptron.make_dataset(name, 200, 0.1, seed=3)
    events = list(perceptron.train_perceptron(X, y, perceptron.PerceptronConfig(epochs=100, activation=activation)))
    end = events[-1]
    assert end["kind"] == "end" and end["reason"] == "converged", end["message"]
    assert end["accuracy"] == 100.0
    assert events[0]["epoch"] == 0 and events[0]["accuracy"] < 100.0  # it really learned


def test_perceptron_rule_cannot_learn_xor():
    X, y = perceptron.make_dataset("XOR", 200, 0.1, seed=0)
    events = list(perceptron.train_perceptron(X, y, perceptron.PerceptronConfig(epochs=100)))
    end = events[-1]
    assert end["reason"] == "completed" and end["words"].key == "perceptron.rule_completed"
    assert "misclassified" in end["message"]
    epochs = [e for e in events if e["kind"] == "epoch"]
    assert len(epochs) == 101
    assert max(e["accuracy"] for e in epochs) <= 80.0  # a line gets 3 of 4 corners (75%) at best
    assert all(e["mistakes"] > 0 for e in epochs[1:])


def test_paced_events_are_the_same_events():
    X, y = perceptron.make_dataset("AND", 40, 0.1, seed=0)
    config = perceptron.PerceptronConfig(epochs=5)
    events = list(perceptron.train_perceptron(X, y, config))
    assert list(perceptron.paced(perceptron.train_perceptron(X, y, config), first=3, pause=0.0)) == events
    assert all(0.0 <= e["progress"] <= 1.0 for e in events[:-1])  # run_training's progress bar


def test_toy_data_and_settings_map_to_the_engine_and_the_recipe():
    data = perceptron.ToyData("XOR", 40, 0.2, 3)
    X, y = data.make()
    assert torch.equal(X, perceptron.make_dataset("XOR", 40, 0.2, 3)[0]) and len(y) == 40
    mlp = perceptron.MLPConfig(hidden=3, activation="relu", optimizer="sgd_momentum", epochs=7, batch_size=16)
    config = mlp.train_config(len(X))
    assert (config.batch_size, config.log_every, config.epochs, config.optimizer) == (16, 3, 7, "sgd_momentum")
    assert perceptron.MLPConfig().train_config(40).batch_size == 40  # 0 = full batch
    values = mlp.recipe_values(data)
    assert values["DATASET"] == "XOR" and values["ACTIVATION"] == "ReLU" and values["BATCH_SIZE"] == 16
    assert mlp.parameters == sum(p.numel() for p in perceptron.make_toy_mlp(3, "relu").parameters())
    cubic = perceptron.CubicFitConfig(method="momentum", lr=1e-6)
    assert (cubic.train_config().optimizer, cubic.train_config().momentum) == ("sgd_momentum", 0.9)
    assert perceptron.CubicFitConfig(method="plain").train_config().optimizer == "sgd"


def test_datasets_shapes_labels_and_line_segment():
    for name in perceptron.DATASETS:
        X, y = perceptron.make_dataset(name, 100, 0.1, seed=1)
        assert X.shape == (100, 2) and X.dtype == torch.float32 and y.dtype == torch.int64
        assert set(y.tolist()) == {0, 1}
    X1, _ = perceptron.make_dataset("moons", 100, 0.1, seed=1)
    X2, _ = perceptron.make_dataset("moons", 100, 0.1, seed=2)
    assert not torch.equal(X1, X2)
    seg = perceptron.line_segment(1.0, 1.0, -1.5, (-1, 2, -1, 2))
    assert len(seg) == 2 and all(p + q == pytest.approx(1.5) for p, q in seg)
    assert perceptron.line_segment(0.0, 0.0, 1.0, (-1, 2, -1, 2)) == []
    assert perceptron.line_segment(1.0, 0.0, -0.5, (-1, 2, -1, 2)) == [(0.5, -1), (0.5, 2)]


def test_mlp_solves_xor_with_decision_grids():
    X, y = perceptron.make_dataset("XOR", 200, 0.1, seed=0)
    config = perceptron.MLPConfig(hidden=4, activation="tanh", lr=0.03, optimizer="adam", epochs=200,
                              snapshots=10, resolution=20)
    events = list(perceptron.train_mlp(X, y, config, CPU))
    grids = [e for e in events if e["kind"] == "grid"]
    assert events[-1]["kind"] == "end" and events[-1]["reason"] == "completed"
    assert grids[0]["epoch"] == 0 and grids[-1]["epoch"] == 200 and len(grids) == 11
    assert grids[-1]["probs"].shape == (20, 20)
    assert ((grids[-1]["probs"] >= 0) & (grids[-1]["probs"] <= 1)).all()
    assert len(grids[-1]["hidden"]) == 4
    assert grids[-1]["accuracy"] >= 95.0
    assert grids[0]["accuracy"] < 95.0
    # One hidden neuron draws one line again: it cannot solve XOR.
    one = [e for e in perceptron.train_mlp(X, y, perceptron.MLPConfig(hidden=1, epochs=200, snapshots=1), CPU)
           if e["kind"] == "grid"]
    assert one[-1]["accuracy"] <= 80.0


# --- Losses --------------------------------------------------------------------------------------

def test_cross_entropy_course_example():
    probs, target = perceptron.COURSE_CE_EXAMPLE
    assert perceptron.cross_entropy_from_probs(probs, target) == pytest.approx(0.1053, abs=1e-4)
    moved = perceptron.with_true_class_prob(probs, target, 0.5)
    assert sum(moved) == pytest.approx(1.0) and moved[target] == 0.5
    assert moved[2] / moved[0] == pytest.approx(0.05 / 0.02)  # others keep their ratio
    values = [perceptron.cross_entropy_from_probs(perceptron.with_true_class_prob(probs, target, p), target)
              for p in (0.9, 0.1, 0.01, 1e-4)]
    assert values == sorted(values) and values[-1] == pytest.approx(-math.log(1e-4))
    assert math.isinf(perceptron.cross_entropy_from_probs(perceptron.with_true_class_prob(probs, target, 0.0), target))
    with pytest.raises(ValueError):
        perceptron.cross_entropy_from_probs([0.5, 0.6], 0)


def test_table_errors_skip_rows_that_are_not_numbers():
    table = pd.DataFrame({"target": [3.0, None, 2.0, "x"], "prediction": [2.5, 1.0, 2.0, 4.0]})
    targets, predictions, ignored = perceptron.table_errors(table, outlier=1.0)
    assert ignored == 2 and targets.tolist() == [3.0, 2.0] and predictions.tolist() == [2.5, 3.0]
    empty = perceptron.table_errors(pd.DataFrame({"target": [None], "prediction": [1.0]}))
    assert len(empty[0]) == 0 and empty[2] == 1


def test_regression_and_binary_losses():
    losses = perceptron.regression_losses([3, -0.5, 2, 7], [2.5, 0.0, 2, 8])
    assert losses["mse"] == pytest.approx(0.375) and losses["mae"] == pytest.approx(0.5)
    with pytest.raises(ValueError):
        perceptron.regression_losses([1, 2], [1])
    assert perceptron.binary_cross_entropy(0.8, 1) == pytest.approx(-math.log(0.8))
    assert perceptron.binary_cross_entropy(0.8, 0) == pytest.approx(-math.log(0.2))
    assert math.isinf(perceptron.binary_cross_entropy(1.0, 0))
    curves = perceptron.binary_cross_entropy_curves(points=11)
    one = curves[curves["label"] == 1]
    np.testing.assert_allclose(one["loss"], -np.log(one["p"]), rtol=1e-9)


# --- Gradient descent on sin(x) --------------------------------------------------------------------

@pytest.mark.parametrize("method,lr,steps", [("plain", 1e-6, 2000), ("momentum", 1e-6, 1000), ("adam", 1e-2, 1000)])
def test_cubic_fit_lowers_the_loss_by_90_percent(method, lr, steps):
    events = list(perceptron.fit_cubic(perceptron.CubicFitConfig(method=method, lr=lr, steps=steps, log_every=50)))
    end = events[-1]
    assert end["reason"] == "completed", end["message"]
    assert end["final_loss"] <= 0.1 * end["initial_loss"]
    steps_logged = [e for e in events if e["kind"] == "step"]
    assert steps_logged[-1]["step"] == steps and all(math.isfinite(e["loss"]) for e in steps_logged)
    assert end["coefficients"][1] > 0.5 and end["coefficients"][3] < 0  # sin-like: b > 0, d < 0


def test_cubic_fit_divergence_is_a_message_not_nan():
    problem = perceptron.cubic_problem(1000)
    assert 1e-6 < problem["stable_lr"] < 1e-5  # 1e-6 (the course) is stable, 1e-5 is not
    events = list(perceptron.fit_cubic(perceptron.CubicFitConfig(method="plain", lr=1e-4, steps=500)))
    end = events[-1]
    assert end["reason"] == "diverged" and end["words"].key == "perceptron.sine_diverged"
    assert "Diverged" in end["message"] and "lower" in end["message"]  # the English of end["words"]
    assert end["coefficients"] is None
    assert all(math.isfinite(e["loss"]) for e in events if e["kind"] == "step")
    assert problem["best"][1] == pytest.approx(0.8565, abs=1e-3)


# --- Recipes ("Show the code") -----------------------------------------------------------------------

@pytest.mark.parametrize("dataset,optimizer,batch_size,activation",
                         [("XOR", "adam", 0, "tanh"), ("moons", "sgd_momentum", 16, "relu"),
                          ("OR", "sgd", 16, "sigmoid")])
def test_mlp_recipe_matches_the_engine(dataset, optimizer, batch_size, activation, capsys):
    """The recipe (plain autograd, torch.optim) and train_mlp (core.engine, its fast path and fused
    optimizers) start from the same weights and see the same batches. Tolerance: final accuracy
    within 1 point, final epoch loss within 1e-3 relative (float rounding only)."""
    data = perceptron.ToyData(dataset, 60, 0.1, 0)
    config = perceptron.MLPConfig(hidden=4, activation=activation, optimizer=optimizer, lr=0.03, epochs=40,
                                  batch_size=batch_size, snapshots=1, resolution=5)
    X, y = data.make()
    events = list(perceptron.train_mlp(X, y, config, CPU))
    grid = [e for e in events if e["kind"] == "grid"][-1]
    loss = [e for e in events if e["kind"] == "epoch"][-1]["train_loss"]
    script = run_recipe("perceptron_mlp", optimizer=config.train_config(len(X)), **config.recipe_values(data))
    assert torch.equal(script["X"], X) and torch.equal(script["y"], y)  # the recipe's copy of make_dataset
    assert script["accuracy"] == pytest.approx(grid["accuracy"], abs=1.0)
    assert script["losses"][-1] == pytest.approx(loss, rel=1e-3)
    assert f"MLP accuracy on {dataset}:" in capsys.readouterr().out


def test_mlp_recipe_makes_every_dataset_like_core():
    """The recipe carries its own copy of make_dataset: it must give the very same points."""
    script = run_recipe("perceptron_mlp", DATASET="OR", N_POINTS=8, EPOCHS=1)
    for name in perceptron.DATASETS:
        for got, want in zip(script["make_dataset"](name, 30, 0.2, 5), perceptron.make_dataset(name, 30, 0.2, 5)):
            assert torch.equal(got, want), name


@pytest.mark.parametrize("method", perceptron.CUBIC_METHODS)
def test_cubic_recipe_matches_fit_cubic(method, capsys):
    """Same start, same updates (the hand-written one, or torch.optim from the one optimizer map).
    Tolerance: final loss within 1e-5 relative."""
    config = perceptron.CubicFitConfig(method=method, lr=perceptron.CUBIC_DEFAULT_LR[method], steps=150, seed=2)
    end = list(perceptron.fit_cubic(config))[-1]
    script = run_recipe("perceptron_cubic", optimizer=config.train_config(), **config.recipe_values())
    assert script["final_loss"] == pytest.approx(end["final_loss"], rel=1e-5)
    assert script["initial_loss"] == pytest.approx(end["initial_loss"], rel=1e-6)
    assert "Result: y =" in capsys.readouterr().out


def test_cubic_recipe_reports_divergence():
    script = run_recipe("perceptron_cubic", optimizer=TrainConfig(optimizer="sgd"), METHOD="plain", LR=1e-4,
                        STEPS=200)
    assert script["diverged"]

# --- The page ---------------------------------------------------------------------------------------

def _chart_titles(at) -> list[str]:
    titles = []
    for chart in at.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        title = spec.get("title")
        titles.append(title.get("text") if isinstance(title, dict) else (title or ""))
    return titles


def _runs(at, store: str) -> list:
    return at.session_state[store]["runs"]


def test_page_renders_and_training_clicks_produce_charts():
    at = open_page("views/perceptron/perceptron.py")
    assert not at.exception, [e.message for e in at.exception]
    headers = [h.value for h in at.header]
    assert len(headers) == 8 and headers[0].startswith("1 ·") and headers[-1].startswith("8 ·")
    assert "Your perceptron" in _chart_titles(at)
    assert any("torch.autograd" in m.value for m in at.markdown)
    assert any(m.label == "Accuracy" and m.value == "100.0%" for m in at.metric)  # default line is AND

    at.selectbox(key="perceptron_dataset").set_value("XOR").run()
    at.button(key="perceptron_rule_train").click().run()
    assert "perceptron_rule_frame" in at.session_state
    assert not at.exception, [e.message for e in at.exception]
    assert any("misclassified" in w.value for w in at.warning)
    (rule_run,) = _runs(at, "perceptron_rule_runs")  # kept in the rule's RunStore, shown with its replay
    assert rule_run.end["reason"] == "completed" and rule_run.results["data"].name == "XOR"
    assert at.slider(key="perceptron_rule_frame").value == len(rule_run.history) - 1
    assert any(t.startswith("End of epoch 20") for t in _chart_titles(at))

    at.slider(key="perceptron_mlp_epochs").set_value(150).run()
    at.button(key="perceptron_mlp_train").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert "Loss per epoch" in _chart_titles(at)
    final = next(m for m in at.metric if m.label == "Final accuracy")
    assert float(final.value.rstrip("%")) >= 95.0
    assert any("XOR solved" in s.value for s in at.success)
    (mlp_run,) = _runs(at, "perceptron_mlp_runs")
    assert mlp_run.end["reason"] == "completed" and len(mlp_run.epochs) == 150 and mlp_run.state_dict is None

    at.toggle(key="perceptron_sine_open").set_value(True).run()  # the section is drawn once opened
    at.slider(key="perceptron_sine_steps").set_value(500).run()
    at.button(key="perceptron_sine_run").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert any(t.startswith("Loss curves") for t in _chart_titles(at))
    assert any("Finished 500 steps" in s.value for s in at.success)
    assert "perceptron_sine_lr_plain" in at.session_state
    at.radio(key="perceptron_sine_method").set_value("adam").run()
    at.button(key="perceptron_sine_run").click().run()
    sine_runs = _runs(at, "perceptron_sine_runs")
    assert [r.settings.method for r in sine_runs] == ["plain", "adam"]  # both overlaid in the loss chart
    reopen_workspace(at, "views/perceptron/perceptron.py",
                     ["perceptron_rule_runs", "perceptron_mlp_runs", "perceptron_sine_runs"])
    at.session_state["perceptron_show_code"] = True  # a closed "Show the code" is not drawn: open both
    at.session_state["perceptron_cubic_show_code"] = True
    at.run()
    code, cubic = [c.value for c in at.main.code]
    assert "nn.Sequential(nn.Flatten(), nn.Linear(2, HIDDEN), getattr(nn, ACTIVATION)()" in code
    assert "ACTIVATION = 'Tanh'" in code and "DATASET = 'XOR'" in code and "EPOCHS = 150" in code
    assert "torch.optim.Adam(model.parameters(), lr=LR)" in code
    assert "METHOD = 'adam'" in cubic and "torch.optim.Adam([coef], lr=LR)" in cubic

    at.selectbox(key="perceptron_dataset").set_value("OR").run()  # the runs stay, the pictures wait
    assert any("data changed since the last training run" in i.value for i in at.info)
    assert any("data changed since the last MLP run" in i.value for i in at.info)


def test_stopped_runs_are_kept_and_shown():
    """What Stop leaves behind: run_training's results(history, None) with the events so far."""
    from ui.runs import Run

    data = perceptron.ToyData()  # the page's default data
    X, y = data.make()
    rule = perceptron.PerceptronConfig(seed=data.seed)
    rule_events = [e for e in perceptron.train_perceptron(X, y, rule) if e["kind"] != "end"][:5]
    mlp = perceptron.MLPConfig(epochs=20, snapshots=10, resolution=5)
    mlp_events = [e for e in perceptron.train_mlp(X, y, mlp, CPU) if e["kind"] != "end"][:12]
    sine = perceptron.CubicFitConfig(steps=200)
    sine_events = [e for e in perceptron.fit_cubic(sine) if e["kind"] != "end"][:3]

    at = open_page("views/perceptron/perceptron.py")
    for store, settings, events, results in (("perceptron_rule_runs", rule, rule_events, {"data": data}),
                                             ("perceptron_mlp_runs", mlp, mlp_events, {"data": data}),
                                             ("perceptron_sine_runs", sine, sine_events, {})):
        at.session_state[store] = {"runs": [Run(1, settings, events, None, results)], "next_id": 2,
                                   "notice": "Run #1 was stopped; kept with what it finished."}
    at.toggle(key="perceptron_sine_open").set_value(True)  # its runs show in the open section
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    warnings = [w.value for w in at.warning]
    assert "Training was stopped; you can replay the steps that ran." in warnings
    assert "Training was stopped; showing what ran so far." in warnings
    assert "Stopped; showing the run so far." in warnings
    assert at.slider(key="perceptron_rule_frame").value == 4
    assert len(at.toast) == 3  # announce() tells about each stopped run once


def test_page_extreme_values_give_messages_not_exceptions():
    at = open_page("views/perceptron/perceptron.py")
    at.text_input(key="perceptron_logits").set_value("2, abc").run()
    assert any("Could not read" in e.value for e in at.error)
    at.slider(key="perceptron_temperature").set_value(0.05).run()
    at.slider(key="perceptron_act_range").set_value((3.0, 3.0)).run()
    assert any("x range is empty" in w.value for w in at.warning)
    at.slider(key="perceptron_w1").set_value(0.0).run()
    at.slider(key="perceptron_w2").set_value(0.0).run()
    assert any("ignores its inputs" in w.value for w in at.warning)
    at.slider(key="perceptron_depth").set_value(50).run()
    at.slider(key="perceptron_vanish_z").set_value(-3.0).run()
    words = sections("en", "perceptron")
    at.session_state["perceptron_loss_tab"] = words["tab_ce"]  # a closed tab is not drawn: open it first
    at.run()
    at.slider(key="perceptron_ce_p").set_value(0.0).run()
    assert any("infinite" in w.value for w in at.warning)
    at.session_state["perceptron_loss_tab"] = words["tab_bce"]
    at.run()
    with pytest.raises(KeyError):  # the cross-entropy tab is closed now, so its widgets are not drawn
        at.slider(key="perceptron_ce_p")
    at.slider(key="perceptron_bce_p").set_value(0.0).run()
    assert any("infinite" in w.value for w in at.warning)
    at.toggle(key="perceptron_sine_open").set_value(True).run()
    at.select_slider(key="perceptron_sine_lr_plain").set_value(1e-4).run()
    at.slider(key="perceptron_sine_steps").set_value(100).run()
    at.button(key="perceptron_sine_run").click().run()
    assert any("Diverged" in e.value for e in at.error)
    assert any("Could not read" in e.value for e in at.error)  # still: the logits were not fixed
    at.select_slider(key="perceptron_mlp_lr").set_value(10.0).run()
    at.slider(key="perceptron_mlp_epochs").set_value(10).run()
    at.button(key="perceptron_mlp_train").click().run()
    assert any("very large" in w.value for w in at.warning)
    assert not at.exception, [e.message for e in at.exception]


def test_perceptron_update_frames_move_the_line_towards_the_wrong_point():
    X, y = perceptron.make_dataset("AND", 100, 0.1, seed=0)
    events = list(perceptron.train_perceptron(X, y, perceptron.PerceptronConfig(epochs=50, record_updates=5)))
    updates = [e for e in events if e["kind"] == "update"]
    assert 1 <= len(updates) <= 5 and [u["update"] for u in updates] == list(range(1, len(updates) + 1))
    first = updates[0]  # from w = 0, b = 0 every point scores z = 0 -> class 1, so the first error is a 0
    assert first["label"] == 0
    assert (first["w1"], first["w2"], first["b"]) == pytest.approx((-0.1 * first["x1"], -0.1 * first["x2"], -0.1))
    sigmoid = list(perceptron.train_perceptron(X, y, perceptron.PerceptronConfig(epochs=3, activation="sigmoid")))
    assert not any(e["kind"] == "update" for e in sigmoid)


def test_page_reads_in_korean_after_training():
    """?lang=ko: the three trainings run, and what they report (messages, metrics, captions, chart
    titles and axes) is Korean; English sentences from core (the end events' messages) never show."""
    hangul = re.compile(r"[\uac00-\ud7a3]")
    at = open_page("views/perceptron/perceptron.py", query={"lang": "ko"})
    assert not at.exception, [e.message for e in at.exception]
    at.selectbox(key="perceptron_dataset").set_value("XOR").run()
    at.slider(key="perceptron_rule_epochs").set_value(5).run()
    at.button(key="perceptron_rule_train").click().run()
    at.slider(key="perceptron_mlp_epochs").set_value(30).run()
    at.button(key="perceptron_mlp_train").click().run()
    at.toggle(key="perceptron_sine_open").set_value(True).run()
    at.slider(key="perceptron_sine_steps").set_value(100).run()
    at.button(key="perceptron_sine_run").click().run()
    at.select_slider(key="perceptron_mlp_lr").set_value(10.0).run()
    assert not at.exception, [e.message for e in at.exception]
    assert len(_runs(at, "perceptron_rule_runs")) == len(_runs(at, "perceptron_mlp_runs")) == 1
    assert len(_runs(at, "perceptron_sine_runs")) == 1

    alerts = [a.value for a in (*at.success, *at.warning, *at.info, *at.error)]
    assert any("에포크 후 멈췄습니다" in a for a in alerts)  # the rule's end words on XOR
    assert any("스텝 완료" in a for a in alerts)  # the cubic fit's end words
    assert any("매우 큽니다" in a for a in alerts)  # the MLP's learning-rate warning
    assert alerts and all(hangul.search(a) for a in alerts), alerts
    assert not any("Diverged" in a or "Finished" in a or "Stopped after" in a for a in alerts)
    labels = [m.label for m in at.metric]
    assert "최종 정확도" in labels and all(hangul.search(label) or label in ("MSE", "MAE") for label in labels)
    assert all(hangul.search(c.value) for c in at.caption)
    assert "에포크별 손실" in _chart_titles(at)
    names = {"Sigmoid", "Tanh", "ReLU", "Leaky", "ELU", "GELU", "MSE", "MAE", "ln", "lr", "sin"}  # and one-letter math
    for chart in at.get("vega_lite_chart"):
        for text in _chart_words(chart):
            assert hangul.search(text) or set(re.findall(r"[A-Za-z]{2,}", text)) <= names, text


def _chart_words(chart) -> list[str]:
    """What a chart shows as words: its spec's titles (chart, axes, legends, tooltips), a tooltip's
    field name where it has no title, and the text in its data (legend entries, tooltip values)."""
    found = _spec_words(json.loads(chart.proto.spec))
    for dataset in chart.proto.datasets:
        table = pyarrow.ipc.open_stream(dataset.data.data).read_all()
        found += [v for column in table.columns
                  if pyarrow.types.is_string(column.type) or pyarrow.types.is_large_string(column.type)
                  for v in set(column.to_pylist()) if v]
    return found


def _spec_words(node) -> list[str]:
    found = []
    if isinstance(node, dict):
        if isinstance(node.get("title"), str):
            found.append(node["title"])
        tooltips = node.get("tooltip")
        found += [tip["field"] for tip in tooltips if "title" not in tip] if isinstance(tooltips, list) else []
        found += [text for value in node.values() for text in _spec_words(value)]
    elif isinstance(node, list):
        found += [text for value in node for text in _spec_words(value)]
    return found
