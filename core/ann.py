"""The ANN-on-MNIST lesson: settings, layer arithmetic, evaluation of a run, the runs table."""
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from core import engine
from core.data import MNIST_MEAN, MNIST_STD, NOTEBOOK_MEAN, NOTEBOOK_STD, load_mnist, normalize
from core.engine import OPTIMIZER_LABELS, TrainConfig, build_seeded, evaluate, predict
from core.models import ACTIVATIONS, count_params, make_mlp, with_weights
from core.words import LearnerError

N_TRAIN_MIN, N_TRAIN_MAX = 1_000, 60_000  # the training-set slider's range
MAX_HIDDEN_LAYERS = 6   # deeper plain MLPs teach nothing new here and train slowly
MAX_WIDTH = 4096        # units per hidden layer
IMAGE_SHAPE = (1, 28, 28)
UNTRAINED_ROWS = 1_000  # test images the untrained model reads before training
UNTRAINED_PARAMETERS = 2_500_000  # up to this size the rerun reads them (a fraction of a second); larger on demand
LEARNING_RATES = [0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0]  # the slider's stops
BATCH_SIZES = [16, 32, 64, 128, 256, 512, 1024]
# name -> (mean, std) on 0..1 pixels. The notebook's choice maps 0..255 to -1..1.
NORMALIZATIONS = {
    "notebook": (NOTEBOOK_MEAN, NOTEBOOK_STD),
    "mnist": (MNIST_MEAN, MNIST_STD),
    "none": (0.0, 1.0),
}


@dataclass
class AnnSettings:
    """Everything a learner can change on the page; the defaults are the course notebook's."""
    hidden: tuple[int, ...] = (128, 64)  # hidden layer widths (SimpleANN: 784-128-64-10)
    activation: str = "relu"             # a key of core.models.ACTIVATIONS
    dropout: float = 0.0                 # after each hidden activation; 0 = none
    n_train: int = 60_000                # the first N training images; always tested on all 10,000
    optimizer: str = "sgd_momentum"      # one of core.engine.OPTIMIZERS
    lr: float = 0.01                     # learning rate
    batch_size: int = 64                 # images per optimizer step
    epochs: int = 10                     # passes over the training subset
    seed: int = 0                        # initial weights and batch order
    normalization: str = "notebook"      # a key of NORMALIZATIONS

    @property
    def mean_std(self) -> tuple[float, float]:
        return NORMALIZATIONS[self.normalization]

    def transform(self) -> Callable[[torch.Tensor], torch.Tensor]:
        """uint8 (N, 28, 28) -> normalized float, run by the engine on each batch on the device."""
        mean, std = self.mean_std
        return functools.partial(normalize, mean=mean, std=std)

    def train_config(self) -> TrainConfig:
        # One "batch" event every ~1/20 epoch: enough points for a smooth loss curve.
        steps = -(-self.n_train // self.batch_size)
        return TrainConfig(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
                           optimizer=self.optimizer, seed=self.seed, log_every=max(1, steps // 20))

    def architecture(self) -> str:
        return "-".join(str(n) for n in (784, *self.hidden, 10))

    def recipe_values(self) -> dict:
        """The settings block of core/recipes/ann.py for these settings (the optimizer line aside)."""
        return {"N_TRAIN": self.n_train, "HIDDEN": tuple(self.hidden),
                "ACTIVATION": ACTIVATIONS[self.activation].__name__, "DROPOUT": self.dropout,
                "EPOCHS": self.epochs, "BATCH_SIZE": self.batch_size, "LR": self.lr, "SEED": self.seed,
                "NORMALIZATION": self.mean_std}


def parse_hidden(text: str) -> tuple[int, ...]:
    """'128, 64' -> (128, 64). Empty means no hidden layer. Raises LearnerError with the reason."""
    parts = [p for p in text.replace(";", ",").replace(" ", ",").split(",") if p.strip()]
    try:
        sizes = tuple(int(p) for p in parts)
    except ValueError:
        raise LearnerError("ann.hidden_not_numbers", text=text) from None
    if len(sizes) > MAX_HIDDEN_LAYERS:
        raise LearnerError("ann.hidden_too_deep", limit=MAX_HIDDEN_LAYERS, got=len(sizes))
    if any(s < 1 or s > MAX_WIDTH for s in sizes):
        raise LearnerError("ann.hidden_bad_width", limit=MAX_WIDTH, text=text)
    return sizes


def _mlp(s: AnnSettings) -> nn.Sequential:
    return make_mlp(hidden=tuple(s.hidden), activation=s.activation, dropout=s.dropout)


def build_model(s: AnnSettings) -> nn.Sequential:
    """The MLP for these settings, initialized from the seed (same seed -> same weights)."""
    return build_seeded(lambda: _mlp(s), s.seed)


def train_events(model: nn.Module, s: AnnSettings, device: torch.device):
    """core.engine.train on the first `n_train` training images, evaluated on the test set each
    epoch, with the settings' normalization applied to every batch."""
    return engine.train(model, training_subset(s.n_train), s.train_config(), device, val_data=test_set(),
                        transform=s.transform())


def load_model(s: AnnSettings, state_dict: dict) -> nn.Sequential:
    """A kept run's model: these settings' MLP with its weights, on the CPU in eval mode."""
    return with_weights(_mlp(s), state_dict)


def usable(state_dict: dict) -> bool:
    """False when the weights hold NaN/inf (a diverged run cannot read digits)."""
    return all(torch.isfinite(v).all() for v in state_dict.values())


def training_subset(n_train: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first n_train MNIST training images (uint8) and labels; MNIST's order is already mixed."""
    x, y = load_mnist(train=True)
    return x[:n_train], y[:n_train]


def test_set() -> tuple[torch.Tensor, torch.Tensor]:
    """The official 10,000 test images (uint8) and labels."""
    return load_mnist(train=False)


def sample_grid(per_class: int = 2) -> tuple[list[np.ndarray], list[int]]:
    """The first `per_class` training images of each digit, ordered 0..9 (for a labelled grid)."""
    x, y = load_mnist(train=True)
    images, labels = [], []
    for row in range(per_class):
        for digit in range(10):
            images.append(x[int(torch.nonzero(y == digit)[row])].numpy())
            labels.append(digit)
    return images, labels


# --- Layer table: output shapes and the parameter arithmetic of the course notes ---

def layer_table(s: AnnSettings) -> pd.DataFrame:
    """One row per layer: kind (input, flatten, linear, output, activation, dropout, total),
    name, output shape, parameters and the arithmetic '(784 + 1) × 128 = 100,480'."""
    with torch.device("meta"):  # shapes and counts only: no memory, no init, even for huge layers
        model = _mlp(s)
    rows = [{"kind": "input", "name": "", "shape": "(N, 1, 28, 28)", "params": 0, "arithmetic": ""}]
    linear_index, counts, width = 0, [], 784
    for module in model:
        row = {"kind": "activation", "name": type(module).__name__, "params": 0, "arithmetic": ""}
        if isinstance(module, nn.Flatten):
            row.update(kind="flatten", arithmetic="28 × 28 = 784")
        elif isinstance(module, nn.Linear):
            linear_index += 1
            n = (module.in_features + 1) * module.out_features
            counts.append(n)
            width = module.out_features
            row.update(kind="output" if linear_index == len(s.hidden) + 1 else "linear",
                       name=str(linear_index), params=n,
                       arithmetic=f"({module.in_features} + 1) × {module.out_features} = {n:,}")
        elif isinstance(module, nn.Dropout):
            row.update(kind="dropout", name=f"{module.p:g}")
        rows.append({**row, "shape": f"(N, {width})"})
    total = sum(counts)
    assert total == count_params(model)  # the arithmetic must agree with PyTorch's own count
    rows.append({"kind": "total", "name": "", "shape": "", "params": total,
                 "arithmetic": " + ".join(f"{c:,}" for c in counts) + f" = {total:,}"})
    return pd.DataFrame(rows, columns=["kind", "name", "shape", "params", "arithmetic"])



# --- After training: confusion matrix, per-class accuracy, misclassified digits ---

def untrained_quick(s: AnnSettings) -> bool:
    """Whether the untrained accuracy is cheap enough for every rerun (UNTRAINED_PARAMETERS); a
    larger network's takes seconds (building it alone does), measured on demand (`untrained_steps`)."""
    return engine.mlp_parameters(784, tuple(s.hidden), 10) <= UNTRAINED_PARAMETERS


def untrained_accuracy(s: AnnSettings, device: torch.device, rows: int = UNTRAINED_ROWS) -> float:
    """Accuracy of the freshly initialized model on the first `rows` test images: about 10%,
    it is guessing (a slice: a huge model needs it before every settings change)."""
    return next(e for e in untrained_steps(s, device, rows) if e["kind"] == "end")["accuracy"]


def untrained_steps(s: AnnSettings, device: torch.device, rows: int = UNTRAINED_ROWS,
                    chunk: int = 100) -> Iterator[dict]:
    """`untrained_accuracy` in small steps, for a network whose takes seconds: a {"kind":
    "progress", "progress": 0..1} event once the model is built and after every `chunk` images,
    then {"kind": "end", "accuracy": %}. A page draws the progress and stops it between steps."""
    x_test, y_test = test_set()
    model, correct, rows = build_model(s), 0.0, min(rows, len(x_test))
    yield {"kind": "progress", "progress": 0.1}
    for start in range(0, rows, chunk):
        stop = min(start + chunk, rows)
        correct += evaluate(model, x_test[start:stop], y_test[start:stop], device,
                            transform=s.transform())["accuracy"] * (stop - start) / 100
        yield {"kind": "progress", "progress": 0.1 + 0.9 * stop / rows}
    yield {"kind": "end", "accuracy": 100.0 * correct / max(rows, 1)}


def estimate_seconds(s: AnnSettings, device: torch.device) -> float:
    """How long training with `s` takes here: a few real steps timed (core.engine.measure_costs),
    once per network and batch size; the training-set size and epochs only scale them. A network
    too large to time within a rerun is timed as narrower copies (core.engine.costs_by_width)."""
    costs = _costs(tuple(s.hidden), s.activation, s.dropout, engine.timed_batch(s.batch_size), s.optimizer,
                   s.normalization, str(device))
    return costs.at_batch(s.batch_size).seconds(s.n_train, s.train_config(), len(test_set()[0]))


@functools.lru_cache(maxsize=64)
def _costs(hidden: tuple, activation: str, dropout: float, batch_size: int, optimizer: str, normalization: str,
           device: str) -> engine.Costs:
    def measure(widths: tuple[int, ...], rows: int | None) -> engine.Costs:
        if rows is not None and engine.mlp_parameters(784, widths, 10) > engine.TIMED_PARAMETERS // 2:
            # The widest timed copy's few-row steps move its weights, gradients and optimizer state
            # through memory; a few rows' activation and dropout are lost beside that, so one timing
            # serves every activation and dropout (a change of either re-times only the small copy).
            return _timed(widths, "relu", 0.0, rows, optimizer, normalization, device)
        return _timed(widths, activation, dropout, rows or batch_size, optimizer, normalization, device)
    return engine.costs_by_width(hidden, 784, 10, measure)


@functools.lru_cache(maxsize=64)
def _timed(widths: tuple, activation: str, dropout: float, batch_size: int, optimizer: str, normalization: str,
           device: str) -> engine.Costs:
    s = AnnSettings(hidden=widths, activation=activation, dropout=dropout, batch_size=batch_size,
                    optimizer=optimizer, normalization=normalization, n_train=N_TRAIN_MIN)
    return engine.measure_costs(build_model(s), training_subset(N_TRAIN_MIN), s.train_config(),
                                torch.device(device), val_data=test_set(), transform=s.transform())


def analyze(model: nn.Module, s: AnnSettings, history: list[dict], end: dict | None,
            untrained: float, device: torch.device, keep_mistakes: int = 200) -> dict:
    """A trained (or stopped) model on the 10,000 test images: the results a Run keeps.

    accuracy (%), confusion (10x10, rows = true digit), per_class (digit, correct, total,
    accuracy), misclassified (index, true, predicted, confidence: most confident first),
    plus untrained (%), seconds, device and reason ("stopped" when `end` is None).
    """
    x_test, y_test = test_set()
    probs = predict(model, x_test, device, transform=s.transform(), softmax=True)  # (N, 10) on CPU
    probs = torch.nan_to_num(probs, nan=0.0)  # a diverged model: no confident guesses
    predicted = probs.argmax(dim=1)
    truth = y_test.cpu()
    confusion = torch.bincount(truth * 10 + predicted, minlength=100).view(10, 10).numpy()
    totals, correct = confusion.sum(axis=1), np.diag(confusion)
    per_class = pd.DataFrame({"digit": np.arange(10), "correct": correct, "total": totals,
                              "accuracy": 100.0 * correct / np.maximum(totals, 1)})
    wrong = torch.nonzero(predicted != truth).flatten()
    confidence = probs[wrong, predicted[wrong]]
    order = torch.argsort(confidence, descending=True)[:keep_mistakes]
    wrong = wrong[order]
    misclassified = pd.DataFrame({"index": wrong.numpy(), "true": truth[wrong].numpy(),
                                  "predicted": predicted[wrong].numpy(),
                                  "confidence": confidence[order].numpy().astype(float)})
    seconds = end["elapsed"] if end else max([e["elapsed"] for e in history], default=0.0)
    return {"accuracy": 100.0 * float(correct.sum()) / max(len(truth), 1), "confusion": confusion,
            "per_class": per_class, "misclassified": misclassified, "untrained": float(untrained),
            "seconds": float(seconds), "device": str(device), "reason": end["reason"] if end else "stopped"}


# --- Runs kept for the session (ui.runs.Run records: id, name, settings, results, epochs) ---

def runs_table(runs) -> pd.DataFrame:
    """One row per run: its settings, test accuracy and time (also the CSV download).

    Ids, not words: hidden is '128-64' ('' without a hidden layer), activation and normalization
    are their keys, outcome is the end reason; views.ann.charts.runs_frame puts them in words."""
    rows = []
    for r in runs:
        s, res = r.settings, r.results
        rows.append({"run": r.name, "test_acc": round(res["accuracy"], 2), "seconds": round(res["seconds"], 1),
                     "hidden": "-".join(map(str, s.hidden)), "activation": s.activation,
                     "dropout": s.dropout, "n_train": s.n_train, "optimizer": OPTIMIZER_LABELS[s.optimizer],
                     "lr": s.lr, "batch_size": s.batch_size, "epochs": s.epochs, "seed": s.seed,
                     "normalization": s.normalization, "epochs_run": len(r.epochs),
                     "untrained_acc": round(res["untrained"], 2), "device": res["device"],
                     "outcome": res["reason"]})
    return pd.DataFrame(rows)


def runs_curves(runs) -> pd.DataFrame:
    """Long table for overlaying runs: run (name), epoch, test_acc (%), train_loss."""
    rows = [{"run": r.name, "epoch": e["epoch"], "test_acc": e["val_acc"], "train_loss": e["train_loss"]}
            for r in runs for e in r.epochs]
    return pd.DataFrame(rows, columns=["run", "epoch", "test_acc", "train_loss"])


# --- Figures: what a run shows, by name (core.lessons reads them) -----------------------------

def parameter_count(s: AnnSettings) -> int:
    """The model's parameters for these settings (counted on the meta device: nothing allocated)."""
    with torch.device("meta"):
        return count_params(_mlp(s))


def run_figures(run) -> dict:
    """ann_runs: accuracy (test %), train_accuracy (% of the training images right during the last
    epoch; None before the first), gap (train − test accuracy, points) and parameters."""
    epochs = [e for e in run.history if e["kind"] == "epoch"]
    accuracy = float(run.results["accuracy"])
    train = float(epochs[-1]["train_acc"]) if epochs and epochs[-1]["train_acc"] is not None else None
    return {"accuracy": accuracy, "train_accuracy": train, "gap": None if train is None else train - accuracy,
            "parameters": parameter_count(run.settings)}


FIGURES = {  # store -> its settings dataclass, the figures its runs show beyond them, and their reader
    "ann_runs": {"settings": AnnSettings, "figures": ("accuracy", "train_accuracy", "gap", "parameters"),
                 "read": run_figures},
}
