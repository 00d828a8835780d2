# %% [markdown]
# # RNN vs LSTM vs GRU on sine waves
# Each model reads a sine wave one step at a time and predicts its next value.

# %%
import time

import numpy as np
import torch
from torch import nn

# %%
# --- settings ---
SAMPLES = 1000  # sine sequences (80 % train, 20 % test)
SEQ_LEN = 50  # time steps per sequence
SHIFT = 0.1  # radians between steps; the target is the wave shifted by this
HIDDEN = 32  # hidden size D_h
LAYERS = 1  # stacked recurrent layers
LR = 0.015  # learning rate
EPOCHS = 60  # passes over the training sequences
BATCH_SIZE = 128  # sequences per optimizer step
SEED = 0  # same initial weights and batch order for every cell
CELLS = ("rnn", "lstm", "gru")  # the cells to compare
DATA_DIR = "data"  # not read here: the sine waves are generated below
WEIGHTS = None  # a .pt downloaded from the playground's 📦 box: its weights are loaded instead of training
# --- end of settings ---

# %% [markdown]
# ## Data
# Each sequence starts at a random phase: x_t = sin(phase + SHIFT·t). The target is the same
# wave one step later, so the model learns to predict the **next** value.

# %%
rng = np.random.default_rng(0)  # the playground's phases
phases = rng.uniform(0, 2 * np.pi, size=SAMPLES)
angle = phases[:, None] + np.arange(SEQ_LEN)[None, :] * SHIFT                  # (N, T)
X = torch.tensor(np.sin(angle), dtype=torch.float32).unsqueeze(-1)             # (N, T, 1)
Y = torch.tensor(np.sin(angle + SHIFT), dtype=torch.float32).unsqueeze(-1)     # (N, T, 1)
n_test = min(max(1, round(SAMPLES * 0.2)), SAMPLES - 1)
x_train, y_train, x_test, y_test = X[:-n_test], Y[:-n_test], X[-n_test:], Y[-n_test:]
print(f"{len(x_train)} training / {len(x_test)} test sequences of {SEQ_LEN} steps")

# %% [markdown]
# ## The model
# `nn.RNN`, `nn.LSTM` or `nn.GRU` reads the sequence; a linear head turns every step's
# hidden state h_t into a prediction.


# %%
class SeqModel(nn.Module):
    def __init__(self, cell):
        super().__init__()
        rnn_class = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[cell]
        self.rnn = rnn_class(1, HIDDEN, num_layers=LAYERS, batch_first=True)
        self.head = nn.Linear(HIDDEN, 1)

    def forward(self, x):
        out, _ = self.rnn(x)      # (N, T, HIDDEN): h_t at every step
        return self.head(out)     # (N, T, 1)


# %% [markdown]
# ## Train the three cells on the same data, seed and batch order

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


test_mse = {}
for cell in CELLS:
    torch.manual_seed(SEED)                        # same initial weights for every cell
    order = torch.Generator().manual_seed(SEED)    # same batch order for every cell
    model = SeqModel(cell)
    epochs = 0 if WEIGHTS and load_weights(model, cell) else EPOCHS
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)  # @optimizer
    loss_fn = nn.MSELoss()
    start = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(len(x_train), generator=order)
        for i in range(0, len(x_train), BATCH_SIZE):
            idx = perm[i:i + BATCH_SIZE]
            loss = loss_fn(model(x_train[idx]), y_train[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    seconds = time.perf_counter() - start
    with torch.no_grad():
        test_mse[cell] = loss_fn(model(x_test), y_test).item()
    params = sum(p.numel() for p in model.parameters())
    print(f"{cell.upper():4s} params {params:6,d}  train {seconds:5.1f} s  test MSE {test_mse[cell]:.2e}")
