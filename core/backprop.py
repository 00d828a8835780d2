"""Backpropagation step by step (the perceptron page): one training example through a tiny
2 -> H -> M network, every intermediate number kept so the page can write each step into its
formula, checked against autograd. The engine's fast path for real training is `core.fast_mlp`.

float64 throughout: the hand-computed gradients then agree with autograd to about 1e-16
(rounding), so any visible difference would be a real mistake.
"""
import math
from dataclasses import dataclass

import torch
from torch import nn

from core.engine import build_seeded
from core.words import LearnerError

# One training example through 2 inputs -> H hidden units -> M outputs, every number kept so
# the page can write each step out. float64 throughout: the hand-computed gradients then agree
# with autograd to about 1e-16 (rounding), so any visible difference would be a real mistake.

WALK_ACTIVATIONS = ("sigmoid", "tanh", "relu")
WALK_LOSSES = ("mse", "bce", "ce")
# The output activation each loss is paired with, as in PyTorch practice: MSE on raw outputs
# (regression), BCE on sigmoid probabilities, cross-entropy on a softmax over the classes.
OUTPUT_ACTIVATIONS = {"mse": "identity", "bce": "sigmoid", "ce": "softmax"}
PARAMETERS = ("W1", "b1", "W2", "b2")  # the names the walkthrough's gradients and weights use
WALK_DTYPE = torch.float64


@dataclass
class WalkSettings:
    """The walkthrough's network, example, loss and step (the weights themselves are a TinyNet)."""
    hidden: int = 2                      # hidden units: 2 or 3, few enough to write every number out
    outputs: int = 1                     # output units: 1 or 2 (cross-entropy needs at least 2 classes)
    activation: str = "sigmoid"          # the hidden layer's activation: sigmoid, tanh or relu
    loss: str = "mse"                    # mse, bce or ce; it picks the output activation (OUTPUT_ACTIVATIONS)
    x: tuple[float, ...] = (1.0, 0.5)    # the one training example: the two inputs
    target: tuple[float, ...] = (1.0,)   # one per output; BCE: each in 0..1; CE: one-hot (the true class)
    lr: float = 0.5                      # learning rate of the one gradient-descent step
    seed: int = 0                        # draws the starting weights (random_net)


@dataclass
class TinyNet:
    """The walkthrough's weights as plain lists, rows = units: W1 (H, 2), b1 (H,), W2 (M, H), b2 (M,)."""
    W1: list[list[float]]
    b1: list[float]
    W2: list[list[float]]
    b2: list[float]

    def tensors(self) -> dict[str, torch.Tensor]:
        return {name: torch.tensor(getattr(self, name), dtype=WALK_DTYPE) for name in PARAMETERS}

    @classmethod
    def from_tensors(cls, params: dict[str, torch.Tensor]) -> "TinyNet":
        return cls(**{name: params[name].tolist() for name in PARAMETERS})


def _walk_model(hidden: int, outputs: int, activation: str) -> nn.Sequential:
    act = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}[activation]
    return nn.Sequential(nn.Linear(2, hidden), act(), nn.Linear(hidden, outputs))


def random_net(hidden: int, outputs: int, seed: int) -> TinyNet:
    """PyTorch's default initialization for the seed, rounded to two decimals so that every
    number on the page stays short (the learner can edit them anyway)."""
    model = build_seeded(lambda: _walk_model(hidden, outputs, "sigmoid"), seed)
    params = dict(zip(PARAMETERS, (p.detach().double() for p in model.parameters())))
    return TinyNet.from_tensors({name: p.round(decimals=2) for name, p in params.items()})


def check_inputs(net: TinyNet, settings: WalkSettings) -> None:
    """LearnerError for what the walkthrough cannot compute: an empty or non-numeric cell, a
    cross-entropy with one output, a BCE target outside 0..1, a cross-entropy target not one-hot."""
    shapes = {"W1": (settings.hidden, 2), "b1": (settings.hidden,), "W2": (settings.outputs, settings.hidden),
              "b2": (settings.outputs,)}
    try:
        params = net.tensors()
        x = torch.tensor(settings.x, dtype=WALK_DTYPE)
        y = torch.tensor(settings.target, dtype=WALK_DTYPE)
    except (TypeError, ValueError) as error:  # None, text or ragged rows in an edited table
        raise LearnerError("backprop.not_a_number") from error
    if any(tuple(params[name].shape) != shape for name, shape in shapes.items()) or x.shape != (2,) \
            or y.shape != (settings.outputs,):
        raise ValueError(f"the weights, example and target do not fit a 2-{settings.hidden}-{settings.outputs} network")
    if not all(bool(t.isfinite().all()) for t in (*params.values(), x, y)):
        raise LearnerError("backprop.not_a_number")
    if settings.loss == "ce" and settings.outputs < 2:
        raise LearnerError("backprop.ce_needs_two")
    if settings.loss == "bce" and not bool(((y >= 0) & (y <= 1)).all()):
        raise LearnerError("backprop.bce_target")
    if settings.loss == "ce" and not (bool(((y == 0) | (y == 1)).all()) and y.sum().item() == 1):
        raise LearnerError("backprop.ce_target")


def _activate(z: torch.Tensor, activation: str) -> torch.Tensor:
    return {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}[activation](z)


def activation_derivative(z: torch.Tensor, a: torch.Tensor, activation: str) -> torch.Tensor:
    """f'(z), read off the output a = f(z) as the engine's fast path does: σ(1 − σ), 1 − tanh²,
    and for ReLU 1 where z > 0, else 0 (PyTorch's choice at z = 0 too)."""
    if activation == "sigmoid":
        return a * (1 - a)
    if activation == "tanh":
        return 1 - a * a
    return (z > 0).to(z.dtype)


def forward(net: TinyNet, settings: WalkSettings) -> dict[str, torch.Tensor]:
    """z1 = W1 x + b1, a1 = f(z1), z2 = W2 a1 + b2, ŷ = g(z2) and the loss, every number kept.

    The loss is the mean over the outputs (PyTorch's default reduction): MSE (1/M) Σ (ŷ − y)²;
    BCE −(1/M) Σ [y log ŷ + (1 − y) log(1 − ŷ)], computed from z2 as softplus(z2) − y z2 so that
    a saturated sigmoid gives a large number, not infinity; CE −log ŷ_c = logsumexp(z2) − z2_c.
    """
    check_inputs(net, settings)
    p = net.tensors()
    x, y = torch.tensor(settings.x, dtype=WALK_DTYPE), torch.tensor(settings.target, dtype=WALK_DTYPE)
    z1 = p["W1"] @ x + p["b1"]
    a1 = _activate(z1, settings.activation)
    z2 = p["W2"] @ a1 + p["b2"]
    if settings.loss == "mse":
        y_hat, loss = z2, ((z2 - y) ** 2).mean()
    elif settings.loss == "bce":
        y_hat, loss = torch.sigmoid(z2), (nn.functional.softplus(z2) - y * z2).mean()
    else:
        y_hat, loss = torch.softmax(z2, 0), torch.logsumexp(z2, 0) - (y * z2).sum()
    return {"x": x, "y": y, **p, "z1": z1, "a1": a1, "z2": z2, "y_hat": y_hat, "loss": loss}


def backward(fwd: dict[str, torch.Tensor], settings: WalkSettings) -> dict[str, torch.Tensor]:
    """The chain rule, layer by layer from the loss back, for one example:

    δ2 = ∂L/∂z2: MSE (2/M)(ŷ − y); BCE (1/M)(ŷ − y) (the sigmoid's σ(1 − σ) cancels the
    loss's denominator); CE ŷ − y (softmax with a one-hot y). Then ∂L/∂W2 = δ2 a1ᵀ,
    ∂L/∂b2 = δ2; back through W2: g1 = W2ᵀ δ2 = ∂L/∂a1; through the activation:
    δ1 = g1 ⊙ f'(z1); ∂L/∂W1 = δ1 xᵀ, ∂L/∂b1 = δ1.
    """
    m = len(fwd["y"])
    error = fwd["y_hat"] - fwd["y"]
    delta2 = {"mse": 2 / m * error, "bce": error / m, "ce": error}[settings.loss]
    back1 = fwd["W2"].t() @ delta2
    derivative1 = activation_derivative(fwd["z1"], fwd["a1"], settings.activation)
    delta1 = back1 * derivative1
    return {"delta2": delta2, "W2": torch.outer(delta2, fwd["a1"]), "b2": delta2, "back1": back1,
            "derivative1": derivative1, "delta1": delta1, "W1": torch.outer(delta1, fwd["x"]), "b1": delta1}


def chain_rule(fwd: dict[str, torch.Tensor], grads: dict[str, torch.Tensor], name: str, row: int,
               col: int = 0) -> list[list[float]]:
    """The chain-rule product for one weight, as the factors of each path from it to the loss.

    W2[k, j]: one path, ∂L/∂z2_k · ∂z2_k/∂W2[k, j] = δ2_k · a1_j (b2[k]: δ2_k · 1).
    W1[j, i]: one path through each output k, ∂L/∂z2_k · ∂z2_k/∂a1_j · ∂a1_j/∂z1_j · ∂z1_j/∂W1[j, i]
    = δ2_k · W2[k, j] · f'(z1_j) · x_i (b1[j]: · 1 instead of · x_i). The gradient is the sum of
    the paths' products.
    """
    if name in ("W2", "b2"):
        last = fwd["a1"][col].item() if name == "W2" else 1.0
        return [[grads["delta2"][row].item(), last]]
    last = fwd["x"][col].item() if name == "W1" else 1.0
    return [[grads["delta2"][k].item(), fwd["W2"][k, row].item(), grads["derivative1"][row].item(), last]
            for k in range(len(grads["delta2"]))]


def autograd_gradients(net: TinyNet, settings: WalkSettings) -> dict[str, torch.Tensor]:
    """The reference: the same network as an nn.Sequential, PyTorch's loss on its outputs,
    `loss.backward()`; returns each parameter's .grad by walkthrough name."""
    check_inputs(net, settings)
    model = _walk_model(settings.hidden, settings.outputs, settings.activation).to(WALK_DTYPE)
    with torch.no_grad():
        for p, value in zip(model.parameters(), net.tensors().values()):
            p.copy_(value)
    x, y = torch.tensor([settings.x], dtype=WALK_DTYPE), torch.tensor([settings.target], dtype=WALK_DTYPE)
    out = model(x)  # (1, M): raw outputs, logits for BCE and CE
    if settings.loss == "mse":
        loss = nn.functional.mse_loss(out, y)
    elif settings.loss == "bce":
        loss = nn.functional.binary_cross_entropy_with_logits(out, y)
    else:
        loss = nn.functional.cross_entropy(out, y.argmax(dim=1))
    loss.backward()
    return {name: p.grad for name, p in zip(PARAMETERS, model.parameters())}


def max_difference(hand: dict[str, torch.Tensor], reference: dict[str, torch.Tensor]) -> float:
    """The largest |hand − autograd| over every weight and bias."""
    return max((hand[name] - reference[name]).abs().max().item() for name in PARAMETERS)


def gradient_step(net: TinyNet, grads: dict[str, torch.Tensor], lr: float) -> TinyNet:
    """One step of gradient descent: each parameter p ← p − lr · ∂L/∂p."""
    params = net.tensors()
    return TinyNet.from_tensors({name: params[name] - lr * grads[name] for name in PARAMETERS})


@dataclass
class Walkthrough:
    """Every number of one forward pass, backward pass, autograd check and update."""
    forward: dict[str, torch.Tensor]    # x, y, W1, b1, W2, b2, z1, a1, z2, y_hat, loss
    grads: dict[str, torch.Tensor]      # delta2, W2, b2, back1, derivative1, delta1, W1, b1
    chain: list[list[float]]            # the chosen weight's paths (chain_rule); [] when none was chosen
    autograd: dict[str, torch.Tensor]   # W1, b1, W2, b2 from loss.backward()
    max_diff: float                     # largest |hand − autograd|
    new_net: TinyNet                    # after one gradient-descent step
    new_loss: float                     # the loss at new_net, same example

    @property
    def loss(self) -> float:
        return self.forward["loss"].item()

    @property
    def outcome(self) -> str:
        """What the step did to the loss: "down", "up", "same", or "no_gradient" when every
        gradient is exactly zero (a perfect fit, or ReLU units that are all off)."""
        if not any(bool(self.grads[name].any()) for name in PARAMETERS):
            return "no_gradient"
        if not math.isfinite(self.new_loss) or self.new_loss > self.loss:
            return "up"
        return "down" if self.new_loss < self.loss else "same"


def walkthrough(net: TinyNet, settings: WalkSettings, weight: tuple[str, int, int] | None = None) -> Walkthrough:
    """Forward, backward by hand, the chain rule for `weight` (name, row, column), autograd's
    gradients, their largest difference, one step with settings.lr and the loss after it.
    Raises LearnerError for inputs it cannot compute (check_inputs)."""
    fwd = forward(net, settings)
    grads = backward(fwd, settings)
    new_net = gradient_step(net, grads, settings.lr)
    reference = autograd_gradients(net, settings)
    chain = chain_rule(fwd, grads, *weight) if weight else []
    return Walkthrough(fwd, grads, chain, reference, max_difference(grads, reference), new_net,
                       forward(new_net, settings)["loss"].item())


def recipe_values(net: TinyNet, settings: WalkSettings) -> dict:
    """The settings block of core/recipes/backprop.py for this network, example and step."""
    return {"ACTIVATION": {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "ReLU"}[settings.activation],
            "LOSS": settings.loss, "X": list(settings.x), "TARGET": list(settings.target),
            "W1": net.W1, "B1": net.b1, "W2": net.W2, "B2": net.b2, "LR": settings.lr}
