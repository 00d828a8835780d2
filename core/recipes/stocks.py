# %% [markdown]
# # Next-day stock forecast with LSTM and GRU, without leaking the future
#
# The course notebook's recipe (30 days of Open, High, Low and Volume in, the next close out),
# done honestly: the scaler is fitted on the training period only, early stopping watches a
# validation period carved from the end of training, and the test period is judged against
# the simplest forecast there is, *tomorrow = today*. A lesson, not financial advice.

# %%
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import mean_absolute_error, mean_absolute_percentage_error, root_mean_squared_error
from sklearn.preprocessing import MinMaxScaler
from torch import nn

# %%
# --- settings ---
DATA_DIR = "data"  # DATA_DIR/stocks/<SYMBOL>.csv: the playground's copy (it offers it); else FinanceDataReader downloads
SYMBOL = "005930"  # a KRX code (6 digits) or a US ticker
START = "2020-01-01"  # first day of data
END = None  # last day of data; None = up to today
SPLIT = "2023-01-01"  # first test day
FEATURES = ["Open", "High", "Low", "Volume"]  # inputs; "Return" = daily close change
TARGET = "close"  # "close" (price level) or "return" (change from the last close)
WINDOW = 30  # days in; the day after the window out
HORIZON = 1  # days ahead
VAL_FRACTION = 0.15  # the end of the training period, held out for early stopping
HIDDEN = 10  # LSTM/GRU hidden size
LAYERS = 1  # stacked recurrent layers
DROPOUT = 0.0  # between stacked layers and on the last hidden state
LR = 0.01  # learning rate
BATCH = 32  # windows per step
EPOCHS = 100  # at most
PATIENCE = 5  # early stopping: epochs without improvement; None = off
MIN_DELTA = 1e-6  # smaller validation improvements do not count
SEED = 0  # same seed, same initial weights and batch order
WEIGHTS = None  # a .pt downloaded from the playground's 📦 box: its weights are loaded instead of training
# --- end of settings ---

# %% [markdown]
# ## The prices
# Drop rows with missing or non-positive prices and add the daily return.

# %%
csv = Path(DATA_DIR) / "stocks" / f"{SYMBOL}.csv"
if csv.exists():  # the playground's copy: works offline
    df = pd.read_csv(csv, parse_dates=["Date"])
else:  # pip install finance-datareader; needs the internet
    import FinanceDataReader as fdr

    try:
        df = fdr.DataReader(SYMBOL, START, END).rename_axis("Date").reset_index()
    except OSError:  # no connection
        raise SystemExit(f"No internet to download {SYMBOL}: put {csv.name} (the playground's "
                         f"'Show the code' offers it) in {csv.parent}/") from None
df = df.sort_values("Date").drop_duplicates("Date")
df = df[(df["Date"] >= START) & (df["Date"] <= (END or pd.Timestamp.today()))]
df = df.dropna(subset=["Open", "High", "Low", "Close", "Volume"])
df = df[(df[["Open", "High", "Low", "Close"]] > 0).all(axis=1)].reset_index(drop=True)
df["Return"] = df["Close"].pct_change()
df = df.iloc[1:].reset_index(drop=True)  # the first day has no previous close
close = df["Close"].to_numpy(float)
features = df[FEATURES].to_numpy(float)  # (T, F)
if TARGET == "close":
    target = close.copy()
else:
    target = np.full(len(close), np.nan)
    target[HORIZON:] = close[HORIZON:] / close[:-HORIZON] - 1
target = target.reshape(-1, 1)  # scikit-learn's scalers take columns

# %% [markdown]
# ## Windows, split by date, and scaling fitted on the training rows only
# Each window of `WINDOW` days predicts the day after it. Fitting the scaler on all rows (as the
# notebook does) would let the test period's highs and lows shape the training inputs.

# %%
n = len(df) - WINDOW - HORIZON + 1
rows = np.arange(n) + WINDOW + HORIZON - 1  # the day each window predicts
test_start = int(np.searchsorted(df["Date"].to_numpy(), pd.Timestamp(SPLIT).to_datetime64()))
n_trval = int((rows < test_start).sum())
n_val = max(5, round(VAL_FRACTION * n_trval))
train_end = int(rows[n_trval - n_val])  # the first validation day: the scalers see the rows before it

feature_scaler = MinMaxScaler().fit(features[:train_end])
target_scaler = MinMaxScaler().fit(target[HORIZON:train_end] if TARGET == "return" else target[:train_end])
xs = feature_scaler.transform(features).astype(np.float32)
ys = target_scaler.transform(target).astype(np.float32)
X = np.stack([xs[i:i + WINDOW] for i in range(n)])  # (N, WINDOW, F)
Y = ys[rows]                                         # (N, 1)
is_train, is_test = rows < train_end, rows >= test_start
is_val = ~is_train & ~is_test
x_train, y_train = torch.from_numpy(X[is_train]), torch.from_numpy(Y[is_train])
x_val, y_val = torch.from_numpy(X[is_val]), torch.from_numpy(Y[is_val])
x_test = torch.from_numpy(X[is_test])
print(f"{len(x_train)} training, {len(x_val)} validation, {len(x_test)} test windows")


def to_prices(scaled, prev):
    """Model outputs -> prices: undo the scaler; a return becomes prev * (1 + r)."""
    value = target_scaler.inverse_transform(np.asarray(scaled, dtype=float).reshape(-1, 1))[:, 0]
    return prev * (1 + value) if TARGET == "return" else value


# %% [markdown]
# ## LSTM and GRU
# Both read the window day by day; the hidden state after the last day goes through the
# notebook's head Linear(hidden→5) → ReLU → Linear(5→1).

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


if WEIGHTS and torch.load(WEIGHTS, weights_only=True).get("model") == "lstm_leaky":
    raise SystemExit(f"{WEIGHTS} is the page's leaky LSTM: this script trains only the honest LSTM and GRU")


class Forecaster(nn.Module):
    def __init__(self, cell):
        super().__init__()
        rnn = nn.LSTM if cell == "lstm" else nn.GRU
        self.rnn = rnn(len(FEATURES), HIDDEN, num_layers=LAYERS, batch_first=True,
                       dropout=DROPOUT if LAYERS > 1 else 0.0)
        self.drop = nn.Dropout(DROPOUT)
        self.head = nn.Sequential(nn.Linear(HIDDEN, 5), nn.ReLU(), nn.Linear(5, 1))

    def forward(self, x):  # (N, WINDOW, F)
        out, _ = self.rnn(x)  # (N, WINDOW, HIDDEN)
        return self.head(self.drop(out[:, -1]))  # (N, 1)


def fit(cell):
    """Adam and MSE; early stopping on the validation loss keeps the best epoch's weights."""
    torch.manual_seed(SEED)
    model = Forecaster(cell)
    if WEIGHTS and load_weights(model, cell):
        return model.eval()
    torch.manual_seed(SEED)  # dropout's masks follow the seed too
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)  # @optimizer
    loss_fn = nn.MSELoss()
    order = torch.Generator().manual_seed(SEED)  # the batch order
    best, best_state, bad = float("inf"), None, 0
    for epoch in range(1, EPOCHS + 1):
        model.train()
        perm = torch.randperm(len(x_train), generator=order)
        for start in range(0, len(x_train), BATCH):
            idx = perm[start:start + BATCH]
            loss = loss_fn(model(x_train[idx]), y_train[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            val_loss = loss_fn(model(x_val), y_val).item()
        if val_loss < best - MIN_DELTA:
            best, bad = val_loss, 0
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        else:
            bad += 1
        if PATIENCE is not None and bad >= PATIENCE:
            print(f"{cell.upper()}: early stop at epoch {epoch}, keeping epoch {epoch - bad}")
            break
    if PATIENCE is not None:
        model.load_state_dict(best_state)
    return model.eval()


# %% [markdown]
# ## Test period: the models against tomorrow = today and drift
# RMSE punishes big misses, MAE is the typical miss, MAPE the miss as a % of the price;
# direction = how often the predicted move from the last close had the right sign.

# %%
actual, prev = close[rows[is_test]], close[rows[is_test] - HORIZON]
drift = np.mean(np.diff(close[:train_end]))  # the training period's average daily change
test_rmse = {}


def report(name, predicted):
    moved = np.sign(predicted - prev)
    direction = 100 * np.mean(moved == np.sign(actual - prev)) if moved.any() else float("nan")
    test_rmse[name] = root_mean_squared_error(actual, predicted)
    print(f"{name:18s} RMSE {test_rmse[name]:12.2f}  MAE {mean_absolute_error(actual, predicted):12.2f}  "
          f"MAPE {100 * mean_absolute_percentage_error(actual, predicted):6.2f}%  direction {direction:5.1f}%")


for cell in ("lstm", "gru"):
    model = fit(cell)
    with torch.no_grad():
        predicted = to_prices(model(x_test).numpy(), prev)
        tomorrow = to_prices(model(torch.from_numpy(xs[-WINDOW:])[None]).numpy(), close[-1:])[0]
    report(cell.upper(), predicted)
    print(f"  next trading day after {df['Date'].iloc[-1]:%Y-%m-%d}: {tomorrow:,.2f}")
report("tomorrow = today", prev)
report("drift", prev + HORIZON * drift)
print("A lesson, not financial advice.")
