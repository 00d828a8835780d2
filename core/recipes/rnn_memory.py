# %% [markdown]
# # Long-term memory: recall the first value
# After T-1 distractors, can an RNN, an LSTM and a GRU still answer with the first value?

# %%
import torch
from torch import nn

# %%
# --- settings ---
T = 40  # sequence length: the answer comes T-1 steps after the value to remember
SAMPLES = 512  # training sequences
TEST_SAMPLES = 500  # held-out sequences
HIDDEN = 32  # hidden size D_h
EPOCHS = 30  # passes over the training sequences
BATCH_SIZE = 32  # sequences per optimizer step
LR = 0.01  # learning rate
TOLERANCE = 0.1  # an answer is right within +-TOLERANCE of the first value
SEED = 0  # same data and the same initial weights for every cell
DATA_DIR = "data"  # not read here: the sequences are generated below
WEIGHTS = None  # a .pt downloaded from the playground's 📦 box: its weights are loaded instead of training
# --- end of settings ---

# %% [markdown]
# ## Data
# Step 0 carries a value v in [-1, 1] and a marker (second channel = 1); the next T-1 steps
# carry random distractors. The target at every step is v; the last answer is the one that counts.


# %%
def make_data(T, n, seed):
    gen = torch.Generator().manual_seed(seed)
    values = torch.rand(n, T, generator=gen) * 2 - 1        # (n, T) in [-1, 1]
    marker = torch.zeros(n, T)
    marker[:, 0] = 1.0                                       # "remember this one"
    x = torch.stack([values, marker], dim=-1)                # (n, T, 2)
    y = values[:, :1].unsqueeze(-1).expand(n, T, 1)          # the first value, at every step
    return x, y


x_train, y_train = make_data(T, SAMPLES, SEED)
x_test, y_test = make_data(T, TEST_SAMPLES, SEED + 1)

# %% [markdown]
# ## Train each cell and score its last answer

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


accuracy = {}
for cell in ("rnn", "lstm", "gru"):
    torch.manual_seed(SEED)                        # same initial weights for every cell
    order = torch.Generator().manual_seed(SEED)    # same batch order for every cell
    rnn = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[cell](2, HIDDEN, batch_first=True)
    head = nn.Linear(HIDDEN, 1)
    model = nn.ModuleDict({"rnn": rnn, "head": head})  # named as in the playground, so its weights load
    epochs = 0 if WEIGHTS and load_weights(model, cell) else EPOCHS
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)  # @optimizer
    for _ in range(epochs):
        perm = torch.randperm(len(x_train), generator=order)
        for i in range(0, len(x_train), BATCH_SIZE):
            idx = perm[i:i + BATCH_SIZE]
            loss = ((head(rnn(x_train[idx])[0]) - y_train[idx]) ** 2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        last = head(rnn(x_test)[0])[:, -1, 0]
    accuracy[cell] = 100 * ((last - y_test[:, -1, 0]).abs() <= TOLERANCE).float().mean().item()
    print(f"{cell.upper():4s} T={T}: {accuracy[cell]:.0f}% of answers within +-{TOLERANCE}")
