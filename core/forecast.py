"""Next-day stock forecasting with LSTM/GRU: data, leak-free windows, naive baselines, honest metrics."""
import contextlib
import datetime as dt
import math
import os
import re
import threading
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from torch import nn

from core.data import CACHE_DIR, EMBEDDED_STOCKS, load_stock_csv
from core.engine import TrainConfig, predict, train

STOCK_CACHE = CACHE_DIR / "stocks"  # downloaded price tables, one CSV per (symbol, range)
COLUMNS = ("Open", "High", "Low", "Close", "Volume")  # what every price table is reduced to
FEATURE_CHOICES = ("Open", "High", "Low", "Close", "Volume", "Return")  # Return = daily close change
TARGETS = {"close": "Close price (level)", "return": "Daily return (% change)"}
CELLS = {"lstm": "LSTM", "gru": "GRU"}
EMBEDDED_SOURCES = {  # where each embedded CSV came from (see data/README.md)
    "krx": "KRX daily prices, split-adjusted, from GitHub QuantKang/stock_data",
    "us": "Yahoo Finance daily export, from GitHub Bluefin-Tuna/Yahoo-Finance-Historical-Data",
}
MIN_TRAIN_WINDOWS, MIN_VAL_WINDOWS, MIN_TEST_WINDOWS = 30, 5, 5
NAIVE, DRIFT = "Tomorrow = today", "Drift"


class StockDataError(ValueError):
    """The price table cannot be had (unknown symbol, network down, empty range): message for the learner."""


class ForecastInputError(ValueError):
    """The settings do not fit the data (range too short for the window, missing column...)."""


# --- Data source -------------------------------------------------------------------------------
@dataclass
class StockData:
    frame: pd.DataFrame   # Date, Open, High, Low, Close, Volume (oldest first)
    symbol: str
    name: str             # "Samsung Electronics (KRX)" or the symbol itself
    source: str           # "download" | "cache" | "embedded"
    note: str             # one sentence: where the data came from and which dates
    currency: str         # "₩" for KRX codes, "$" otherwise

    @property
    def first_date(self) -> pd.Timestamp:
        return self.frame["Date"].iloc[0]

    @property
    def last_date(self) -> pd.Timestamp:
        return self.frame["Date"].iloc[-1]


def normalize_symbol(symbol: str) -> str:
    cleaned = "".join(str(symbol or "").split()).upper()
    if not cleaned:
        raise StockDataError("Type a stock symbol, e.g. 005930 (Samsung) or AAPL.")
    if len(cleaned) > 20 or not all(c.isalnum() or c in ".-:^" for c in cleaned):
        raise StockDataError(f"{symbol!r} does not look like a stock symbol (letters, digits, . - : only).")
    return cleaned


def currency_of(symbol: str) -> str:
    return "₩" if symbol.isdigit() and len(symbol) == 6 else "$"  # 6-digit codes are KRX (won)


def embedded_list() -> str:
    return ", ".join(f"{code} {name}" for code, name in EMBEDDED_STOCKS.items())


def _download(symbol: str, start: str, end: str | None) -> pd.DataFrame:
    """The raw FinanceDataReader call (tests replace this; it is the only network access)."""
    import FinanceDataReader as fdr  # lazy: slow import, and only needed online

    return fdr.DataReader(symbol, start, end)


def _tidy(raw: pd.DataFrame) -> pd.DataFrame:
    """FinanceDataReader's Date-indexed table -> Date column + the five price columns."""
    frame = raw.copy()
    if "Date" not in frame.columns:
        frame = frame.rename_axis("Date").reset_index()
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise StockDataError(f"The downloaded table has no {', '.join(missing)} column(s); "
                             f"it has {', '.join(map(str, frame.columns))}.")
    frame = frame[["Date", *COLUMNS]].copy()
    frame["Date"] = pd.to_datetime(frame["Date"]).dt.tz_localize(None).dt.normalize()
    for column in COLUMNS:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    return frame.sort_values("Date").drop_duplicates("Date").reset_index(drop=True)


def _is_network_error(exc: BaseException) -> bool:
    # requests' ConnectionError/Timeout are OSError subclasses; an HTTP error status is an answer.
    return isinstance(exc, (OSError, TimeoutError)) and type(exc).__name__ != "HTTPError"


def fetch_online(symbol: str, start: str, end: str | None, timeout: float = 10.0) -> pd.DataFrame:
    """FinanceDataReader in a daemon thread, given up after `timeout` seconds.

    Raises TimeoutError / OSError for network trouble and StockDataError when the server
    answered but has no data for the symbol.
    """
    box: dict = {}

    def work():
        try:
            box["frame"] = _download(symbol, start, end)
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=work, daemon=True, name=f"fdr-{symbol}")
    thread.start()
    thread.join(timeout)
    if thread.is_alive():  # the thread keeps going in the background; we stop waiting
        raise TimeoutError(f"FinanceDataReader did not answer within {timeout:g} s")
    if "error" in box:
        exc = box["error"]
        if _is_network_error(exc):
            raise exc
        raise StockDataError(f"FinanceDataReader could not read {symbol!r}: "
                             f"{type(exc).__name__}: {str(exc)[:160]}") from exc
    raw = box.get("frame")
    if raw is None or len(raw) == 0:
        raise StockDataError(f"FinanceDataReader has no prices for {symbol!r} from {start}"
                             f"{' to ' + end if end else ''} (unknown symbol or no trading days).")
    return _tidy(raw)


def _cache_path(symbol: str, start: str, end: str | None):
    safe = "".join(c if c.isalnum() else "_" for c in symbol)
    return STOCK_CACHE / f"{safe}_{start}_{end or 'latest'}.csv"


def _cache_is_fresh(path, end: str | None) -> bool:
    """A closed past range never changes; a range reaching today is refreshed once a day."""
    today = dt.date.today()
    if end is not None and dt.date.fromisoformat(end) < today:
        return True
    return dt.date.fromtimestamp(path.stat().st_mtime) == today


def _read_cache(path) -> pd.DataFrame | None:
    try:
        return _tidy(pd.read_csv(path, parse_dates=["Date"]))
    except Exception:  # a half-written or foreign file: ignore it
        return None


def _write_cache(path, frame: pd.DataFrame) -> None:
    try:
        STOCK_CACHE.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        frame.to_csv(tmp, index=False)
        os.replace(tmp, path)  # atomic: two sessions may download at once
    except OSError:
        pass  # a read-only disk only costs a re-download


def _describe(frame: pd.DataFrame) -> str:
    first, last = frame["Date"].iloc[0], frame["Date"].iloc[-1]
    return f"{first:%Y-%m-%d} → {last:%Y-%m-%d}, {len(frame):,} trading days"


def _short(exc: BaseException) -> str:
    """A one-line reason: requests' messages are long URLs, the host is what matters."""
    host = re.search(r"host='([^']+)'", str(exc))
    if host:
        return f"{type(exc).__name__}: cannot reach {host.group(1)}"
    text = str(exc).split("(Caused by")[0].strip()
    return f"{type(exc).__name__}: {text[:140]}" if text else type(exc).__name__


def load_prices(symbol: str, start: str = "2020-01-01", end: str | None = None, online: bool = True,
                timeout: float = 10.0) -> StockData:
    """Daily prices for `symbol` in [start, end]: download (cached on disk) or the embedded CSV.

    Order: a fresh disk cache, FinanceDataReader (with `timeout`), a stale cache, the embedded
    CSV. Raises StockDataError with a learner-facing message when none has the symbol.
    """
    symbol = normalize_symbol(symbol)
    if end is not None and pd.Timestamp(end) < pd.Timestamp(start):
        raise StockDataError(f"The end date {end} is before the start date {start}.")
    name, currency = EMBEDDED_STOCKS.get(symbol, symbol), currency_of(symbol)
    path = _cache_path(symbol, start, end)
    cached = _read_cache(path) if path.exists() else None
    if online and cached is not None and len(cached) and _cache_is_fresh(path, end):
        note = (f"Source: FinanceDataReader download of {symbol}, cached on disk "
                f"({path.name}); {_describe(cached)}.")
        return StockData(cached, symbol, name, "cache", note, currency)

    why_offline = "online download is switched off"
    network_down = False
    if online:
        try:
            frame = fetch_online(symbol, start, end, timeout)
            _write_cache(path, frame)
            note = f"Source: FinanceDataReader (live download) for {symbol}; {_describe(frame)}."
            return StockData(frame, symbol, name, "download", note, currency)
        except StockDataError as exc:  # the server answered: the symbol or range is wrong
            if symbol not in EMBEDDED_STOCKS:
                raise StockDataError(f"{exc} Embedded symbols: {embedded_list()}.") from exc
            why_offline = str(exc)
        except Exception as exc:  # network down, DNS failure, timeout, library trouble
            network_down = True
            why_offline = f"the network is unreachable ({_short(exc)})"
    if cached is not None and len(cached):
        note = (f"Source: an earlier FinanceDataReader download of {symbol} cached on disk "
                f"({path.name}), because {why_offline}; {_describe(cached)}.")
        return StockData(cached, symbol, name, "cache", note, currency)
    if symbol not in EMBEDDED_STOCKS:
        if network_down:
            raise StockDataError(
                f"Cannot download {symbol!r}: {why_offline}. Offline, only the embedded symbols "
                f"work: {embedded_list()}.")
        raise StockDataError(f"{symbol!r} is not embedded and {why_offline}. Embedded symbols: "
                             f"{embedded_list()}.")
    full = _tidy(load_stock_csv(symbol))
    mask = full["Date"] >= pd.Timestamp(start)
    if end is not None:
        mask &= full["Date"] <= pd.Timestamp(end)
    frame = full[mask].reset_index(drop=True)
    if frame.empty:
        raise StockDataError(
            f"The embedded data for {symbol} covers {_describe(full)}; the range {start} → "
            f"{end or 'today'} has no rows. Move the dates inside that range.")
    kind = "krx" if currency == "₩" else "us"
    note = (f"Source: embedded CSV data/stocks/{symbol}.csv ({EMBEDDED_SOURCES[kind]}). Used "
            f"because {why_offline}. In use: {_describe(frame)}; the file covers {_describe(full)}.")
    return StockData(frame, symbol, name, "embedded", note, currency)


# --- Cleaning, windows and scaling -------------------------------------------------------------
def clean_prices(frame: pd.DataFrame, columns=COLUMNS) -> tuple[pd.DataFrame, list[str]]:
    """Drop rows with missing or non-positive prices; add Return (daily close change).

    Returns (clean frame, notes for the learner). Raises ForecastInputError for absent columns.
    """
    wanted = [c for c in columns if c != "Return"]
    absent = [c for c in {"Date", "Close", *wanted} if c not in frame.columns]
    if absent:
        raise ForecastInputError(f"The price table has no {', '.join(sorted(absent))} column(s).")
    notes = []
    frame = frame.sort_values("Date").reset_index(drop=True)
    numeric = frame[list(dict.fromkeys(["Close", *wanted]))].apply(pd.to_numeric, errors="coerce")
    bad = numeric.isna().any(axis=1)
    if bad.any():
        dates = ", ".join(f"{d:%Y-%m-%d}" for d in frame.loc[bad, "Date"].head(3))
        notes.append(f"Dropped {int(bad.sum())} row(s) with missing values ({dates}"
                     f"{', …' if bad.sum() > 3 else ''}).")
    prices = [c for c in ("Open", "High", "Low", "Close") if c in numeric.columns]
    nonpositive = (numeric[prices] <= 0).any(axis=1) & ~bad
    if nonpositive.any():
        notes.append(f"Dropped {int(nonpositive.sum())} row(s) with a zero or negative price "
                     "(days without trading).")
    frame = frame[~(bad | nonpositive)].copy()
    frame[numeric.columns] = numeric[~(bad | nonpositive)].astype("float64")
    frame["Return"] = frame["Close"].pct_change()
    frame = frame.iloc[1:].reset_index(drop=True)  # the first day has no previous close
    return frame, notes


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


class MinMaxScaler:
    """x -> (x - min) / (max - min) per column, fitted only on the rows it is given."""

    def fit(self, values: np.ndarray) -> "MinMaxScaler":
        values = np.asarray(values, dtype=np.float64)
        values = values.reshape(len(values), -1)  # (R,) or (R, C) -> (R, C)
        if len(values) == 0:
            raise ForecastInputError("Cannot fit the scaler on zero rows.")
        self.min_ = np.nanmin(values, axis=0)
        self.max_ = np.nanmax(values, axis=0)
        span = self.max_ - self.min_
        self.scale_ = np.where(span > 0, span, 1.0)  # a constant column maps to 0, not NaN
        self.n_rows_ = len(values)
        return self

    def transform(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=np.float64)
        return ((values.reshape(len(values), -1) - self.min_) / self.scale_).reshape(values.shape)

    def inverse_transform(self, scaled: np.ndarray) -> np.ndarray:
        scaled = np.asarray(scaled, dtype=np.float64)
        return (scaled.reshape(len(scaled), -1) * self.scale_ + self.min_).reshape(scaled.shape)


@dataclass
class ForecastConfig:
    features: tuple = ("Open", "High", "Low", "Volume")  # inputs, as the notebook
    target: str = "close"          # "close" (price level, the notebook) or "return" (daily change)
    window: int = 30               # days of history per sample: 30 days in, day 31 out
    horizon: int = 1               # days ahead; 1 = the next trading day
    split_date: str = "2023-01-01"  # first test day, as the notebook
    val_fraction: float = 0.15     # the end of the training period, held out for early stopping
    leaky: bool = False            # the notebook's way: scaler on ALL rows, validate on the test set


@dataclass
class Prepared:
    config: ForecastConfig
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
    feature_scaler: MinMaxScaler
    target_scaler: MinMaxScaler
    fit_rows: int                  # the scalers saw rows [0, fit_rows)
    train_end: int                 # rows before this are the fitting period (drift is measured there)
    latest_x: torch.Tensor         # (1, window, F): the last `window` days, for tomorrow
    notes: list = field(default_factory=list)

    @property
    def n_features(self) -> int:
        return self.x_train.shape[-1]

    def prev_close(self, rows: np.ndarray) -> np.ndarray:
        """'Today' for each target row: the close on the last day of its window."""
        return self.close[rows - self.config.horizon]

    def to_prices(self, scaled: np.ndarray, rows: np.ndarray | None = None,
                  prev: np.ndarray | None = None) -> np.ndarray:
        """Model outputs (scaled) -> prices: undo the scaler; a return becomes prev * (1 + r)."""
        value = self.target_scaler.inverse_transform(np.asarray(scaled, dtype=np.float64).reshape(-1))
        if self.config.target == "return":
            prev = self.prev_close(rows) if prev is None else prev
            return prev * (1.0 + value)
        return value


def _check_config(config: ForecastConfig) -> None:
    if not config.features:
        raise ForecastInputError("Pick at least one input column.")
    unknown = [f for f in config.features if f not in FEATURE_CHOICES]
    if unknown:
        raise ForecastInputError(f"Unknown input column(s) {', '.join(unknown)}; "
                                 f"choose from {', '.join(FEATURE_CHOICES)}.")
    if config.target not in TARGETS:
        raise ForecastInputError(f"Unknown target {config.target!r}; choose close or return.")
    if config.window < 2:
        raise ForecastInputError("The window must be at least 2 days.")
    if config.horizon < 1:
        raise ForecastInputError("The horizon must be at least 1 day.")
    if not 0.0 < config.val_fraction < 0.9:
        raise ForecastInputError("The validation share must be between 0 and 0.9.")


def prepare(frame: pd.DataFrame, config: ForecastConfig) -> Prepared:
    """Clean, split by date, fit the scalers on training rows only, and cut windows.

    Honest: test windows predict days on or after `split_date`; validation windows are the last
    `val_fraction` of the rest; the scalers see only rows before the first validation target.
    Leaky (the notebook): scalers fitted on every row, and the test set doubles as validation.
    """
    _check_config(config)
    frame, notes = clean_prices(frame, config.features)
    dates = pd.DatetimeIndex(frame["Date"])
    close = frame["Close"].to_numpy(np.float64)
    total, window, horizon = len(frame), config.window, config.horizon
    if total < window + horizon + MIN_TRAIN_WINDOWS + MIN_VAL_WINDOWS + MIN_TEST_WINDOWS:
        raise ForecastInputError(
            f"Only {total} usable trading days for a {window}-day window: the range is too short. "
            f"Start earlier or shorten the window (need at least "
            f"{window + horizon + MIN_TRAIN_WINDOWS + MIN_VAL_WINDOWS + MIN_TEST_WINDOWS}).")
    split = pd.Timestamp(config.split_date)
    test_start = int(dates.searchsorted(split))  # first row on or after the split date
    if test_start >= total:
        raise ForecastInputError(
            f"No test days: the data ends on {dates[-1]:%Y-%m-%d}, before the split date "
            f"{split:%Y-%m-%d}. Move the split date earlier.")
    first_target = window + horizon - 1
    n_trval = test_start - first_target  # windows whose target is before the split
    n_test = total - max(test_start, first_target)
    if n_test < MIN_TEST_WINDOWS:
        raise ForecastInputError(f"Only {max(n_test, 0)} test days after {split:%Y-%m-%d} (need at "
                                 f"least {MIN_TEST_WINDOWS}). Move the split date earlier.")
    n_val = n_test if config.leaky else max(MIN_VAL_WINDOWS, int(round(config.val_fraction * n_trval)))
    n_train = n_trval - (0 if config.leaky else n_val)
    if n_train < MIN_TRAIN_WINDOWS:
        raise ForecastInputError(
            f"Only {max(n_train, 0)} training windows of {window} days before {split:%Y-%m-%d} "
            f"(need at least {MIN_TRAIN_WINDOWS}). Start earlier, move the split date later or "
            f"shorten the window.")

    train_end = test_start if config.leaky else first_target + n_train  # first validation target row
    fit_rows = total if config.leaky else train_end  # leaky: min/max include the test period
    features = frame[list(config.features)].to_numpy(np.float64)  # (T, F)
    if config.target == "close":
        target = close.copy()
    else:  # change from the window's last close to the target day
        target = np.full(total, np.nan)
        target[horizon:] = close[horizon:] / close[:-horizon] - 1.0
    feature_scaler = MinMaxScaler().fit(features[:fit_rows])
    target_rows = np.arange(horizon, fit_rows)  # rows whose target is defined
    target_scaler = MinMaxScaler().fit(target[target_rows] if config.target == "return"
                                       else target[:fit_rows])
    scaled_x = feature_scaler.transform(features).astype(np.float32)
    scaled_y = target_scaler.transform(target).astype(np.float32)
    x_all, y_all, rows = make_windows(scaled_x, scaled_y, window, horizon)
    is_test = rows >= test_start
    is_train = rows < train_end
    is_val = is_test if config.leaky else (~is_train & ~is_test)

    def pick(mask):
        return torch.from_numpy(x_all[mask]), torch.from_numpy(y_all[mask]).unsqueeze(1)  # (N, 1)

    x_train, y_train = pick(is_train)
    x_val, y_val = pick(is_val)
    x_test, y_test = pick(is_test)
    latest_x = torch.from_numpy(scaled_x[total - window:]).unsqueeze(0)  # (1, window, F)
    return Prepared(config, dates, close, x_train, y_train, x_val, y_val, x_test, y_test,
                    rows[is_train], rows[is_val], rows[is_test], feature_scaler, target_scaler,
                    fit_rows, train_end, latest_x, notes)


def split_summary(prepared: Prepared) -> pd.DataFrame:
    """One row per part (train / validation / test): windows and the dates they predict."""
    parts = [("Training", prepared.rows_train), ("Validation", prepared.rows_val),
             ("Test", prepared.rows_test)]
    if prepared.config.leaky:
        parts[1] = ("Validation (= test!)", prepared.rows_val)
    out = []
    for name, rows in parts:
        out.append({"part": name, "windows": len(rows),
                    "first predicted day": f"{prepared.dates[rows[0]]:%Y-%m-%d}" if len(rows) else "—",
                    "last predicted day": f"{prepared.dates[rows[-1]]:%Y-%m-%d}" if len(rows) else "—"})
    return pd.DataFrame(out)


def leakage_summary(frame: pd.DataFrame, config: ForecastConfig) -> dict:
    """What the notebook's scaler (fitted on all rows) knows that the honest one does not.

    changed: {column: ((honest min, honest max), (leaky min, leaky max))} for every input or
    target column whose range moves once the validation and test rows are included.
    """
    honest = prepare(frame, ForecastConfig(**{**config.__dict__, "leaky": False}))
    leaky = prepare(frame, ForecastConfig(**{**config.__dict__, "leaky": True}))
    changed = {}
    pairs = [(name, honest.feature_scaler, leaky.feature_scaler, i)
             for i, name in enumerate(config.features)]
    pairs.append(("target (" + config.target + ")", honest.target_scaler, leaky.target_scaler, 0))
    for name, h, lk, i in pairs:
        before = (float(h.min_[i]), float(h.max_[i]))
        after = (float(lk.min_[i]), float(lk.max_[i]))
        if not np.allclose(before, after):
            changed[name] = (before, after)
    test_close = honest.close[honest.rows_test]
    train_close = honest.close[:honest.fit_rows]
    return {"honest_rows": honest.fit_rows, "leaky_rows": leaky.fit_rows, "changed": changed,
            "test_outside_training": bool(test_close.max() > train_close.max()
                                          or test_close.min() < train_close.min())}


# --- Models ------------------------------------------------------------------------------------
@dataclass
class ModelConfig:
    hidden: int = 10      # LSTM/GRU hidden size (the notebook: 10)
    layers: int = 1       # stacked recurrent layers
    dropout: float = 0.0  # between stacked layers and on the last hidden state
    head: int = 5         # the notebook's Linear(hidden, 5) -> ReLU -> Linear(5, 1)


class RecurrentForecaster(nn.Module):
    """LSTM or GRU over the window, then the notebook's small head on the last hidden state."""

    def __init__(self, cell: str = "lstm", n_features: int = 4, config: ModelConfig | None = None):
        super().__init__()
        config = config or ModelConfig()
        if cell not in CELLS:
            raise ValueError(f"Unknown cell {cell!r}; choose lstm or gru")
        rnn = nn.LSTM if cell == "lstm" else nn.GRU
        self.cell = cell
        self.rnn = rnn(n_features, config.hidden, num_layers=config.layers, batch_first=True,
                       dropout=config.dropout if config.layers > 1 else 0.0)
        self.drop = nn.Dropout(config.dropout)
        self.head = nn.Sequential(nn.Linear(config.hidden, config.head), nn.ReLU(),
                                  nn.Linear(config.head, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (N, window, F)
        out, _ = self.rnn(x)                 # (N, window, hidden)
        last = self.drop(out[:, -1])         # (N, hidden): the state after the window's last day
        return self.head(last)               # (N, 1)


def make_model(cell: str, n_features: int, config: ModelConfig | None = None,
               seed: int = 0) -> RecurrentForecaster:
    """A fresh model; seeding here makes LSTM and GRU start from a reproducible init."""
    torch.manual_seed(seed)
    return RecurrentForecaster(cell, n_features, config)


def make_train_config(lr: float = 0.01, batch_size: int = 32, epochs: int = 100, patience: int | None = 5,
                      min_delta: float = 1e-6, seed: int = 0) -> TrainConfig:
    """The notebook's recipe: Adam, MSE, early stopping with patience 5 and tolerance 1e-6."""
    return TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, optimizer="adam", seed=seed,
                       patience=patience, min_delta=min_delta, restore_best=True, log_every=10,
                       shuffle=True, task="regression")


@contextlib.contextmanager
def _one_cpu_thread(device: torch.device):
    """One intra-op CPU thread for the duration, then the old count back.

    A 10-unit LSTM has nothing to split across threads; on a busy 2-core CPU the thread pool's
    synchronisation made an epoch 10-100x slower than a single thread.
    """
    before = torch.get_num_threads()
    if device.type == "cpu":
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _step_single_threaded(events, device: torch.device):
    """Resume a training generator one event at a time, each under _one_cpu_thread."""
    while True:
        with _one_cpu_thread(device):
            event = next(events, None)
        if event is None:
            return
        yield event


def train_events(model: nn.Module, prepared: Prepared, config: TrainConfig, device: torch.device):
    """core.engine.train on the prepared windows, validating on the held-out end of training."""
    events = train(model, (prepared.x_train, prepared.y_train), config, device,
                   val_data=(prepared.x_val, prepared.y_val))
    return _step_single_threaded(events, device)


def predict_prices(model: nn.Module, prepared: Prepared, device: torch.device) -> np.ndarray:
    """Test-set predictions in price units (won / dollars)."""
    with _one_cpu_thread(device):
        scaled = predict(model, prepared.x_test, device).numpy().reshape(-1)
    return prepared.to_prices(scaled, prepared.rows_test)


def next_day_forecast(model: nn.Module, prepared: Prepared, device: torch.device) -> float:
    """The model's price for the trading day after the last date in the data."""
    with _one_cpu_thread(device):
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
    error = predicted - actual
    predicted_move, actual_move = np.sign(predicted - prev), np.sign(actual - prev)
    direction = (100.0 * float(np.mean(predicted_move == actual_move))
                 if np.any(predicted_move != 0) else math.nan)
    return {"RMSE": float(np.sqrt(np.mean(error ** 2))), "MAE": float(np.mean(np.abs(error))),
            "MAPE %": float(100.0 * np.mean(np.abs(error) / np.abs(actual))),
            "Direction %": direction}


def compare(prepared: Prepared, model_prices: dict[str, np.ndarray]) -> pd.DataFrame:
    """Metrics table on the test days: each model, then the two baselines."""
    rows = prepared.rows_test
    actual, prev = prepared.close[rows], prepared.prev_close(rows)
    methods = {**model_prices, **baseline_predictions(prepared.close, rows, prepared.train_end,
                                                      prepared.config.horizon)}
    table = pd.DataFrame([{"method": name, **metrics(actual, pred, prev)}
                          for name, pred in methods.items()])
    return table.set_index("method")


def prediction_frame(prepared: Prepared, model_prices: dict[str, np.ndarray]) -> pd.DataFrame:
    """Long table (date, series, price) of the test period: actual, models and baselines."""
    rows = prepared.rows_test
    dates = prepared.dates[rows]
    series = {"Actual": prepared.close[rows], **model_prices,
              **baseline_predictions(prepared.close, rows, prepared.train_end, prepared.config.horizon)}
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


def format_price(value: float, currency: str) -> str:
    if not math.isfinite(value):
        return "—"
    return f"₩{value:,.0f}" if currency == "₩" else f"${value:,.2f}"


def verdict(table: pd.DataFrame, model: str, prepared: Prepared, predicted: np.ndarray,
            currency: str) -> str:
    """One plain paragraph: does `model` beat tomorrow = today, and why (not)."""
    rmse, naive = table.loc[model, "RMSE"], table.loc[NAIVE, "RMSE"]
    ratio = rmse / naive if naive > 0 else math.inf
    diag = copy_diagnostics(prepared, predicted)
    direction = table.loc[model, "Direction %"]
    up_days = 100.0 * float(np.mean(prepared.close[prepared.rows_test]
                                    > prepared.prev_close(prepared.rows_test)))
    head = (f"**{model}**: test RMSE {format_price(rmse, currency)} vs "
            f"{format_price(naive, currency)} for *tomorrow = today*")
    if ratio < 0.98:
        text = (f"{head} — it beats copying yesterday by {100 * (1 - ratio):.0f}%. Check the "
                f"direction column before trusting it: it calls up/down right {direction:.0f}% of "
                f"the time, against {up_days:.0f}% for always guessing 'up'. ")
    else:
        relation = "ties with" if ratio <= 1.02 else f"is {100 * (ratio - 1):.0f}% worse than"
        text = f"{head} — it {relation} simply copying yesterday's close. "
        if prepared.config.target == "close":
            text += ("Why: the window already tells the network roughly where the price is, and "
                     "day-to-day changes are close to unpredictable, so the lowest-error answer it "
                     "can find is 'about the last price'. The prediction curve looks good only "
                     "because it is yesterday's curve shifted one day to the right. ")
        else:
            text += ("Why: daily returns are mostly noise around zero, so the safest answer the "
                     "network finds is a small, nearly constant change — close to copying "
                     "yesterday, plus errors. ")
    corr = diag["corr_change"]
    if math.isnan(corr):
        related = "constant, so unrelated to the real ones"
    else:
        related = ("barely related to" if abs(corr) < 0.2 else "only partly related to"
                   if abs(corr) < 0.5 else "clearly related to")
        related += f" the real ones (correlation {corr:+.2f})"
    text += (f"On top of the last close its forecasts move {format_price(diag['move_model'], currency)} "
             f"on average (real days move {format_price(diag['move_actual'], currency)}), and those "
             f"moves are {related}.")
    return text


# --- Show the code -----------------------------------------------------------------------------
def make_code(symbol: str, start: str, end: str | None, config: ForecastConfig, model: ModelConfig,
              train_config: TrainConfig, csv_path: str | None = None) -> str:
    """A standalone script (pandas + PyTorch) reproducing the current settings, honest split."""
    if csv_path:
        load = (f"df = pd.read_csv({csv_path!r}, parse_dates=['Date'])  # the embedded copy\n"
                f"df = df[(df.Date >= START){' & (df.Date <= END)' if end else ''}]")
    else:
        load = ("import FinanceDataReader as fdr  # pip install finance-datareader; needs the internet\n"
                "df = fdr.DataReader(SYMBOL, START, END).rename_axis('Date').reset_index()")
    features = list(config.features)
    return f'''"""Next-day {'close' if config.target == 'close' else 'return'} forecast of {symbol} with LSTM and GRU (Deep Learning Playground settings)."""
import numpy as np
import pandas as pd
import torch
from torch import nn

SYMBOL, START, END = {symbol!r}, {start!r}, {end!r}
SPLIT = pd.Timestamp({config.split_date!r})  # first test day
FEATURES = {features!r}  # inputs; "Return" = daily close change
TARGET = {config.target!r}  # "close" (price level) or "return"
WINDOW, HORIZON, VAL_FRACTION = {config.window}, {config.horizon}, {config.val_fraction}
HIDDEN, LAYERS, DROPOUT = {model.hidden}, {model.layers}, {model.dropout}
LR, BATCH, EPOCHS, PATIENCE, MIN_DELTA, SEED = {train_config.lr}, {train_config.batch_size}, {train_config.epochs}, {train_config.patience}, {train_config.min_delta}, {train_config.seed}

# --- Data: drop missing rows, add the daily return -----------------------------------------
{load}
df = df.dropna(subset=["Open", "High", "Low", "Close", "Volume"]).sort_values("Date")
df = df[(df[["Open", "High", "Low", "Close"]] > 0).all(axis=1)].reset_index(drop=True)
df["Return"] = df["Close"].pct_change()
df = df.iloc[1:].reset_index(drop=True)
close = df["Close"].to_numpy(float)
features = df[FEATURES].to_numpy(float)  # (T, F)
if TARGET == "close":
    target = close.copy()
else:
    target = np.full(len(close), np.nan)
    target[HORIZON:] = close[HORIZON:] / close[:-HORIZON] - 1

# --- Windows: 30 days in, the day after out; split by the date each window predicts ----------
n = len(df) - WINDOW - HORIZON + 1
rows = np.arange(n) + WINDOW + HORIZON - 1  # the day each window predicts
test_start = int(np.searchsorted(df["Date"].to_numpy(), SPLIT.to_datetime64()))
n_trval = int((rows < test_start).sum())
n_val = max(5, round(VAL_FRACTION * n_trval))
train_end = int(rows[n_trval - n_val])  # first validation day: the scaler sees rows before it

# --- MinMax scaling fitted on TRAINING rows only (fitting on all rows leaks the future) -------
lo, hi = features[:train_end].min(0), features[:train_end].max(0)
f_scale = np.where(hi > lo, hi - lo, 1.0)
t_fit = target[HORIZON:train_end] if TARGET == "return" else target[:train_end]
t_lo, t_hi = np.nanmin(t_fit), np.nanmax(t_fit)
t_scale = t_hi - t_lo if t_hi > t_lo else 1.0
xs = ((features - lo) / f_scale).astype(np.float32)
ys = ((target - t_lo) / t_scale).astype(np.float32)
X = np.stack([xs[i:i + WINDOW] for i in range(n)])  # (N, WINDOW, F)
Y = ys[rows][:, None]                                # (N, 1)
tr, va, te = rows < train_end, (rows >= train_end) & (rows < test_start), rows >= test_start
to_t = torch.from_numpy
x_tr, y_tr, x_va, y_va, x_te = to_t(X[tr]), to_t(Y[tr]), to_t(X[va]), to_t(Y[va]), to_t(X[te])


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


def to_prices(scaled, prev):
    value = scaled.reshape(-1) * t_scale + t_lo
    return prev * (1 + value) if TARGET == "return" else value


def fit(cell):
    torch.manual_seed(SEED)
    model = Forecaster(cell)
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    loss_fn = nn.MSELoss()
    gen = torch.Generator().manual_seed(SEED)
    best, best_state, bad = float("inf"), None, 0
    for epoch in range(1, EPOCHS + 1):
        model.train()
        perm = torch.randperm(len(x_tr), generator=gen)
        for s in range(0, len(x_tr), BATCH):
            idx = perm[s:s + BATCH]
            loss = loss_fn(model(x_tr[idx]), y_tr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            val = loss_fn(model(x_va), y_va).item()
        if val < best - MIN_DELTA:
            best, bad = val, 0
            best_state = {{k: v.clone() for k, v in model.state_dict().items()}}
        else:
            bad += 1
            if PATIENCE is not None and bad >= PATIENCE:
                print(f"{{cell}}: early stop at epoch {{epoch}}")
                break
    model.load_state_dict(best_state)
    return model


def report(name, pred, actual, prev):
    err = pred - actual
    moved = np.sign(pred - prev)
    direction = 100 * np.mean(moved == np.sign(actual - prev)) if moved.any() else float("nan")
    print(f"{{name:18s}} RMSE {{np.sqrt(np.mean(err ** 2)):12.2f}}  MAE {{np.mean(np.abs(err)):12.2f}}  "
          f"MAPE {{100 * np.mean(np.abs(err) / actual):6.2f}}%  direction {{direction:5.1f}}%")


actual, prev = close[rows[te]], close[rows[te] - HORIZON]
drift = np.mean(np.diff(close[:train_end]))
for cell in ("lstm", "gru"):
    model = fit(cell)
    with torch.no_grad():
        pred = to_prices(model(x_te).numpy(), prev)
        tomorrow = to_prices(model(to_t(xs[-WINDOW:])[None]).numpy(), close[-1:])[0]
    report(cell.upper(), pred, actual, prev)
    print(f"  next trading day after {{df.Date.iloc[-1]:%Y-%m-%d}}: {{tomorrow:,.2f}}")
report("tomorrow = today", prev, actual, prev)
report("drift", prev + HORIZON * drift, actual, prev)
print("A lesson, not financial advice.")
'''
