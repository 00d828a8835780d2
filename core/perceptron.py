"""The perceptron lesson: activations, toy 2-D data, the perceptron rule, a tiny MLP, losses,
and gradient descent fitting a cubic to sin(x)."""
import dataclasses
import functools
import math
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch.nn import functional

from core import models
from core.engine import TrainConfig, build_seeded, optimizer_spec, predict, train
from core.words import LearnerError, english, words

# --- Activation functions (derivatives by torch.autograd) -----------------------------------

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu")
# Names, not words: the course writes them the same in every language.
ACTIVATION_LABELS = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "ReLU",
                     "leaky_relu": "Leaky ReLU", "elu": "ELU", "gelu": "GELU"}
# LaTeX of f(x) only: the derivative curves are never written by hand, autograd computes them.
ACTIVATION_FORMULAS = {
    "sigmoid": r"\sigma(x) = \frac{1}{1 + e^{-x}}",
    "tanh": r"\tanh(x) = \frac{e^{x} - e^{-x}}{e^{x} + e^{-x}}",
    "relu": r"\mathrm{ReLU}(x) = \max(0, x)",
    "leaky_relu": r"\mathrm{LeakyReLU}(x) = \begin{cases} x & x \ge 0 \\ \alpha x & x < 0 \end{cases}",
    "elu": r"\mathrm{ELU}(x) = \begin{cases} x & x > 0 \\ \alpha (e^{x} - 1) & x \le 0 \end{cases}",
    "gelu": r"\mathrm{GELU}(x) = x\,\Phi(x)",
}
# The page's other formulas (LaTeX is the same in every language, so it stays out of content/).
FORMULAS = {
    "neuron": r"y = f(w_1 x_1 + w_2 x_2 + b)",
    "softmax": r"\mathrm{softmax}(z)_i = \frac{e^{z_i / T}}{\sum_j e^{z_j / T}}"
               r"\qquad \frac{\partial p_i}{\partial z_j} = \frac{p_i(\delta_{ij} - p_j)}{T}",
    "xor_proof": r"\begin{aligned} (0,0)\mapsto 0:&\ b < 0 & (1,1)\mapsto 0:&\ w_1 + w_2 + b < 0 \\"
                 r" (1,0)\mapsto 1:&\ w_1 + b \ge 0 & (0,1)\mapsto 1:&\ w_2 + b \ge 0 \end{aligned}",
    "rule": r"\hat y = f(w \cdot x + b), \qquad w \leftarrow w + \eta\,(y - \hat y)\,x, "
            r"\qquad b \leftarrow b + \eta\,(y - \hat y)",
    "mse_mae": r"\mathrm{MSE} = \frac{1}{N}\sum_i (\hat y_i - y_i)^2 \qquad "
               r"\mathrm{MAE} = \frac{1}{N}\sum_i |\hat y_i - y_i|",
    "bce": r"\mathrm{BCE} = -\big[y \log p + (1 - y) \log(1 - p)\big]",
    "ce": r"\mathrm{CE} = -\sum_k y_k \log p_k = -\log p_{\text{true}} = -\ln 0.90 = ",  # + the value
}


def activate(name: str, x: torch.Tensor, slope: float = 0.1, alpha: float = 1.0) -> torch.Tensor:
    """f(x) for one of ACTIVATIONS; `slope` is Leaky ReLU's negative slope, `alpha` ELU's."""
    if name == "sigmoid":
        return torch.sigmoid(x)
    if name == "tanh":
        return torch.tanh(x)
    if name == "relu":
        return torch.relu(x)
    if name == "leaky_relu":
        return functional.leaky_relu(x, negative_slope=slope)
    if name == "elu":
        return functional.elu(x, alpha=alpha)
    if name == "gelu":
        return functional.gelu(x)
    raise ValueError(f"Unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}")


def derivative(name: str, x: torch.Tensor, slope: float = 0.1, alpha: float = 1.0) -> torch.Tensor:
    """f'(x) by torch.autograd: each output depends on one input, so grad of the sum is f'."""
    x = x.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(activate(name, x, slope, alpha).sum(), x)
    return grad


def activation_curves(x_min: float = -5.0, x_max: float = 5.0, points: int = 401,
                      slope: float = 0.1, alpha: float = 1.0) -> pd.DataFrame:
    """Long table (activation, x, series "f(x)" | "f'(x)", value) for every activation."""
    if not x_max > x_min:
        raise ValueError("x_max must be larger than x_min")
    x = torch.linspace(x_min, x_max, points, dtype=torch.float64)
    frames = []
    for name in ACTIVATIONS:
        y = activate(name, x, slope, alpha)
        dy = derivative(name, x, slope, alpha)
        for series, values in (("f(x)", y), ("f'(x)", dy)):
            frames.append(pd.DataFrame({"activation": name, "x": x.numpy(), "series": series,
                                        "value": values.detach().numpy()}))
    return pd.concat(frames, ignore_index=True)


def softmax_with_jacobian(logits, temperature: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """softmax(z / T) and its Jacobian d p_i / d z_j, the latter by torch.autograd."""
    z = torch.as_tensor(np.asarray(logits, dtype=np.float64))
    if z.ndim != 1 or len(z) < 2:
        raise ValueError("Give at least two logits.")
    if not torch.isfinite(z).all():
        raise ValueError("Logits must be finite numbers.")
    if not temperature > 0:
        raise ValueError("The temperature must be positive.")

    def _softmax(v):
        return torch.softmax(v / temperature, dim=0)

    probs = _softmax(z)
    jacobian = torch.autograd.functional.jacobian(_softmax, z)  # (K, K)
    return probs.numpy(), jacobian.numpy()


MAX_LOGITS = 20  # one bar per class: more would not fit the chart


def parse_logits(text: str) -> list[float]:
    """'2, 1, 0.1' -> [2.0, 1.0, 0.1]; a LearnerError naming the reason otherwise."""
    parts = [p for p in text.replace(";", ",").replace(" ", ",").split(",") if p.strip()]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise LearnerError("perceptron.logits_unreadable", text=text) from None
    if len(values) < 2:
        raise LearnerError("perceptron.logits_too_few")
    if len(values) > MAX_LOGITS:
        raise LearnerError("perceptron.logits_too_many", limit=MAX_LOGITS)
    if not all(math.isfinite(v) for v in values):
        raise LearnerError("perceptron.logits_not_finite")
    return values


# --- Vanishing gradient ----------------------------------------------------------------------

VANISHING_ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu")


def gradient_through_layers(depth: int, z: float = 1.0, slope: float = 0.1,
                            names=VANISHING_ACTIVATIONS) -> pd.DataFrame:
    """Backprop along one path through `depth` layers whose pre-activation is z (weights 1).

    The chain rule multiplies one f'(z) per layer, so the surviving gradient is f'(z)^n.
    Also adds sigmoid's best case 0.25^n (its largest derivative, at z = 0) as "sigmoid_best".
    Rows: layer (1..depth), activation (a name of `names`, or "sigmoid_best"), gradient.
    """
    if depth < 1:
        raise ValueError("depth must be at least 1")
    layers = torch.arange(1, depth + 1, dtype=torch.float64)
    rows = []
    for name in names:
        d = derivative(name, torch.tensor([z], dtype=torch.float64), slope).item()
        rows.append(pd.DataFrame({"layer": layers.numpy(), "activation": name,
                                  "gradient": (torch.tensor(d, dtype=torch.float64) ** layers).numpy()}))
    grid = torch.linspace(-6, 6, 1201, dtype=torch.float64)  # includes 0, where sigmoid' peaks
    best = derivative("sigmoid", grid).max()
    rows.append(pd.DataFrame({"layer": layers.numpy(), "activation": "sigmoid_best",
                              "gradient": (best ** layers).numpy()}))
    return pd.concat(rows, ignore_index=True)


# --- Toy 2-D datasets ------------------------------------------------------------------------

DATASETS = ("AND", "OR", "XOR", "blobs", "moons", "circles")
LINEARLY_SEPARABLE = {"AND": True, "OR": True, "XOR": False, "blobs": True, "moons": False,
                      "circles": False}


def make_dataset(name, n=200, noise=0.1, seed=0):
    """Toy 2-D classification data: X float32 (n, 2), y int64 (n,) with labels 0/1.

    AND / OR / XOR: points jittered around the four corners (0,0), (0,1), (1,0), (1,1),
    labelled by the logic gate (the truth table of the course). blobs: two Gaussian clouds.
    moons: two interleaving half circles. circles: a small circle inside a large one.
    `noise` is the standard deviation of the Gaussian jitter added to every point.
    """
    rng = np.random.default_rng(seed)
    if n < 4:
        raise ValueError("need at least 4 points")
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
        raise ValueError(f"Unknown dataset {name!r}; choose AND, OR, XOR, blobs, moons or circles")
    points = points + noise * rng.normal(size=(n, 2))
    order = rng.permutation(n)  # mixed order, so no epoch sees one class first
    X = torch.tensor(points[order], dtype=torch.float32)
    y = torch.tensor(labels[order], dtype=torch.int64)
    return X, y


@dataclass(frozen=True)
class ToyData:
    """The points sections 3 and 4 share; a run keeps them to notice when the learner changes them."""
    name: str = "AND"            # one of DATASETS
    n_points: int = 200          # points, balanced between the two classes
    noise: float = 0.1           # standard deviation of the Gaussian jitter
    seed: int = 0                # the random draw (the page's Regenerate button counts it up)

    def make(self) -> tuple[torch.Tensor, torch.Tensor]:
        return make_dataset(self.name, self.n_points, self.noise, self.seed)

    def recipe_values(self) -> dict:
        """The data constants of core/recipes/perceptron_mlp.py."""
        return {"DATASET": self.name, "N_POINTS": self.n_points, "NOISE": self.noise, "DATA_SEED": self.seed}


def plot_bounds(X: torch.Tensor, margin: float = 0.4) -> tuple[float, float, float, float]:
    """(x1_min, x1_max, x2_min, x2_max) around the data, with a margin."""
    lo, hi = X.min(dim=0).values, X.max(dim=0).values
    return (lo[0].item() - margin, hi[0].item() + margin, lo[1].item() - margin, hi[1].item() + margin)


def grid_points(bounds, resolution: int = 50) -> tuple[np.ndarray, np.ndarray, torch.Tensor]:
    """Cell centres of a resolution x resolution grid: xs (R,), ys (R,), points (R*R, 2) row-major in y."""
    x1_min, x1_max, x2_min, x2_max = bounds
    xs = np.linspace(x1_min, x1_max, resolution)
    ys = np.linspace(x2_min, x2_max, resolution)
    gx, gy = np.meshgrid(xs, ys)  # (R, R) each, rows follow x2
    points = torch.tensor(np.stack([gx.ravel(), gy.ravel()], axis=1), dtype=torch.float32)
    return xs, ys, points


def grid_frame(xs: np.ndarray, ys: np.ndarray, values: np.ndarray) -> pd.DataFrame:
    """Heatmap cells (x1, x1_end, x2, x2_end, value) for Altair's mark_rect."""
    dx = (xs[1] - xs[0]) / 2 if len(xs) > 1 else 0.5
    dy = (ys[1] - ys[0]) / 2 if len(ys) > 1 else 0.5
    gx, gy = np.meshgrid(xs, ys)
    return pd.DataFrame({"x1": (gx - dx).ravel(), "x1_end": (gx + dx).ravel(),
                         "x2": (gy - dy).ravel(), "x2_end": (gy + dy).ravel(),
                         "value": np.asarray(values, dtype=float).ravel()})


# --- The perceptron ----------------------------------------------------------------------------

def perceptron_output(X: torch.Tensor, w1: float, w2: float, b: float, activation: str = "step") -> np.ndarray:
    """Output of one neuron y = f(w1 x1 + w2 x2 + b): step gives 0/1, sigmoid a probability."""
    z = X.double() @ torch.tensor([w1, w2], dtype=torch.float64) + b  # (N,)
    if activation == "step":
        return (z >= 0).double().numpy()
    if activation == "sigmoid":
        return torch.sigmoid(z).numpy()
    raise ValueError("activation must be 'step' or 'sigmoid'")


def perceptron_accuracy(X: torch.Tensor, y: torch.Tensor, w1: float, w2: float, b: float) -> float:
    """% of points on the right side of the line (class 1 where w.x + b >= 0, for step and sigmoid)."""
    predicted = perceptron_output(X, w1, w2, b, "step")
    return 100.0 * float((predicted == y.numpy()).mean())


def line_segment(w1: float, w2: float, b: float, bounds) -> list[tuple[float, float]]:
    """The part of the line w1 x1 + w2 x2 + b = 0 inside the plot box; [] if it misses the box."""
    x1_min, x1_max, x2_min, x2_max = bounds
    if abs(w1) < 1e-12 and abs(w2) < 1e-12:
        return []
    candidates = []
    if abs(w2) > 1e-12:
        for x1 in (x1_min, x1_max):
            candidates.append((x1, -(w1 * x1 + b) / w2))
    if abs(w1) > 1e-12:
        for x2 in (x2_min, x2_max):
            candidates.append((-(w2 * x2 + b) / w1, x2))
    eps = 1e-9
    inside = [(p, q) for p, q in candidates
              if x1_min - eps <= p <= x1_max + eps and x2_min - eps <= q <= x2_max + eps]
    inside = sorted(set((round(p, 9), round(q, 9)) for p, q in inside))
    return [inside[0], inside[-1]] if len(inside) >= 2 else []


@dataclass
class PerceptronConfig:
    lr: float = 0.1              # learning rate eta in w <- w + eta (y - y_hat) x
    epochs: int = 20             # passes over the data (stops early once every point is right)
    activation: str = "step"     # "step": Rosenblatt's rule; "sigmoid": the same update with sigma(z)
    w1: float = 0.0              # starting weight of x1 (0, or the learner's slider on the page)
    w2: float = 0.0              # starting weight of x2
    b: float = 0.0               # starting bias
    seed: int = 0                # order of the points in each epoch
    record_updates: int = 200    # step rule: also yield the first this-many single updates (for replay)


def train_perceptron(X: torch.Tensor, y: torch.Tensor, config: PerceptronConfig) -> Iterator[dict]:
    """The perceptron learning rule, one sample at a time; yields a snapshot per epoch.

    For each point: y_hat = f(w.x + b); w <- w + lr (y - y_hat) x; b <- b + lr (y - y_hat).
    With the step function only mistakes move the line. Events (all but the end with progress 0..1):
      update: (step rule, the first `record_updates` only) epoch, update (count), w1, w2, b after
              the update, and the point that caused it: x1, x2, label
      epoch:  epoch (0 = the start), w1, w2, b, mistakes (misclassified points met during the
              epoch), accuracy (% after the epoch)
      end:    reason "converged" | "completed", words (content/<lang>/perceptron.md's
              rule_converged | rule_completed), message (their English), epochs_run, accuracy,
              wrong (points)
    """
    if config.activation not in ("step", "sigmoid"):
        raise ValueError("activation must be 'step' or 'sigmoid'")
    if config.epochs < 1:
        raise ValueError("epochs must be at least 1")
    points = X.double().numpy()
    labels = y.numpy().astype(float)
    w = np.array([config.w1, config.w2], dtype=float)
    b = float(config.b)
    rng = np.random.default_rng(config.seed)
    accuracy = perceptron_accuracy(X, y, w[0], w[1], b)
    yield {"kind": "epoch", "epoch": 0, "w1": float(w[0]), "w2": float(w[1]), "b": b, "mistakes": None,
           "accuracy": accuracy, "progress": 0.0}
    epoch = updates = 0
    for epoch in range(1, config.epochs + 1):
        mistakes = 0
        for seen, i in enumerate(rng.permutation(len(points)), start=1):
            z = points[i] @ w + b
            if config.activation == "step":
                out = 1.0 if z >= 0 else 0.0
            else:
                out = 1.0 / (1.0 + math.exp(-max(min(z, 500.0), -500.0)))
            error = labels[i] - out
            mistakes += int((z >= 0) != (labels[i] == 1.0))
            w += config.lr * error * points[i]
            b += config.lr * error
            if config.activation == "step" and error != 0.0:
                updates += 1
                if updates <= config.record_updates:
                    yield {"kind": "update", "epoch": epoch, "update": updates, "w1": float(w[0]),
                           "w2": float(w[1]), "b": b, "x1": float(points[i][0]),
                           "x2": float(points[i][1]), "label": int(labels[i]),
                           "progress": (epoch - 1 + seen / len(points)) / config.epochs}
        accuracy = perceptron_accuracy(X, y, w[0], w[1], b)
        yield {"kind": "epoch", "epoch": epoch, "w1": float(w[0]), "w2": float(w[1]), "b": b,
               "mistakes": mistakes, "accuracy": accuracy, "progress": epoch / config.epochs}
        if accuracy == 100.0:
            said = words("perceptron.rule_converged", epochs_run=epoch)
            yield {"kind": "end", "reason": "converged", "epochs_run": epoch, "accuracy": accuracy, "wrong": 0,
                   "words": said, "message": english(said)}
            return
    wrong = round(len(points) * (100.0 - accuracy) / 100.0)
    said = words("perceptron.rule_completed", epochs_run=epoch, wrong=wrong, accuracy=accuracy)
    yield {"kind": "end", "reason": "completed", "epochs_run": epoch, "accuracy": accuracy, "wrong": wrong,
           "words": said, "message": english(said)}


PACED_FIRST, PACED_PAUSE = 30, 0.12  # the rule's first events are shown this slowly (seconds each)


def paced(events: Iterable[dict], first: int = PACED_FIRST, pause: float = PACED_PAUSE) -> Iterator[dict]:
    """The same events, with a pause after each of the `first` ones: a live view that redraws
    each of them shows the first updates slowly enough to follow, then the rest at full speed."""
    for index, event in enumerate(events):
        yield event
        if index < first and event["kind"] != "end":
            time.sleep(pause)


# --- From perceptron to MLP -----------------------------------------------------------------

MLP_LEARNING_RATES = [0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0]  # the slider's stops

@dataclass
class MLPConfig:
    hidden: int = 4              # neurons in the single hidden layer (TensorFlow Playground starts with 4)
    activation: str = "tanh"     # one of core.models.ACTIVATIONS
    lr: float = 0.03             # learning rate
    optimizer: str = "adam"      # one of core.engine.OPTIMIZERS
    epochs: int = 200            # passes over the data
    batch_size: int = 0          # 0 = full batch (one step per epoch, like TensorFlow Playground's default)
    seed: int = 0                # weight init and batch order
    snapshots: int = 40          # at most this many decision-region grids per run
    resolution: int = 50         # grid cells per side of the decision-region heatmap

    def train_config(self, n_points: int) -> TrainConfig:
        """The engine's settings for `n_points` training points: one logged batch per epoch."""
        batch_size = self.batch_size if self.batch_size > 0 else n_points
        return TrainConfig(epochs=self.epochs, batch_size=batch_size, lr=self.lr, optimizer=self.optimizer,
                           seed=self.seed, log_every=math.ceil(n_points / batch_size), task="classification")

    def recipe_values(self, data: ToyData) -> dict:
        """The constants of core/recipes/perceptron_mlp.py for this model on `data` (the optimizer line aside)."""
        return {**data.recipe_values(), "HIDDEN": self.hidden,
                "ACTIVATION": models.ACTIVATIONS[self.activation].__name__, "EPOCHS": self.epochs,
                "BATCH_SIZE": self.batch_size, "LR": self.lr, "SEED": self.seed}

    @property
    def parameters(self) -> int:
        """Weights and biases of 2 -> hidden -> 2."""
        return 2 * self.hidden + self.hidden + 2 * self.hidden + 2


def make_toy_mlp(hidden: int = 4, activation: str = "tanh") -> torch.nn.Sequential:
    """2 -> hidden -> 2: one hidden layer, two logits (cross-entropy over the two classes)."""
    return models.make_mlp(in_features=2, hidden=(hidden,), out_features=2, activation=activation)


def train_mlp(X: torch.Tensor, y: torch.Tensor, config: MLPConfig, device: torch.device,
              bounds=None) -> Iterator[dict]:
    """Train the toy MLP through core.engine.train; adds decision-region "grid" events.

    Passes on the engine's batch/epoch/end events and, at the start and every few epochs,
    yields {kind: "grid", epoch, progress, probs (R, R) numpy = P(class 1) over the plot,
    accuracy (%), predicted (N,) numpy class per point, hidden: [(w1, w2, b), ...] one line per
    hidden neuron}.
    """
    if config.hidden < 1:
        raise ValueError("the hidden layer needs at least one neuron")
    model = build_seeded(lambda: make_toy_mlp(config.hidden, config.activation), config.seed)
    engine_config = config.train_config(len(X))
    bounds = bounds or plot_bounds(X)
    _, _, grid = grid_points(bounds, config.resolution)
    every = max(1, math.ceil(config.epochs / max(1, config.snapshots)))

    def _grid_event(epoch: int) -> dict | None:
        probs = predict(model, grid, device, softmax=True)[:, 1]  # (R*R,) P(class 1)
        if not torch.isfinite(probs).all():
            return None  # weights blew up after the last step; the engine reports the divergence
        first = model[1]  # Flatten, Linear(2, hidden), activation, Linear(hidden, 2)
        hidden = [(float(w[0]), float(w[1]), float(bias))
                  for w, bias in zip(first.weight.detach().cpu(), first.bias.detach().cpu())]
        predicted = predict(model, X, device).argmax(dim=1)  # (N,) class per data point
        return {"kind": "grid", "epoch": epoch, "progress": epoch / config.epochs, "hidden": hidden,
                "accuracy": 100.0 * float((predicted == y).float().mean()),
                "predicted": predicted.numpy(),
                "probs": probs.reshape(config.resolution, config.resolution).numpy()}  # (R, R)

    model.to(device)
    first_grid = _grid_event(0)
    if first_grid is not None:
        yield first_grid
    for event in train(model, (X, y), engine_config, device):
        yield event
        if event["kind"] == "end":
            return
        if event["kind"] == "epoch" and (event["epoch"] % every == 0 or event["epoch"] == config.epochs):
            grid_event = _grid_event(event["epoch"])  # accuracy after the epoch's last step
            if grid_event is not None:
                yield grid_event


# --- Loss functions --------------------------------------------------------------------------

COURSE_CE_EXAMPLE = ([0.02, 0.90, 0.05, 0.01, 0.02], 1)  # probabilities, true class -> CE 0.1053


def regression_losses(y_true, y_pred) -> dict:
    """MSE and MAE (torch.nn.functional) for two equal-length sequences."""
    t = torch.tensor(np.asarray(y_true, dtype=np.float64))
    p = torch.tensor(np.asarray(y_pred, dtype=np.float64))
    if t.shape != p.shape or t.numel() == 0:
        raise ValueError("Targets and predictions must be non-empty and of the same length.")
    if not (torch.isfinite(t).all() and torch.isfinite(p).all()):
        raise ValueError("Every target and prediction must be a number.")
    return {"mse": functional.mse_loss(p, t).item(), "mae": functional.l1_loss(p, t).item()}


def table_errors(table: pd.DataFrame, outlier: float = 0.0) -> tuple[np.ndarray, np.ndarray, int]:
    """Targets and predictions (column 0 and 1) of the rows whose cells are numbers, `outlier`
    added to the last prediction; and how many rows were left out."""
    rows = table.apply(pd.to_numeric, errors="coerce").dropna()
    targets, predictions = rows.iloc[:, 0].to_numpy(dtype=float), rows.iloc[:, 1].to_numpy(dtype=float).copy()
    if len(predictions):
        predictions[-1] += outlier
    return targets, predictions, len(table) - len(rows)


def pointwise_regression_curves(max_error: float = 3.0, points: int = 121) -> pd.DataFrame:
    """Loss of one sample against its error e = prediction - target: series "mse" (e^2) and "mae" (|e|)."""
    e = torch.linspace(-max_error, max_error, points, dtype=torch.float64)
    zero = torch.zeros_like(e)
    return pd.concat([
        pd.DataFrame({"error": e.numpy(), "loss": functional.mse_loss(e, zero, reduction="none").numpy(),
                      "series": "mse"}),
        pd.DataFrame({"error": e.numpy(), "loss": functional.l1_loss(e, zero, reduction="none").numpy(),
                      "series": "mae"}),
    ], ignore_index=True)


def binary_cross_entropy(p: float, label: int) -> float:
    """-[y log p + (1 - y) log(1 - p)]; inf when the true class gets probability 0."""
    if not 0.0 <= p <= 1.0:
        raise ValueError("p must be a probability in [0, 1]")
    q = p if label == 1 else 1.0 - p
    return math.inf if q == 0.0 else -math.log(q)


def binary_cross_entropy_curves(points: int = 400, p_min: float = 1e-3) -> pd.DataFrame:
    """BCE against the predicted P(class 1): rows (p, loss, label) for a true label 1 and 0 (torch)."""
    p = torch.linspace(p_min, 1 - p_min, points, dtype=torch.float64)
    frames = []
    for label in (1, 0):
        loss = functional.binary_cross_entropy(p, torch.full_like(p, float(label)), reduction="none")
        frames.append(pd.DataFrame({"p": p.numpy(), "loss": loss.numpy(), "label": label}))
    return pd.concat(frames, ignore_index=True)


def cross_entropy_from_probs(probs, target: int) -> float:
    """Categorical CE of one sample from probabilities: -log p[target] via functional.nll_loss(log p)."""
    p = torch.as_tensor(np.asarray(probs, dtype=np.float64))
    if p.ndim != 1 or not 0 <= target < len(p):
        raise ValueError("target must index one of the probabilities")
    if (p < 0).any() or abs(p.sum().item() - 1.0) > 1e-6:
        raise ValueError("probabilities must be non-negative and sum to 1")
    return functional.nll_loss(torch.log(p).unsqueeze(0), torch.tensor([target])).item()  # (1, K) log-probs


def with_true_class_prob(probs, target: int, p_true: float) -> list[float]:
    """Set P(target) = p_true and rescale the other classes to share 1 - p_true in their old ratio."""
    probs = [float(v) for v in probs]
    if not 0.0 <= p_true <= 1.0:
        raise ValueError("p_true must be in [0, 1]")
    others = sum(v for i, v in enumerate(probs) if i != target)
    k = len(probs) - 1
    out = []
    for i, v in enumerate(probs):
        if i == target:
            out.append(p_true)
        else:
            out.append((1.0 - p_true) * (v / others if others > 0 else 1.0 / k))
    return out


def cross_entropy_curve(p_min: float = 1e-4, points: int = 300) -> pd.DataFrame:
    """-ln p for p from p_min to 1 (log-spaced), to show the blow-up as p -> 0."""
    p = torch.logspace(math.log10(p_min), 0, points, dtype=torch.float64)
    return pd.DataFrame({"p": p.numpy(), "loss": (-torch.log(p)).numpy()})


# --- Gradient descent: fit a cubic to sin(x) ------------------------------------------------

CUBIC_METHODS = ("plain", "momentum", "adam")
CUBIC_DEFAULT_LR = {"plain": 1e-6, "momentum": 1e-6, "adam": 1e-2}
CUBIC_LEARNING_RATES = [1e-8, 3e-8, 1e-7, 3e-7, 1e-6, 2e-6, 5e-6, 1e-5, 3e-5, 1e-4, 1e-3, 3e-3, 1e-2,
                        3e-2, 0.1, 0.3, 1.0]  # the slider's stops, from far too small to Adam's range
# The engine's optimizer for each update rule: "plain" is SGD without momentum, written out by hand.
CUBIC_OPTIMIZERS = {"plain": "sgd", "momentum": "sgd_momentum", "adam": "adam"}


@dataclass
class CubicFitConfig:
    method: str = "plain"        # "plain" (the course's manual update), "momentum" or "adam"
    lr: float = 1e-6             # the course's value for the summed loss; Adam needs ~1e-2
    steps: int = 2000            # gradient steps (the course runs 2,000)
    momentum: float = 0.9        # for "momentum"
    n_points: int = 1000         # x evenly spaced on [-pi, pi], as in the course exercise
    seed: int = 0                # the random starting coefficients
    log_every: int = 0           # steps between "step" events; 0 = about 200 per run

    def train_config(self) -> TrainConfig:
        """The update rule as the engine's optimizer settings (full batch: one step per "epoch")."""
        return TrainConfig(epochs=self.steps, batch_size=self.n_points, lr=self.lr,
                           optimizer=CUBIC_OPTIMIZERS[self.method], momentum=self.momentum,
                           seed=self.seed, task="regression")

    def recipe_values(self) -> dict:
        """The constants of core/recipes/perceptron_cubic.py (the optimizer line aside)."""
        return {"METHOD": self.method, "N_POINTS": self.n_points, "STEPS": self.steps, "LR": self.lr,
                "SEED": self.seed}


def cubic_problem(n_points: int = 1000, seed: int = 0) -> dict:
    """The data, the random start, the best possible cubic (least squares) and the stable-lr limit."""
    x = torch.linspace(-math.pi, math.pi, n_points)
    y = torch.sin(x)
    start = torch.randn(4, generator=torch.Generator().manual_seed(seed))  # a, b, c, d
    features = torch.stack([torch.ones_like(x), x, x ** 2, x ** 3], dim=1).double()  # (N, 4)
    best = torch.linalg.lstsq(features, y.double().unsqueeze(1)).solution.squeeze(1)
    # Summed squared error has Hessian 2 X^T X: plain gradient descent is stable for lr < 2/lambda_max.
    lam_max = torch.linalg.eigvalsh(2 * features.T @ features).max().item()
    best_loss = ((features @ best - y.double()) ** 2).sum().item()
    return {"x": x.numpy(), "y": y.numpy(), "start": start.tolist(), "best": best.tolist(),
            "best_loss": best_loss, "stable_lr": 2.0 / lam_max}


def cubic_values(x: np.ndarray, coefficients) -> np.ndarray:
    a, b, c, d = coefficients
    return a + b * x + c * x ** 2 + d * x ** 3


def fit_cubic(config: CubicFitConfig) -> Iterator[dict]:
    """Fit y = a + b x + c x^2 + d x^3 to sin(x) by gradient descent on the summed squared error.

    Gradients by autograd (loss.backward()); the update is the course's manual
    `w -= lr * w.grad`, or the torch.optim optimizer `config.train_config()` names (SGD with
    momentum, Adam). Events:
      step: step, progress, loss, a, b, c, d  (every log_every steps and the last)
      end:  reason "completed" | "diverged", words (content/<lang>/perceptron.md's sine_finished,
            sine_diverged or sine_diverged_last), message (their English), steps_run,
            initial_loss, final_loss, coefficients [a, b, c, d] (None when diverged), lr; when
            diverged also at_step (None: after the last step) and loss (the value it reached,
            NaN or inf included)
    A loss that becomes NaN/inf, or grows 1000x above its start, ends the run as "diverged".
    """
    if config.method not in CUBIC_METHODS:
        raise ValueError(f"method must be one of {', '.join(CUBIC_METHODS)}")
    if config.steps < 1 or config.n_points < 2 or not config.lr > 0:
        raise ValueError("steps must be >= 1, n_points >= 2 and lr > 0")
    x = torch.linspace(-math.pi, math.pi, config.n_points)
    y = torch.sin(x)
    coef = torch.randn(4, generator=torch.Generator().manual_seed(config.seed)).requires_grad_(True)
    optimizer = None
    if config.method != "plain":
        name, kwargs = optimizer_spec(config.train_config())
        optimizer = getattr(torch.optim, name)([coef], lr=config.lr, **kwargs)
    log_every = config.log_every or max(1, config.steps // 200)
    initial_loss = None
    loss_value = math.nan
    for step in range(1, config.steps + 1):
        a, b, c, d = coef
        y_pred = a + b * x + c * x ** 2 + d * x ** 3
        loss = (y_pred - y).pow(2).sum()
        loss_value = loss.item()  # a CPU scalar, needed at once to catch divergence
        if initial_loss is None:
            initial_loss = loss_value
        if not math.isfinite(loss_value) or loss_value > 1e3 * initial_loss:
            said = words("perceptron.sine_diverged", at_step=step, loss=loss_value, lr=config.lr)
            yield {"kind": "end", "reason": "diverged", "steps_run": step - 1, "at_step": step,
                   "loss": loss_value, "lr": config.lr,
                   "initial_loss": initial_loss, "final_loss": None, "coefficients": None,
                   "words": said, "message": english(said)}
            return
        if optimizer is None:
            loss.backward()
            with torch.no_grad():
                coef -= config.lr * coef.grad
            coef.grad = None
        else:
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        if step % log_every == 0 or step == config.steps or step == 1:
            a, b, c, d = (v.item() for v in coef.detach())
            yield {"kind": "step", "step": step, "progress": step / config.steps, "loss": loss_value,
                   "a": a, "b": b, "c": c, "d": d}
    with torch.no_grad():
        a, b, c, d = coef
        final_loss = (a + b * x + c * x ** 2 + d * x ** 3 - y).pow(2).sum().item()
    if not math.isfinite(final_loss) or final_loss > 1e3 * initial_loss:
        said = words("perceptron.sine_diverged_last", loss=final_loss, lr=config.lr)
        yield {"kind": "end", "reason": "diverged", "steps_run": config.steps, "at_step": None,
               "loss": final_loss, "lr": config.lr,
               "initial_loss": initial_loss, "final_loss": None, "coefficients": None,
               "words": said, "message": english(said)}
        return
    said = words("perceptron.sine_finished", steps_run=config.steps, initial_loss=initial_loss,
                 final_loss=final_loss, drop=100 * (1 - final_loss / initial_loss))
    yield {"kind": "end", "reason": "completed", "steps_run": config.steps, "lr": config.lr,
           "initial_loss": initial_loss,
           "final_loss": final_loss, "coefficients": [v.item() for v in coef.detach()],
           "words": said, "message": english(said)}


# --- How long the page's buttons take ------------------------------------------------------------

def _timed(events: Iterable[dict]) -> tuple[float, int]:
    """Seconds to drain `events` here, and how many there were."""
    started, count = time.perf_counter(), 0
    for _ in events:
        count += 1
    return time.perf_counter() - started, count


TIMED_VISITS = 20_000  # points the rule's estimate visits at most (epochs × points): the rest is scaled
TIMED_MLP_STEPS = 300  # engine steps the MLP's estimate takes at most, in its two timed runs together


def estimate_rule_seconds(X: torch.Tensor, y: torch.Tensor, config: PerceptronConfig) -> float:
    """The rule itself plus the pauses `paced` adds: run for at most TIMED_VISITS point visits
    (it takes milliseconds); a run that needs more epochs is scaled to all of them (at most: it
    may converge sooner)."""
    epochs = max(1, min(config.epochs, TIMED_VISITS // max(1, len(X))))
    seconds, count = _timed(train_perceptron(X, y, dataclasses.replace(config, epochs=epochs)))
    if epochs < config.epochs and count:
        seconds, count = seconds * config.epochs / epochs, max(count, PACED_FIRST + 1)
    return seconds + min(PACED_FIRST, count - 1) * PACED_PAUSE


def _two_point(run, total: int, short: int = 5, longer: int = 25) -> float:
    """Seconds for `total` units (epochs, steps), from `run(n)` timed at two lengths: a fixed
    start-up cost plus a cost per unit (a single timing would count start-up per unit)."""
    if total <= longer:
        return run(total)
    run(1)  # warm-up: the first call pays for allocations and kernels' set-up
    first, second = run(short), run(longer)
    per_unit = max(0.0, (second - first) / (longer - short))
    return max(0.0, first - per_unit * short) + per_unit * total


def estimate_mlp_seconds(X: torch.Tensor, y: torch.Tensor, config: MLPConfig, device: torch.device,
                         bounds=None) -> float:
    """A few epochs timed twice (at most TIMED_MLP_STEPS steps in all), extended to all of them,
    the decision-region grids drawn as often as in the whole run. Kept per size and settings (the
    server's warm-up times the page's starting ones): where the points lie, the learning rate and
    the seed do not change what a step costs."""
    timed = dataclasses.replace(config, lr=MLPConfig.lr, seed=0)
    return _mlp_seconds(len(X), tuple(dataclasses.astuple(timed)), str(device), bounds is not None,
                        torch.get_num_threads())


@functools.lru_cache(maxsize=64)
def _mlp_seconds(n_points: int, config: tuple, device: str, grids: bool, threads: int) -> float:
    config = MLPConfig(*config)
    X, y = make_dataset("XOR", n_points, 0.1, 0)  # a stand-in of the same size: the cost is the same
    bounds = plot_bounds(X) if grids else None
    steps_per_epoch = math.ceil(len(X) / config.train_config(len(X)).batch_size)
    longer = max(2, min(50, TIMED_MLP_STEPS // steps_per_epoch * 5 // 7))  # warm-up, short and longer: 7/5 of it
    short = max(1, longer // 5)
    every = max(1, math.ceil(config.epochs / max(1, config.snapshots)))  # epochs between grids in the whole run

    def run(n: int) -> float:
        timed = dataclasses.replace(config, epochs=n, snapshots=max(1, n // every))
        return _timed(train_mlp(X, y, timed, torch.device(device), bounds))[0]
    return _two_point(run, config.epochs, short, longer)


def estimate_cubic_seconds(config: CubicFitConfig) -> float:
    """A few steps timed twice, extended to all of them; kept per settings but the learning rate
    and the seed (a step costs the same whatever they are)."""
    timed = dataclasses.replace(config, lr=CUBIC_DEFAULT_LR[config.method], seed=0)
    return _cubic_seconds(tuple(dataclasses.astuple(timed)), torch.get_num_threads())


@functools.lru_cache(maxsize=64)
def _cubic_seconds(config: tuple, threads: int) -> float:
    config = CubicFitConfig(*config)
    return _two_point(lambda n: _timed(fit_cubic(dataclasses.replace(config, steps=n)))[0], config.steps, 50, 250)


# --- Figures: what a run (or a section) shows, by name (core.lessons reads them) ------------------

@dataclass(frozen=True)
class VanishingSettings:
    """Section 2's settings, as the page's widgets hold them (keys in FIGURES below)."""
    depth: int = 10      # layers the gradient goes back through
    z: float = 1.0       # every layer's pre-activation
    slope: float = 0.1   # Leaky ReLU's slope below 0 (section 1's slider)


@dataclass(frozen=True)
class SoftmaxSettings:
    """Section 1's softmax settings, as the page's widgets hold them."""
    logits: str = "2.0, 1.0, 0.1, -1.0"  # the logits box, as typed
    temperature: float = 1.0             # T in softmax(z / T)


def vanishing_figures(s: VanishingSettings) -> dict:
    """<activation>_gradient: the gradient left after s.depth layers, f'(z)^depth."""
    frame = gradient_through_layers(s.depth, s.z, s.slope)
    last = frame[frame["layer"] == s.depth].set_index("activation")["gradient"]
    return {f"{name}_gradient": float(last[name]) for name in VANISHING_ACTIVATIONS}


def softmax_figures(s: SoftmaxSettings) -> dict:
    """top_probability: the largest class's probability (%) at temperature T (None while the
    logits box holds no logits: the page says why)."""
    try:
        probs, _ = softmax_with_jacobian(parse_logits(s.logits), s.temperature)
    except LearnerError:
        return {"top_probability": None}
    return {"top_probability": 100.0 * float(probs.max())}


def rule_figures(run) -> dict:
    """perceptron_rule_runs: dataset (the points' name), accuracy (% right after the last epoch
    trained; None before the first)."""
    epochs = [e for e in run.history if e["kind"] == "epoch" and e["epoch"] > 0]
    return {"dataset": run.results["data"].name, "accuracy": float(epochs[-1]["accuracy"]) if epochs else None}


def mlp_figures(run) -> dict:
    """perceptron_mlp_runs: dataset, accuracy (% of the points right at the last snapshot; None
    before the first)."""
    grids = [e for e in run.history if e["kind"] == "grid"]
    return {"dataset": run.results["data"].name, "accuracy": float(grids[-1]["accuracy"]) if grids else None}


FIGURES = {  # store -> its settings dataclass, the figures its runs show beyond them, and their reader;
    # a computed section (keys: page widget -> settings field) is read from its settings, no run
    "perceptron_rule_runs": {"settings": PerceptronConfig, "figures": ("dataset", "accuracy"), "read": rule_figures},
    "perceptron_mlp_runs": {"settings": MLPConfig, "figures": ("dataset", "accuracy"), "read": mlp_figures},
    "perceptron_vanishing": {"settings": VanishingSettings, "read": vanishing_figures,
                             "figures": tuple(f"{name}_gradient" for name in VANISHING_ACTIVATIONS),
                             "keys": {"perceptron_depth": "depth", "perceptron_vanish_z": "z",
                                      "perceptron_leaky_slope": "slope"}},
    "perceptron_softmax": {"settings": SoftmaxSettings, "figures": ("top_probability",), "read": softmax_figures,
                           "keys": {"perceptron_logits": "logits", "perceptron_temperature": "temperature"}},
}
