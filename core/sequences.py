"""Sequences and memory: sine-wave RNN/LSTM/GRU, a long-term recall task, and the cells step by step."""
import math
import time
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
import torch
from torch import nn

from core.engine import TrainConfig, evaluate, predict, train
from core.models import count_params

CELLS = ("rnn", "lstm", "gru")
CELL_LABELS = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}
_CELL_CLASSES = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
_GATES_PER_CELL = {"rnn": 1, "lstm": 4, "gru": 3}  # stacked weight blocks in PyTorch's layout


# --- Data -------------------------------------------------------------------------------------

@dataclass
class SineConfig:
    samples: int = 1000     # sequences (the notes' 1,000)
    seq_len: int = 50       # time steps per sequence (the notes' 50)
    step: float = 0.1       # radians between consecutive time steps
    shift: float = 0.1      # target = the same wave shifted by this many radians
    test_fraction: float = 0.2  # held out for prediction plots and test loss
    seed: int = 0           # random phases


def make_sine_data(config: SineConfig) -> dict:
    """Sine sequences starting at random phases; the target is the wave shifted by `shift`.

    With step == shift (the default) the target at t is exactly the input at t+1, so the
    model is a next-value predictor and its output can be fed back in (free-running forecast).
    Returns float32 tensors x, y of shape (N, T, 1), split into train/test, plus the phases.
    """
    if config.samples < 2 or config.seq_len < 2:
        raise ValueError("need at least 2 sequences of at least 2 steps")
    rng = np.random.default_rng(config.seed)
    phases = rng.uniform(0.0, 2 * math.pi, size=config.samples)              # (N,)
    t = np.arange(config.seq_len) * config.step                              # (T,)
    angle = phases[:, None] + t[None, :]                                     # (N, T)
    x = torch.tensor(np.sin(angle), dtype=torch.float32).unsqueeze(-1)       # (N, T, 1)
    y = torch.tensor(np.sin(angle + config.shift), dtype=torch.float32).unsqueeze(-1)
    n_test = max(1, int(round(config.samples * config.test_fraction)))
    n_test = min(n_test, config.samples - 1)
    n_train = config.samples - n_test
    return {"x_train": x[:n_train], "y_train": y[:n_train], "x_test": x[n_train:],
            "y_test": y[n_train:], "phases_test": phases[n_train:], "config": config}


# --- Model ------------------------------------------------------------------------------------

class SeqModel(nn.Module):
    """nn.RNN / nn.LSTM / nn.GRU followed by a linear head.

    `per_step=True` (sine task): one output per time step, (N, T, out).
    `per_step=False` (memory task): only the last step's output, (N, out), e.g. class logits.
    """

    def __init__(self, cell: str = "lstm", input_size: int = 1, hidden_size: int = 32,
                 num_layers: int = 1, output_size: int = 1, per_step: bool = True):
        super().__init__()
        if cell not in _CELL_CLASSES:
            raise ValueError(f"Unknown cell {cell!r}; choose one of {', '.join(CELLS)}")
        self.cell = cell
        self.per_step = per_step
        self.rnn = _CELL_CLASSES[cell](input_size, hidden_size, num_layers=num_layers,
                                       batch_first=True)
        self.head = nn.Linear(hidden_size, output_size)

    def forward(self, x: torch.Tensor, state=None):
        out, _ = self.rnn(x, state)            # (N, T, H): top layer's h_t at every step
        if not self.per_step:
            out = out[:, -1]                   # (N, H): the last step only
        return self.head(out)

    def step(self, x: torch.Tensor, state=None):
        """Run on x (N, T, d) from `state`; return (outputs, new state) for feeding back."""
        out, state = self.rnn(x, state)
        return self.head(out), state


def make_model(cell: str, hidden_size: int = 32, num_layers: int = 1, input_size: int = 1,
               output_size: int = 1, per_step: bool = True, seed: int = 0) -> SeqModel:
    """A seeded SeqModel: the same seed gives the same initial weights for a given cell."""
    torch.manual_seed(seed)
    return SeqModel(cell, input_size, hidden_size, num_layers, output_size, per_step)


def param_count_formula(cell: str, input_size: int, hidden_size: int, num_layers: int = 1,
                        output_size: int = 1) -> int:
    """Parameters by the formula: gates * (D_h*d + D_h*D_h + 2*D_h) per layer + the head."""
    gates = _GATES_PER_CELL[cell]
    total = 0
    for layer in range(num_layers):
        d = input_size if layer == 0 else hidden_size
        total += gates * (hidden_size * d + hidden_size * hidden_size + 2 * hidden_size)
    return total + hidden_size * output_size + output_size
