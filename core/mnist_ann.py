"""The ANN-on-MNIST lesson: settings, layer arithmetic, run records, evaluation and generated code."""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd
import torch
from torch import nn

from core.data import MNIST_MEAN, MNIST_STD, NOTEBOOK_MEAN, NOTEBOOK_STD, load_mnist, normalize
from core.engine import OPTIMIZER_LABELS, OPTIMIZERS, TrainConfig, evaluate, predict
from core.models import ACTIVATIONS, count_params, make_mlp

N_TRAIN_MIN, N_TRAIN_MAX = 1_000, 60_000
MAX_HIDDEN_LAYERS = 6
MAX_WIDTH = 4096
IMAGE_SHAPE = (1, 28, 28)
# name -> (mean, std) on 0..1 pixels. The notebook's choice maps 0..255 to -1..1.
NORMALIZATIONS = {
    "notebook": (NOTEBOOK_MEAN, NOTEBOOK_STD),
    "mnist": (MNIST_MEAN, MNIST_STD),
    "none": (0.0, 1.0),
}
NORMALIZATION_LABELS = {
    "notebook": "Normalize((0.5,), (0.5,)): the notebook, -1…1",
    "mnist": "Normalize((0.1307,), (0.3081,)): MNIST's own mean and std",
    "none": "none: ToTensor only, 0…1",
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
                           optimizer=self.optimizer, seed=self.seed,
                           log_every=max(1, steps // 20))

    def architecture(self) -> str:
        return "-".join(str(n) for n in (784, *self.hidden, 10))

    def label(self) -> str:
        """A short one-line description, e.g. '784-128-64-10 relu · SGD + momentum lr 0.01'."""
        drop = f" drop {self.dropout:g}" if self.dropout else ""
        norm = "" if self.normalization == "notebook" else f" · norm {self.normalization}"
        return (f"{self.architecture()} {self.activation}{drop} · "
                f"{OPTIMIZER_LABELS[self.optimizer]} lr {self.lr:g} · bs {self.batch_size} · "
                f"{self.epochs} ep · {self.n_train:,} imgs · seed {self.seed}{norm}")


def parse_hidden(text: str) -> tuple[int, ...]:
    """'128, 64' -> (128, 64). Empty means no hidden layer. Raises ValueError with a reason."""
    parts = [p for p in text.replace(";", ",").replace(" ", ",").split(",") if p.strip()]
    try:
        sizes = tuple(int(p) for p in parts)
    except ValueError:
        raise ValueError(f"Hidden sizes must be whole numbers separated by commas, like "
                         f"'128, 64' (got {text!r}).") from None
    if len(sizes) > MAX_HIDDEN_LAYERS:
        raise ValueError(f"At most {MAX_HIDDEN_LAYERS} hidden layers here (got {len(sizes)}).")
    if any(s < 1 or s > MAX_WIDTH for s in sizes):
        raise ValueError(f"Each hidden layer needs 1 to {MAX_WIDTH:,} units (got {text!r}).")
    return sizes


def check_settings(s: AnnSettings) -> None:
    """Raise ValueError for settings the engine would reject or that make no sense."""
    if s.activation not in ACTIVATIONS:
        raise ValueError(f"Unknown activation {s.activation!r}")
    if s.normalization not in NORMALIZATIONS:
        raise ValueError(f"Unknown normalization {s.normalization!r}")
    if s.optimizer not in OPTIMIZERS:
        raise ValueError(f"Unknown optimizer {s.optimizer!r}")
    if not N_TRAIN_MIN <= s.n_train <= N_TRAIN_MAX:
        raise ValueError(f"Training-set size must be {N_TRAIN_MIN:,} to {N_TRAIN_MAX:,}.")
    if not 0 <= s.dropout < 1:
        raise ValueError("Dropout must be in [0, 1).")
    if s.lr <= 0 or s.epochs < 1 or s.batch_size < 1:
        raise ValueError("Learning rate, epochs and batch size must be positive.")


def build_model(s: AnnSettings) -> nn.Sequential:
    """The MLP for these settings, initialized from the seed (same seed -> same weights)."""
    torch.manual_seed(s.seed)
    return make_mlp(hidden=tuple(s.hidden), activation=s.activation, dropout=s.dropout)


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
            index = int(torch.nonzero(y == digit)[row])
            images.append(x[index].numpy())
            labels.append(digit)
    return images, labels


# --- Layer table: output shapes and the parameter arithmetic of the course notes ---

def layer_table(s: AnnSettings) -> pd.DataFrame:
    """One row per layer: output shape, parameters and '(784 + 1) × 128 = 100,480'."""
    model = make_mlp(hidden=tuple(s.hidden), activation=s.activation, dropout=s.dropout)
    rows = [{"Layer": "Input", "Output shape": "(N, 1, 28, 28)", "Parameters": 0,
             "Arithmetic": "a 28×28 gray image"}]
    linear_index, counts = 0, []
    width = 784
    for module in model:
        name = type(module).__name__
        if isinstance(module, nn.Flatten):
            rows.append({"Layer": "Flatten", "Output shape": "(N, 784)", "Parameters": 0,
                         "Arithmetic": "28 × 28 = 784 pixels in a row"})
        elif isinstance(module, nn.Linear):
            linear_index += 1
            n = (module.in_features + 1) * module.out_features
            counts.append(n)
            width = module.out_features
            is_out = width == 10 and linear_index == len(s.hidden) + 1
            rows.append({"Layer": f"Linear {linear_index}" + (" (output)" if is_out else ""),
                         "Output shape": f"(N, {width})", "Parameters": n,
                         "Arithmetic": f"({module.in_features} + 1) × {module.out_features} = {n:,}"})
        elif isinstance(module, nn.Dropout):
            rows.append({"Layer": f"Dropout (p={module.p:g})", "Output shape": f"(N, {width})",
                         "Parameters": 0, "Arithmetic": "zeroes units at random while training"})
        else:
            rows.append({"Layer": name, "Output shape": f"(N, {width})", "Parameters": 0,
                         "Arithmetic": "applied to each unit, no weights"})
    total = sum(counts)
    assert total == count_params(model)  # the arithmetic must agree with PyTorch's own count
    rows.append({"Layer": "Total", "Output shape": "", "Parameters": total,
                 "Arithmetic": " + ".join(f"{c:,}" for c in counts) + f" = {total:,}"})
    return pd.DataFrame(rows)


def torchinfo_total(s: AnnSettings) -> int:
    """The parameter count torchinfo reports (a cross-check of layer_table)."""
    from torchinfo import summary

    model = make_mlp(hidden=tuple(s.hidden), activation=s.activation, dropout=s.dropout)
    return int(summary(model, input_size=(1, *IMAGE_SHAPE), verbose=0).total_params)


# --- After training: confusion matrix, per-class accuracy, misclassified digits ---

@dataclass
class Analysis:
    accuracy: float              # % on the 10,000 test images
    confusion: np.ndarray        # (10, 10) counts, rows = true digit, columns = predicted
    per_class: pd.DataFrame      # digit, correct, total, accuracy (%)
    misclassified: pd.DataFrame  # index, true, predicted, confidence: most confident mistakes first


def analyze(model: nn.Module, x_test: torch.Tensor, y_test: torch.Tensor, device: torch.device,
            transform: Callable[[torch.Tensor], torch.Tensor], keep_mistakes: int = 200) -> Analysis:
    probs = predict(model, x_test, device, transform=transform, softmax=True)  # (N, 10) on CPU
    probs = torch.nan_to_num(probs, nan=0.0)  # a diverged model: no confident guesses
    predicted = probs.argmax(dim=1)
    truth = y_test.cpu()
    confusion = torch.bincount(truth * 10 + predicted, minlength=100).view(10, 10).numpy()
    totals = confusion.sum(axis=1)
    correct = np.diag(confusion)
    per_class = pd.DataFrame({"digit": np.arange(10), "correct": correct, "total": totals,
                              "accuracy": 100.0 * correct / np.maximum(totals, 1)})
    wrong = torch.nonzero(predicted != truth).flatten()
    confidence = probs[wrong, predicted[wrong]]
    order = torch.argsort(confidence, descending=True)[:keep_mistakes]
    wrong = wrong[order]
    misclassified = pd.DataFrame({"index": wrong.numpy(), "true": truth[wrong].numpy(),
                                  "predicted": predicted[wrong].numpy(),
                                  "confidence": confidence[order].numpy().astype(float)})
    accuracy = 100.0 * float(correct.sum()) / max(len(truth), 1)
    return Analysis(accuracy, confusion, per_class, misclassified)


def untrained_accuracy(s: AnnSettings, device: torch.device) -> float:
    """Test accuracy of the freshly initialized model: about 10%, it is guessing."""
    x_test, y_test = test_set()
    return evaluate(build_model(s), x_test, y_test, device, transform=s.transform())["accuracy"]


# --- Runs kept for the session ---

@dataclass
class RunRecord:
    run_id: int
    settings: AnnSettings
    reason: str                  # completed | early_stop | diverged | stopped
    message: str
    untrained_accuracy: float
    train_seconds: float
    device: str
    epochs: list[dict]           # the engine's epoch events (plain floats)
    losses: list[dict]           # the engine's logged batch events (step, epoch_float, loss...)
    analysis: Analysis
    state_dict: dict = field(repr=False)  # CPU copy of the weights, for drawing and download

    @property
    def test_accuracy(self) -> float:
        return self.analysis.accuracy

    @property
    def name(self) -> str:
        return f"#{self.run_id}"

    def model(self) -> nn.Module:
        s = self.settings
        model = make_mlp(hidden=tuple(s.hidden), activation=s.activation, dropout=s.dropout)
        model.load_state_dict(self.state_dict)
        return model.eval()

    def usable(self) -> bool:
        """False when the weights hold NaN/inf (a diverged run cannot read digits)."""
        return all(torch.isfinite(v).all() for v in self.state_dict.values())


def record_run(run_id: int, s: AnnSettings, model: nn.Module, history: list[dict],
               end: dict | None, untrained: float, device: torch.device) -> RunRecord:
    """Evaluate a trained (or stopped) model on the test set and pack it as a RunRecord."""
    x_test, y_test = test_set()
    epochs = [e for e in history if e["kind"] == "epoch"]
    losses = [{k: v for k, v in e.items() if k != "probe"} for e in history if e["kind"] == "batch"]
    if end is not None:
        seconds, reason, message = end["elapsed"], end["reason"], end["message"]
    else:
        seconds = max([e["elapsed"] for e in history], default=0.0)
        reason = "stopped"
        message = f"Stopped by you after {len(epochs)} of {s.epochs} epochs."
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    return RunRecord(run_id, s, reason, message, untrained, float(seconds), str(device),
                     epochs, losses, analyze(model, x_test, y_test, device, s.transform()), state)


def runs_table(runs: list[RunRecord]) -> pd.DataFrame:
    """One row per run: its settings, its test accuracy and time (also the CSV download)."""
    rows = []
    for r in runs:
        s = r.settings
        rows.append({"run": r.name, "test acc (%)": round(r.test_accuracy, 2),
                     "time (s)": round(r.train_seconds, 1), "hidden": "-".join(map(str, s.hidden)) or "none",
                     "activation": s.activation, "dropout": s.dropout, "train images": s.n_train,
                     "optimizer": OPTIMIZER_LABELS[s.optimizer], "lr": s.lr,
                     "batch size": s.batch_size, "epochs": s.epochs, "seed": s.seed,
                     "normalization": s.normalization,
                     "epochs run": len(r.epochs), "untrained acc (%)": round(r.untrained_accuracy, 2),
                     "device": r.device, "outcome": r.reason})
    return pd.DataFrame(rows)


def runs_curves(runs: list[RunRecord]) -> pd.DataFrame:
    """Long table for overlaying runs: run, epoch, test accuracy (%), train loss."""
    rows = [{"run": f"{r.name} · {r.settings.label()}", "epoch": e["epoch"],
             "test accuracy (%)": e["val_acc"], "train loss": e["train_loss"]}
            for r in runs for e in r.epochs]
    return pd.DataFrame(rows, columns=["run", "epoch", "test accuracy (%)", "train loss"])


def state_dict_bytes(run: RunRecord) -> bytes:
    """The run's state_dict as torch.save writes it (loads into the 'Show the code' model)."""
    import io

    buffer = io.BytesIO()
    torch.save(run.state_dict, buffer)
    return buffer.getvalue()


# --- Show the code: a runnable plain-PyTorch script for the current settings ---

_OPTIMIZER_CODE = {
    "sgd": "optim.SGD(model.parameters(), lr={lr})",
    "sgd_momentum": "optim.SGD(model.parameters(), lr={lr}, momentum=0.9)",
    "adam": "optim.Adam(model.parameters(), lr={lr})",
    "adamw": "optim.AdamW(model.parameters(), lr={lr})",
    "rmsprop": "optim.RMSprop(model.parameters(), lr={lr})",
}


def generate_code(s: AnnSettings) -> str:
    """Plain PyTorch + torchvision, the notebook's style, for these settings."""
    act = ACTIVATIONS[s.activation].__name__
    layers = ["    nn.Flatten(),  # (N, 1, 28, 28) -> (N, 784)"]
    width = 784
    for size in s.hidden:
        layers.append(f"    nn.Linear({width}, {size}),  # ({width} + 1) x {size} = "
                      f"{(width + 1) * size:,} parameters")
        layers.append(f"    nn.{act}(),")
        if s.dropout > 0:
            layers.append(f"    nn.Dropout({s.dropout:g}),")
        width = size
    layers.append(f"    nn.Linear({width}, 10),  # ({width} + 1) x 10 = {(width + 1) * 10:,} parameters")
    subset = ("" if s.n_train >= N_TRAIN_MAX else
              f"train_set = Subset(train_set, range({s.n_train}))  # the first {s.n_train:,} images\n")
    optimizer = _OPTIMIZER_CODE[s.optimizer].format(lr=repr(s.lr))
    mean, std = s.mean_std
    norm = ("" if s.normalization == "none" else
            f"    transforms.Normalize(({mean!r},), ({std!r},)),  # "
            + ("0..1 -> -1..1\n" if s.normalization == "notebook" else "MNIST's mean and std\n"))
    return f'''"""MNIST with a fully connected network ({s.architecture()}): generated by the Deep Learning Playground."""
import time

import torch
from torch import nn, optim
from torch.utils.data import DataLoader, Subset
from torchvision import datasets, transforms

DATA_ROOT = "./data"  # torchvision downloads MNIST here the first time
EPOCHS = {s.epochs}
BATCH_SIZE = {s.batch_size}

torch.manual_seed({s.seed})
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

transform = transforms.Compose([
    transforms.ToTensor(),  # uint8 0..255 -> float 0..1, shape (1, 28, 28)
{norm}])
train_set = datasets.MNIST(DATA_ROOT, train=True, download=True, transform=transform)
test_set = datasets.MNIST(DATA_ROOT, train=False, download=True, transform=transform)
{subset}train_loader = DataLoader(train_set, batch_size=BATCH_SIZE, shuffle=True)
test_loader = DataLoader(test_set, batch_size=1000)

model = nn.Sequential(
{chr(10).join(layers)}
).to(device)
print(model)
print("parameters:", sum(p.numel() for p in model.parameters()))

criterion = nn.CrossEntropyLoss()
optimizer = {optimizer}


def test_accuracy():
    model.eval()
    correct = 0
    with torch.no_grad():
        for images, labels in test_loader:
            images, labels = images.to(device), labels.to(device)
            correct += (model(images).argmax(dim=1) == labels).sum().item()
    return 100.0 * correct / len(test_set)


print(f"untrained test accuracy: {{test_accuracy():.2f}}%")  # about 10%: guessing
start = time.perf_counter()
for epoch in range(1, EPOCHS + 1):
    model.train()
    running_loss = 0.0
    for images, labels in train_loader:
        images, labels = images.to(device), labels.to(device)
        optimizer.zero_grad()
        loss = criterion(model(images), labels)
        loss.backward()
        optimizer.step()
        running_loss += loss.item() * len(images)
    print(f"epoch {{epoch}}: train loss {{running_loss / len(train_set):.4f}}, "
          f"test accuracy {{test_accuracy():.2f}}%, {{time.perf_counter() - start:.1f}} s")

torch.save(model.state_dict(), "mnist_ann.pt")  # same format as the page's download
'''
