"""The one training engine: tensors resident on the device, batches by slicing, events as floats."""
import collections
import copy
import math
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Protocol

import torch
from torch import nn

from core import fast_mlp
from core.device import synchronize
from core.words import english, words

OPTIMIZERS = ("sgd", "sgd_momentum", "adam", "adamw", "rmsprop")
OPTIMIZER_LABELS = {
    "sgd": "SGD",
    "sgd_momentum": "SGD + momentum",
    "adam": "Adam",
    "adamw": "AdamW",
    "rmsprop": "RMSprop",
}

# Learning rates from which an optimizer usually fails on the playground's small models: the
# adaptive ones scale every step to about `lr`, so 0.03 already throws weights around; plain
# SGD's step is lr × gradient, and momentum multiplies it by about 1 / (1 − 0.9) = 10.
RISKY_LR = {"sgd": 1.0, "sgd_momentum": 0.3, "adam": 0.03, "adamw": 0.03, "rmsprop": 0.03}
FAILED = ("diverged", "not_learned")  # end reasons of a run that did not learn
EXPLODED = 3.0   # a final training loss this many times the first one: the loss blew up
ROSE = 1.1       # a final loss 10 % above the first: it rose (the steps are too large), not just flat
CHANCE_MARGIN = 2.0  # accuracy points above always guessing the commonest class that still count as chance


def lr_risk(optimizer: str, lr: float):
    """Words warning that `lr` is too large for `optimizer` (with a safer rate), else None."""
    limit = RISKY_LR.get(optimizer)
    if limit is None or lr < limit:
        return None
    return words("engine.lr_risk", optimizer=OPTIMIZER_LABELS[optimizer], lr=lr, safer=limit / 10)


@dataclass
class TrainConfig:
    epochs: int = 10            # passes over the training set
    batch_size: int = 64        # samples per optimizer step
    lr: float = 0.01            # learning rate
    optimizer: str = "sgd_momentum"  # one of OPTIMIZERS
    momentum: float = 0.9       # used by sgd_momentum (and RMSprop's momentum stays 0)
    weight_decay: float = 0.0   # L2 penalty (decoupled for AdamW)
    seed: int = 0               # same seed -> same init, same batch order, same result
    patience: int | None = None  # early stopping: epochs without improvement; None = off
    min_delta: float = 0.0      # early stopping tolerance: smaller improvements do not count
    restore_best: bool = True   # with early stopping, end on the best epoch's weights
    log_every: int = 50         # batches between "batch" events (each one is a device sync)
    shuffle: bool = True        # reshuffle the training set every epoch
    task: str = "classification"  # "classification" (cross-entropy, accuracy) or "regression" (MSE)


def optimizer_spec(config: TrainConfig) -> tuple[str, dict]:
    """The one map from an optimizer name to `torch.optim` class name and keyword arguments
    (besides params and lr); `make_optimizer` and the recipes' code both read it."""
    decay = {"weight_decay": config.weight_decay} if config.weight_decay else {}
    specs = {
        "sgd": ("SGD", decay),
        "sgd_momentum": ("SGD", {"momentum": config.momentum, **decay}),
        "adam": ("Adam", decay),
        "adamw": ("AdamW", {"weight_decay": config.weight_decay}),  # AdamW's decay is its point
        "rmsprop": ("RMSprop", decay),
    }
    if config.optimizer not in specs:
        raise ValueError(f"Unknown optimizer {config.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
    return specs[config.optimizer]


def make_optimizer(params, config: TrainConfig) -> torch.optim.Optimizer:
    params = list(params)
    name, kwargs = optimizer_spec(config)
    # One fused kernel per step instead of a loop over parameters (same update rule);
    # PyTorch offers it for SGD and Adam(W) on CPU and CUDA tensors.
    if name != "RMSprop" and params and all(p.device.type in ("cpu", "cuda") for p in params):
        kwargs = {**kwargs, "fused": True}
    return getattr(torch.optim, name)(params, lr=config.lr, **kwargs)


def seed_everything(seed: int) -> None:
    """Seed torch's CPU and GPU generators (model init, dropout): the one global seeding.

    `train` calls it with `config.seed`; the batch order alone draws from its own generator
    seeded with the same number, so that shuffling does not shift the model's random draws.
    """
    torch.manual_seed(seed)


def build_seeded(builder: Callable[[], nn.Module], seed: int) -> nn.Module:
    """Build a model with a seeded initialization: same seed, same starting weights."""
    seed_everything(seed)
    return builder()


def _loss_fn(task: str) -> nn.Module:
    return nn.CrossEntropyLoss() if task == "classification" else nn.MSELoss()


def _as_batches(n: int, batch_size: int):
    return range(0, n, batch_size)


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, device: torch.device,
             task: str = "classification", batch_size: int = 2048,
             transform: Callable[[torch.Tensor], torch.Tensor] | None = None) -> dict:
    """Mean loss (and accuracy in % for classification) of `model` on (x, y), in eval mode."""
    was_training = model.training
    model.eval()
    loss_fn = _loss_fn(task)
    total_loss = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    x, y = x.to(device), y.to(device)
    for start in _as_batches(len(x), batch_size):
        xb, yb = x[start:start + batch_size], y[start:start + batch_size]
        if transform is not None:
            xb = transform(xb)
        out = model(xb)
        total_loss += loss_fn(out, yb) * len(xb)
        if task == "classification":
            correct += (out.argmax(dim=1) == yb).sum()
    model.train(was_training)
    result = {"loss": (total_loss / max(len(x), 1)).item()}
    if task == "classification":
        result["accuracy"] = 100.0 * correct.item() / max(len(x), 1)
    return result


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, device: torch.device, batch_size: int = 2048,
            transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
            softmax: bool = False) -> torch.Tensor:
    """Model outputs on x (softmax probabilities if asked), returned on the CPU."""
    was_training = model.training
    model.eval()
    outputs = []
    for start in _as_batches(len(x), batch_size):
        xb = x[start:start + batch_size].to(device)
        if transform is not None:
            xb = transform(xb)
        out = model(xb)
        outputs.append(torch.softmax(out, dim=1) if softmax else out)
    model.train(was_training)
    return torch.cat(outputs).cpu() if outputs else torch.empty(0)


class TrainStep(Protocol):
    """How `train`'s loop takes its steps, chosen once before it: `AutogradStep` by default,
    `core.fast_mlp.MLPStep` for plain MLPs with cross-entropy.

    Per epoch: `begin_epoch()`, then per batch `step` (forward and backward), the step probe,
    `update` (the optimizer), and on logged batches `batch_loss`; at the epoch's end
    `epoch_loss_and_predictions` gives the epoch's figures.
    """

    def begin_epoch(self) -> None:
        """Start a new epoch's sums."""

    def step(self, xb: torch.Tensor, yb: torch.Tensor, start: int, stop: int) -> torch.Tensor:
        """Forward and backward on the batch at [start, stop) of this epoch's order; returns
        the outputs before the update. Gradients are in `.grad` unless the step updates itself."""

    def update(self) -> None:
        """Apply the optimizer to the gradients `step` left (nothing if `step` already did)."""

    def batch_loss(self, out: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        """The mean loss of the batch `step` just took (`out` is what it returned)."""

    def epoch_loss_and_predictions(self, y_epoch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The epoch's summed per-sample loss and its predicted classes (None for regression),
        in this epoch's batch order, whose labels are `y_epoch`."""


class AutogradStep:
    """The default step: forward, loss, `loss.backward()`, then any torch.optim optimizer."""

    def __init__(self, model: nn.Module, loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                 optimizer: torch.optim.Optimizer, n: int, device: torch.device, classification: bool):
        self._model, self._loss_fn, self._optimizer = model, loss_fn, optimizer
        self._n, self._device, self._classification = n, device, classification

    def begin_epoch(self) -> None:
        self._loss_sum = torch.zeros((), device=self._device)  # summed on the device: no sync per batch
        self._predicted = (torch.empty(self._n, dtype=torch.long, device=self._device)  # batch by batch
                           if self._classification else None)

    def step(self, xb: torch.Tensor, yb: torch.Tensor, start: int, stop: int) -> torch.Tensor:
        out = self._model(xb)
        loss = self._loss = self._loss_fn(out, yb)
        self._optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self._loss_sum.add_(loss.detach(), alpha=stop - start)
        if self._predicted is not None:
            torch.argmax(out.detach(), dim=1, out=self._predicted[start:stop])
        return out

    def update(self) -> None:
        self._optimizer.step()

    def batch_loss(self, out: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        return self._loss

    def epoch_loss_and_predictions(self, y_epoch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        return self._loss_sum, self._predicted


def train(model: nn.Module, train_data: tuple[torch.Tensor, torch.Tensor], config: TrainConfig,
          device: torch.device, val_data: tuple[torch.Tensor, torch.Tensor] | None = None,
          transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
          loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
          step_probe: Callable[[nn.Module], dict] | None = None,
          optimizer: torch.optim.Optimizer | None = None, fast_path: bool = True) -> Iterator[dict]:
    """Train `model` and yield small progress events (plain floats, never tensors).

    `train` seeds dropout and the batch order with `config.seed`; build the model with
    `build_seeded` so its initial weights follow the same seed. The whole dataset is moved
    to `device` once; each batch is an index slice of a shuffled permutation, so there is no
    per-sample Python work. `transform` runs on each batch on the
    device (e.g. uint8 -> normalized float). Break out of the loop to stop at once.
    `optimizer` replaces the one `config` describes (`make_optimizer`).

    Fast path: a plain MLP (`core.fast_mlp.supports`: [Flatten,] Linear, ReLU/Sigmoid/Tanh/
    LeakyReLU, ..., Linear) trained for classification with the default cross-entropy takes
    the hand-written backward pass `core.fast_mlp.MLPStep` (same numbers as autograd, tested);
    with the engine's own SGD and no `step_probe` it applies the update itself too.
    `fast_path=False` always takes autograd (for tests and benchmarks that compare the two).

    Events (dicts, "kind" says which):
      batch: epoch, step, epoch_float (e.g. 2.5 = half-way through epoch 3), progress (0..1),
             loss, elapsed, eta [, probe: dict from step_probe]
      epoch: epoch, train_loss, train_acc, val_loss, val_acc, monitor, best, elapsed, eta
      end:   reason ("completed" | "early_stop" | "diverged" | "not_learned": see `not_learned`),
             words (core.words.Words for the page to say), message (the same in English, for logs
             and tests), epochs_run, best_epoch, best_monitor, elapsed
    `step_probe(model)` is called after backward on logged steps (gradients are populated),
    e.g. to record per-layer gradient norms; it must return plain floats.
    """
    if config.epochs < 1 or config.batch_size < 1:
        raise ValueError("epochs and batch_size must be at least 1")
    seed_everything(config.seed)
    order_gen = torch.Generator().manual_seed(config.seed)  # batch order, independent of init
    model.to(device).train()
    x, y = train_data[0].to(device), train_data[1].to(device)
    n = len(x)
    if n == 0:
        raise ValueError("the training set is empty")
    fit = _pick_step(model, x, config, device, loss_fn, step_probe, optimizer, fast_path)
    steps_per_epoch = math.ceil(n / config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    log_every = max(1, config.log_every)

    best_monitor, best_epoch, best_state, bad_epochs = math.inf, 0, None, 0
    first_loss, epoch_figures = None, {}  # for the verdict: did the model learn at all?
    started = time.perf_counter()
    step = 0
    reason, said = "completed", words("engine.completed", epochs=config.epochs)
    epoch = 0
    for epoch in range(1, config.epochs + 1):
        perm = (torch.randperm(n, generator=order_gen) if config.shuffle else torch.arange(n)).to(device)
        y_epoch = y.index_select(0, perm)  # labels in this epoch's batch order
        fit.begin_epoch()
        diverged = False
        for start in _as_batches(n, config.batch_size):
            stop = min(start + config.batch_size, n)
            # index_select: one gather kernel, cheaper than advanced indexing x[idx]
            xb, yb = x.index_select(0, perm[start:stop]), y_epoch[start:stop]
            if transform is not None:
                xb = transform(xb)
            out = fit.step(xb, yb, start, stop)
            step += 1
            logged = step % log_every == 0 or stop == n
            probe = step_probe(model) if (step_probe is not None and logged) else None
            if first_loss is None:  # where the loss started, for the verdict (one sync per run)
                first_loss = fit.batch_loss(out, yb).item()
            fit.update()
            if logged:
                loss_value = fit.batch_loss(out, yb).item()  # the sync point: only when reporting
                elapsed = time.perf_counter() - started
                if not math.isfinite(loss_value):
                    diverged = True
                    break
                event = {"kind": "batch", "epoch": epoch, "step": step,
                         "epoch_float": epoch - 1 + stop / n,
                         "progress": step / total_steps, "loss": loss_value, "elapsed": elapsed,
                         "eta": elapsed / step * (total_steps - step)}
                if probe is not None:
                    event["probe"] = probe
                yield event
        if diverged:
            reason, said = "diverged", words("engine.diverged", epoch=epoch)
            break

        loss_sum, predicted = fit.epoch_loss_and_predictions(y_epoch)
        train_loss = loss_sum.item() / n
        if not math.isfinite(train_loss):
            reason, said = "diverged", words("engine.diverged", epoch=epoch)
            break
        train_acc = (100.0 * (predicted == y_epoch).sum().item() / n
                     if predicted is not None else None)
        val_loss = val_acc = None
        if val_data is not None:
            metrics = evaluate(model, val_data[0], val_data[1], device, config.task,
                               transform=transform)
            val_loss, val_acc = metrics["loss"], metrics.get("accuracy")
        monitor = val_loss if val_loss is not None else train_loss
        epoch_figures[epoch] = (train_loss, train_acc)
        improved = monitor < best_monitor - config.min_delta
        if improved:
            best_monitor, best_epoch, bad_epochs = monitor, epoch, 0
            if config.patience is not None and config.restore_best:
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            bad_epochs += 1
        synchronize(device)
        elapsed = time.perf_counter() - started
        yield {"kind": "epoch", "epoch": epoch, "train_loss": train_loss, "train_acc": train_acc,
               "val_loss": val_loss, "val_acc": val_acc, "monitor": monitor, "best": improved,
               "elapsed": elapsed, "eta": elapsed / epoch * (config.epochs - epoch)}
        if config.patience is not None and bad_epochs >= config.patience:
            reason = "early_stop"
            said = words("engine.early_stop", epoch=epoch, min_delta=config.min_delta,
                         patience=config.patience, best_epoch=best_epoch)
            break

    if best_state is not None and reason != "diverged":
        model.load_state_dict(best_state)
    if reason != "diverged" and epoch_figures:
        kept = best_epoch if best_state is not None and best_epoch in epoch_figures else max(epoch_figures)
        failure = not_learned(first_loss, *epoch_figures[kept], y, config)
        if failure is not None:
            reason, said = "not_learned", failure
    yield {"kind": "end", "reason": reason, "words": said, "message": english(said), "epochs_run": epoch,
           "best_epoch": best_epoch, "best_monitor": best_monitor if math.isfinite(best_monitor) else None,
           "elapsed": time.perf_counter() - started}


def not_learned(first_loss: float | None, train_loss: float, train_acc: float | None,
                y: torch.Tensor, config: TrainConfig):
    """Words saying a finished run did not learn, else None: its training loss blew up to
    EXPLODED times where it started, or its training accuracy stayed at chance (always
    guessing the commonest class, plus CHANCE_MARGIN points)."""
    if first_loss is not None and first_loss > 0 and train_loss > EXPLODED * first_loss:
        return words("engine.loss_exploded", first=first_loss, last=train_loss, ratio=train_loss / first_loss)
    if config.task == "classification" and train_acc is not None and len(y):
        chance = 100.0 * torch.bincount(y.reshape(-1).long().cpu()).max().item() / y.numel()
        if train_acc <= chance + CHANCE_MARGIN:
            rose = first_loss is not None and train_loss > ROSE * first_loss
            too_large = rose or lr_risk(config.optimizer, config.lr) is not None
            advice = "engine.advice_lower" if too_large else "engine.advice_longer"
            return words("engine.at_chance", accuracy=train_acc, chance=chance, advice=words(advice))
    return None


def combined(phases: list[tuple[str, float, Callable[[], Iterator[dict]]]],
             message: str | None = None, tag: str = "model", labels: dict[str, str] | None = None,
             workers: int = 1) -> Iterator[dict]:
    """Several trainings as one run's events: one after the other, or `workers` at a time.

    `phases` are (model name, expected cost, events factory); a factory is called only when
    its turn comes, so with one worker a phase may use what an earlier one computed. With
    more workers each phase is drained in a thread of its own (PyTorch releases the GIL in
    its kernels, so independent small models use the cores side by side); list the costliest
    phase first. Every event gets a `tag` field (default "model": the phase's name) and
    "progress", "elapsed" and "eta" over the whole run (phases weighed by their cost); the
    model's own "elapsed" stays in "model_elapsed". A phase's "end" event becomes a
    "model_end" event; one "end" closes the run, failed (FAILED) if any model did, with `message`
    (default: the failed models' messages, each after its name in `labels`, else the last
    model's message). Closing the generator (Stop) stops every phase.
    """
    total = sum(cost for _, cost, _ in phases) or 1.0
    costs = {name: cost for name, cost, _ in phases}
    started, parts, ends = time.perf_counter(), dict.fromkeys(costs, 0.0), {}
    stream = _one_by_one(phases) if workers <= 1 else _side_by_side(phases, workers)
    try:
        for name, event in stream:
            if event["kind"] == "end":
                ends[name] = event
                event = {**event, "kind": "model_end", "progress": 1.0}
            parts[name] = float(event.get("progress", parts[name]))  # epoch events carry none
            fraction = min(1.0, sum(costs[n] * p for n, p in parts.items()) / total)
            extra = {tag: name, "progress": fraction, "elapsed": time.perf_counter() - started,
                     "eta": None}  # None: the panel estimates it from elapsed and progress
            if "elapsed" in event:
                extra["model_elapsed"] = event["elapsed"]
            yield {**event, **extra}
    finally:
        stream.close()
    last = list(ends.values())[-1] if ends else {"reason": "completed", "message": ""}
    failed = {name: e for name, e in ends.items() if e["reason"] in FAILED}
    said = next(iter(failed.values()), last)  # the first failure, else the last end
    yield {"kind": "end", "reason": said["reason"], "words": said.get("words"),
           "message": message if message is not None else
           " ".join(f"{(labels or {}).get(n, n)}: {e['message']}" for n, e in failed.items()) or last["message"],
           "elapsed": time.perf_counter() - started}


def _one_by_one(phases) -> Iterator[tuple[str, dict]]:
    for name, _, make_events in phases:
        for event in make_events():
            yield name, event


def _side_by_side(phases, workers: int) -> Iterator[tuple[str, dict]]:
    """(phase name, event) from `workers` threads, each draining one phase after another."""
    todo, found = collections.deque(phases), queue.SimpleQueue()
    stop, lock = threading.Event(), threading.Lock()
    threads_each = max(1, torch.get_num_threads() // workers)  # the caller's share, split

    def work() -> None:
        torch.set_num_threads(threads_each)  # this thread's own OpenMP setting
        try:
            while not stop.is_set():
                with lock:
                    if not todo:
                        return
                    name, _, make_events = todo.popleft()
                for event in make_events():
                    found.put((name, event))
                    if stop.is_set():
                        return
        except BaseException as exc:  # handed to the reader, which raises it
            found.put((None, exc))
        finally:
            found.put(None)

    threads = [threading.Thread(target=work, daemon=True, name=f"train-{i}") for i in range(workers)]
    for thread in threads:
        thread.start()
    try:
        running = len(threads)
        while running:
            item = found.get()
            if item is None:
                running -= 1
            elif isinstance(item[1], BaseException):
                raise item[1]
            else:
                yield item
    finally:
        stop.set()
        for thread in threads:
            thread.join()


def _pick_step(model: nn.Module, x: torch.Tensor, config: TrainConfig, device: torch.device,
               loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None,
               step_probe: Callable[[nn.Module], dict] | None,
               optimizer: torch.optim.Optimizer | None, fast_path: bool) -> TrainStep:
    """`train`'s step, chosen once: the hand-written MLP step where it applies, else autograd."""
    if fast_path and loss_fn is None and config.task == "classification" and fast_mlp.supports(model, x):
        # The hand step updates the weights itself only for the engine's own SGD, and only
        # when no probe wants to read the gradients in `.grad` before the update.
        if optimizer is None and step_probe is None:
            sgd = fast_mlp.SGDRule.from_spec(optimizer_spec(config), config.lr)
            if sgd is not None:
                return fast_mlp.MLPStep(model, len(x), sgd=sgd)
        # Otherwise it fills `.grad`, as `loss.backward()` would, for a torch.optim optimizer.
        return fast_mlp.MLPStep(model, len(x),
                                optimizer=optimizer or make_optimizer(model.parameters(), config))
    return AutogradStep(model, loss_fn or _loss_fn(config.task),
                        optimizer or make_optimizer(model.parameters(), config), len(x), device,
                        classification=config.task == "classification")


# --- How long a training will take: a few steps timed on a bounded copy, then scaled -----------
# The page waits on these timings at every settings change, so they are capped whatever the
# settings: rows per timed step, steps, rows per timed evaluation and the model's size. What
# lies beyond a cap is extrapolated: a larger batch from two row counts here; a longer sequence,
# a deeper or a wider network by the pages (`costs_by_length`, `Costs.along`, `costs_by_width`).
TIMED_ROWS = 256               # rows one timed step takes at most: a larger batch is extrapolated
TIMED_STEPS = 64               # training steps one measure_costs takes at most, warm-up and repeats included
TIMED_EVAL_ROWS = 256          # rows one timed evaluation reads at most
TIMED_PARAMETERS = 4_500_000   # parameters of a model measure_costs accepts: pages time a narrower copy
TIMED_SEQUENCE = 16            # positions per sequence the pages time at most: longer ones are extrapolated
STEP_SECONDS = 0.01            # about how long one timed step may take: the timed rows grow up to it
WIDE_STEP_SECONDS = 0.03       # the same for a page that times one or two models: a batch's slope taken nearer it
SHORT_CALL = 0.003             # a timed call this short gets more samples (it is the most easily disturbed)


@dataclass(frozen=True)
class Costs:
    """What one training costs here, measured: seconds per step at `batch` rows (and per row
    more or less, `step_row`), per evaluation (a fixed part per call plus a part per row), per
    epoch besides its steps, and once per run (its set-up: the optimizer's state, the end)."""
    step: float
    eval_fixed: float = 0.0
    eval_row: float = 0.0
    epoch_fixed: float = 0.0  # per epoch besides its steps: the epoch's figures and events
    step_row: float = 0.0     # seconds a step takes per row beyond (or short of) `batch`
    batch: int = 0            # the batch size `step` is for (0: the config's, whatever it is)
    run_fixed: float = 0.0    # once per run: set-up, the optimizer's first state, the verdict
    rows: int = 0             # the rows of the steps timed (a larger `batch` is extrapolated); 0: not said

    def seconds(self, n_train: int, config: TrainConfig, n_val: int = 0) -> float:
        """The whole training: every step of every epoch, and an evaluation after each epoch."""
        evaluation = self.eval_fixed + self.eval_row * n_val if n_val else 0.0
        step = self.at_batch(config.batch_size).step
        return self.run_fixed + config.epochs * (math.ceil(n_train / config.batch_size) * step + evaluation
                                                 + self.epoch_fixed)

    def at_batch(self, batch_size: int) -> "Costs":
        """The same costs for steps of `batch_size` rows (linear in rows: a fixed part and a part per row)."""
        if not self.batch or batch_size == self.batch:
            return self
        return replace(self, step=max(0.0, self.step + self.step_row * (batch_size - self.batch)), batch=batch_size)

    def scaled(self, factor: float) -> "Costs":
        """The costs of a model `factor` times the work per row (a longer sequence, more blocks):
        its steps and the rows it evaluates scaled, its fixed parts per call, epoch and run kept."""
        return replace(self, step=self.step * factor, step_row=self.step_row * factor, eval_row=self.eval_row * factor)

    def at_least_average(self) -> "Costs":
        """These costs with every row past the rows timed costing at least what a timed row did on
        average (the step's fixed part shared out): a recurrent net's long sequences of a large
        batch outgrow the processor's caches, and a row then costs more than its share at the few
        rows timed, never less."""
        if not self.rows or self.batch <= self.rows:
            return self
        at_rows = self.step - self.step_row * (self.batch - self.rows)
        step_row = max(self.step_row, at_rows / self.rows)
        return replace(self, step=at_rows + step_row * (self.batch - self.rows), step_row=step_row)

    def along(self, size: float, other: "Costs", other_size: float, to: float) -> "Costs":
        """The costs of a model of size `to` (depth, parameters), linear in the size through these
        costs at `size` and `other` at `other_size` (the same batch size); past the larger size,
        a cost grows with the size and never shrinks."""
        if other_size == size:
            return other

        def value(a: float, b: float) -> float:
            slope = (b - a) / (other_size - size)
            if to > max(size, other_size):
                slope = max(0.0, slope)
            return max(0.0, a + slope * (to - size))
        fields = ("step", "eval_fixed", "eval_row", "epoch_fixed", "step_row", "run_fixed")
        return replace(self, **{f: value(getattr(self, f), getattr(other, f)) for f in fields})


def _rows(data: tuple[torch.Tensor, torch.Tensor], n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first `n` rows of (x, y), the data repeated when it has fewer (timing reads no values)."""
    x, y = data
    if n <= len(x):
        return x[:n], y[:n]
    index = torch.arange(n) % len(x)
    return x[index], y[index]


def measure_costs(model: nn.Module, train_data: tuple[torch.Tensor, torch.Tensor], config: TrainConfig,
                  device: torch.device, val_data: tuple[torch.Tensor, torch.Tensor] | None = None,
                  transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
                  loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
                  threads: int | None = None, steps: int = 3, step_seconds: float = STEP_SECONDS) -> Costs:
    """Time a copy of `model` taking a few real steps through `train` (the same step path and
    transform) and evaluating slices of `val_data`; `threads` times it with that many CPU
    threads, as a phase of `combined` gets. Bounded whatever the settings: at most TIMED_STEPS
    steps (at most 1 + 2 × `steps` in one call) of at most TIMED_ROWS rows, evaluations of at
    most TIMED_EVAL_ROWS rows, a model of at most TIMED_PARAMETERS parameters. A batch larger
    than the rows timed is extrapolated from two row counts (a step's fixed part and its part
    per row): the rows double while a step takes less than `step_seconds` (a page that times
    one or two models may allow more: a slope taken nearer the batch); the fastest of a few
    timings counts (another process busy for a moment only slows some)."""
    parameters = sum(p.numel() for p in model.parameters())
    if parameters > TIMED_PARAMETERS:
        raise ValueError(f"a model of {parameters:,} parameters is too large to time: time a narrower copy")
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        probe = copy.deepcopy(model)
        batch = max(1, min(config.batch_size, len(train_data[0])))
        top = min(batch, TIMED_ROWS)
        quick = replace(config, patience=None, log_every=10**9, shuffle=False)
        left, seen = [TIMED_STEPS], {}

        def timed(rows: int, batches: int = 1, epochs: int = 1, repeats: int = 2) -> float:
            """The fastest of `repeats` calls of `train` (up to three more for a short one, which a
            moment's noise doubles), and of any made before, for `epochs` epochs of `batches`
            batches of `rows` rows."""
            data, key = _rows(train_data, rows * batches), (rows, batches, epochs)
            for count in range(repeats + 3):
                if count >= repeats and (repeats < 2 or seen[key] > SHORT_CALL):
                    break
                left[0] -= batches * epochs
                assert left[0] >= 0, "measure_costs took more steps than TIMED_STEPS"
                started = time.perf_counter()
                run_to_end(train(probe, data, replace(quick, batch_size=rows, epochs=epochs), device,
                                 transform=transform, loss_fn=loss_fn))
                seen[key] = min(seen.get(key, math.inf), time.perf_counter() - started)
            return seen[key]

        # Rows: from a few, doubled while a step stays short, up to the batch.
        rows = min(top, 8)
        timed(rows, repeats=1)  # warm-up: the first call pays for allocations and kernels' set-up
        seen.clear()
        one = timed(rows, repeats=1)
        while rows < top and one < step_seconds:
            rows = min(2 * rows, top)
            one = timed(rows, repeats=1)
        # A call's parts: steps (two lengths), one more epoch (two epochs), and the rest once. A
        # part is never more than the one-step call it is part of: a disturbed timing stays bounded.
        one = timed(rows)
        more = int(min(1 + 2 * steps, max(2, 2 * step_seconds / max(one, 1e-6))))
        step = min(one, max((timed(rows, more, repeats=1 if one > 2 * step_seconds else 2) - one) / (more - 1), 0.0))
        epoch_fixed = 0.0  # beside long steps an epoch's own work (its figures, its events) is lost in the noise
        if one <= STEP_SECONDS:
            epoch_fixed = min(one - step, max(0.0, timed(rows, epochs=2) - one - step))
        run_fixed = max(0.0, one - step - epoch_fixed)
        step_row = 0.0
        if rows < batch:  # a larger batch: a step at a quarter of the rows gives the cost per row
            small = max(1, rows // 4)
            step_row = max(0.0, (one - timed(small, repeats=3)) / (rows - small)) if rows > small else 0.0
            step += step_row * (batch - rows)
        costs = Costs(step, epoch_fixed=epoch_fixed, step_row=step_row, batch=batch, run_fixed=run_fixed, rows=rows)
        if val_data is None or not len(val_data[0]):
            return costs

        def timed_eval(n: int, repeats: int = 2) -> float:
            fastest = math.inf
            for count in range(repeats + 1):
                if count == repeats and (repeats < 2 or fastest > SHORT_CALL):
                    break
                started = time.perf_counter()
                evaluate(probe, val_data[0][:n], val_data[1][:n], device, config.task, transform=transform)
                fastest = min(fastest, time.perf_counter() - started)
            return fastest
        # Two sizes: a call has a fixed cost besides its cost per row (a small slice alone misleads).
        # A forward pass costs about a third of a step: the rows stay within about one step's time.
        row_time = max(step / batch, 1e-9)
        large = max(2, min(len(val_data[0]), TIMED_EVAL_ROWS, int(3 * STEP_SECONDS / row_time)))
        small = max(1, large // 5)
        timed_eval(small, repeats=1)  # warm-up
        first = timed_eval(small)
        second = timed_eval(large, repeats=1 if first * large / small > 3 * STEP_SECONDS else 2)
        per_row = min(second / large, max(0.0, (second - first) / (large - small))) if large > small else second / large
        return replace(costs, eval_fixed=max(0.0, first - per_row * small), eval_row=per_row)
    finally:
        torch.set_num_threads(before)


def timed_batch(batch_size: int) -> int:
    """The batch size to time for `batch_size`: itself, or past 4 × TIMED_ROWS (the costs are
    extrapolated in rows anyway) that size, so every larger batch shares one timing; the page
    then takes `Costs.at_batch(batch_size)`."""
    return min(batch_size, 4 * TIMED_ROWS)


def mlp_parameters(inputs: int, hidden: tuple[int, ...], outputs: int) -> int:
    """Weights and biases of the MLP inputs → hidden → outputs."""
    widths = (inputs, *hidden, outputs)
    return sum((a + 1) * b for a, b in zip(widths[:-1], widths[1:]))


def _narrowed(hidden: tuple[int, ...], inputs: int, outputs: int, limit: int) -> tuple[int, ...]:
    """The hidden widths, every one scaled down alike, of the widest MLP within `limit` parameters."""
    low, high = 0.0, 1.0  # the scale, by bisection
    for _ in range(40):
        middle = (low + high) / 2
        fits = mlp_parameters(inputs, tuple(max(1, int(h * middle)) for h in hidden), outputs) <= limit
        low, high = (middle, high) if fits else (low, middle)
    return tuple(max(1, int(h * low)) for h in hidden)


WIDE_ROWS = 8  # rows a step of the widest timed copy takes: its weights' traffic, not its products


def costs_by_width(hidden: tuple[int, ...], inputs: int, outputs: int,
                   measure: Callable[[tuple[int, ...], int | None], Costs]) -> Costs:
    """The costs of the MLP inputs → hidden → outputs: `measure(hidden, None)` when it is small
    enough to time (TIMED_PARAMETERS), else from copies with every hidden layer narrowed alike,
    in proportion to the parameters: the widest that can be timed, with steps of WIDE_ROWS rows
    (`measure(widths, rows)`: a step that mostly moves the weights, their gradients and the
    optimizer's state through memory, as the full network's does), and one an eighth of its size
    at the batch size and at WIDE_ROWS (the matrix products each row adds, and the evaluation)."""
    size = mlp_parameters(inputs, hidden, outputs)
    if size <= TIMED_PARAMETERS:
        return measure(hidden, None)
    wide, middle = (_narrowed(hidden, inputs, outputs, limit) for limit in (TIMED_PARAMETERS, TIMED_PARAMETERS // 8))
    wide_size, middle_size = mlp_parameters(inputs, wide, outputs), mlp_parameters(inputs, middle, outputs)
    at_batch = measure(middle, None)
    batch = at_batch.batch
    at_few = at_batch if batch <= WIDE_ROWS else measure(middle, WIDE_ROWS)
    wide_costs = measure(wide, min(batch, WIDE_ROWS))
    per_row = max(0.0, at_batch.step - at_few.step) / max(1, batch - WIDE_ROWS) / middle_size  # per parameter
    scale = size / wide_size
    return Costs(step=wide_costs.step * scale + per_row * size * max(0, batch - WIDE_ROWS),
                 eval_fixed=wide_costs.eval_fixed * scale, eval_row=at_batch.eval_row * size / middle_size,
                 epoch_fixed=wide_costs.epoch_fixed, step_row=per_row * size, batch=batch,
                 run_fixed=wide_costs.run_fixed * scale)


def costs_by_length(length: int, measure: Callable[[int], Costs]) -> Costs:
    """The costs of a recurrent model reading sequences of `length` positions: `measure(T)` at
    the length itself up to TIMED_SEQUENCE, else at TIMED_SEQUENCE with its steps and the rows
    it evaluates scaled to the length (every position is one more step of the recurrence, the
    same work each; the few parts that do not grow with it, an optimizer update, are scaled too,
    a little too long)."""
    if length <= TIMED_SEQUENCE:
        return measure(length)
    return measure(TIMED_SEQUENCE).scaled(length / TIMED_SEQUENCE)


def estimate_seconds(model: nn.Module, train_data: tuple[torch.Tensor, torch.Tensor], config: TrainConfig,
                     device: torch.device, val_data: tuple[torch.Tensor, torch.Tensor] | None = None,
                     transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
                     loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
                     threads: int | None = None, steps: int = 3) -> float:
    """Seconds `train(model, train_data, config, device, val_data, transform, loss_fn)` will take
    on this machine, now: `measure_costs`, scaled to every step and every epoch's evaluation."""
    costs = measure_costs(model, train_data, config, device, val_data, transform, loss_fn, threads, steps)
    return costs.seconds(len(train_data[0]), config, len(val_data[0]) if val_data is not None else 0)


def parallel_seconds(costs: list[float], workers: int) -> float:
    """How long `combined(..., workers)` takes for phases of these lengths, in this order:
    each worker thread takes the next phase when it is free."""
    free = [0.0] * max(1, workers)
    for cost in costs:
        free[free.index(min(free))] += cost
    return max(free)


def run_to_end(events: Iterator[dict]) -> tuple[list[dict], dict]:
    """Drain a training generator: (all epoch events, the end event). Handy for tests and bench."""
    epochs, end = [], {}
    for event in events:
        if event["kind"] == "epoch":
            epochs.append(event)
        elif event["kind"] == "end":
            end = event
    return epochs, end
