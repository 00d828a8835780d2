"""Page 1: activations (autograd vs formulas), perceptron rule, toy MLP, losses, cubic fit, code, page."""
import json
import math
import subprocess
import sys

import numpy as np
import pytest
import torch

from conftest import open_page
from core import neuron
from core.codegen_neuron import generate_code

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


@pytest.mark.parametrize("name", neuron.ACTIVATIONS)
def test_autograd_derivatives_equal_the_analytic_formulas(name):
    x = torch.linspace(-6, 6, 1000, dtype=torch.float64)  # even count: 0 is not on the grid
    slope, alpha = 0.07, 1.7
    got = neuron.derivative(name, x, slope=slope, alpha=alpha)
    torch.testing.assert_close(got, _analytic(name, x, slope, alpha), rtol=1e-9, atol=1e-12)


def test_activation_curves_carry_the_autograd_derivative():
    curves = neuron.activation_curves(-3, 3, points=61, slope=0.2)
    assert set(curves["activation"]) == set(neuron.ACTIVATIONS)
    sig = curves[(curves["activation"] == "sigmoid") & (curves["series"] == "f'(x)")]
    s = 1 / (1 + np.exp(-sig["x"].to_numpy()))
    np.testing.assert_allclose(sig["value"].to_numpy(), s * (1 - s), rtol=1e-9)
    leaky = curves[(curves["activation"] == "leaky_relu") & (curves["series"] == "f'(x)") & (curves["x"] < -0.01)]
    np.testing.assert_allclose(leaky["value"].to_numpy(), 0.2)
    with pytest.raises(ValueError):
        neuron.activation_curves(1, 1)


def test_softmax_jacobian_matches_formula_and_temperature_sharpens():
    logits = [2.0, 1.0, 0.1, -1.0]
    for temperature in (0.3, 1.0, 4.0):
        probs, jac = neuron.softmax_with_jacobian(logits, temperature)
        assert probs.sum() == pytest.approx(1.0)
        np.testing.assert_allclose(jac, (np.diag(probs) - np.outer(probs, probs)) / temperature, atol=1e-12)
        np.testing.assert_allclose(jac.sum(axis=1), 0.0, atol=1e-12)
    cold, _ = neuron.softmax_with_jacobian(logits, 0.1)
    hot, _ = neuron.softmax_with_jacobian(logits, 10.0)
    assert cold.max() > 0.99 and hot.max() < 0.35
    big, _ = neuron.softmax_with_jacobian([1000.0, 0.0], 0.05)  # stable, no NaN
    assert np.isfinite(big).all()


def test_parse_logits_gives_readable_errors():
    assert neuron.parse_logits("2, 1; 0.1 -1") == [2.0, 1.0, 0.1, -1.0]
    for bad in ("", "3", "a, b", "1, nan", ",".join(["1"] * 21)):
        with pytest.raises(ValueError):
            neuron.parse_logits(bad)


def test_vanishing_gradient_is_a_product_of_derivatives():
    table = neuron.gradient_through_layers(12, z=1.0)
    at = table[table["layer"] == 12].set_index("activation")["gradient"]
    assert at["Sigmoid, best case (z = 0)"] == pytest.approx(0.25 ** 12)
    s = 1 / (1 + math.exp(-1.0))
    assert at["Sigmoid"] == pytest.approx((s * (1 - s)) ** 12)
    assert at["Tanh"] == pytest.approx((1 - math.tanh(1.0) ** 2) ** 12)
    assert at["ReLU"] == pytest.approx(1.0)
    negative = neuron.gradient_through_layers(3, z=-1.0, slope=0.1).query("layer == 3").set_index("activation")
    assert negative.loc["ReLU", "gradient"] == 0.0
    assert negative.loc["Leaky ReLU", "gradient"] == pytest.approx(0.1 ** 3)


# --- Perceptron and MLP -------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["AND", "OR"])
@pytest.mark.parametrize("activation", ["step", "sigmoid"])
def test_perceptron_rule_learns_and_or(name, activation):
    X, y = neuron.make_dataset(name, 200, 0.1, seed=3)
    events = list(neuron.train_perceptron(X, y, neuron.PerceptronConfig(epochs=100, activation=activation)))
    end = events[-1]
    assert end["kind"] == "end" and end["reason"] == "converged", end["message"]
    assert end["accuracy"] == 100.0
    assert events[0]["epoch"] == 0 and events[0]["accuracy"] < 100.0  # it really learned


def test_perceptron_rule_cannot_learn_xor():
    X, y = neuron.make_dataset("XOR", 200, 0.1, seed=0)
    events = list(neuron.train_perceptron(X, y, neuron.PerceptronConfig(epochs=100)))
    end = events[-1]
    assert end["reason"] == "completed" and "misclassified" in end["message"]
    epochs = [e for e in events if e["kind"] == "epoch"]
    assert len(epochs) == 101
    assert max(e["accuracy"] for e in epochs) <= 80.0  # a line gets 3 of 4 corners (75%) at best
    assert all(e["mistakes"] > 0 for e in epochs[1:])


def test_datasets_shapes_labels_and_line_segment():
    for name in neuron.DATASETS:
        X, y = neuron.make_dataset(name, 100, 0.1, seed=1)
        assert X.shape == (100, 2) and X.dtype == torch.float32 and y.dtype == torch.int64
        assert set(y.tolist()) == {0, 1}
    X1, _ = neuron.make_dataset("moons", 100, 0.1, seed=1)
    X2, _ = neuron.make_dataset("moons", 100, 0.1, seed=2)
    assert not torch.equal(X1, X2)
    seg = neuron.line_segment(1.0, 1.0, -1.5, (-1, 2, -1, 2))
    assert len(seg) == 2 and all(p + q == pytest.approx(1.5) for p, q in seg)
    assert neuron.line_segment(0.0, 0.0, 1.0, (-1, 2, -1, 2)) == []
    assert neuron.line_segment(1.0, 0.0, -0.5, (-1, 2, -1, 2)) == [(0.5, -1), (0.5, 2)]


def test_mlp_solves_xor_with_decision_grids():
    X, y = neuron.make_dataset("XOR", 200, 0.1, seed=0)
    config = neuron.MLPConfig(hidden=4, activation="tanh", lr=0.03, optimizer="adam", epochs=200,
                              snapshots=10, resolution=20)
    events = list(neuron.train_mlp(X, y, config, CPU))
    grids = [e for e in events if e["kind"] == "grid"]
    assert events[-1]["kind"] == "end" and events[-1]["reason"] == "completed"
    assert grids[0]["epoch"] == 0 and grids[-1]["epoch"] == 200 and len(grids) == 11
    assert grids[-1]["probs"].shape == (20, 20)
    assert ((grids[-1]["probs"] >= 0) & (grids[-1]["probs"] <= 1)).all()
    assert len(grids[-1]["hidden"]) == 4
    assert grids[-1]["accuracy"] >= 95.0
    assert grids[0]["accuracy"] < 95.0
    # One hidden neuron draws one line again: it cannot solve XOR.
    one = [e for e in neuron.train_mlp(X, y, neuron.MLPConfig(hidden=1, epochs=200, snapshots=1), CPU)
           if e["kind"] == "grid"]
    assert one[-1]["accuracy"] <= 80.0


# --- Losses --------------------------------------------------------------------------------------

def test_cross_entropy_course_example():
    probs, target = neuron.COURSE_CE_EXAMPLE
    assert neuron.cross_entropy_from_probs(probs, target) == pytest.approx(0.1053, abs=1e-4)
    moved = neuron.with_true_class_prob(probs, target, 0.5)
    assert sum(moved) == pytest.approx(1.0) and moved[target] == 0.5
    assert moved[2] / moved[0] == pytest.approx(0.05 / 0.02)  # others keep their ratio
    values = [neuron.cross_entropy_from_probs(neuron.with_true_class_prob(probs, target, p), target)
              for p in (0.9, 0.1, 0.01, 1e-4)]
    assert values == sorted(values) and values[-1] == pytest.approx(-math.log(1e-4))
    assert math.isinf(neuron.cross_entropy_from_probs(neuron.with_true_class_prob(probs, target, 0.0), target))
    with pytest.raises(ValueError):
        neuron.cross_entropy_from_probs([0.5, 0.6], 0)


def test_regression_and_binary_losses():
    losses = neuron.regression_losses([3, -0.5, 2, 7], [2.5, 0.0, 2, 8])
    assert losses["mse"] == pytest.approx(0.375) and losses["mae"] == pytest.approx(0.5)
    with pytest.raises(ValueError):
        neuron.regression_losses([1, 2], [1])
    assert neuron.binary_cross_entropy(0.8, 1) == pytest.approx(-math.log(0.8))
    assert neuron.binary_cross_entropy(0.8, 0) == pytest.approx(-math.log(0.2))
    assert math.isinf(neuron.binary_cross_entropy(1.0, 0))
    curves = neuron.binary_cross_entropy_curves(points=11)
    one = curves[curves["series"] == "true label 1"]
    np.testing.assert_allclose(one["loss"], -np.log(one["p"]), rtol=1e-9)


# --- Gradient descent on sin(x) --------------------------------------------------------------------

@pytest.mark.parametrize("method,lr,steps", [("plain", 1e-6, 2000), ("momentum", 1e-6, 1000), ("adam", 1e-2, 1000)])
def test_cubic_fit_lowers_the_loss_by_90_percent(method, lr, steps):
    events = list(neuron.fit_cubic(neuron.CubicFitConfig(method=method, lr=lr, steps=steps, log_every=50)))
    end = events[-1]
    assert end["reason"] == "completed", end["message"]
    assert end["final_loss"] <= 0.1 * end["initial_loss"]
    steps_logged = [e for e in events if e["kind"] == "step"]
    assert steps_logged[-1]["step"] == steps and all(math.isfinite(e["loss"]) for e in steps_logged)
    assert end["coefficients"][1] > 0.5 and end["coefficients"][3] < 0  # sin-like: b > 0, d < 0


def test_cubic_fit_divergence_is_a_message_not_nan():
    problem = neuron.cubic_problem(1000)
    assert 1e-6 < problem["stable_lr"] < 1e-5  # 1e-6 (the course) is stable, 1e-5 is not
    events = list(neuron.fit_cubic(neuron.CubicFitConfig(method="plain", lr=1e-4, steps=500)))
    end = events[-1]
    assert end["reason"] == "diverged" and "Diverged" in end["message"] and "lower" in end["message"]
    assert end["coefficients"] is None
    assert all(math.isfinite(e["loss"]) for e in events if e["kind"] == "step")
    assert problem["best"][1] == pytest.approx(0.8565, abs=1e-3)


# --- Generated code -------------------------------------------------------------------------------

def test_generated_code_runs(tmp_path):
    scripts = []
    for optimizer, method in (("adam", "plain"), ("sgd_momentum", "adam"), ("sgd", "momentum")):
        code = generate_code("XOR", 40, 0.1, 0,
                             neuron.MLPConfig(hidden=3, activation="relu", optimizer=optimizer, lr=0.03,
                                              epochs=5, batch_size=16),
                             neuron.CubicFitConfig(method=method, lr=neuron.CUBIC_DEFAULT_LR[method], steps=30))
        script = tmp_path / f"perceptron_playground_{method}.py"
        script.write_text(code)
        scripts.append(str(script))
    # One interpreter (one torch import) runs each script as __main__, like `python script.py`.
    runner = "import runpy, sys\nfor path in sys.argv[1:]:\n    runpy.run_path(path, run_name='__main__')"
    done = subprocess.run([sys.executable, "-c", runner, *scripts], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("MLP accuracy on XOR") == 3 and done.stdout.count("Result: y =") == 3


# --- The page ---------------------------------------------------------------------------------------

def _chart_titles(at) -> list[str]:
    titles = []
    for chart in at.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        title = spec.get("title")
        titles.append(title.get("text") if isinstance(title, dict) else (title or ""))
    return titles


def test_page_renders_and_training_clicks_produce_charts():
    at = open_page("pages/perceptron.py")
    assert not at.exception, [e.message for e in at.exception]
    headers = [h.value for h in at.header]
    assert len(headers) == 7 and headers[0].startswith("1 ·") and headers[-1].startswith("7 ·")
    assert "Your perceptron" in _chart_titles(at)
    assert any("torch.autograd" in m.value for m in at.markdown)
    assert any(m.label == "Accuracy" and m.value == "100.0%" for m in at.metric)  # default line is AND

    at.selectbox(key="perceptron_dataset").set_value("XOR").run()
    at.button(key="perceptron_rule_train").click().run()
    assert "perceptron_rule_frame" in at.session_state
    assert not at.exception, [e.message for e in at.exception]
    assert any("misclassified" in w.value for w in at.warning)

    at.slider(key="perceptron_mlp_epochs").set_value(150).run()
    at.button(key="perceptron_mlp_train").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert "Loss per epoch" in _chart_titles(at)
    final = next(m for m in at.metric if m.label == "Final accuracy")
    assert float(final.value.rstrip("%")) >= 95.0
    assert any("XOR solved" in s.value for s in at.success)

    at.slider(key="perceptron_sine_steps").set_value(500).run()
    at.button(key="perceptron_sine_run").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert any(t.startswith("Loss curves") for t in _chart_titles(at))
    assert any("Finished 500 steps" in s.value for s in at.success)
    assert "perceptron_sine_lr_plain" in at.session_state
    assert "nn.Sequential(nn.Linear(2, HIDDEN), nn.Tanh()" in at.code[0].value


def test_page_extreme_values_give_messages_not_exceptions():
    at = open_page("pages/perceptron.py")
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
    at.slider(key="perceptron_ce_p").set_value(0.0).run()
    at.slider(key="perceptron_bce_p").set_value(0.0).run()
    assert any("infinite" in w.value for w in at.warning)
    at.select_slider(key="perceptron_sine_lr_plain").set_value(1e-4).run()
    at.slider(key="perceptron_sine_steps").set_value(100).run()
    at.button(key="perceptron_sine_run").click().run()
    assert any("Diverged" in e.value for e in at.error)
    at.select_slider(key="perceptron_mlp_lr").set_value(10.0).run()
    at.slider(key="perceptron_mlp_epochs").set_value(10).run()
    at.button(key="perceptron_mlp_train").click().run()
    assert any("very large" in w.value for w in at.warning)
    assert not at.exception, [e.message for e in at.exception]


def test_perceptron_update_frames_move_the_line_towards_the_wrong_point():
    X, y = neuron.make_dataset("AND", 100, 0.1, seed=0)
    events = list(neuron.train_perceptron(X, y, neuron.PerceptronConfig(epochs=50, record_updates=5)))
    updates = [e for e in events if e["kind"] == "update"]
    assert 1 <= len(updates) <= 5 and [u["update"] for u in updates] == list(range(1, len(updates) + 1))
    first = updates[0]  # from w = 0, b = 0 every point scores z = 0 -> class 1, so the first error is a 0
    assert first["label"] == 0
    assert (first["w1"], first["w2"], first["b"]) == pytest.approx((-0.1 * first["x1"], -0.1 * first["x2"], -0.1))
    sigmoid = list(neuron.train_perceptron(X, y, neuron.PerceptronConfig(epochs=3, activation="sigmoid")))
    assert not any(e["kind"] == "update" for e in sigmoid)
