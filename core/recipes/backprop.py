# %% [markdown]
# # Backpropagation, step by step
# One training example through a tiny network: 2 inputs → hidden units → outputs.
# The backward pass is written out with plain tensors, layer by layer from the loss back,
# and checked against `loss.backward()`. Everything is float64, so the two agree to about 1e-16.

# %%
import torch
from torch import nn

# --- settings ---
DATA_DIR = "data"  # not read: the one example is written below, so the script needs no files
ACTIVATION = "Sigmoid"  # the hidden layer's activation, a torch.nn class name: Sigmoid, Tanh or ReLU
LOSS = "mse"  # mse (raw outputs), bce (sigmoid outputs) or ce (softmax over the outputs)
X = [1.0, 0.5]  # the one training example: two inputs
TARGET = [1.0]  # one number per output; for ce, 1 for the true class and 0 elsewhere
W1 = [[-0.01, 0.38], [-0.58, -0.52]]  # hidden layer weights, one row per hidden unit
B1 = [-0.27, 0.19]  # hidden layer biases
W2 = [[-0.01, 0.56]]  # output layer weights, one row per output
B2 = [-0.06]  # output layer biases
LR = 0.5  # learning rate of the one gradient-descent step
# --- end of settings ---

# %% [markdown]
# ## Forward: z = W x + b and a = f(z), layer by layer

# %%
dtype = torch.float64
x, y = torch.tensor(X, dtype=dtype), torch.tensor(TARGET, dtype=dtype)
w1, b1 = torch.tensor(W1, dtype=dtype), torch.tensor(B1, dtype=dtype)
w2, b2 = torch.tensor(W2, dtype=dtype), torch.tensor(B2, dtype=dtype)
act = getattr(nn, ACTIVATION)()
m = len(y)  # outputs; the loss is their mean, as PyTorch's losses take it


def loss_of(z2):
    """The loss of the raw outputs z2 for the target y."""
    if LOSS == "mse":
        return nn.functional.mse_loss(z2, y)
    if LOSS == "bce":
        return nn.functional.binary_cross_entropy_with_logits(z2, y)
    return nn.functional.cross_entropy(z2[None], y.argmax()[None])


z1 = w1 @ x + b1
a1 = act(z1)
z2 = w2 @ a1 + b2
y_hat = {"mse": z2, "bce": torch.sigmoid(z2), "ce": torch.softmax(z2, 0)}[LOSS]
loss = loss_of(z2)
print("z1 =", z1.tolist(), " a1 =", a1.tolist())
print("z2 =", z2.tolist(), " y_hat =", y_hat.tolist(), f" loss = {loss.item():.6f}")

# %% [markdown]
# ## Backward by hand: the chain rule from the loss back
# delta = dL/dz for each layer; then dL/dW = delta a_prev^T and dL/db = delta.

# %%
# Output layer: MSE gives (2/m)(y_hat - y); BCE with sigmoid and CE with softmax give (y_hat - y)/m
# and y_hat - y, because the activation's derivative cancels the loss's.
delta2 = {"mse": 2 / m * (y_hat - y), "bce": (y_hat - y) / m, "ce": y_hat - y}[LOSS]
grad_w2 = torch.outer(delta2, a1)
grad_b2 = delta2
# Back through W2, then through the activation: f'(z1) read off a1 = f(z1).
derivative = {"Sigmoid": a1 * (1 - a1), "Tanh": 1 - a1 ** 2, "ReLU": (z1 > 0).to(dtype)}[ACTIVATION]
delta1 = (w2.t() @ delta2) * derivative
grad_w1 = torch.outer(delta1, x)
grad_b1 = delta1
by_hand = [grad_w1, grad_b1, grad_w2, grad_b2]
print("delta2 =", delta2.tolist(), " delta1 =", delta1.tolist())

# %% [markdown]
# ## Check: the same gradients from autograd

# %%
model = nn.Sequential(nn.Linear(2, len(b1)), act, nn.Linear(len(b1), m)).to(dtype)
with torch.no_grad():
    for p, value in zip(model.parameters(), [w1, b1, w2, b2]):
        p.copy_(value)
autograd_loss = loss_of(model(x))
autograd_loss.backward()
max_diff = max((mine - p.grad).abs().max().item() for mine, p in zip(by_hand, model.parameters()))
print(f"largest difference between hand-computed and autograd gradients: {max_diff:.1e}")

# %% [markdown]
# ## Update: one step of gradient descent, p <- p - LR * dL/dp

# %%
with torch.no_grad():
    for p, grad in zip(model.parameters(), by_hand):
        p -= LR * grad
    new_loss = loss_of(model(x)).item()
print(f"loss {loss.item():.6f} -> {new_loss:.6f} ({'down' if new_loss < loss.item() else 'not down'})")
