"""The ANN-for-regression lesson: a real tabular data set, an honest split and scaling, an MLP
trained with MSE and early stopping, and the baselines it has to beat.

The course's week 2 predicts Boston house prices; scikit-learn removed that data set in 1.2
over an ethically problematic feature. This lesson uses the diabetes data scikit-learn ships
with itself (offline): 442 patients, 10 baseline measurements, and the target, a measure of
disease progression one year later, in its own units (`scaled=False`).

A learner's own CSV (core.own_data) takes the same path: `own_table` picks its target and
feature columns into a Table, and `split(..., table=)` does the rest as for the diabetes rows.
"""
import functools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from torch import nn

from core import engine
from core.data import DataError
from core.engine import OPTIMIZER_LABELS, TrainConfig, build_seeded, predict, train
from core.models import ACTIVATIONS, count_params, make_mlp
from core.own_data import OwnTable
from core.words import Words, words

FEATURES = ("age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6")  # load_diabetes' names
TARGET = "target"  # disease progression one year after the baseline measurements
LEARNING_RATES = [0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1]  # the slider's stops
BATCH_SIZES = [8, 16, 32, 64, 128, 256]
EPOCHS_MAX = 1000     # the slider's end: early stopping usually ends a run long before
PATIENCE_MAX = 100    # the slider's end; 0 turns early stopping off
DIABETES_ROWS = 442   # load_diabetes' rows
MIN_OWN_ROWS = 30     # an own table needs this many complete rows: a few each for validation and test
SAME_AS_TARGET = 0.999  # a feature correlated at least this much with the target is the target in disguise

@dataclass
class RegressionSettings:
    """Everything a learner can change in the regression section; the defaults train in seconds."""
    hidden: tuple[int, ...] = (32, 16)  # hidden layer widths: a small net for 10 inputs
    activation: str = "relu"            # a key of core.models.ACTIVATIONS
    dropout: float = 0.0                # after each hidden activation; 0 = none
    optimizer: str = "adam"             # one of core.engine.OPTIMIZERS: Adam needs no tuning here
    lr: float = 0.001                   # learning rate: Adam's usual start
    batch_size: int = 32                # rows per optimizer step
    epochs: int = 300                   # at most this many passes; early stopping ends sooner
    patience: int = 20                  # epochs without a better validation loss before stopping; 0 = off
    seed: int = 0                       # initial weights and batch order
    split_seed: int = 0                 # which rows go to training, validation and test
    val_share: float = 0.2              # share of all rows held out for early stopping
    test_share: float = 0.2             # share of all rows held out for the final figures
    data: str = ""                      # "" = the embedded diabetes table; else the uploaded CSV's file name
    data_hash: str = ""                 # the uploaded file's digest (core.own_data.digest); "" for diabetes
    target: str = TARGET                # the column predicted
    features: tuple = FEATURES          # the columns the network reads
    rows: int = DIABETES_ROWS           # complete rows of the table (own data: after rows with gaps went)

    def train_config(self) -> TrainConfig:
        return TrainConfig(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, optimizer=self.optimizer,
                           seed=self.seed, patience=self.patience or None, restore_best=True,
                           log_every=max(1, self.steps_per_epoch() // 2), task="regression")

    def steps_per_epoch(self) -> int:
        return math.ceil(n_rows(self.val_share, self.test_share, self.rows)[0] / self.batch_size)

    def architecture(self) -> str:
        return "-".join(str(n) for n in (len(self.features), *self.hidden, 1))

    @property
    def own(self) -> bool:
        """Trained on an uploaded table (not the embedded diabetes rows)."""
        return bool(self.data)

    def recipe_values(self) -> dict:
        """The settings block of core/recipes/ann_regression.py (the optimizer line aside)."""
        return {"HIDDEN": tuple(self.hidden), "ACTIVATION": ACTIVATIONS[self.activation].__name__,
                "DROPOUT": self.dropout, "EPOCHS": self.epochs, "BATCH_SIZE": self.batch_size, "LR": self.lr,
                "PATIENCE": self.patience, "SEED": self.seed, "SPLIT_SEED": self.split_seed,
                "VAL_SHARE": self.val_share, "TEST_SHARE": self.test_share}


# --- The table ---

@functools.cache
def _table() -> pd.DataFrame:
    return load_diabetes(scaled=False, as_frame=True).frame  # the features as measured, not pre-scaled


def load_table() -> pd.DataFrame:
    """The 442 rows: the 10 features (age in years, sex 1/2, BMI, blood pressure, six blood
    serum measurements) and the target, a copy the caller may change."""
    return _table().copy()


def feature_summary(table: pd.DataFrame) -> pd.DataFrame:
    """One row per column: name, mean, std, min, max (the page puts the meanings in words)."""
    described = table.describe().T
    return pd.DataFrame({"name": described.index, "mean": described["mean"].to_numpy(),
                         "std": described["std"].to_numpy(), "min": described["min"].to_numpy(),
                         "max": described["max"].to_numpy()})


@dataclass(frozen=True)
class Table:
    """The rows a run learns from: the features and the target, as measured."""
    x: np.ndarray                # (rows, features) float64
    y: np.ndarray                # (rows,) float64
    features: tuple[str, ...]    # the columns of x
    target: str                  # the column y came from


def diabetes() -> Table:
    table = _table()
    return Table(table[list(FEATURES)].to_numpy(np.float64), table[TARGET].to_numpy(np.float64), FEATURES, TARGET)


def own_table(own: OwnTable, target: str, features: tuple[str, ...] | list[str]) -> tuple[Table, list[Words]]:
    """The uploaded table's target and feature columns as a Table, and notes for the learner.

    Rows with a gap (an empty or text cell) in a chosen column are dropped and counted. Raises
    DataError ("regression.own_*") for no feature, the target among the features, a column that
    is not numeric, fewer than MIN_OWN_ROWS complete rows, or a target that never changes. A
    feature that is the target in disguise (|correlation| ≥ SAME_AS_TARGET) is a note: it trains,
    and the learner sees why the result looks too good."""
    features = tuple(features)
    if not features:
        raise DataError("regression.own_no_features")
    if target in features:
        raise DataError("regression.own_target_is_feature", column=target)
    not_numeric = [c for c in (target, *features) if own.kinds.get(c) != "number"]
    if not_numeric:
        raise DataError("regression.own_not_numeric", columns=", ".join(not_numeric))
    chosen = own.numbers[[target, *features]]
    complete = chosen.notna().all(axis=1)
    notes = []
    if not complete.all():
        notes.append(words("regression.own_dropped_rows", rows=int((~complete).sum()), left=int(complete.sum())))
    chosen = chosen[complete]
    if len(chosen) < MIN_OWN_ROWS:
        raise DataError("regression.own_too_few_rows", rows=len(chosen), need=MIN_OWN_ROWS)
    y = chosen[target].to_numpy(np.float64)
    if np.ptp(y) == 0:
        raise DataError("regression.own_constant_target", column=target, value=float(y[0]))
    x = chosen[list(features)].to_numpy(np.float64)
    for i, column in enumerate(features):
        if np.ptp(x[:, i]) > 0 and abs(np.corrcoef(x[:, i], y)[0, 1]) >= SAME_AS_TARGET:
            notes.append(words("regression.own_same_as_target", column=column, target=target))
    return Table(x, y, features, target), notes


# --- Honest preparation: split first, then fit the scalers on the training rows only ---

def n_rows(val_share: float, test_share: float, n: int = DIABETES_ROWS) -> tuple[int, int, int]:
    """(train, validation, test) row counts of a table of `n` rows, as train_test_split cuts them."""
    n_test = math.ceil(n * test_share)
    n_val = math.ceil(val_share / (1 - test_share) * (n - n_test))
    return n - n_test - n_val, n_val, n_test


@dataclass
class Split:
    """The rows of each part (as measured) and the scalers fitted on the training rows."""
    rows: dict[str, np.ndarray]    # "train", "val", "test" -> row numbers of the table
    x: dict[str, np.ndarray]       # part -> features as measured, (rows, 10)
    y: dict[str, np.ndarray]       # part -> target in its own units, (rows,)
    x_scaler: StandardScaler       # fitted on x["train"] only
    y_scaler: StandardScaler       # fitted on y["train"] only: the net learns a target near 0 ± 1
    features: tuple = FEATURES     # the columns of x
    target: str = TARGET           # the column y came from

    def tensors(self, part: str) -> tuple[torch.Tensor, torch.Tensor]:
        """Standardized float32 features (rows, 10) and target (rows, 1) of one part."""
        x = self.x_scaler.transform(self.x[part])
        y = self.y_scaler.transform(self.y[part].reshape(-1, 1))
        return torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)

    def to_units(self, scaled: np.ndarray) -> np.ndarray:
        """Standardized predictions back in the target's own units."""
        return self.y_scaler.inverse_transform(np.asarray(scaled, dtype=np.float64).reshape(-1, 1)).ravel()


def split(split_seed: int = 0, val_share: float = 0.2, test_share: float = 0.2, table: Table | None = None) -> Split:
    """Shuffle the rows of `table` (the diabetes rows by default) with `split_seed` into training,
    validation and test; then fit the feature and target scalers on the training rows alone, so
    no number from the validation or test rows leaks into the preparation."""
    table = table or diabetes()
    x, y = table.x, table.y
    rows = np.arange(len(y))
    rest, test = train_test_split(rows, test_size=test_share, random_state=split_seed)
    train_rows, val = train_test_split(rest, test_size=val_share / (1 - test_share), random_state=split_seed)
    parts = {"train": np.sort(train_rows), "val": np.sort(val), "test": np.sort(test)}
    x_scaler = StandardScaler().fit(x[parts["train"]])
    y_scaler = StandardScaler().fit(y[parts["train"]].reshape(-1, 1))
    return Split(rows=parts, x={k: x[v] for k, v in parts.items()}, y={k: y[v] for k, v in parts.items()},
                 x_scaler=x_scaler, y_scaler=y_scaler, features=tuple(table.features), target=table.target)


def scaler_table(s: Split) -> pd.DataFrame:
    """What StandardScaler learned from the training rows: per column mean and std, and the
    same figures over all rows for comparison (they differ: the test rows were not looked at)."""
    parts = ("train", "val", "test")
    every = np.column_stack([np.concatenate([s.x[p] for p in parts]), np.concatenate([s.y[p] for p in parts])])
    return pd.DataFrame({"name": [*s.features, s.target],
                         "train_mean": [*s.x_scaler.mean_, *s.y_scaler.mean_],
                         "train_std": [*s.x_scaler.scale_, *s.y_scaler.scale_],
                         "all_mean": every.mean(axis=0), "all_std": every.std(axis=0)})


def scaled_preview(s: Split, n: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The first `n` training rows as measured and as the network sees them (standardized)."""
    raw = pd.DataFrame(s.x["train"][:n], columns=list(s.features))
    scaled = pd.DataFrame(s.x_scaler.transform(s.x["train"][:n]), columns=list(s.features))
    return raw, scaled


# --- Model and training ---

def _mlp(settings: RegressionSettings) -> nn.Sequential:
    return make_mlp(in_features=len(settings.features), hidden=tuple(settings.hidden), out_features=1,
                    activation=settings.activation, dropout=settings.dropout)


def build_model(settings: RegressionSettings) -> nn.Sequential:
    """The MLP features → hidden → 1, initialized from the seed (same seed → same weights)."""
    return build_seeded(lambda: _mlp(settings), settings.seed)


def parameters(settings: RegressionSettings) -> int:
    return count_params(_mlp(settings))


def train_events(model: nn.Module, s: Split, settings: RegressionSettings, device: torch.device):
    """core.engine.train on the standardized training rows, MSE loss, early stopping on the
    validation rows (the best epoch's weights are kept)."""
    return train(model, s.tensors("train"), settings.train_config(), device, val_data=s.tensors("val"))


def estimate_seconds(settings: RegressionSettings, device: torch.device) -> float:
    """Seconds a run takes at most (every epoch; early stopping often ends it sooner): a few
    real steps timed (core.engine.measure_costs), once per network, input width and batch size,
    on random rows of the table's shape (a step's time depends on the shapes, not the values),
    then scaled to the table's rows; a network too large to time within a rerun is timed as
    narrower copies (core.engine.costs_by_width)."""
    n_train, n_val, _ = n_rows(settings.val_share, settings.test_share, settings.rows)
    costs = _costs(tuple(settings.hidden), len(settings.features), settings.activation, settings.dropout,
                   engine.timed_batch(settings.batch_size), settings.optimizer, min(n_train, engine.TIMED_ROWS),
                   min(n_val, engine.TIMED_EVAL_ROWS), str(device))
    return costs.seconds(n_train, settings.train_config(), n_val)


@functools.lru_cache(maxsize=64)
def _costs(hidden: tuple, inputs: int, activation: str, dropout: float, batch_size: int, optimizer: str,
           n_train: int, n_val: int, device: str) -> engine.Costs:
    def measure(widths: tuple[int, ...], rows: int | None) -> engine.Costs:
        if rows is not None and engine.mlp_parameters(inputs, widths, 1) > engine.TIMED_PARAMETERS // 2:
            # as core.ann._costs: the widest copy's few-row steps are its weights' traffic, whatever
            # the activation and dropout, so one timing serves them all
            return _timed(widths, inputs, "relu", 0.0, rows, optimizer, n_train, n_val, device)
        return _timed(widths, inputs, activation, dropout, rows or batch_size, optimizer, n_train, n_val, device)
    return engine.costs_by_width(hidden, inputs, 1, measure)


@functools.lru_cache(maxsize=64)
def _timed(widths: tuple, inputs: int, activation: str, dropout: float, batch_size: int, optimizer: str,
           n_train: int, n_val: int, device: str) -> engine.Costs:
    generator = torch.Generator().manual_seed(0)
    train_rows = (torch.randn(n_train, inputs, generator=generator), torch.randn(n_train, 1, generator=generator))
    val_rows = (torch.randn(n_val, inputs, generator=generator), torch.randn(n_val, 1, generator=generator))
    settings = RegressionSettings(hidden=widths, activation=activation, dropout=dropout, batch_size=batch_size,
                                  optimizer=optimizer, features=tuple(f"x{i}" for i in range(inputs)), rows=n_train)
    return engine.measure_costs(build_model(settings), train_rows, settings.train_config(), torch.device(device),
                                val_data=val_rows)


# --- Results: the test rows in the target's own units, and the baselines ---

def metrics(actual: np.ndarray, predicted: np.ndarray) -> dict:
    """RMSE and MAE in the target's units, and R² (1 = perfect, 0 = no better than the mean)."""
    return {"rmse": float(root_mean_squared_error(actual, predicted)),
            "mae": float(mean_absolute_error(actual, predicted)), "r2": float(r2_score(actual, predicted))}


def baselines(s: Split) -> dict[str, dict]:
    """What the ANN has to beat on the test rows: always predicting the training rows' mean, and
    scikit-learn's LinearRegression fitted on the (standardized) training rows."""
    mean_prediction = np.full(len(s.y["test"]), s.y["train"].mean())
    linear = LinearRegression().fit(s.x_scaler.transform(s.x["train"]), s.y["train"])
    linear_prediction = linear.predict(s.x_scaler.transform(s.x["test"]))
    return {"mean": {**metrics(s.y["test"], mean_prediction), "predicted": mean_prediction},
            "linear": {**metrics(s.y["test"], linear_prediction), "predicted": linear_prediction,
                       "coefficients": linear.coef_}}


def analyze(model: nn.Module, s: Split, settings: RegressionSettings, history: list[dict], end: dict | None,
            device: torch.device) -> dict:
    """A trained (or stopped) model on the test rows: the results a Run keeps.

    rmse, mae, r2 (target units), predicted and actual (test rows), baselines (mean, linear),
    best_epoch, seconds, device, reason ("stopped" when `end` is None)."""
    scaled = predict(model, s.tensors("test")[0], device).numpy()
    predicted = np.nan_to_num(s.to_units(scaled), nan=float(s.y["train"].mean()))  # a diverged net
    seconds = end["elapsed"] if end else max([e["elapsed"] for e in history], default=0.0)
    best = end["best_epoch"] if end else 0
    return {**metrics(s.y["test"], predicted), "predicted": predicted, "actual": s.y["test"].copy(),
            "baselines": baselines(s), "target_std": float(s.y_scaler.scale_[0]), "best_epoch": int(best),
            "seconds": float(seconds), "device": str(device),
            "reason": end["reason"] if end else "stopped"}


def comparison(results: dict) -> pd.DataFrame:
    """The ANN and the baselines side by side: model id (mean, linear, ann), rmse, mae, r2."""
    rows = [{"model": name, **{k: results["baselines"][name][k] for k in ("rmse", "mae", "r2")}}
            for name in ("mean", "linear")]
    rows.append({"model": "ann", **{k: results[k] for k in ("rmse", "mae", "r2")}})
    return pd.DataFrame(rows)


def verdict(results: dict) -> str:
    """'beats' when the ANN's test RMSE is lower than the linear model's, 'ties' within 1 %,
    else 'loses'."""
    ann, linear = results["rmse"], results["baselines"]["linear"]["rmse"]
    if abs(ann - linear) <= 0.01 * linear:
        return "ties"
    return "beats" if ann < linear else "loses"


def predictions_frame(results: dict) -> pd.DataFrame:
    """One row per test row: actual, ANN prediction, its residual (actual − predicted), linear prediction."""
    actual, predicted = results["actual"], results["predicted"]
    return pd.DataFrame({"actual": actual, "predicted": predicted, "residual": actual - predicted,
                         "linear": results["baselines"]["linear"]["predicted"]})


# --- Runs kept for the session (ui.runs.Run records) ---

def runs_table(runs) -> pd.DataFrame:
    """One row per run: test RMSE, MAE, R², the linear model's RMSE on the same split, settings."""
    rows = []
    for r in runs:
        s, res = r.settings, r.results
        rows.append({"run": r.name, "rmse": round(res["rmse"], 2), "mae": round(res["mae"], 2),
                     "r2": round(res["r2"], 3), "linear_rmse": round(res["baselines"]["linear"]["rmse"], 2),
                     "data": s.data, "target": s.target,
                     "hidden": "-".join(map(str, s.hidden)), "activation": s.activation, "dropout": s.dropout,
                     "optimizer": OPTIMIZER_LABELS[s.optimizer], "lr": s.lr, "batch_size": s.batch_size,
                     "epochs": s.epochs, "patience": s.patience, "epochs_run": len(r.epochs),
                     "best_epoch": res["best_epoch"], "seed": s.seed, "split_seed": s.split_seed,
                     "seconds": round(res["seconds"], 2), "outcome": res["reason"]})
    return pd.DataFrame(rows)


def runs_curves(runs) -> pd.DataFrame:
    """Long table for overlaying runs: run, epoch, train_rmse and val_rmse in the target's units
    (the loss is the MSE of the standardized target, so RMSE = √loss × the training std)."""
    rows = []
    for r in runs:
        std = r.results["target_std"]
        for e in r.epochs:
            val = e["val_loss"]
            rows.append({"run": r.name, "epoch": e["epoch"], "train_rmse": math.sqrt(max(e["train_loss"], 0)) * std,
                         "val_rmse": math.sqrt(max(val, 0)) * std if val is not None else None})
    return pd.DataFrame(rows, columns=["run", "epoch", "train_rmse", "val_rmse"])
