"""sine-rnn: RNN, LSTM and GRU on the notes' sine task, engine vs DataLoader(TensorDataset) loop."""
import dataclasses

import torch
from torch import nn

from bench import result, timed_engine_run
from bench._reference import timed_notebook_training, warm_up
from core.rnn import CELLS, SineSettings, make_model, make_sine_data, test_mse, train_sine

WORKLOAD = "sine-rnn"
RECIPE = SineSettings()  # the page defaults: 1,000 sequences of 50 steps, hidden 32, Adam 0.015, 60 epochs, batch 128


def run_playground(cell: str, data: dict, config: SineSettings, device) -> dict:
    model, events = train_sine(cell, data, config, device)
    _, seconds = timed_engine_run(events, device)
    return result(f"{WORKLOAD}-{cell}", "playground", device, config.epochs, seconds,
                  config.epochs * len(data["x_train"]), "final_mse", test_mse(model, data, device))


def run_reference(cell: str, data: dict, config: SineSettings, device) -> dict:
    """The notebook way: DataLoader(TensorDataset) on CPU tensors, batches copied each step."""
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(config.seed)
    loader = DataLoader(TensorDataset(data["x_train"], data["y_train"]),
                        batch_size=config.batch_size, shuffle=True)
    model = make_model(cell, config.hidden_size, config.num_layers, seed=config.seed).to(device)
    criterion = nn.MSELoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    seconds = timed_notebook_training(model, loader, criterion, optimizer, device, config.epochs)
    return result(f"{WORKLOAD}-{cell}", "reference", device, config.epochs, seconds,
                  config.epochs * len(data["x_train"]), "final_mse", test_mse(model, data, device))


def run(quick: bool, device):
    warm_up(device)
    data = make_sine_data(RECIPE)  # 800 train / 200 test sequences
    config = RECIPE
    if quick:  # a smoke test: 5 epochs
        config = dataclasses.replace(RECIPE, epochs=5)
    for cell in CELLS:
        yield run_playground(cell, data, config, device)
        yield run_reference(cell, data, config, device)
