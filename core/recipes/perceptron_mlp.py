# %% [markdown]
# # From perceptron to MLP
# One perceptron draws one straight line, so it cannot learn XOR. A hidden layer of a few
# neurons draws a few lines, and the output layer combines them into a bent boundary.

# %%
import math

import numpy as np
import torch
from torch import nn

# --- settings ---
DATA_DIR = "data"  # not read: the toy points are generated below, so the script needs no files
DATASET = "AND"  # AND, OR, XOR, blobs, moons or circles
N_POINTS = 200  # points, balanced between the two classes
NOISE = 0.1  # standard deviation of the jitter added to every point
DATA_SEED = 0  # the random draw of the points
HIDDEN = 4  # neurons in the hidden layer
ACTIVATION = "Tanh"  # the hidden layer's activation, a torch.nn class name
EPOCHS = 200  # passes over the data
BATCH_SIZE = 0  # points per step; 0 = all of them (one step per epoch)
LR = 0.03  # learning rate
SEED = 0  # initial weights and batch order
WEIGHTS = None  # a .pt downloaded from the playground's 📦 box: its weights are loaded instead of training
# --- end of settings ---


# %% [markdown]
# ## The data
# AND / OR / XOR put points around the four corners of the unit square, labelled by the logic
# gate; blobs, moons and circles are the classic shapes. Labels are 0 or 1.

# %%
def make_dataset(name, n=200, noise=0.1, seed=0):
    """Toy 2-D classification data: X float32 (n, 2), y int64 (n,) with labels 0/1."""
    rng = np.random.default_rng(seed)
    if name in ("AND", "OR", "XOR"):
        corners = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])[np.arange(n) % 4]  # (n, 2) balanced
        a, b = corners[:, 0], corners[:, 1]
        labels = {"AND": a & b, "OR": a | b, "XOR": a ^ b}[name]
        points = corners.astype(float)
    elif name == "blobs":
        labels = np.arange(n) % 2
        points = np.where(labels[:, None] == 1, 1.0, -1.0) + 0.3 * rng.normal(size=(n, 2))
    elif name == "moons":
        labels = np.arange(n) % 2
        t = rng.uniform(0, np.pi, n)
        outer = np.stack([np.cos(t), np.sin(t)], axis=1)
        inner = np.stack([1 - np.cos(t), 0.5 - np.sin(t)], axis=1)
        points = np.where(labels[:, None] == 1, inner, outer)
    elif name == "circles":
        labels = np.arange(n) % 2
        t = rng.uniform(0, 2 * np.pi, n)
        radius = np.where(labels == 1, 0.5, 1.0)
        points = np.stack([radius * np.cos(t), radius * np.sin(t)], axis=1)
    else:
        raise ValueError(f"Unknown dataset {name!r}")
    points = points + noise * rng.normal(size=(n, 2))
    order = rng.permutation(n)  # mixed order, so no epoch sees one class first
    return (torch.tensor(points[order], dtype=torch.float32),
            torch.tensor(labels[order], dtype=torch.int64))


X, y = make_dataset(DATASET, N_POINTS, NOISE, DATA_SEED)  # X (N, 2), y (N,)
print(f"{DATASET}: {len(X)} points, {int(y.sum())} of class 1")

# %% [markdown]
# ## The model: 2 inputs → HIDDEN neurons → 2 outputs
# One logit per class; `nn.CrossEntropyLoss` turns them into probabilities itself.

# %%
torch.manual_seed(SEED)  # the same starting weights every run
# Flatten keeps (N, 2) as it is, and the playground's layer numbers, so its weights load.
model = nn.Sequential(nn.Flatten(), nn.Linear(2, HIDDEN), getattr(nn, ACTIVATION)(), nn.Linear(HIDDEN, 2))
optimizer = torch.optim.Adam(model.parameters(), lr=LR)  # @optimizer
loss_fn = nn.CrossEntropyLoss()
print(model)

# %% [markdown]
# ## Training
# Each epoch shuffles the points, steps through them in batches and reports the mean loss.

# %%
def load_weights(model, name=""):
    """WEIGHTS into the model if the file holds this one (its model entry is name; '' fits any); True if loaded."""
    checkpoint = torch.load(WEIGHTS, weights_only=True)  # tensors and plain values only: no code runs
    if name and checkpoint.get("model", "") != name:
        return False
    try:
        model.load_state_dict(checkpoint.get("state_dict", checkpoint))  # a bare state_dict loads too
    except RuntimeError:  # other layer sizes: the file was trained with other settings
        raise SystemExit(f"{WEIGHTS} does not fit this model: use the settings it was trained with, "
                         f"{checkpoint.get('settings')}") from None
    print(f"loaded {name or 'the model'} from {WEIGHTS}: evaluated, not trained")
    return True


epochs = 0 if WEIGHTS and load_weights(model) else EPOCHS
batch_size = BATCH_SIZE if BATCH_SIZE > 0 else len(X)
order = torch.Generator().manual_seed(SEED)  # the batch order has its own seeded generator
losses = []
for epoch in range(1, epochs + 1):
    perm = torch.randperm(len(X), generator=order)
    epoch_loss = 0.0
    for start in range(0, len(X), batch_size):
        idx = perm[start:start + batch_size]
        loss = loss_fn(model(X[idx]), y[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        epoch_loss += loss.item() * len(idx)
    losses.append(epoch_loss / len(X))
    if not math.isfinite(losses[-1]):
        print(f"Diverged at epoch {epoch}: lower the learning rate.")
        break
    if epoch % max(1, EPOCHS // 10) == 0 or epoch == EPOCHS:
        print(f"epoch {epoch:4d}  loss {losses[-1]:.4f}")

# %%
with torch.no_grad():
    accuracy = (model(X).argmax(dim=1) == y).float().mean().item() * 100
print(f"MLP accuracy on {DATASET}: {accuracy:.1f}%")
