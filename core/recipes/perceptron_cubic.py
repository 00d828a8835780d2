# %% [markdown]
# # Gradient descent: fit a cubic to sin(x)
# The course exercise: points of sin(x) on [−π, π], four random coefficients, the **summed**
# squared error as the loss, and gradients from `loss.backward()`.

# %%
import math

import torch

# --- settings ---
DATA_DIR = "data"  # not read: sin(x) is computed below, so the script needs no files
METHOD = "plain"  # "plain": the course's w -= lr * grad; otherwise the optimizer line below
N_POINTS = 1000  # x evenly spaced on [-pi, pi]
STEPS = 2000  # gradient steps
LR = 1e-06  # learning rate (the loss is a sum over N_POINTS points: its gradients are large)
SEED = 0  # the random starting coefficients
# --- end of settings ---

# %%
x = torch.linspace(-math.pi, math.pi, N_POINTS)
y = torch.sin(x)
coef = torch.randn(4, generator=torch.Generator().manual_seed(SEED)).requires_grad_(True)  # a, b, c, d
print("start: a, b, c, d =", [round(v, 4) for v in coef.tolist()])
# Used unless METHOD is "plain" (then the update is written out by hand: plain SGD).
optimizer = torch.optim.SGD([coef], lr=LR)  # @optimizer

# %% [markdown]
# ## The loop
# Forward, loss, backward, update. The plain update must not be recorded by autograd, hence
# `torch.no_grad()`; a loss that explodes means the learning rate is too large.

# %%
initial_loss = None
diverged = False
for t in range(1, STEPS + 1):
    a, b, c, d = coef
    y_pred = a + b * x + c * x ** 2 + d * x ** 3
    loss = (y_pred - y).pow(2).sum()  # summed squared error, as in the course
    if initial_loss is None:
        initial_loss = loss.item()
    if not math.isfinite(loss.item()) or loss.item() > 1e3 * initial_loss:
        print(f"Diverged at step {t}: lower the learning rate.")
        diverged = True
        break
    if t % max(1, STEPS // 10) == 0:
        print(f"step {t:5d}  loss {loss.item():.4f}")
    if METHOD == "plain":
        loss.backward()
        with torch.no_grad():
            coef -= LR * coef.grad
        coef.grad = None
    else:
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

# %%
with torch.no_grad():
    a, b, c, d = coef
    final_loss = (a + b * x + c * x ** 2 + d * x ** 3 - y).pow(2).sum().item()
print(f"loss {initial_loss:.4g} -> {final_loss:.4g}")
print(f"Result: y = {a.item():.4f} {b.item():+.4f} x {c.item():+.4f} x^2 {d.item():+.4f} x^3")
