# %% [markdown]
# # An ANN for regression: disease progression from 10 measurements
# From the Deep Learning Playground.
# scikit-learn's diabetes data (442 patients, bundled with scikit-learn, so no download): split
# into training, validation and test rows, standardized with the training rows only, an MLP
# trained with MSE and early stopping, and the test figures next to two baselines.

# %%
import numpy as np
import torch
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from torch import nn

# --- settings ---
DATA_DIR = "./data"  # not needed here: scikit-learn ships the diabetes data itself
HIDDEN = (32, 16)  # hidden layer widths; () = no hidden layer (a linear model)
ACTIVATION = "ReLU"  # a torch.nn activation: ReLU, Sigmoid, Tanh, LeakyReLU, ELU, GELU
DROPOUT = 0.0  # share of each hidden layer's outputs zeroed while training; 0 = none
EPOCHS = 300  # at most this many passes over the training rows
BATCH_SIZE = 32  # rows per optimizer step
LR = 0.001  # learning rate
PATIENCE = 20  # early stopping: epochs without a better validation loss; 0 = off
SEED = 0  # same seed, same initial weights and batch order
SPLIT_SEED = 0  # which rows go to training, validation and test
VAL_SHARE = 0.2  # share of all rows for early stopping
TEST_SHARE = 0.2  # share of all rows for the final figures
WEIGHTS = None  # a .pt downloaded from the playground's 📦 box: its weights are loaded instead of training
# --- end of settings ---

# %% [markdown]
# ## Data: split first, then scale with the training rows only
# Fitting the scaler on all rows would let the test rows shape the preparation (data leakage).

# %%
table = load_diabetes(scaled=False, as_frame=True).frame  # the features as measured
x_all = table.drop(columns="target").to_numpy(np.float64)
y_all = table["target"].to_numpy(np.float64)  # disease progression one year later
rows = np.arange(len(table))
rest, test_rows = train_test_split(rows, test_size=TEST_SHARE, random_state=SPLIT_SEED)
train_rows, val_rows = train_test_split(rest, test_size=VAL_SHARE / (1 - TEST_SHARE), random_state=SPLIT_SEED)
train_rows, val_rows, test_rows = np.sort(train_rows), np.sort(val_rows), np.sort(test_rows)
x_scaler = StandardScaler().fit(x_all[train_rows])
y_scaler = StandardScaler().fit(y_all[train_rows].reshape(-1, 1))  # the net predicts a target near 0 ± 1


def tensors(part):
    x = x_scaler.transform(x_all[part])
    y = y_scaler.transform(y_all[part].reshape(-1, 1))
    return torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)


(x_train, y_train), (x_val, y_val), (x_test, y_test) = tensors(train_rows), tensors(val_rows), tensors(test_rows)
print(f"{len(train_rows)} training, {len(val_rows)} validation, {len(test_rows)} test rows")

# %% [markdown]
# ## Model: 10 inputs, one output with no activation

# %%
torch.manual_seed(SEED)
layers, width = [nn.Flatten()], x_train.shape[1]  # Flatten keeps (N, 10) as it is, and the playground's layer numbers
for size in HIDDEN:
    layers += [nn.Linear(width, size), getattr(nn, ACTIVATION)()]
    if DROPOUT > 0:
        layers.append(nn.Dropout(DROPOUT))
    width = size
layers.append(nn.Linear(width, 1))  # one number out: the (standardized) prediction
model = nn.Sequential(*layers)
print(model)
print("parameters:", sum(p.numel() for p in model.parameters()))

# %% [markdown]
# ## Training: MSE, early stopping on the validation rows
# The batches are slices of a shuffled order of the rows, all held in memory as tensors.

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
torch.manual_seed(SEED)  # dropout's masks follow the seed too
optimizer = torch.optim.Adam(model.parameters(), lr=LR)  # @optimizer
loss_fn = nn.MSELoss()
order = torch.Generator().manual_seed(SEED)  # the batch order
best, best_epoch, best_state, bad = float("inf"), 0, None, 0
for epoch in range(1, epochs + 1):
    model.train()
    perm = torch.randperm(len(x_train), generator=order)
    for start in range(0, len(x_train), BATCH_SIZE):
        idx = perm[start:start + BATCH_SIZE]
        loss = loss_fn(model(x_train[idx]), y_train[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val_loss = loss_fn(model(x_val), y_val).item()
    if val_loss < best:
        best, best_epoch, bad = val_loss, epoch, 0
        best_state = {k: v.clone() for k, v in model.state_dict().items()}
    else:
        bad += 1
    if PATIENCE and bad >= PATIENCE:
        print(f"early stop at epoch {epoch}, keeping epoch {best_epoch}")
        break
if PATIENCE and best_state is not None:
    model.load_state_dict(best_state)  # the best validation epoch's weights
model.eval()

# %% [markdown]
# ## Test rows: the ANN against the training mean and a linear regression
# RMSE and MAE are in the target's own units; R² is 1 for a perfect model, 0 for the mean.

# %%
actual = y_all[test_rows]
with torch.no_grad():
    ann_predicted = y_scaler.inverse_transform(model(x_test).numpy()).ravel()  # back to the target's units
mean_predicted = np.full(len(actual), y_all[train_rows].mean())
linear = LinearRegression().fit(x_scaler.transform(x_all[train_rows]), y_all[train_rows])
linear_predicted = linear.predict(x_scaler.transform(x_all[test_rows]))
test_rmse = {}
for name, predicted in (("training mean", mean_predicted), ("linear regression", linear_predicted),
                        ("ANN", ann_predicted)):
    test_rmse[name] = root_mean_squared_error(actual, predicted)
    print(f"{name:18s} RMSE {test_rmse[name]:7.2f}  MAE {mean_absolute_error(actual, predicted):7.2f}  "
          f"R² {r2_score(actual, predicted):6.3f}")
print("the ANN beats the linear model" if test_rmse["ANN"] < test_rmse["linear regression"]
      else "the linear model is at least as good as the ANN")

