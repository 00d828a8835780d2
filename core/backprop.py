"""Backpropagation by hand for plain MLPs: the engine's fast path, checked against autograd."""
from typing import Callable

import torch
from torch import nn
from torch.optim.sgd import sgd as functional_sgd

# Activations whose derivative can be read off their own output, so the forward pass
# keeps one tensor per layer and runs in place.
_ACTIVATIONS = (nn.ReLU, nn.Sigmoid, nn.Tanh, nn.LeakyReLU)


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


def _slope(activation: nn.Module) -> float:
    return activation.negative_slope if isinstance(activation, nn.LeakyReLU) else 0.0


def _activate_(activation: nn.Module, z: torch.Tensor) -> torch.Tensor:
    """Apply the activation in place on the pre-activation z: (N, H) -> (N, H)."""
    if isinstance(activation, nn.ReLU):
        return z.relu_()
    if isinstance(activation, nn.Sigmoid):
        return z.sigmoid_()
    if isinstance(activation, nn.Tanh):
        return z.tanh_()
    return torch.nn.functional.leaky_relu_(z, activation.negative_slope)


def _times_derivative_(activation: nn.Module, grad: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """grad * activation'(z), written with the activation's output `out` only."""
    if isinstance(activation, nn.ReLU):  # relu' = 1 where the output is positive, else 0
        return torch.ops.aten.threshold_backward(grad, out, 0.0)  # one kernel, no bool mask
    if isinstance(activation, nn.Sigmoid):
        return grad.mul_(out * (1 - out))              # sigmoid' = s (1 - s)
    if isinstance(activation, nn.Tanh):
        return grad.mul_(1 - out * out)                # tanh' = 1 - t^2
    return torch.ops.aten.leaky_relu_backward(grad, out, activation.negative_slope, True)  # 1 or slope


class MLPBackprop:
    """Cross-entropy loss and gradients of a supported MLP with ~20 tensor operations per batch.

    Why: on a CPU, a 784-128-64-10 MLP on a batch of 64 spends most of an autograd step on
    per-operator overhead (graph building, module calls), not arithmetic. The same chain
    rule written out costs about half. Gradients land in each parameter's `.grad`, so
    any torch.optim optimizer steps exactly as after `loss.backward()`.
    """

    def __init__(self, model: nn.Sequential):
        layers = list(model)
        self._flatten = type(layers[0]) is nn.Flatten
        layers = layers[1:] if self._flatten else layers
        self._linears: list[nn.Linear] = layers[0::2]
        self._activations: list[nn.Module] = layers[1::2]  # one fewer than linears
        for p in model.parameters():
            if p.grad is None or p.grad.shape != p.shape:
                p.grad = torch.zeros_like(p)
        # Views of W^T stay valid while the optimizer updates W in place.
        self._weights_t = [linear.weight.t() for linear in self._linears]  # (in, out) each
        last = self._linears[-1].weight
        self._one_hot = torch.eye(last.shape[0], dtype=last.dtype, device=last.device)  # (C, C)

    @torch.no_grad()
    def loss_and_grads(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean cross-entropy of the batch (0-dim) and the logits (N, C); fills every `.grad`."""
        a = x.flatten(1) if self._flatten else x  # (N, in_features)
        inputs = []  # what enters each Linear, kept for the weight gradients
        for k, linear in enumerate(self._linears):
            inputs.append(a)
            a = torch.addmm(linear.bias, a, self._weights_t[k])  # (N, out) = b + a W^T
            if k < len(self._activations):
                a = _activate_(self._activations[k], a)
        logits = a  # (N, C)
        log_probs = torch.log_softmax(logits, dim=1)
        loss = torch.nn.functional.nll_loss(log_probs, y)  # mean of -log p(true class)
        # d(mean CE)/d logits = (softmax - one_hot(y)) / N
        grad = log_probs.exp_().sub_(self._one_hot.index_select(0, y)).div_(len(y))  # (N, C)
        for k in range(len(self._linears) - 1, -1, -1):
            linear = self._linears[k]
            torch.mm(grad.t(), inputs[k], out=linear.weight.grad)  # (out, in) = g^T a
            torch.sum(grad, dim=0, out=linear.bias.grad)           # (out,)
            if k > 0:
                grad = grad.mm(linear.weight)  # (N, in): back through W
                grad = _times_derivative_(self._activations[k - 1], grad, inputs[k])
        return loss, logits


def lean_step(optimizer: torch.optim.Optimizer) -> Callable[[], None]:
    """`optimizer.step`, or for a plain fused SGD the same fused update called directly.

    Why: `Optimizer.step` spends ~0.1 ms per call on bookkeeping (hooks, regrouping the
    parameters), a fifth of a small MLP's whole step on a 2-core CPU. Only valid while each
    `.grad` stays the same tensor, as `MLPBackprop` keeps it.
    """
    group = optimizer.param_groups[0]
    plain = (type(optimizer) is torch.optim.SGD and len(optimizer.param_groups) == 1
             and group["fused"] and not (group["nesterov"] or group["maximize"]
                                          or group["differentiable"]))
    if not plain:
        return optimizer.step
    params = group["params"]
    grads = [p.grad for p in params]
    buffers = [optimizer.state[p].get("momentum_buffer") for p in params]

    @torch.no_grad()
    def step() -> None:
        functional_sgd(params, grads, buffers, fused=True, weight_decay=group["weight_decay"],
                       momentum=group["momentum"], lr=group["lr"], dampening=group["dampening"],
                       nesterov=False, maximize=False)
        if group["momentum"] and "momentum_buffer" not in optimizer.state[params[0]]:
            for p, buffer in zip(params, buffers):  # keep the optimizer's state in step
                optimizer.state[p]["momentum_buffer"] = buffer

    return step
