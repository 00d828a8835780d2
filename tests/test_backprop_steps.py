"""Backpropagation step by step (core.backprop.walkthrough, the perceptron page's last section):
hand-computed gradients against autograd, the chain rule, the update, bad input, the recipe, the page.

Tolerance: everything runs in float64, where the hand-written chain rule and autograd differ
only by rounding (~1e-16 for these sizes); 1e-12 leaves room for that and still catches any
wrong factor, which shows up at 1e-3 or more.
"""
import math

import pytest
import torch

import views.perceptron.backprop
from conftest import open_page, run_recipe
from core import backprop
from core.backprop import TinyNet, WalkSettings
from core.words import LearnerError, english, sections

TOLERANCE = 1e-12
SEEDS = (0, 1, 2)
SHAPES = [(2, 1), (3, 2)]  # (hidden, outputs)


def _case(seed: int, hidden: int, outputs: int, activation: str, loss: str, lr: float = 0.5):
    """Random weights for the seed, plus an example and a target drawn from the same seed."""
    g = torch.Generator().manual_seed(100 + seed)
    x = tuple((torch.rand(2, generator=g, dtype=torch.float64) * 4 - 2).tolist())
    if loss == "mse":
        target = tuple((torch.rand(outputs, generator=g, dtype=torch.float64) * 4 - 2).tolist())
    elif loss == "bce":
        target = tuple(torch.rand(outputs, generator=g, dtype=torch.float64).tolist())
    else:
        target = tuple(float(k == seed % outputs) for k in range(outputs))
    settings = WalkSettings(hidden, outputs, activation, loss, x, target, lr, seed)
    return backprop.random_net(hidden, outputs, seed), settings


def _all_cases():
    for loss in backprop.WALK_LOSSES:
        for activation in backprop.WALK_ACTIVATIONS:
            for hidden, outputs in SHAPES:
                if loss == "ce" and outputs < 2:
                    continue
                for seed in SEEDS:
                    yield seed, hidden, outputs, activation, loss


CASES = list(_all_cases())


def _torch_loss(loss: str, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """PyTorch's own loss functions on the network's raw outputs (1, M)."""
    if loss == "mse":
        return torch.nn.functional.mse_loss(out, y)
    if loss == "bce":
        return torch.nn.functional.binary_cross_entropy(torch.sigmoid(out), y)
    return torch.nn.functional.cross_entropy(out, y.argmax(1))


@pytest.mark.parametrize("loss", backprop.WALK_LOSSES)
def test_hand_gradients_equal_autograd(loss):
    """Every seed, activation and shape for this loss: each of W1, b1, W2, b2 within TOLERANCE,
    and the walkthrough's loss equals PyTorch's loss function on the same network."""
    cases = [c for c in CASES if c[4] == loss]
    assert len(cases) >= 9
    for seed, hidden, outputs, activation, _ in cases:
        net, settings = _case(seed, hidden, outputs, activation, loss)
        walk = backprop.walkthrough(net, settings)
        assert walk.max_diff < TOLERANCE, (seed, hidden, outputs, activation)
        for name in backprop.PARAMETERS:
            torch.testing.assert_close(walk.grads[name], walk.autograd[name], rtol=0, atol=TOLERANCE)
        model = backprop._walk_model(hidden, outputs, activation).double()
        with torch.no_grad():
            for p, value in zip(model.parameters(), net.tensors().values()):
                p.copy_(value)
        out = model(torch.tensor([settings.x], dtype=torch.float64))
        y = torch.tensor([settings.target], dtype=torch.float64)
        assert walk.loss == pytest.approx(_torch_loss(loss, out, y).item(), rel=1e-12)


def test_a_wrong_factor_would_be_caught():
    """The check can fail: dropping the activation's derivative from δ1 is far outside TOLERANCE."""
    net, settings = _case(0, 3, 2, "sigmoid", "mse")
    fwd = backprop.forward(net, settings)
    grads = backprop.backward(fwd, settings)
    wrong = dict(grads, W1=torch.outer(grads["back1"], fwd["x"]))  # W2ᵀδ2 xᵀ, without f'(z1)
    assert backprop.max_difference(wrong, backprop.autograd_gradients(net, settings)) > 1e-3


def test_chain_rule_product_is_the_gradient_entry():
    """For every weight and bias, the written-out product (summed over paths) is its gradient."""
    for seed, hidden, outputs, activation, loss in CASES[::3]:
        net, settings = _case(seed, hidden, outputs, activation, loss)
        walk = backprop.walkthrough(net, settings)
        for name, rows, cols in (("W1", hidden, 2), ("b1", hidden, 1), ("W2", outputs, hidden), ("b2", outputs, 1)):
            for r in range(rows):
                for c in range(cols):
                    paths = backprop.chain_rule(walk.forward, walk.grads, name, r, c)
                    assert len(paths) == (outputs if name in ("W1", "b1") else 1)
                    expected = walk.autograd[name][r, c] if name[0] == "W" else walk.autograd[name][r]
                    assert sum(math.prod(p) for p in paths) == pytest.approx(expected.item(), abs=TOLERANCE)
    net, settings = _case(0, 2, 1, "tanh", "mse")
    assert backprop.walkthrough(net, settings, ("W2", 0, 1)).chain == \
        [[backprop.walkthrough(net, settings).grads["delta2"][0].item(),
          backprop.forward(net, settings)["a1"][1].item()]]


def test_the_update_is_torch_sgd_and_a_small_step_lowers_the_loss():
    for seed, hidden, outputs, activation, loss in CASES:
        net, settings = _case(seed, hidden, outputs, activation, loss, lr=1e-3)
        walk = backprop.walkthrough(net, settings)
        assert walk.outcome == "down", (seed, hidden, outputs, activation, loss)
        assert walk.new_loss < walk.loss
    # The same step from torch.optim.SGD on autograd's gradients.
    net, settings = _case(1, 3, 2, "relu", "ce", lr=0.3)
    walk = backprop.walkthrough(net, settings)
    model = backprop._walk_model(3, 2, "relu").double()
    params = list(model.parameters())
    with torch.no_grad():
        for p, value in zip(params, net.tensors().values()):
            p.copy_(value)
    for p, name in zip(params, backprop.PARAMETERS):
        p.grad = walk.autograd[name].clone()
    torch.optim.SGD(params, lr=0.3).step()
    for p, name in zip(params, backprop.PARAMETERS):
        torch.testing.assert_close(walk.new_net.tensors()[name], p.detach(), rtol=0, atol=TOLERANCE)


def test_a_large_step_overshoots_and_a_perfect_fit_has_no_gradient():
    net, settings = backprop.random_net(2, 1, 0), WalkSettings(lr=10.0)
    walk = backprop.walkthrough(net, settings)
    assert walk.outcome == "up" and walk.new_loss > walk.loss
    assert backprop.walkthrough(net, WalkSettings(lr=0.5)).outcome == "down"
    fitted = TinyNet(net.W1, net.b1, [[0.0, 0.0]], [0.25])  # the output is b2 = 0.25, the target
    walk = backprop.walkthrough(fitted, WalkSettings(target=(0.25,)))
    assert walk.outcome == "no_gradient" and walk.loss == 0 and walk.new_loss == 0


def test_random_net_is_seeded_and_rounded():
    a, b = backprop.random_net(3, 2, 7), backprop.random_net(3, 2, 7)
    assert a == b and a != backprop.random_net(3, 2, 8)
    assert all(round(v, 2) == v for row in a.W1 + a.W2 for v in row)
    assert [len(a.W1), len(a.W1[0]), len(a.b1), len(a.W2), len(a.W2[0]), len(a.b2)] == [3, 2, 3, 2, 3, 2]


@pytest.mark.parametrize("change, key", [
    ({"W1": [[float("nan"), 0.1], [0.2, 0.3]]}, "backprop.not_a_number"),
    ({"b2": [None]}, "backprop.not_a_number"),
    ({"settings": WalkSettings(loss="ce")}, "backprop.ce_needs_two"),
    ({"settings": WalkSettings(loss="bce", target=(1.5,))}, "backprop.bce_target"),
    ({"settings": WalkSettings(outputs=2, loss="ce", target=(1.0, 1.0))}, "backprop.ce_target"),
])
def test_bad_input_is_a_learner_error(change, key):
    settings = change.pop("settings", WalkSettings())
    start = backprop.random_net(settings.hidden, settings.outputs, 0)
    net = TinyNet(**{**start.__dict__, **change})
    with pytest.raises(LearnerError) as raised:
        backprop.walkthrough(net, settings)
    assert raised.value.words.key == key
    assert english(raised.value.words)  # the content has the words


@pytest.mark.parametrize("hidden, outputs, activation, loss", [(2, 1, "sigmoid", "mse"), (3, 2, "relu", "ce"),
                                                              (3, 2, "tanh", "bce")])
def test_recipe_matches_the_walkthrough(hidden, outputs, activation, loss):
    net, settings = _case(2, hidden, outputs, activation, loss, lr=0.3)
    walk = backprop.walkthrough(net, settings)
    ran = run_recipe("backprop", **backprop.recipe_values(net, settings))
    assert ran["max_diff"] < TOLERANCE
    assert ran["loss"].item() == pytest.approx(walk.loss, rel=1e-12)
    assert ran["new_loss"] == pytest.approx(walk.new_loss, rel=1e-12)
    for mine, name in zip(ran["by_hand"], backprop.PARAMETERS):
        torch.testing.assert_close(mine, walk.grads[name], rtol=0, atol=TOLERANCE)


def _step(at, lang: str, step: str):
    """Open the walk-through's tab `step` (only the open tab is drawn) and rerun."""
    at.session_state["perceptron_bp_step"] = sections(lang, "backprop")[f"step_{step}"]
    return at.run()


def _metrics(at) -> dict:
    return {m.label: m.value for m in at.metric}


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_page_section_shows_the_walkthrough(lang):
    at = open_page("views/perceptron/perceptron.py", query={"lang": lang})
    assert not at.exception, [e.message for e in at.exception]
    expected = backprop.walkthrough(backprop.random_net(2, 1, 0), WalkSettings())
    header = {"en": "8 · Backpropagation, step by step", "ko": "8 · 오차 역전파, 한 단계씩"}[lang]
    assert header in [h.value for h in at.header]
    with pytest.raises(KeyError):  # closed on arrival: the section's widgets are not drawn
        at.radio(key="perceptron_bp_hidden")
    at.toggle(key="perceptron_bp_open").set_value(True).run()
    before, after, biggest = {"en": ("Loss before", "Loss after one step", "Largest difference"),
                              "ko": ("업데이트 전 손실", "한 걸음 뒤 손실", "가장 큰 차이")}[lang]
    latex = " ".join(e.value for e in at.latex)  # the first tab, open on arrival: forward and the loss
    assert r"\begin{bmatrix}-0.01&0.38\\-0.58&-0.52\end{bmatrix}" in latex  # W1 of seed 0
    assert "= 0.7616" in latex and r"\delta^{(2)}" not in latex  # the loss; the backward tab is not drawn
    assert r"\begin{bmatrix}-1.7454\end{bmatrix}" in " ".join(e.value for e in _step(at, lang, "backward").latex)
    assert float(_metrics(_step(at, lang, "check"))[biggest]) < TOLERANCE
    metrics = _metrics(_step(at, lang, "update"))
    assert metrics[before] == f"{expected.loss:.6f}" == "0.761607"
    assert metrics[after] == f"{expected.new_loss:.6f}" == "0.123079"
    assert any(f"{expected.loss:.6f}" in s.value for s in at.success)  # "went down"

    # Cross-entropy needs two outputs: a message in the learner's language, no traceback.
    at.selectbox(key="perceptron_bp_loss").set_value("ce").run()
    assert not at.exception
    message = {"en": "at least two outputs", "ko": "출력이 2개 이상"}[lang]
    assert any(message in e.value for e in at.error)
    at.radio(key="perceptron_bp_outputs").set_value(2)
    at.radio(key="perceptron_bp_hidden").set_value(3)
    at.selectbox(key="perceptron_bp_activation").set_value("relu").run()
    assert not at.exception and not at.error
    net = backprop.random_net(3, 2, 0)
    expected = backprop.walkthrough(net, WalkSettings(3, 2, "relu", "ce", (1.0, 0.5), (1.0, 0.0), 0.5, 0))
    metrics = _metrics(_step(at, lang, "update"))
    assert metrics[before] == f"{expected.loss:.6f}" and metrics[after] == f"{expected.new_loss:.6f}"
    assert float(_metrics(_step(at, lang, "check"))[biggest]) < TOLERANCE

    # MSE with a learning rate of 10 overshoots: a warning that says so.
    _step(at, lang, "update")
    at.selectbox(key="perceptron_bp_loss").set_value("mse").run()
    at.select_slider(key="perceptron_bp_lr").set_value(10.0).run()
    expected = backprop.walkthrough(net, WalkSettings(3, 2, "relu", "mse", (1.0, 0.5), (1.0, 0.0), 10.0, 0))
    assert expected.outcome == "up"
    assert _metrics(at)[after] == f"{expected.new_loss:.6f}"
    went_up = {"en": "went **up**", "ko": "**늘었습니다**"}[lang]
    assert any(went_up in w.value and f"{expected.loss:.6f}" in w.value for w in at.warning)

    # The chain rule for the hidden weight w⁽¹⁾₁₂: one path through each of the two outputs.
    _step(at, lang, "chain")
    at.selectbox(key="perceptron_bp_weight_3_2").set_value(("W1", 0, 1)).run()
    assert not at.exception
    chain = next(e.value for e in at.latex if r"\frac{\partial L}{\partial w^{(1)}_{12}} &=" in e.value)
    paths = backprop.chain_rule(expected.forward, expected.grads, "W1", 0, 1)
    numbers = " + ".join(r"\cdot ".join(views.perceptron.backprop._p(v) for v in path) for path in paths)
    assert (rf"&= {numbers}\\ &= {views.perceptron.backprop._n(expected.grads['W1'][0, 1].item())}"
            rf"\end{{aligned}}" in chain)
