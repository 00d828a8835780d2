"""stock-lstm: the notebook's Samsung LSTM recipe, engine vs a notebook-style DataLoader loop.

Both train on the same leak-free windows (embedded 005930 from 2020-01-01, test from
2023-01-01, Open/High/Low/Volume -> next-day Close, window 30), the same seeded init, Adam
lr 0.01, batch 32, up to 100 epochs with early stopping (patience 5, tolerance 1e-6) on the
validation windows. Both run with one CPU thread on the CPU (core.device.one_cpu_thread: a
10-unit LSTM gains nothing from more), so the comparison is loop against loop. Metric: test RMSE
in won.
"""
import dataclasses
import time

import numpy as np
import torch
from sklearn.metrics import root_mean_squared_error
from torch import nn

from bench import result, timed_engine_run
from bench._reference import notebook_epoch
from core import stocks
from core.data import embedded_prices
from core.device import one_cpu_thread, synchronize

WORKLOAD = "stock-lstm"
SETTINGS = stocks.StockSettings()  # the notebook's columns, window, split and training recipe


def _prepared(epochs: int, patience: int | None) -> stocks.Prepared:
    frame = embedded_prices("005930", SETTINGS.start)  # embedded: never the network
    return stocks.prepare(frame, dataclasses.replace(SETTINGS, epochs=epochs, patience=patience))


def _rmse(prepared: stocks.Prepared, prices: np.ndarray) -> float:
    return float(root_mean_squared_error(prepared.close[prepared.rows_test], prices))


def run_playground(device, epochs: int, patience: int | None) -> dict:
    prepared = _prepared(epochs, patience)
    with one_cpu_thread(device):
        model = stocks.make_model("lstm", prepared.n_features, prepared.settings)
        end, seconds = timed_engine_run(stocks.train_events(model, prepared, device), device)
        rmse = _rmse(prepared, stocks.predict_prices(model, prepared, device))
    return result(WORKLOAD, "playground", device, end["epochs_run"], seconds,
                  end["epochs_run"] * len(prepared.x_train), "test_rmse_won", rmse)


def run_reference(device, epochs: int, patience: int | None) -> dict:
    """The notebook's loop: DataLoader(TensorDataset), per-epoch validation, copy of best weights."""
    from torch.utils.data import DataLoader, TensorDataset

    prepared = _prepared(epochs, patience)
    loader = DataLoader(TensorDataset(prepared.x_train, prepared.y_train),
                        batch_size=SETTINGS.batch_size, shuffle=True)
    model = stocks.make_model("lstm", prepared.n_features, SETTINGS).to(device)
    criterion = nn.MSELoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=SETTINGS.lr)
    x_val, y_val = prepared.x_val.to(device), prepared.y_val.to(device)
    best, best_state, bad, run_epochs = float("inf"), None, 0, 0
    with one_cpu_thread(device):
        synchronize(device)
        start = time.perf_counter()
        for _ in range(epochs):
            run_epochs += 1
            notebook_epoch(model, loader, criterion, optimizer, device)
            model.eval()
            with torch.no_grad():
                val = criterion(model(x_val), y_val).item()
            if val < best - SETTINGS.min_delta:
                best, bad = val, 0
                best_state = {k: v.clone() for k, v in model.state_dict().items()}
            else:
                bad += 1
                if patience is not None and bad >= patience:
                    break
        synchronize(device)
        seconds = time.perf_counter() - start
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    with torch.no_grad():
        scaled = model(prepared.x_test.to(device)).cpu().numpy().reshape(-1)
    rmse = _rmse(prepared, prepared.to_prices(scaled, prepared.rows_test))
    return result(WORKLOAD, "reference", device, run_epochs, seconds,
                  run_epochs * len(prepared.x_train), "test_rmse_won", rmse)


def _warm_up(device) -> None:
    """Pay one-time costs outside the timers: the first optimizer imports torch._dynamo,
    the first LSTM call initialises kernels. Otherwise whichever runs first loses."""
    model = stocks.make_model("lstm", len(SETTINGS.features), SETTINGS).to(device)
    torch.optim.Adam(model.parameters(), lr=SETTINGS.lr)
    model(torch.zeros(2, SETTINGS.window, len(SETTINGS.features), device=device)).sum().backward()
    synchronize(device)


def run(quick: bool, device):
    _warm_up(device)
    if quick:  # a smoke test: 3 epochs, no early stopping
        yield run_playground(device, epochs=3, patience=None)
        yield run_reference(device, epochs=3, patience=None)
        return
    yield run_playground(device, epochs=SETTINGS.epochs, patience=SETTINGS.patience)
    yield run_reference(device, epochs=SETTINGS.epochs, patience=SETTINGS.patience)
