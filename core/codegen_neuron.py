"""Runnable plain-PyTorch script for the perceptron page's current MLP and sin(x)-cubic settings."""
import inspect
import textwrap

from core.neuron import CubicFitConfig, MLPConfig, make_dataset

_ACTIVATION_CLASSES = {"relu": "nn.ReLU()", "sigmoid": "nn.Sigmoid()", "tanh": "nn.Tanh()",
                       "leaky_relu": "nn.LeakyReLU()", "elu": "nn.ELU()", "gelu": "nn.GELU()"}
_OPTIMIZERS = {
    "sgd": "torch.optim.SGD(model.parameters(), lr=LR)",
    "sgd_momentum": "torch.optim.SGD(model.parameters(), lr=LR, momentum=0.9)",
    "adam": "torch.optim.Adam(model.parameters(), lr=LR)",
    "adamw": "torch.optim.AdamW(model.parameters(), lr=LR)",
    "rmsprop": "torch.optim.RMSprop(model.parameters(), lr=LR)",
}


def generate_code(dataset: str, n_points: int, noise: float, data_seed: int,
                  mlp: MLPConfig, cubic: CubicFitConfig) -> str:
    """One script: part 1 trains the one-hidden-layer MLP, part 2 fits the cubic to sin(x)."""
    if mlp.activation not in _ACTIVATION_CLASSES or mlp.optimizer not in _OPTIMIZERS:
        raise ValueError("unsupported activation or optimizer")
    batch = "len(X)" if mlp.batch_size <= 0 else str(int(mlp.batch_size))
    dataset_source = inspect.getsource(make_dataset)  # the very function the page uses
    if cubic.method == "plain":
        update = textwrap.dedent("""\
            loss.backward()
            with torch.no_grad():  # the update itself must not be recorded by autograd
                for p in (a, b, c, d):
                    p -= LR_CUBIC * p.grad
                    p.grad = None""")
        make_opt = ""
    else:
        update = textwrap.dedent("""\
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()""")
        make_opt = ("optimizer = torch.optim.SGD([a, b, c, d], lr=LR_CUBIC, momentum="
                    f"{cubic.momentum!r})\n" if cubic.method == "momentum"
                    else "optimizer = torch.optim.Adam([a, b, c, d], lr=LR_CUBIC)\n")
    update = textwrap.indent(update, "    ")
    return f'''"""Deep Learning Playground, page 1: a one-hidden-layer MLP on 2-D toy data, then
gradient descent fitting y = a + b x + c x^2 + d x^3 to sin(x). Run: python perceptron_playground.py"""
import math

import numpy as np
import torch
from torch import nn

# ---------------------------------------------------------------- Part 1: MLP on "{dataset}"
DATASET, N_POINTS, NOISE, DATA_SEED = {dataset!r}, {int(n_points)}, {float(noise)!r}, {int(data_seed)}
HIDDEN, EPOCHS, LR, SEED = {int(mlp.hidden)}, {int(mlp.epochs)}, {float(mlp.lr)!r}, {int(mlp.seed)}


{dataset_source}

X, y = make_dataset(DATASET, N_POINTS, NOISE, DATA_SEED)  # X (N, 2) float32, y (N,) int64
torch.manual_seed(SEED)
model = nn.Sequential(nn.Linear(2, HIDDEN), {_ACTIVATION_CLASSES[mlp.activation]}, nn.Linear(HIDDEN, 2))
optimizer = {_OPTIMIZERS[mlp.optimizer]}
loss_fn = nn.CrossEntropyLoss()  # takes the 2 raw logits per point
batch_size = {batch}
for epoch in range(1, EPOCHS + 1):
    perm = torch.randperm(len(X))
    for start in range(0, len(X), batch_size):
        idx = perm[start:start + batch_size]
        loss = loss_fn(model(X[idx]), y[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    if not math.isfinite(loss.item()):
        print(f"Diverged at epoch {{epoch}}: lower the learning rate.")
        break
    if epoch % max(1, EPOCHS // 10) == 0 or epoch == EPOCHS:
        print(f"epoch {{epoch:4d}}  loss {{loss.item():.4f}}")
with torch.no_grad():
    accuracy = (model(X).argmax(dim=1) == y).float().mean().item() * 100
print(f"MLP accuracy on {{DATASET}}: {{accuracy:.1f}}%")

# ------------------------------------------------ Part 2: fit a cubic to sin(x), {cubic.method}
N, STEPS, LR_CUBIC = {int(cubic.n_points)}, {int(cubic.steps)}, {float(cubic.lr)!r}
x = torch.linspace(-math.pi, math.pi, N)
y = torch.sin(x)
start = torch.randn(4, generator=torch.Generator().manual_seed({int(cubic.seed)}))  # random a, b, c, d
a, b, c, d = (v.clone().requires_grad_(True) for v in start)
{make_opt}initial_loss = None
for t in range(1, STEPS + 1):
    y_pred = a + b * x + c * x ** 2 + d * x ** 3
    loss = (y_pred - y).pow(2).sum()  # summed squared error, as in the course
    if initial_loss is None:
        initial_loss = loss.item()
    if not math.isfinite(loss.item()) or loss.item() > 1e3 * initial_loss:
        print(f"Diverged at step {{t}}: lower the learning rate.")
        break
    if t % max(1, STEPS // 10) == 0:
        print(f"step {{t:5d}}  loss {{loss.item():.4f}}")
{update}
print(f"Result: y = {{a.item():.4f}} {{b.item():+.4f}} x {{c.item():+.4f}} x^2 {{d.item():+.4f}} x^3")
'''
