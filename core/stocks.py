"""Next-day stock forecasting with LSTM/GRU: leak-free windows, naive baselines, honest metrics.

The prices come from core.data (FinanceDataReader online, the embedded CSVs offline), or the
series is the learner's own CSV (core.own_data, made ready by `own_series`): a date column and a
value column, forecast the same way, without the price-only rules (positive prices, Return).
Problems a learner must read about are raised as core.data.DataError with Words, never sentences.
"""
import dataclasses
import functools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import mean_absolute_error, mean_absolute_percentage_error, root_mean_squared_error
from sklearn.preprocessing import MinMaxScaler
from torch import nn

from core import engine
from core.data import DataError, Words, words
from core.engine import TrainConfig, build_seeded, combined, predict, train
from core.own_data import OwnTable, parse_dates

FEATURE_CHOICES = ("Open", "High", "Low", "Close", "Volume", "Return")  # Return = daily close change
TARGETS = ("close", "return")  # the next day's price level (the notebook), or its change
MIN_TRAIN_WINDOWS, MIN_VAL_WINDOWS, MIN_TEST_WINDOWS = 30, 5, 5
NAIVE, DRIFT = "naive", "drift"  # the baselines: tomorrow = today, and today + the average change
CELLS = {"lstm": "lstm", "gru": "gru", "lstm_leaky": "lstm"}  # model -> its recurrent cell
OWN_SERIES_ROWS = 20_000  # an uploaded series keeps its latest rows: ~80 years of days; every window is a
                          # training example, and the page prepares the windows on each rerun


@dataclass
class StockSettings:
    symbol: str = "005930"          # KRX code or US ticker (the notebook: Samsung Electronics)
    start: str = "2020-01-01"       # first day of data, as the notebook
    end: str | None = None          # last day of data; None = up to today
    features: tuple = ("Open", "High", "Low", "Volume")  # inputs, as the notebook
    target: str = "close"           # "close" (price level, the notebook) or "return" (daily change)
    window: int = 30                # days of history per sample: 30 days in, day 31 out
    horizon: int = 1                # days ahead; 1 = the next trading day
    split_date: str = "2023-01-01"  # first test day, as the notebook
    val_fraction: float = 0.15      # the end of the training period, held out for early stopping
    leaky: bool = False             # the notebook's way: scaler on ALL rows, validate on the test set
    hidden: int = 10                # LSTM/GRU hidden size (the notebook: 10)
    layers: int = 1                 # stacked recurrent layers
    dropout: float = 0.0            # between stacked layers and on the last hidden state
    head: int = 5                   # the notebook's Linear(hidden, 5) -> ReLU -> Linear(5, 1)
    lr: float = 0.01                # Adam's learning rate (the notebook)
    batch_size: int = 32            # windows per step (the notebook)
    epochs: int = 100               # at most; early stopping usually ends sooner
    patience: int | None = 5        # early stopping: epochs without improvement; None = off
    min_delta: float = 1e-6         # smaller validation improvements do not count (the notebook)
    seed: int = 0                   # same seed -> same init and batch order for LSTM and GRU
    with_leaky: bool = False        # also train the notebook's leaky LSTM, to compare
    upload: str = ""                # "" = the prices of `symbol`; else the uploaded CSV's file name
    upload_hash: str = ""           # the uploaded file's digest (core.own_data.digest); "" for prices
    value: str = "Close"            # the column forecast: the close, or the uploaded file's value column

    def train_config(self) -> TrainConfig:
        """The notebook's recipe: Adam, MSE, early stopping on the validation loss."""
        return TrainConfig(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, optimizer="adam",
                           seed=self.seed, patience=self.patience, min_delta=self.min_delta,
                           restore_best=True, log_every=10, shuffle=True, task="regression")


# --- Cleaning, windows and scaling -------------------------------------------------------------
def clean_prices(frame: pd.DataFrame, columns=("Open", "High", "Low", "Close", "Volume"), value: str = "Close",
                 prices: bool = True) -> tuple[pd.DataFrame, list[Words]]:
    """Drop rows with missing values and (`prices`) non-positive prices; add Return (daily close
    change, `prices` only: a series of temperatures has no return, and may be zero or negative).

    Returns (clean frame, notes for the learner). Raises DataError for absent columns.
    """
    wanted = [c for c in columns if c != "Return"] if prices else list(columns)
    absent = [c for c in {"Date", value, *wanted} if c not in frame.columns]
    if absent:
        raise DataError("stocks.no_columns", columns=", ".join(sorted(absent)))
    notes = []
    frame = frame.sort_values("Date").reset_index(drop=True)
    numeric = frame[list(dict.fromkeys([value, *wanted]))].apply(pd.to_numeric, errors="coerce")
    bad = numeric.isna().any(axis=1)
    if bad.any():
        dates = ", ".join(f"{d:%Y-%m-%d}" for d in frame.loc[bad, "Date"].head(3))
        notes.append(words("stocks.dropped_missing", rows=int(bad.sum()),
                           dates=dates + (", …" if bad.sum() > 3 else "")))
    price_columns = [c for c in ("Open", "High", "Low", "Close") if c in numeric.columns and prices]
    nonpositive = (numeric[price_columns] <= 0).any(axis=1) & ~bad
    if nonpositive.any():
        notes.append(words("stocks.dropped_nonpositive", rows=int(nonpositive.sum())))
    frame = frame[~(bad | nonpositive)].copy()
    frame[numeric.columns] = numeric[~(bad | nonpositive)].astype("float64")
    if not prices:
        return frame.reset_index(drop=True), notes
    frame["Return"] = frame["Close"].pct_change()
    frame = frame.iloc[1:].reset_index(drop=True)  # the first day has no previous close
    return frame, notes


def own_series(own: OwnTable, date: str, value: str, inputs: tuple[str, ...] | list[str]) -> tuple[pd.DataFrame,
                                                                                                 list[Words]]:
    """An uploaded table as a series `prepare` takes: Date, the value column and the input columns
    (numbers), one row per date, oldest first; and notes saying what was done on the way.

    Rows whose date cannot be read are dropped; unsorted dates are sorted; rows sharing a date
    are averaged into one; past OWN_SERIES_ROWS the latest rows are kept. Raises DataError
    ("stocks.own_*") for a date column with no dates, a value or input column that is not
    numeric, or a column called Date that is not the dates."""
    columns = list(dict.fromkeys([value, *inputs]))
    if "Date" in columns:
        raise DataError("stocks.own_date_name")
    not_numeric = [c for c in columns if own.kinds.get(c) != "number"]
    if not_numeric:
        raise DataError("stocks.own_not_numeric", columns=", ".join(not_numeric))
    dates = parse_dates(own.frame[date])
    if dates.notna().sum() == 0:
        raise DataError("stocks.own_no_dates", column=date, example=str(own.frame[date].iloc[0])[:30])
    frame = pd.concat([dates.rename("Date"), own.numbers[columns]], axis=1)
    notes = []
    undated = frame["Date"].isna()
    if undated.any():
        notes.append(words("stocks.own_undated", rows=int(undated.sum()), column=date))
        frame = frame[~undated]
    if not frame["Date"].is_monotonic_increasing:
        notes.append(words("stocks.own_sorted"))
    repeated = frame["Date"].duplicated(keep=False)
    if repeated.any():
        dates_repeated = frame.loc[repeated, "Date"].nunique()
        notes.append(words("stocks.own_duplicates", rows=int(repeated.sum()), dates=int(dates_repeated)))
    frame = frame.groupby("Date", sort=True, as_index=False).mean()  # sorts, and averages a repeated date
    if len(frame) > OWN_SERIES_ROWS:
        notes.append(words("stocks.own_series_cut", rows=len(frame), kept=OWN_SERIES_ROWS,
                           first=frame["Date"].iloc[-OWN_SERIES_ROWS]))
        frame = frame.iloc[-OWN_SERIES_ROWS:]
    return frame.reset_index(drop=True), notes


def make_windows(features: np.ndarray, target: np.ndarray, window: int, horizon: int = 1):
    """Sliding windows: X[i] = features[i : i+window], y[i] = target[i+window+horizon-1].

    features (T, F), target (T,) -> X (N, window, F), y (N,), target_rows (N,) with
    N = T - window - horizon + 1: with horizon 1, 30 days in, day 31 out.
    """
    total = len(features)
    n = total - window - horizon + 1
    if n <= 0:
        empty = np.empty((0, window, features.shape[1]), dtype=features.dtype)
        return empty, np.empty(0, dtype=target.dtype), np.empty(0, dtype=np.int64)
    starts = np.arange(n)
    index = starts[:, None] + np.arange(window)[None, :]  # (N, window) row numbers
    rows = starts + window + horizon - 1                  # the day each window predicts
    return features[index], target[rows], rows


@dataclass
class Prepared:
    settings: StockSettings
    dates: pd.DatetimeIndex        # (T,) trading days after cleaning
    close: np.ndarray              # (T,) closing prices
    x_train: torch.Tensor          # (N_train, window, F) scaled
    y_train: torch.Tensor          # (N_train, 1) scaled target
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    rows_train: np.ndarray         # target row of each window
    rows_val: np.ndarray
    rows_test: np.ndarray
    feature_scaler: MinMaxScaler   # scikit-learn's, fitted on rows [0, fit_rows) only
    target_scaler: MinMaxScaler
    fit_rows: int                  # the scalers saw rows [0, fit_rows)
    train_end: int                 # rows before this are the fitting period (drift is measured there)
    latest_x: torch.Tensor         # (1, window, F): the last `window` days, for tomorrow
    notes: list = field(default_factory=list)  # Words: rows dropped while cleaning

    @property
    def n_features(self) -> int:
        return self.x_train.shape[-1]

    def prev_close(self, rows: np.ndarray) -> np.ndarray:
        """'Today' for each target row: the close on the last day of its window."""
        return self.close[rows - self.settings.horizon]

    def to_prices(self, scaled: np.ndarray, rows: np.ndarray | None = None,
                  prev: np.ndarray | None = None) -> np.ndarray:
        """Model outputs (scaled) -> prices: undo the scaler; a return becomes prev * (1 + r)."""
        column = np.asarray(scaled, dtype=np.float64).reshape(-1, 1)
        value = self.target_scaler.inverse_transform(column).reshape(-1)
        if self.settings.target == "return":
            prev = self.prev_close(rows) if prev is None else prev
            return prev * (1.0 + value)
        return value


def _check(settings: StockSettings) -> None:
    """An empty column choice is the learner's to fix; the rest only a programming error can reach."""
    if not settings.features:
        raise DataError("stocks.need_input")
    known = bool(settings.upload) or all(f in FEATURE_CHOICES for f in settings.features)
    own_target = not settings.upload or settings.target == "close"  # an own series: its level, no return
    in_range = (known and own_target and settings.target in TARGETS
                and settings.window >= 2 and settings.horizon >= 1 and 0.0 < settings.val_fraction < 0.9)
    if not in_range:
        raise ValueError(f"Settings out of range: {settings}")


def prepare(frame: pd.DataFrame, settings: StockSettings) -> Prepared:
    """Clean, split by date, fit the scalers on training rows only, and cut windows.

    Honest: test windows predict days on or after `split_date`; validation windows are the last
    `val_fraction` of the rest; the scalers see only rows before the first validation target.
    Leaky (the notebook): scalers fitted on every row, and the test set doubles as validation.
    """
    _check(settings)
    frame, notes = clean_prices(frame, settings.features, settings.value, prices=not settings.upload)
    dates = pd.DatetimeIndex(frame["Date"])
    close = frame[settings.value].to_numpy(np.float64)
    total, window, horizon = len(frame), settings.window, settings.horizon
    need = window + horizon + MIN_TRAIN_WINDOWS + MIN_VAL_WINDOWS + MIN_TEST_WINDOWS
    if total < need:
        raise DataError("stocks.own_too_short" if settings.upload else "stocks.too_short", days=total, window=window,
                        need=need)  # an own series has rows, not trading days
    split = pd.Timestamp(settings.split_date)
    test_start = int(dates.searchsorted(split))  # first row on or after the split date
    if test_start >= total:
        raise DataError("stocks.no_test_days", last=dates[-1], split=split)
    first_target = window + horizon - 1
    n_trval = test_start - first_target  # windows whose target is before the split
    n_test = total - max(test_start, first_target)
    if n_test < MIN_TEST_WINDOWS:
        raise DataError("stocks.few_test_days", days=max(n_test, 0), split=split, need=MIN_TEST_WINDOWS)
    n_val = n_test if settings.leaky else max(MIN_VAL_WINDOWS, int(round(settings.val_fraction * n_trval)))
    n_train = n_trval - (0 if settings.leaky else n_val)
    if n_train < MIN_TRAIN_WINDOWS:
        raise DataError("stocks.few_train_windows", windows=max(n_train, 0), window=window, split=split,
                        need=MIN_TRAIN_WINDOWS)

    train_end = test_start if settings.leaky else first_target + n_train  # first validation target row
    fit_rows = total if settings.leaky else train_end  # leaky: min/max include the test period
    features = frame[list(settings.features)].to_numpy(np.float64)  # (T, F)
    if settings.target == "close":
        target = close.copy()
    else:  # change from the window's last close to the target day
        target = np.full(total, np.nan)
        target[horizon:] = close[horizon:] / close[:-horizon] - 1.0
    target = target.reshape(-1, 1)  # scikit-learn's scalers take columns
    feature_scaler = MinMaxScaler().fit(features[:fit_rows])
    target_scaler = MinMaxScaler().fit(target[horizon:fit_rows] if settings.target == "return"
                                       else target[:fit_rows])  # rows whose target is defined
    scaled_x = feature_scaler.transform(features).astype(np.float32)
    scaled_y = target_scaler.transform(target).astype(np.float32).reshape(-1)
    x_all, y_all, rows = make_windows(scaled_x, scaled_y, window, horizon)
    is_test = rows >= test_start
    is_train = rows < train_end
    is_val = is_test if settings.leaky else (~is_train & ~is_test)

    def pick(mask):
        return torch.from_numpy(x_all[mask]), torch.from_numpy(y_all[mask]).unsqueeze(1)  # (N, 1)

    x_train, y_train = pick(is_train)
    x_val, y_val = pick(is_val)
    x_test, y_test = pick(is_test)
    latest_x = torch.from_numpy(scaled_x[total - window:]).unsqueeze(0)  # (1, window, F)
    return Prepared(settings, dates, close, x_train, y_train, x_val, y_val, x_test, y_test,
                    rows[is_train], rows[is_val], rows[is_test], feature_scaler, target_scaler,
                    fit_rows, train_end, latest_x, notes)


def split_summary(prepared: Prepared) -> list[dict]:
    """One row per part ("train", "val", "test"): windows and the first and last day predicted."""
    out = []
    for part, rows in (("train", prepared.rows_train), ("val", prepared.rows_val), ("test", prepared.rows_test)):
        out.append({"part": part, "windows": len(rows),
                    "first": f"{prepared.dates[rows[0]]:%Y-%m-%d}" if len(rows) else "—",
                    "last": f"{prepared.dates[rows[-1]]:%Y-%m-%d}" if len(rows) else "—"})
    return out


def leakage_summary(frame: pd.DataFrame, settings: StockSettings) -> dict:
    """What the notebook's scaler (fitted on all rows) knows that the honest one does not.

    changed: {column: ((honest min, honest max), (leaky min, leaky max))} for every input
    column (and "target") whose range moves once the validation and test rows are included.
    """
    honest = prepare(frame, dataclasses.replace(settings, leaky=False))
    leaky = prepare(frame, dataclasses.replace(settings, leaky=True))
    changed = {}
    pairs = [(name, honest.feature_scaler, leaky.feature_scaler, i) for i, name in enumerate(settings.features)]
    pairs.append(("target", honest.target_scaler, leaky.target_scaler, 0))
    for name, h, lk, i in pairs:
        before = (float(h.data_min_[i]), float(h.data_max_[i]))
        after = (float(lk.data_min_[i]), float(lk.data_max_[i]))
        if not np.allclose(before, after):
            changed[name] = (before, after)
    test_close = honest.close[honest.rows_test]
    train_close = honest.close[:honest.fit_rows]
    return {"honest_rows": honest.fit_rows, "leaky_rows": leaky.fit_rows, "changed": changed,
            "test_outside_training": bool(test_close.max() > train_close.max()
                                          or test_close.min() < train_close.min())}


# --- Models and training -----------------------------------------------------------------------
class RecurrentForecaster(nn.Module):
    """LSTM or GRU over the window, then the notebook's small head on the last hidden state."""

    def __init__(self, cell: str = "lstm", n_features: int = 4, settings: StockSettings | None = None):
        super().__init__()
        settings = settings or StockSettings()
        if cell not in ("lstm", "gru"):
            raise ValueError(f"Unknown cell {cell!r}; choose lstm or gru")
        rnn = nn.LSTM if cell == "lstm" else nn.GRU
        self.cell = cell
        self.rnn = rnn(n_features, settings.hidden, num_layers=settings.layers, batch_first=True,
                       dropout=settings.dropout if settings.layers > 1 else 0.0)
        self.drop = nn.Dropout(settings.dropout)
        self.head = nn.Sequential(nn.Linear(settings.hidden, settings.head), nn.ReLU(),
                                  nn.Linear(settings.head, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (N, window, F)
        out, _ = self.rnn(x)                 # (N, window, hidden)
        last = self.drop(out[:, -1])         # (N, hidden): the state after the window's last day
        return self.head(last)               # (N, 1)


def make_model(cell: str, n_features: int, settings: StockSettings | None = None) -> RecurrentForecaster:
    """A fresh model, seeded with the settings' seed: LSTM and GRU start from a reproducible init."""
    settings = settings or StockSettings()
    return build_seeded(lambda: RecurrentForecaster(cell, n_features, settings), settings.seed)


def train_events(model: nn.Module, prepared: Prepared, device: torch.device) -> Iterator[dict]:
    """core.engine.train on the prepared windows, validating on the held-out end of training."""
    return train(model, (prepared.x_train, prepared.y_train), prepared.settings.train_config(), device,
                 val_data=(prepared.x_val, prepared.y_val))


def plans(frame: pd.DataFrame, prepared: Prepared) -> list[tuple[str, Prepared]]:
    """(model, its windows) to train: LSTM and GRU on the honest windows, and the leaky LSTM if asked."""
    out = [("lstm", prepared), ("gru", prepared)]
    if prepared.settings.with_leaky:
        out.append(("lstm_leaky", prepare(frame, dataclasses.replace(prepared.settings, leaky=True))))
    return out


def train_models(plan: list[tuple[str, Prepared]], device: torch.device, models: dict,
                 message: str = "") -> Iterator[dict]:
    """Train each planned model in turn, as one event stream (core.engine.combined). Its end
    event says "done" for the whole plan (words "stocks.trained"; `message` for logs), not the
    last model's end: each model's own end is on the page. `models` receives each model as it
    is built, so a stopped run keeps what it trained."""
    def phase(name: str, prepared: Prepared) -> Callable[[], Iterator[dict]]:
        def events() -> Iterator[dict]:
            models[name] = make_model(CELLS[name], prepared.n_features, prepared.settings)
            return train_events(models[name], prepared, device)
        return events
    for event in combined([(name, 1.0, phase(name, prepared)) for name, prepared in plan], message=message):
        yield {**event, "words": words("stocks.trained")} if event["kind"] == "end" else event


def estimate_seconds(plan: list[tuple[str, Prepared]], device: torch.device) -> float:
    """How long `train_models(plan)` takes here if no model stops early: each model's few real
    steps timed (core.engine.measure_costs) on random windows of two short lengths, taken
    linearly in the window's length (core.engine.costs_by_length), one model after the other."""
    total = 0.0
    for name, prepared in plan:
        s = prepared.settings
        shape = (CELLS[name], prepared.n_features, s.hidden, s.layers, s.dropout, s.head,
                 engine.timed_batch(s.batch_size))
        costs = engine.costs_by_length(s.window, lambda T, shape=shape: _timed_windows(*shape, str(device), T))
        total += costs.at_batch(s.batch_size).seconds(len(prepared.x_train), s.train_config(), len(prepared.x_val))
    return total


@functools.lru_cache(maxsize=128)
def _timed_windows(cell: str, n_features: int, hidden: int, layers: int, dropout: float, head: int, batch: int,
                   device: str, window: int) -> engine.Costs:
    settings = StockSettings(hidden=hidden, layers=layers, dropout=dropout, head=head, batch_size=batch, patience=None)
    generator = torch.Generator().manual_seed(0)
    x, y = torch.randn(batch, window, n_features, generator=generator), torch.randn(batch, 1, generator=generator)
    return engine.measure_costs(make_model(cell, n_features, settings), (x, y), settings.train_config(),
                                torch.device(device), val_data=(x[:engine.TIMED_EVAL_ROWS], y[:engine.TIMED_EVAL_ROWS]))


def predict_prices(model: nn.Module, prepared: Prepared, device: torch.device) -> np.ndarray:
    """Test-set predictions in price units (won / dollars)."""
    scaled = predict(model, prepared.x_test, device).numpy().reshape(-1)
    return prepared.to_prices(scaled, prepared.rows_test)


def next_day_forecast(model: nn.Module, prepared: Prepared, device: torch.device) -> float:
    """The model's price for the trading day after the last date in the data."""
    scaled = predict(model, prepared.latest_x, device).numpy().reshape(-1)
    return float(prepared.to_prices(scaled, prev=np.array([prepared.close[-1]]))[0])


# --- Baselines, metrics and the verdict --------------------------------------------------------
def baseline_predictions(close: np.ndarray, rows: np.ndarray, train_end: int,
                         horizon: int = 1) -> dict[str, np.ndarray]:
    """Tomorrow = today (the last close), and drift (last close + the average daily change
    measured over the training period, rows [0, train_end))."""
    close = np.asarray(close, dtype=np.float64)
    prev = close[rows - horizon]
    drift = float(np.mean(np.diff(close[:train_end]))) if train_end > 1 else 0.0
    return {NAIVE: prev, DRIFT: prev + horizon * drift}


def metrics(actual: np.ndarray, predicted: np.ndarray, prev: np.ndarray) -> dict:
    """RMSE, MAE, MAPE (%) and directional accuracy (%: predicted move vs actual move from `prev`).

    Directional accuracy is NaN for a method that never predicts a move (tomorrow = today).
    """
    actual, predicted, prev = (np.asarray(a, dtype=np.float64) for a in (actual, predicted, prev))
    predicted_move, actual_move = np.sign(predicted - prev), np.sign(actual - prev)
    direction = (100.0 * float(np.mean(predicted_move == actual_move))
                 if np.any(predicted_move != 0) else math.nan)
    return {"RMSE": float(root_mean_squared_error(actual, predicted)),
            "MAE": float(mean_absolute_error(actual, predicted)),
            "MAPE %": 100.0 * float(mean_absolute_percentage_error(actual, predicted)),
            "Direction %": direction}


def compare(prepared: Prepared, model_prices: dict[str, np.ndarray]) -> pd.DataFrame:
    """Metrics table on the test days: each model, then the two baselines."""
    rows = prepared.rows_test
    actual, prev = prepared.close[rows], prepared.prev_close(rows)
    methods = {**model_prices, **baseline_predictions(prepared.close, rows, prepared.train_end,
                                                      prepared.settings.horizon)}
    table = pd.DataFrame([{"method": name, **metrics(actual, pred, prev)} for name, pred in methods.items()])
    return table.set_index("method")


def prediction_frame(prepared: Prepared, model_prices: dict[str, np.ndarray]) -> pd.DataFrame:
    """Long table (Date, series, price) of the test period: actual, models and baselines."""
    rows = prepared.rows_test
    dates = prepared.dates[rows]
    series = {"actual": prepared.close[rows], **model_prices,
              **baseline_predictions(prepared.close, rows, prepared.train_end, prepared.settings.horizon)}
    parts = [pd.DataFrame({"Date": dates, "series": name, "price": np.asarray(values, dtype=np.float64)})
             for name, values in series.items()]
    return pd.concat(parts, ignore_index=True)


def copy_diagnostics(prepared: Prepared, predicted: np.ndarray) -> dict:
    """How much a model's forecasts just repeat the last close.

    move_model: average |forecast - last close|; move_actual: average |actual - last close|;
    corr_change: correlation between predicted and actual day-to-day changes.
    """
    rows = prepared.rows_test
    actual, prev = prepared.close[rows], prepared.prev_close(rows)
    predicted_change, actual_change = np.asarray(predicted) - prev, actual - prev
    if np.std(predicted_change) > 0 and np.std(actual_change) > 0:
        corr = float(np.corrcoef(predicted_change, actual_change)[0, 1])
    else:
        corr = math.nan
    return {"move_model": float(np.mean(np.abs(predicted_change))),
            "move_actual": float(np.mean(np.abs(actual_change))), "corr_change": corr}


def verdict(table: pd.DataFrame, model: str, prepared: Prepared, predicted: np.ndarray) -> dict:
    """Does `model` beat tomorrow = today, and why (not): the numbers a page words.

    case: "beats" (RMSE under 0.98x the naive one), "ties" (up to 1.02x) or "worse";
    related: how the predicted day-to-day moves follow the real ones ("none" when constant,
    "barely" |corr| < 0.2, "partly" < 0.5, "clearly").
    """
    rmse, naive = float(table.loc[model, "RMSE"]), float(table.loc[NAIVE, "RMSE"])
    ratio = rmse / naive if naive > 0 else math.inf
    diag = copy_diagnostics(prepared, predicted)
    corr = diag["corr_change"]
    up_days = 100.0 * float(np.mean(prepared.close[prepared.rows_test] > prepared.prev_close(prepared.rows_test)))
    return {"model": model, "rmse": rmse, "naive": naive, "ratio": ratio,
            "case": "beats" if ratio < 0.98 else "ties" if ratio <= 1.02 else "worse",
            "direction": float(table.loc[model, "Direction %"]), "up_days": up_days,
            "target": prepared.settings.target, **diag,
            "related": ("none" if math.isnan(corr) else "barely" if abs(corr) < 0.2
                        else "partly" if abs(corr) < 0.5 else "clearly")}


def curves(history: list[dict]) -> dict[str, dict]:
    """Each model that finished an epoch: its epoch events and its end event (None while training)."""
    ends = {e["model"]: e for e in history if e["kind"] == "model_end"}
    out: dict[str, dict] = {}
    for e in history:
        if e["kind"] == "epoch":
            out.setdefault(e["model"], {"epochs": [], "end": ends.get(e["model"])})["epochs"].append(e)
    return out


def summarize(models: dict[str, nn.Module], plan: list[tuple[str, Prepared]], history: list[dict],
              device: torch.device) -> dict:
    """Everything the results show, as plain data: loss curves, test-period prices, the metrics
    table, verdicts and next-day forecasts. Works on a stopped run too: a model is judged once
    it finished an epoch, with the weights it has."""
    trained = curves(history)
    diverged = {name: c["end"]["epochs_run"] for name, c in trained.items()
                if c["end"] and c["end"]["reason"] == "diverged"}
    judged = [(name, prepared) for name, prepared in plan if name in trained and name not in diverged]
    prices = {name: predict_prices(models[name], prepared, device) for name, prepared in judged}
    honest = plan[0][1]
    table = compare(honest, prices)
    return {"curves": trained, "diverged": diverged, "table": table,
            "predictions": prediction_frame(honest, prices),
            "verdicts": [verdict(table, name, honest, prices[name]) for name in ("lstm", "gru") if name in prices],
            "next_day": {name: next_day_forecast(models[name], prepared, device) for name, prepared in judged},
            "last_close": float(honest.close[-1]), "last_date": honest.dates[-1]}


def format_price(value: float, currency: str) -> str:
    """A price in its currency; an own series' value (currency "") with four significant digits."""
    if not math.isfinite(value):
        return "—"
    if not currency:
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    return f"₩{value:,.0f}" if currency == "₩" else f"${value:,.2f}"


# --- Figures: what a run shows, by name (core.lessons reads them) -----------------------------

RMSE_ROWS = {"lstm_rmse": "lstm", "gru_rmse": "gru", "leaky_rmse": "lstm_leaky", "naive_rmse": NAIVE}


def run_figures(run) -> dict:
    """stocks_runs: the test RMSE (in the data's currency) of the LSTM, the GRU, the leaky LSTM and
    tomorrow = today (None for a model the run did not judge: not asked for, diverged or stopped
    before its first epoch), and best_model_rmse, the lower of the LSTM's and the GRU's."""
    table = run.results["table"]
    rmse = {name: float(table.loc[row, "RMSE"]) if row in table.index else None for name, row in RMSE_ROWS.items()}
    models = [v for v in (rmse["lstm_rmse"], rmse["gru_rmse"]) if v is not None and math.isfinite(v)]
    return {**rmse, "best_model_rmse": min(models) if models else None}


FIGURES = {  # store -> its settings dataclass, the figures its runs show beyond them, and their reader
    "stocks_runs": {"settings": StockSettings, "figures": (*RMSE_ROWS, "best_model_rmse"), "read": run_figures},
}
