"""The engine's fast path for plain MLPs: backpropagation written out with ATen's own kernels.

`core.engine.train` picks `MLPStep` once, before its loop, when `supports(model, x)` and the
loss is the default cross-entropy; everything specific to that path lives here. It computes
the same numbers as autograd (tested) with less bookkeeping per step. The learner's version of
the same chain rule, one example with every number kept, is `core.backprop`.
"""
from dataclasses import dataclass

import torch
from torch import nn

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
