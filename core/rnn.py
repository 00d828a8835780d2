"""RNN, LSTM and GRU: sine-wave prediction, a long-term recall task, and the cells step by step."""
import functools
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from core.engine import (
    FAILED,
    STEP_SECONDS,
    TIMED_EVAL_ROWS,
    TIMED_ROWS,
    TIMED_SEQUENCE,
    Costs,
    TrainConfig,
    build_seeded,
    combined,
    costs_by_length,
    measure_costs,
    parallel_seconds,
    predict,
    run_to_end,
    timed_batch,
    train,
)
from core.models import count_params, with_weights
from core.words import LearnerError, english, words

CELLS = ("rnn", "lstm", "gru")
# Training cost relative to the LSTM on a CPU: PyTorch runs the LSTM in one fused kernel and the
# GRU step by step. Used to weigh progress and to start the costliest cell first.
CELL_COST = {"rnn": 1.0, "lstm": 1.0, "gru": 1.7}
CELL_LABELS = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}
_CELL_CLASSES = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
_GATES_PER_CELL = {"rnn": 1, "lstm": 4, "gru": 3}  # stacked weight blocks in PyTorch's layout


# --- Model ------------------------------------------------------------------------------------

class SeqModel(nn.Module):
    """nn.RNN / nn.LSTM / nn.GRU (batch_first) followed by a linear head on every step's h_t."""

    def __init__(self, cell: str = "lstm", input_size: int = 1, hidden_size: int = 32,
                 num_layers: int = 1, output_size: int = 1):
        super().__init__()
        if cell not in _CELL_CLASSES:
            raise ValueError(f"Unknown cell {cell!r}; choose one of {', '.join(CELLS)}")
        self.cell = cell
        self.rnn = _CELL_CLASSES[cell](input_size, hidden_size, num_layers=num_layers,
                                       batch_first=True)
        self.head = nn.Linear(hidden_size, output_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)          # (N, T, H): the top layer's h_t at every step
        return self.head(out)         # (N, T, output_size)

    def step(self, x: torch.Tensor, state=None):
        """Continue from `state` on x (N, T, d): (outputs (N, T, out), new state)."""
        out, state = self.rnn(x, state)
        return self.head(out), state


def make_model(cell: str, hidden_size: int = 32, num_layers: int = 1, input_size: int = 1,
               output_size: int = 1, seed: int = 0) -> SeqModel:
    """A seeded SeqModel: the same seed always gives the same initial weights."""
    return build_seeded(lambda: SeqModel(cell, input_size, hidden_size, num_layers, output_size), seed)


def param_count_formula(cell: str, input_size: int = 1, hidden_size: int = 32,
                        num_layers: int = 1, output_size: int = 1) -> dict:
    """Parameters by hand: gates x (D_h*d + D_h*D_h + 2*D_h) per layer, plus the head."""
    gates = _GATES_PER_CELL[cell]
    layers = []
    for layer in range(num_layers):
        d = input_size if layer == 0 else hidden_size
        layers.append(gates * (hidden_size * d + hidden_size * hidden_size + 2 * hidden_size))
    head = hidden_size * output_size + output_size
    return {"gates": gates, "layers": layers, "head": head, "total": sum(layers) + head}


# --- 1. Sine waves: RNN vs LSTM vs GRU -------------------------------------------------------

@dataclass
class SineSettings:
    samples: int = 1000         # sequences (the notes' 1,000)
    seq_len: int = 50           # time steps per sequence (the notes' 50)
    shift: float = 0.1          # radians between steps; the target is the wave shifted by this
    test_fraction: float = 0.2  # held out for the prediction plots and the test loss
    data_seed: int = 0          # random starting phases
    hidden_size: int = 32       # D_h, the notes' 32
    num_layers: int = 1         # stacked recurrent layers
    lr: float = 0.015           # Adam (the notes: 0.01 for 100 epochs; this reaches their MSE in 60)
    epochs: int = 60            # the notes' 100 at lr 0.01 end within ~15 % of the same test MSE
    batch_size: int = 128       # 7 Adam steps per epoch on 800 sequences
    seed: int = 0               # same init per cell and the same batch order for all three

    def train_config(self) -> TrainConfig:
        return TrainConfig(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
                           optimizer="adam", seed=self.seed, task="regression", log_every=10)


def make_sine_data(settings: SineSettings) -> dict:
    """x_t = sin(phi + 0.1 t), y_t = sin(phi + 0.1 (t + 1)) for random phases phi.

    Because the sampling step equals the shift, the target at t is the input at t+1: the
    model predicts the next value, so its output can be fed back in (free-running forecast).
    Returns float32 tensors x/y of shape (N, T, 1) split into train/test, plus the test phases.
    """
    if settings.samples < 2 or settings.seq_len < 2:
        raise LearnerError("rnn.error_sine_data")
    rng = np.random.default_rng(settings.data_seed)
    phases = rng.uniform(0.0, 2 * math.pi, size=settings.samples)          # (N,)
    angle = phases[:, None] + np.arange(settings.seq_len)[None, :] * settings.shift  # (N, T)
    x = torch.tensor(np.sin(angle), dtype=torch.float32).unsqueeze(-1)     # (N, T, 1)
    y = torch.tensor(np.sin(angle + settings.shift), dtype=torch.float32).unsqueeze(-1)
    n_test = min(max(1, round(settings.samples * settings.test_fraction)), settings.samples - 1)
    n_train = settings.samples - n_test
    return {"x_train": x[:n_train], "y_train": y[:n_train], "x_test": x[n_train:],
            "y_test": y[n_train:], "phases_test": phases[n_train:]}


def train_sine(cell: str, data: dict, settings: SineSettings,
               device: torch.device) -> tuple[SeqModel, Iterator[dict]]:
    """A fresh seeded model and the engine's event generator that trains it (with test loss)."""
    model = make_model(cell, settings.hidden_size, settings.num_layers, seed=settings.seed)
    events = train(model, (data["x_train"], data["y_train"]), settings.train_config(), device,
                   val_data=(data["x_test"], data["y_test"]))
    return model, events


def train_cells(data: dict, settings: SineSettings, device: torch.device,
                cells: tuple = CELLS) -> tuple[dict[str, SeqModel], Iterator[dict]]:
    """The cells trained side by side (one thread each, as many at once as the CPU has cores)
    on the same data, seed and batch order: each gets the numbers it would get alone.

    Returns the models (trained as the events are drawn) and one event stream
    (core.engine.combined): the engine's events tagged with "cell", a "model_end" and then
    a "result" event after each cell (params, seconds, train_loss, test_mse, diverged,
    message and the engine's words for how it ended), and a last "end" event.
    """
    models, streams = {}, {}
    for cell in cells:
        models[cell], streams[cell] = train_sine(cell, data, settings, device)

    def phase(cell: str) -> Callable[[], Iterator[dict]]:
        def events() -> Iterator[dict]:
            end, final = {}, math.nan
            for event in streams[cell]:
                if event["kind"] == "end":
                    end = event
                elif event["kind"] == "epoch":
                    final = event["train_loss"]
                yield event
            diverged = end.get("reason") in FAILED  # NaN, or a loss that blew up: no forecast to trust
            yield {"kind": "result", "params": count_params(models[cell]),
                   "seconds": end.get("elapsed", math.nan), "train_loss": final, "diverged": diverged,
                   "message": end.get("message", ""), "words": end.get("words"),
                   "test_mse": math.nan if diverged else test_mse(models[cell], data, device)}
        return events
    order = sorted(cells, key=lambda c: -CELL_COST[c])  # the costliest first: the others fill in
    return models, combined([(cell, CELL_COST[cell], phase(cell)) for cell in order], tag="cell",
                            labels=CELL_LABELS, workers=_workers(len(cells)))


def _workers(jobs: int) -> int:
    """Trainings run side by side: one per CPU core, at most one per job."""
    return min(jobs, os.cpu_count() or 1)


def estimate_sine_seconds(settings: SineSettings, device: torch.device, cells: tuple = CELLS) -> float:
    """How long `train_cells` takes here on `settings`' data: each cell's few real steps timed
    with the threads it will get (on short sequences and a bounded batch, then scaled: see
    `_sequence_costs`; a batch past the rows timed dearer per row once its sequences outgrow the
    caches, `_spill`), then laid out on the workers as `combined` runs them."""
    n_test = min(max(1, round(settings.samples * settings.test_fraction)), settings.samples - 1)
    n_train, config = settings.samples - n_test, settings.train_config()
    workers = _workers(len(cells))
    threads = max(1, torch.get_num_threads() // workers)
    order, seconds = sorted(cells, key=lambda c: -CELL_COST[c]), []
    batch, T, size = timed_batch(config.batch_size), settings.seq_len, (settings.hidden_size, settings.num_layers)
    for cell in order:
        costs = _sequence_costs(cell, *size, 1, True, batch, threads, str(device), T)
        if costs.rows < config.batch_size > TIMED_ROWS:  # far past the rows timed: a large batch's rows, measured
            factor, spill_rows = _spill(*size, batch, threads, str(device))
            reach = math.log(config.batch_size * T / (costs.rows * TIMED_SEQUENCE))  # rows × positions
            share = min(1.0, max(0.0, reach / math.log(spill_rows / costs.rows))) if spill_rows > costs.rows else 0.0
            costs = _spilled(costs, 1 + share * (factor - 1))
        seconds.append(costs.at_batch(config.batch_size).seconds(n_train, config, n_test))
    return contended_seconds(seconds, workers, config.batch_size * T * settings.hidden_size * settings.num_layers)


CONTENDED = 16  # × SPILL_SIZE: steps this large saturate the memory bus, so parallel cells take turns


def contended_seconds(seconds: list[float], workers: int, size: int) -> float:
    """The cells' seconds laid out on the workers (`parallel_seconds`), drawn towards their sum as a
    step's rows × positions × hidden × layers (`size`) outgrow the caches: past SPILL_SIZE the
    cells' steps stream their saved activations through memory, and two at once share its
    bandwidth (at CONTENDED × SPILL_SIZE they run as if one after the other; by the logarithm
    of the size between)."""
    parallel, serial = parallel_seconds(seconds, workers), sum(seconds)
    share = min(1.0, max(0.0, math.log(max(size, 1) / SPILL_SIZE) / math.log(CONTENDED)))
    return parallel + share * (serial - parallel)


SPILL_SIZE = 512 * TIMED_SEQUENCE * 128 * 2  # rows × positions × hidden × layers past the caches' hold, about
SPILL_ROWS = 4096  # rows of TIMED_SEQUENCE positions the one real step of a large batch takes at most


def _spilled(costs: Costs, factor: float) -> Costs:
    """`costs` with every row past the rows timed (and every row evaluated) `factor` times as dear."""
    at_rows = costs.step - costs.step_row * (costs.batch - costs.rows)
    return replace(costs, step=at_rows + factor * costs.step_row * (costs.batch - costs.rows),
                   step_row=factor * costs.step_row, eval_row=factor * costs.eval_row)


@functools.lru_cache(maxsize=32)
def _spill(hidden: int, layers: int, batch: int, threads: int, device: str) -> tuple[float, int]:
    """How a large batch's rows really cost against the few rows the estimates time: an LSTM of
    this size, one real step of as many rows of TIMED_SEQUENCE positions as outgrow the caches
    (SPILL_SIZE; at most SPILL_ROWS) against its estimate: (factor, rows). Past the caches a
    row costs more (its sequences spill to memory); a small network's rows may cost less (longer
    vectors). A smaller batch gets part of the factor, by the logarithm of its rows × positions.
    Once per network size and batch, one real step (a fraction of a second); 0.5 to 8."""
    estimated = _timed_sequences("lstm", hidden, layers, 1, True, batch, threads, device, TIMED_SEQUENCE)
    rows = min(SPILL_ROWS, max(2 * estimated.rows, SPILL_SIZE // (TIMED_SEQUENCE * hidden * layers)))
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(rows, TIMED_SEQUENCE, 1, generator=generator)
    y = torch.randn(rows, TIMED_SEQUENCE, 1, generator=generator)
    config = TrainConfig(epochs=1, batch_size=rows, lr=0.001, optimizer="adam", task="regression",
                         log_every=10**9, shuffle=False)
    model, before, fastest = make_model("lstm", hidden, layers), torch.get_num_threads(), math.inf
    torch.set_num_threads(threads)
    try:
        for _ in range(3):  # a short step twice more: its first call pays for a new shape's set-up
            started = time.perf_counter()
            run_to_end(train(model, (x, y), config, torch.device(device)))
            fastest = min(fastest, time.perf_counter() - started)
            if fastest > 5 * STEP_SECONDS:  # a long step: its set-up is lost in it, once will do
                break
    finally:
        torch.set_num_threads(before)
    at_rows = estimated.step - estimated.step_row * (estimated.batch - estimated.rows)
    real = fastest - estimated.run_fixed - estimated.epoch_fixed - at_rows
    return min(8.0, max(0.5, real / max(estimated.step_row * (rows - estimated.rows), 1e-9))), rows


def _sequence_costs(cell: str, hidden: int, layers: int, inputs: int, with_test: bool, batch: int, threads: int,
                    device: str, length: int) -> Costs:
    """The costs of a SeqModel reading sequences of `length` steps (core.engine.costs_by_length:
    timed at two short lengths, linear in the length), on random sequences of the same shape."""
    return costs_by_length(length, lambda T: _timed_sequences(cell, hidden, layers, inputs, with_test, batch,
                                                              threads, device, T))


@functools.lru_cache(maxsize=128)
def _timed_sequences(cell: str, hidden: int, layers: int, inputs: int, with_test: bool, batch: int, threads: int,
                     device: str, T: int) -> Costs:
    generator = torch.Generator().manual_seed(0)
    x, y = torch.randn(batch, T, inputs, generator=generator), torch.randn(batch, T, 1, generator=generator)
    test = (x[:TIMED_EVAL_ROWS], y[:TIMED_EVAL_ROWS]) if with_test else None
    config = TrainConfig(batch_size=batch, lr=0.001, optimizer="adam", task="regression")
    return measure_costs(make_model(cell, hidden, layers, input_size=inputs), (x, y), config, torch.device(device),
                         val_data=test, threads=threads)


def test_mse(model: nn.Module, data: dict, device: torch.device) -> float:
    pred = predict(model, data["x_test"], device)
    return float(((pred - data["y_test"]) ** 2).mean())


def finished_cells(history: list[dict]) -> dict[str, dict]:
    """cell -> its result event (train/test MSE, parameters, diverged), for the cells whose
    training finished, in the page's order (CELLS): a sine run's results."""
    found = {e["cell"]: e for e in history if e["kind"] == "result"}
    return {cell: found[cell] for cell in CELLS if cell in found}


def any_finished(history: list[dict]) -> bool:
    """Whether a stopped sine or memory run is worth keeping: at least one model finished."""
    return any(e["kind"] == "result" for e in history)


def restore_models(settings: SineSettings, weights: dict[str, dict], results: dict[str, dict]) -> dict[str, SeqModel]:
    """A run's trained models, rebuilt on the CPU from their kept state_dicts: the cells that
    finished (`results`, from finished_cells) without diverging."""
    return {cell: with_weights(SeqModel(cell, 1, settings.hidden_size, settings.num_layers), weights[cell])
            for cell, result in results.items() if not result["diverged"] and cell in weights}


@torch.no_grad()
def predict_one(models: dict[str, SeqModel], x: torch.Tensor) -> dict[str, np.ndarray]:
    """Each model's next-step predictions along one test sequence `x` (1, T, 1)."""
    return {cell: model(x)[0, :, 0].numpy() for cell, model in models.items()}


def forecasts(models: dict[str, SeqModel], context: torch.Tensor, phase: float, horizon: int,
              shift: float = 0.1) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, float]]:
    """Each model's free-run forecast past a test sequence `context` (T, 1) whose wave starts at
    `phase`: (the true continuation, cell -> forecast, cell -> forecast MSE)."""
    truth = forecast_truth(phase, context.shape[0], horizon, shift)
    runs = {cell: free_run_forecast(model, context, horizon, torch.device("cpu")) for cell, model in models.items()}
    return truth, runs, {cell: float(np.mean((values - truth) ** 2)) for cell, values in runs.items()}


@torch.no_grad()
def free_run_forecast(model: SeqModel, context: torch.Tensor, horizon: int,
                      device: torch.device) -> np.ndarray:
    """Warm up on the true `context` (T, 1), then feed each prediction back as the next input.

    Returns `horizon` predicted values: the continuation of the wave after the context.
    """
    model.eval()
    model.to(device)
    out, state = model.step(context.unsqueeze(0).to(device))   # (1, T, 1)
    value = out[:, -1:]                                         # (1, 1, 1): predicts x_T
    values = [value]
    for _ in range(horizon - 1):
        value, state = model.step(value, state)                 # one step, own output as input
        values.append(value)
    return torch.cat(values, dim=1).reshape(-1).cpu().numpy()


def forecast_truth(phase: float, context_len: int, horizon: int, shift: float = 0.1) -> np.ndarray:
    """The true continuation sin(phi + shift * t) for t = context_len .. context_len+horizon-1."""
    return np.sin(phase + shift * np.arange(context_len, context_len + horizon))


# --- 2. Long-term memory: recall the first value ---------------------------------------------

@dataclass
class MemorySettings:
    t_values: tuple = (5, 10, 20, 40)  # sequence lengths T to test
    samples: int = 512       # training sequences per T
    test_samples: int = 500  # held-out sequences per T
    hidden_size: int = 32    # D_h
    epochs: int = 30         # per (cell, T); 16 Adam steps per epoch at batch 32
    batch_size: int = 32     # sequences per Adam step
    lr: float = 0.01         # Adam
    tolerance: float = 0.1   # an answer counts as right within +-tolerance of the true value
    seed: int = 0            # same data and same init for every cell

    def train_config(self) -> TrainConfig:
        return TrainConfig(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
                           optimizer="adam", seed=self.seed, task="regression",
                           log_every=10 ** 9)  # only the epoch events are needed


def make_memory_data(T: int, n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Recall the first value: step 0 holds a marked value v, steps 1..T-1 random distractors.

    Input channels: (value in [-1, 1], marker = 1 only at step 0) -> x (n, T, 2).
    Target: v at every step -> y (n, T, 1); the answer that counts is the last one, T-1 steps
    after v was seen, with T-1 distractors of the same size in between.
    """
    if T < 1 or n < 1:
        raise LearnerError("rnn.error_memory_data")
    gen = torch.Generator().manual_seed(seed)
    values = torch.rand(n, T, generator=gen) * 2 - 1                   # (n, T)
    marker = torch.zeros(n, T)
    marker[:, 0] = 1.0
    x = torch.stack([values, marker], dim=-1)                          # (n, T, 2)
    y = values[:, :1].unsqueeze(-1).expand(n, T, 1).contiguous()       # (n, T, 1)
    return x, y


def memory_accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, device: torch.device,
                    tolerance: float = 0.1) -> float:
    """% of sequences whose LAST output is within `tolerance` of the first value."""
    last = predict(model, x, device)[:, -1, 0]                         # (n,)
    return 100.0 * float(((last - y[:, -1, 0]).abs() <= tolerance).float().mean())


def gradient_profile(model: SeqModel, x: torch.Tensor, y: torch.Tensor,
                     device: torch.device) -> np.ndarray:
    """BPTT: mean |dL/dx_t| over the batch for the value channel, L = loss of the LAST answer.

    How much the final answer's loss still "feels" each input step; for a plain RNN it fades
    roughly geometrically with the distance from the end.
    """
    was_training = model.training
    model.to(device).train()  # cuDNN can only run RNN backward in training mode (no dropout here)
    x = x.to(device).clone().requires_grad_(True)
    out = model(x)                                                     # (n, T, 1)
    loss = ((out[:, -1] - y.to(device)[:, -1]) ** 2).mean()
    model.zero_grad(set_to_none=True)
    loss.backward()
    grad = x.grad[:, :, 0].abs().mean(dim=0)                           # (T,)
    model.zero_grad(set_to_none=True)
    model.train(was_training)
    return grad.detach().cpu().numpy()


def run_memory_experiment(settings: MemorySettings, device: torch.device,
                          cells: tuple = CELLS) -> Iterator[dict]:
    """Train every cell at every T through the engine, side by side (core.engine.combined, one
    thread per CPU core); yield small events as work proceeds.

    Events: progress (cell, T, epoch, loss, progress 0..1);
            result (cell, T, accuracy %, seconds, final_loss, diverged);
            gradients (cell, T = the largest T, initial: list, trained: list) per cell;
            end (reason, message, words) last.
    Stop by breaking out of the loop.
    """
    t_values = sorted({int(t) for t in settings.t_values})
    if not t_values or t_values[0] < 1:
        raise LearnerError("rnn.error_no_T")
    datasets = {T: (make_memory_data(T, settings.samples, settings.seed),
                    make_memory_data(T, settings.test_samples, settings.seed + 1)) for T in t_values}
    config = settings.train_config()
    # Every model is built here, before any thread starts: seeded inits need the global RNG alone.
    models = {(cell, T): make_model(cell, settings.hidden_size, input_size=2, seed=settings.seed)
              for T in t_values for cell in cells}

    def job(cell: str, T: int) -> Callable[[], Iterator[dict]]:
        def events() -> Iterator[dict]:
            (x_train, y_train), (x_test, y_test) = datasets[T]
            model = models[cell, T]
            initial_grad = (gradient_profile(model, x_test[:200], y_test[:200], device)
                            if t_values[-1] == T else None)
            started, final_loss, diverged = time.perf_counter(), math.nan, False
            for event in train(model, (x_train, y_train), config, device):
                if event["kind"] == "epoch":
                    final_loss = event["train_loss"]
                    yield {"kind": "progress", "cell": cell, "T": T, "epoch": event["epoch"],
                           "loss": final_loss, "progress": event["epoch"] / settings.epochs}
                elif event["kind"] == "end":
                    diverged = event["reason"] == "diverged"
            accuracy = 0.0 if diverged else memory_accuracy(model, x_test, y_test, device, settings.tolerance)
            yield {"kind": "result", "cell": cell, "T": T, "accuracy": accuracy,
                   "seconds": time.perf_counter() - started, "final_loss": final_loss, "diverged": diverged}
            if initial_grad is not None:
                trained_grad = gradient_profile(model, x_test[:200], y_test[:200], device)
                yield {"kind": "gradients", "cell": cell, "T": T,
                       "initial": [float(v) for v in initial_grad],
                       "trained": [float(v) for v in trained_grad]}
        return events

    # A job costs about T steps per sequence (more for a GRU): the costliest start first.
    jobs = sorted(models, key=lambda ct: -ct[1] * CELL_COST[ct[0]])
    said = words("rnn.mem_finished", jobs=len(jobs))
    for event in combined([(f"{cell}@{T}", T * CELL_COST[cell], job(cell, T)) for cell, T in jobs],
                          tag="job", workers=_workers(len(jobs))):
        yield {**event, "message": english(said), "words": said} if event["kind"] == "end" else event


def memory_results(history: list[dict]) -> dict:
    """A memory run's results: accuracy per (cell, T) point and each cell's gradient profile."""
    return {"points": [e for e in history if e["kind"] == "result"],
            "gradients": {e["cell"]: e for e in history if e["kind"] == "gradients"}}


def memory_progress(history: list[dict]) -> dict | None:
    """The newest progress of a memory run: its cell, T, epoch and loss (None before the first)."""
    last = next((e for e in reversed(history) if e["kind"] == "progress"), None)
    return None if last is None else {k: last[k] for k in ("cell", "T", "epoch", "loss")}


def estimate_memory_seconds(settings: MemorySettings, device: torch.device, cells: tuple = CELLS) -> float:
    """How long `run_memory_experiment` takes here: each cell's few real steps timed on short
    sequences (`_sequence_costs`, scaled to each T), laid out on the workers in the
    experiment's order."""
    t_values = sorted({int(t) for t in settings.t_values})
    jobs = len(cells) * len(t_values)
    workers, threads = _workers(jobs), max(1, torch.get_num_threads() // _workers(jobs))
    config = settings.train_config()
    order = sorted(((c, T) for c in cells for T in t_values), key=lambda ct: -ct[1] * CELL_COST[ct[0]])
    return parallel_seconds([_sequence_costs(c, settings.hidden_size, 1, 2, False, timed_batch(config.batch_size),
                                             threads, str(device), T).at_batch(config.batch_size)
                             .seconds(settings.samples, config) for c, T in order], workers)


# --- Inside the cells: step by step with the trained weights --------------------------------

def _layer_weights(module: nn.Module, layer: int):
    return (getattr(module, f"weight_ih_l{layer}").detach().cpu(),
            getattr(module, f"weight_hh_l{layer}").detach().cpu(),
            getattr(module, f"bias_ih_l{layer}").detach().cpu(),
            getattr(module, f"bias_hh_l{layer}").detach().cpu())


@torch.no_grad()
def lstm_steps(lstm: nn.LSTM, x: torch.Tensor) -> dict:
    """Run an nn.LSTM by hand, one time step at a time, with its own weights.

    x: (N, T, d) batch_first. PyTorch stacks the gates as [i, f, g, o]:
      i = sigmoid(W_ii x + b_ii + W_hi h + b_hi)   input gate: how much new content to write
      f = sigmoid(W_if x + b_if + W_hf h + b_hf)   forget gate: how much of c_{t-1} to keep
      g = tanh(W_ig x + b_ig + W_hg h + b_hg)      candidate content
      o = sigmoid(W_io x + b_io + W_ho h + b_ho)   output gate: how much of the cell to show
      c_t = f * c_{t-1} + i * g ;  h_t = o * tanh(c_t)
    Returns {"output": (N, T, H) top layer h_t, "layers": [{i, f, g, o, c, h: (N, T, H)}]}.
    """
    x = x.detach().cpu().float()
    layers = []
    inputs = x
    for layer in range(lstm.num_layers):
        w_ih, w_hh, b_ih, b_hh = _layer_weights(lstm, layer)
        n, steps, _ = inputs.shape
        hidden = w_hh.shape[1]
        h = torch.zeros(n, hidden)
        c = torch.zeros(n, hidden)
        record = {name: [] for name in ("i", "f", "g", "o", "c", "h")}
        for t in range(steps):
            z = inputs[:, t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh        # (N, 4H)
            zi, zf, zg, zo = z.chunk(4, dim=1)                          # 4 x (N, H)
            i, f, g, o = torch.sigmoid(zi), torch.sigmoid(zf), torch.tanh(zg), torch.sigmoid(zo)
            c = f * c + i * g
            h = o * torch.tanh(c)
            for name, value in zip(("i", "f", "g", "o", "c", "h"), (i, f, g, o, c, h)):
                record[name].append(value)
        layers.append({name: torch.stack(v, dim=1) for name, v in record.items()})  # (N, T, H)
        inputs = layers[-1]["h"]
    return {"output": inputs, "layers": layers}


@torch.no_grad()
def gru_steps(gru: nn.GRU, x: torch.Tensor) -> dict:
    """Run an nn.GRU by hand, one step at a time. PyTorch stacks the gates as [r, z, n]:
      r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)         reset gate: how much past to use for n
      z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)         update gate: how much of h_{t-1} to keep
      n = tanh(W_in x + b_in + r * (W_hn h + b_hn))      candidate state
      h_t = (1 - z) * n + z * h_{t-1}
    Returns {"output": (N, T, H), "layers": [{r, z, n, h: (N, T, H)}]}.
    """
    x = x.detach().cpu().float()
    layers = []
    inputs = x
    for layer in range(gru.num_layers):
        w_ih, w_hh, b_ih, b_hh = _layer_weights(gru, layer)
        n_seq, steps, _ = inputs.shape
        hidden = w_hh.shape[1]
        h = torch.zeros(n_seq, hidden)
        record = {name: [] for name in ("r", "z", "n", "h")}
        for t in range(steps):
            gx = inputs[:, t] @ w_ih.T + b_ih                           # (N, 3H)
            gh = h @ w_hh.T + b_hh                                      # (N, 3H)
            xr, xz, xn = gx.chunk(3, dim=1)
            hr, hz, hn = gh.chunk(3, dim=1)
            r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
            n = torch.tanh(xn + r * hn)
            h = (1 - z) * n + z * h
            for name, value in zip(("r", "z", "n", "h"), (r, z, n, h)):
                record[name].append(value)
        layers.append({name: torch.stack(v, dim=1) for name, v in record.items()})
        inputs = layers[-1]["h"]
    return {"output": inputs, "layers": layers}


@torch.no_grad()
def rnn_steps(rnn: nn.RNN, x: torch.Tensor) -> dict:
    """Run a tanh nn.RNN by hand: h_t = tanh(W_xh x_t + b_xh + W_hh h_{t-1} + b_hh)."""
    x = x.detach().cpu().float()
    layers = []
    inputs = x
    for layer in range(rnn.num_layers):
        w_ih, w_hh, b_ih, b_hh = _layer_weights(rnn, layer)
        h = torch.zeros(inputs.shape[0], w_hh.shape[1])
        hs = []
        for t in range(inputs.shape[1]):
            h = torch.tanh(inputs[:, t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh)
            hs.append(h)
        layers.append({"h": torch.stack(hs, dim=1)})
        inputs = layers[-1]["h"]
    return {"output": inputs, "layers": layers}


_STEPPERS = {"rnn": rnn_steps, "lstm": lstm_steps, "gru": gru_steps}


@torch.no_grad()
def inside_cell(model: SeqModel, x: torch.Tensor) -> dict:
    """Step-by-step states of `model` on x (N, T, d), checked against the module itself.

    Returns the stepper's dict plus "max_abs_diff": the largest |difference| between the
    hand-run top-layer h_t and what nn.RNN/LSTM/GRU returns for the same input.
    """
    result = _STEPPERS[model.cell](model.rnn, x)
    module = model.rnn
    device = next(module.parameters()).device
    reference, _ = module(x.to(device).float())
    result["max_abs_diff"] = float((reference.cpu() - result["output"]).abs().max())
    return result


# --- Equations with live shapes ---------------------------------------------------------------

def _shape(rows, cols) -> str:
    return f"{rows}\\times{cols}"


def equations(cell: str, input_size: int = 1, hidden_size: int = 32) -> list[str]:
    """LaTeX for one layer of `cell`, every matrix/vector annotated with its current shape."""
    d, H = input_size, hidden_size
    W = _shape(H, d)
    U = _shape(H, H)
    v = _shape(H, 1)
    xv = _shape(d, 1)

    def gate(name: str, act: str, extra: str = "") -> str:
        return (f"{name}_t = \\{act}\\big(\\underbrace{{W_{{x{name}}}}}_{{{W}}}"
                f"\\underbrace{{x_t}}_{{{xv}}} + \\underbrace{{W_{{h{name}}}}}_{{{U}}}"
                f"{extra}\\underbrace{{h_{{t-1}}}}_{{{v}}} + \\underbrace{{b_{name}}}_{{{v}}}\\big)"
                f"\\quad\\in\\mathbb{{R}}^{{{v}}}")

    if cell == "rnn":
        return [(f"h_t = \\tanh\\big(\\underbrace{{W_{{xh}}}}_{{{W}}}\\underbrace{{x_t}}_{{{xv}}}"
                 f" + \\underbrace{{W_{{hh}}}}_{{{U}}}\\underbrace{{h_{{t-1}}}}_{{{v}}}"
                 f" + \\underbrace{{b}}_{{{v}}}\\big)\\quad\\in\\mathbb{{R}}^{{{v}}}")]
    if cell == "lstm":
        return [gate("i", "sigma"), gate("f", "sigma"), gate("o", "sigma"),
                gate("g", "tanh").replace("g_t =", "\\tilde c_t = g_t ="),
                f"c_t = f_t \\odot c_{{t-1}} + i_t \\odot \\tilde c_t\\quad\\in\\mathbb{{R}}^{{{v}}}",
                f"h_t = o_t \\odot \\tanh(c_t)\\quad\\in\\mathbb{{R}}^{{{v}}}"]
    if cell == "gru":
        return [gate("r", "sigma"), gate("z", "sigma"),
                (f"\\tilde h_t = \\tanh\\big(\\underbrace{{W_{{xn}}}}_{{{W}}}\\underbrace{{x_t}}_{{{xv}}}"
                 f" + r_t\\odot(\\underbrace{{W_{{hn}}}}_{{{U}}}\\underbrace{{h_{{t-1}}}}_{{{v}}}"
                 f" + b_{{hn}}) + b_{{xn}}\\big)"),
                f"h_t = (1 - z_t)\\odot \\tilde h_t + z_t \\odot h_{{t-1}}\\quad\\in\\mathbb{{R}}^{{{v}}}"]
    raise ValueError(f"Unknown cell {cell!r}")


def shape_table(input_size: int, hidden_size: int, num_layers: int, batch_size: int,
                seq_len: int) -> dict[str, str]:
    """The shapes of the tensors a learner meets, for the current settings, by name."""
    d, H, N, T, L = input_size, hidden_size, batch_size, seq_len, num_layers
    return {"x_t": f"{d}×1", "h_t": f"{H}×1", "w_x": f"{H}×{d}", "w_h": f"{H}×{H}", "b": f"{H}×1",
            "stacked": f"{4 * H}×{d} / {3 * H}×{d}", "batch_input": f"{N}×{T}×{d}",
            "output": f"{N}×{T}×{H}", "h_n": f"{L}×{N}×{H}", "head": f"{N}×{T}×1"}


# --- Figures: what a run shows, by name (core.lessons reads them) -----------------------------

def memory_figures(run) -> dict:
    """rnn_memory: longest_T (the longest sequence the run was set to test) and <cell>_accuracy,
    each cell's accuracy (%) at that T (None: the cell did not get there, as in a stopped run)."""
    longest = max(int(T) for T in run.settings.t_values)
    at = {p["cell"]: float(p["accuracy"]) for p in run.results["points"] if p["T"] == longest}
    return {"longest_T": longest, **{f"{cell}_accuracy": at.get(cell) for cell in CELLS}}


FIGURES = {  # store -> its settings dataclass, the figures its runs show beyond them, and their reader
    "rnn_memory": {"settings": MemorySettings, "figures": ("longest_T", *(f"{cell}_accuracy" for cell in CELLS)),
                   "read": memory_figures},
}
