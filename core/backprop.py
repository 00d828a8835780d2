"""Backpropagation by hand for plain MLPs: the engine's fast path, checked against autograd.

`core.engine.train` picks `MLPStep` once, before its loop, when `supports(model, x)` and the
loss is the default cross-entropy; everything specific to that path lives here.

The perceptron page's "backpropagation, step by step" (`walkthrough`, at the end) is the same
chain rule for one example through a 2-H-M network, every intermediate number kept.
"""
import math
from dataclasses import dataclass

import torch
from torch import nn

from core.words import LearnerError

# Activations whose derivative can be read off their own output, so the forward pass
# keeps one tensor per layer and runs in place.
_ACTIVATIONS = (nn.ReLU, nn.Sigmoid, nn.Tanh, nn.LeakyReLU)
# The ATen backward kernels autograd itself uses; `.default` skips the overload lookup
# that `torch.ops.aten.threshold_backward(...)` does on every call.
_relu_backward = torch.ops.aten.threshold_backward.default
_leaky_relu_backward = torch.ops.aten.leaky_relu_backward.default


def supports(model: nn.Module, x: torch.Tensor) -> bool:
    """True if `model` is Sequential([Flatten,] Linear, act, ..., Linear) and fits inputs like `x`.

    Anything else (dropout, GELU, convolutions, frozen or bias-free layers, hooks) trains
    with autograd instead.
    """
    if not isinstance(model, nn.Sequential):
        return False
    layers = list(model)
    flatten = bool(layers) and type(layers[0]) is nn.Flatten
    if flatten:
        if (layers[0].start_dim, layers[0].end_dim) != (1, -1):
            return False
        layers = layers[1:]
    elif x.dim() != 2:
        return False
    if len(layers) % 2 == 0:  # Linear, (act, Linear) * k
        return False
    for i, layer in enumerate(layers):
        if i % 2 == 0 and not (type(layer) is nn.Linear and layer.bias is not None):
            return False
        if i % 2 == 1 and not (type(layer) in _ACTIVATIONS and _slope(layer) >= 0):
            return False
    if not all(p.requires_grad and p.is_floating_point() for p in model.parameters()):
        return False
    # Hooks expect a real forward/backward through the modules.
    return not any(m._forward_hooks or m._forward_pre_hooks or m._backward_hooks
                   or m._backward_pre_hooks for m in model.modules())


@dataclass
class SGDRule:
    """torch.optim.SGD's update (dampening 0, no Nesterov), applied by MLPBackprop itself."""
    lr: float                  # learning rate
    momentum: float = 0.0      # 0 = plain SGD
    weight_decay: float = 0.0  # L2 penalty added to the gradient

    @classmethod
    def from_spec(cls, spec: tuple[str, dict], lr: float) -> "SGDRule | None":
        """The rule for an optimizer spec (`core.engine.optimizer_spec`), or None when the spec
        is not plain SGD with at most momentum and weight decay (that needs torch.optim)."""
        name, kwargs = spec
        if name != "SGD" or not set(kwargs) <= {"momentum", "weight_decay"}:
            return None
        return cls(lr, kwargs.get("momentum", 0.0), kwargs.get("weight_decay", 0.0))


def _slope(activation: nn.Module) -> float:
    return activation.negative_slope if isinstance(activation, nn.LeakyReLU) else 0.0


def _activate_fn(activation: nn.Module):
    """The in-place activation for the pre-activation z: (N, H) -> (N, H), same tensor."""
    if isinstance(activation, nn.ReLU):
        return torch.Tensor.relu_
    if isinstance(activation, nn.Sigmoid):
        return torch.Tensor.sigmoid_
    if isinstance(activation, nn.Tanh):
        return torch.Tensor.tanh_
    slope = activation.negative_slope
    return lambda z: torch.nn.functional.leaky_relu_(z, slope)


def _derivative_fn(activation: nn.Module):
    """grad * activation'(z), written with the activation's output `out` only."""
    if isinstance(activation, nn.ReLU):  # 1 where the output is positive, else 0
        return lambda grad, out: _relu_backward(grad, out, 0.0)  # one kernel, no (out > 0) temporary
    if isinstance(activation, nn.Sigmoid):
        return lambda grad, out: grad.mul_(out * (1 - out))  # s (1 - s)
    if isinstance(activation, nn.Tanh):
        return lambda grad, out: grad.mul_(1 - out * out)    # 1 - t^2
    slope = activation.negative_slope
    return lambda grad, out: _leaky_relu_backward(grad, out, slope, True)  # 1 or slope


class MLPBackprop:
    """One training step of a supported MLP with cross-entropy, in ~20 tensor operations.

    Why: on a CPU, a 784-128-64-10 MLP on a batch of 64 spends most of an autograd step on
    per-operator overhead (graph building, module calls, the optimizer's bookkeeping), not
    arithmetic; the chain rule written out skips it. The layer plans are built once so that
    a step runs no Python beyond the tensor calls.

    Without `sgd`, `step` leaves the gradients in each parameter's `.grad`, exactly as
    `loss.backward()` would, for any torch.optim optimizer to apply. With `sgd`, the
    weight-gradient matmuls add straight into SGD's momentum buffers and `step` also
    updates the weights.

    The buffers are kept scaled: SGD's buf = scale * v. Then buf <- momentum * buf + grad
    is v <- v + grad / scale after scale <- momentum * scale, an addmm with beta=1 (as cheap
    as a plain mm) instead of beta=momentum (an extra pass over every buffer, each step).
    When the scale gets small it is folded back into v, once every ~90 steps at 0.9.
    """

    def __init__(self, model: nn.Sequential, sgd: SGDRule | None = None):
        layers = list(model)
        self._flatten = type(layers[0]) is nn.Flatten
        layers = layers[1:] if self._flatten else layers
        linears: list[nn.Linear] = layers[0::2]
        activations = [_activate_fn(a) for a in layers[1::2]] + [None]  # none after the last
        self._sgd = sgd
        self._params = [p for linear in linears for p in (linear.weight, linear.bias)]
        if sgd is None:  # gradients land in .grad; addmm with beta=0 overwrites them
            for p in self._params:
                if p.grad is None or p.grad.shape != p.shape:
                    p.grad = torch.zeros_like(p)
            sinks = [p.grad for p in self._params]
        else:  # v, with SGD's buffer = self._scale * v; the first step's buf = 0 + grad
            sinks = [torch.zeros_like(p) for p in self._params]
        self._sinks = sinks
        self._scale = 1.0
        # W^T is a view: it stays valid while the weights are updated in place.
        self._forward_plan = [(linear.bias, linear.weight.t(), activate)  # W^T: (in, out)
                              for linear, activate in zip(linears, activations)]
        # Last layer first; layer k's input is the output of activation k - 1.
        derivatives = [None] + [_derivative_fn(a) for a in layers[1::2]]
        self._backward_plan = [(k, sinks[2 * k], sinks[2 * k + 1], linears[k].weight, derivatives[k])
                               for k in reversed(range(len(linears)))]
        last = linears[-1].weight
        self.classes = last.shape[0]  # C, the width of the logits
        self._one_hot = torch.eye(last.shape[0], dtype=last.dtype, device=last.device)  # (C, C)
        self._ones = torch.ones(0, dtype=last.dtype, device=last.device)

    @property
    def updates_parameters(self) -> bool:
        return self._sgd is not None

    @torch.no_grad()
    def step(self, x: torch.Tensor, y: torch.Tensor, logits_out: torch.Tensor | None = None) -> torch.Tensor:
        """Backpropagate the mean cross-entropy of the batch; returns its logits (N, C) before the update.

        The loss itself is not computed (the gradient does not need it):
        `F.cross_entropy(logits, y)` when you want it. `logits_out`, if given, receives the logits.
        """
        n = len(y)
        ones = self._ones
        if len(ones) != n:  # the column of ones that sums the bias gradients over the batch
            ones = self._ones = ones.new_ones(n)
        a = x.flatten(1) if self._flatten and x.dim() != 2 else x  # (N, in_features)
        inputs = []  # what enters each Linear, kept for the weight gradients
        for bias, weight_t, activate in self._forward_plan:
            inputs.append(a)
            if activate is None:
                a = torch.addmm(bias, a, weight_t, out=logits_out)  # (N, C)
            else:
                a = activate(torch.addmm(bias, a, weight_t))  # (N, out) = act(b + a W^T)
        # N * d(mean CE)/d logits = softmax - one_hot(y); the 1/N goes into alpha below.
        grad = torch.softmax(a, 1).sub_(self._one_hot.index_select(0, y))  # (N, C)
        beta, alpha = 0.0, 1.0 / n  # overwrite .grad
        rule = self._sgd
        if rule is not None and rule.momentum:
            self._scale *= rule.momentum
            beta, alpha = 1.0, alpha / self._scale  # v += grad / scale
        for k, sink_w, sink_b, weight, derivative in self._backward_plan:
            grad_t = grad.t()  # (out, N)
            torch.addmm(sink_w, grad_t, inputs[k], beta=beta, alpha=alpha, out=sink_w)  # (out, in)
            torch.addmv(sink_b, grad_t, ones, beta=beta, alpha=alpha, out=sink_b)     # (out,)
            if derivative is not None:
                grad = derivative(grad.mm(weight), inputs[k])  # (N, in): back through W and act
        if rule is not None:
            self._apply_sgd(rule)
        return a

    def _apply_sgd(self, rule: SGDRule) -> None:
        v, scale = self._sinks, self._scale
        if rule.weight_decay:  # SGD adds weight_decay * p to the gradient
            torch._foreach_add_(v, self._params, alpha=rule.weight_decay / scale)
        torch._foreach_add_(self._params, v, alpha=-rule.lr * scale)  # p -= lr * buf
        if scale < 1e-4:  # fold the scale back in before 1 / scale grows large
            torch._foreach_mul_(v, scale)
            self._scale = 1.0


class MLPStep:
    """`core.engine.train`'s step for a supported MLP with cross-entropy (see `supports`).

    `step` runs `MLPBackprop` (with `sgd`, its fused update too; otherwise `update` applies
    `optimizer` to the gradients it left in `.grad`) and writes each batch's logits into one
    buffer for the epoch, from which the epoch's loss and accuracy are read in one call each:
    the step itself never computes a loss.
    """

    def __init__(self, model: nn.Sequential, n: int, sgd: SGDRule | None = None,
                 optimizer: torch.optim.Optimizer | None = None):
        if (sgd is None) == (optimizer is None):
            raise ValueError("MLPStep needs exactly one of sgd and optimizer")
        self._backprop = MLPBackprop(model, sgd)
        self._optimizer = optimizer
        last = model[-1].weight
        # The epoch's logits in batch order, allocated once for every epoch: (n, C).
        self._logits = torch.empty(n, self._backprop.classes, dtype=last.dtype, device=last.device)

    def begin_epoch(self) -> None:
        pass  # the logits buffer is overwritten batch by batch

    def step(self, xb: torch.Tensor, yb: torch.Tensor, start: int, stop: int) -> torch.Tensor:
        return self._backprop.step(xb, yb, logits_out=self._logits[start:stop])

    def update(self) -> None:
        if self._optimizer is not None:
            self._optimizer.step()

    def batch_loss(self, out: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.cross_entropy(out, yb)

    def epoch_loss_and_predictions(self, y_epoch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # The same sum of per-sample losses the autograd step adds up batch by batch.
        loss_sum = torch.nn.functional.cross_entropy(self._logits, y_epoch, reduction="sum")
        return loss_sum, self._logits.argmax(dim=1)


# --- Backpropagation step by step (the perceptron page) --------------------------------------------
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
    from core.engine import build_seeded  # here, not at the top: core.engine imports this module

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
