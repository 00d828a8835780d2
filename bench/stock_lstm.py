"""stock-lstm: the notebook's Samsung LSTM recipe, engine vs a notebook-style DataLoader loop.

Both train on the same leak-free windows (embedded 005930 from 2020-01-01, test from
2023-01-01, Open/High/Low/Volume -> next-day Close, window 30), the same seeded init, Adam
lr 0.01, batch 32, up to 100 epochs with early stopping (patience 5, tolerance 1e-6) on the
validation windows. Both run with one CPU thread on the CPU (the page's choice: a 10-unit LSTM
gains nothing from more), so the comparison is loop against loop. Metric: test RMSE in won.
"""
import time

import numpy as np
import torch
from torch import nn

from bench import result, timed_engine_run
from bench._reference import notebook_epoch
from core import forecast as fc
from core.device import synchronize

WORKLOAD = "stock-lstm"
SETTINGS = fc.ForecastConfig()  # the notebook's columns, window and split
RECIPE = dict(lr=0.01, batch_size=32, epochs=100, patience=5, min_delta=1e-6, seed=0)


def _prepared() -> fc.Prepared:
    frame = fc._tidy(fc.load_stock_csv("005930"))
    frame = frame[frame["Date"] >= "2020-01-01"].reset_index(drop=True)  # embedded: never the network
    return fc.prepare(frame, SETTINGS)


def _rmse(prepared: fc.Prepared, prices: np.ndarray) -> float:
    return float(np.sqrt(np.mean((prices - prepared.close[prepared.rows_test]) ** 2)))


def run_playground(device, epochs: int, patience: int | None) -> dict:
    prepared = _prepared()
    model = fc.make_model("lstm", prepared.n_features, seed=RECIPE["seed"])
    config = fc.make_train_config(**{**RECIPE, "epochs": epochs, "patience": patience})
    end, seconds = timed_engine_run(fc.train_events(model, prepared, config, device), device)
    rmse = _rmse(prepared, fc.predict_prices(model, prepared, device))
    return result(WORKLOAD, "playground", device, end["epochs_run"], seconds,
                  end["epochs_run"] * len(prepared.x_train), "test_rmse_won", rmse)


def run_reference(device, epochs: int, patience: int | None) -> dict:
    """The notebook's loop: DataLoader(TensorDataset), per-epoch validation, copy of best weights."""
    from torch.utils.data import DataLoader, TensorDataset

    prepared = _prepared()
    loader = DataLoader(TensorDataset(prepared.x_train, prepared.y_train),
                        batch_size=RECIPE["batch_size"], shuffle=True)
    model = fc.make_model("lstm", prepared.n_features, seed=RECIPE["seed"]).to(device)
    criterion = nn.MSELoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=RECIPE["lr"])
    x_val, y_val = prepared.x_val.to(device), prepared.y_val.to(device)
    before = torch.get_num_threads()
    if device.type == "cpu":
        torch.set_num_threads(1)
    best, best_state, bad, run_epochs = float("inf"), None, 0, 0
    synchronize(device)
    start = time.perf_counter()
    try:
        for _ in range(epochs):
            run_epochs += 1
            notebook_epoch(model, loader, criterion, optimizer, device)
            model.eval()
            with torch.no_grad():
                val = criterion(model(x_val), y_val).item()
            if val < best - RECIPE["min_delta"]:
                best, bad = val, 0
                best_state = {k: v.clone() for k, v in model.state_dict().items()}
            else:
                bad += 1
                if patience is not None and bad >= patience:
                    break
        synchronize(device)
        seconds = time.perf_counter() - start
    finally:
        torch.set_num_threads(before)
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    with torch.no_grad():
        scaled = model(prepared.x_test.to(device)).cpu().numpy().reshape(-1)
    rmse = _rmse(prepared, prepared.to_prices(scaled, prepared.rows_test))
    return result(WORKLOAD, "reference", device, run_epochs, seconds,
                  run_epochs * len(prepared.x_train), "test_rmse_won", rmse)


def _warm_up(device) -> None:
    """Pay one-time costs outside the timers: the first optimizer imports torch._dynamo
    (seconds), the first LSTM call initialises kernels. Otherwise whichever runs first loses."""
    model = fc.make_model("lstm", len(SETTINGS.features)).to(device)
    torch.optim.Adam(model.parameters(), lr=RECIPE["lr"])
    model(torch.zeros(2, SETTINGS.window, len(SETTINGS.features), device=device)).sum().backward()
    synchronize(device)


def run(quick: bool, device):
    _warm_up(device)
    if quick:  # a smoke test: 3 epochs, no early stopping
        yield run_playground(device, epochs=3, patience=None)
        yield run_reference(device, epochs=3, patience=None)
        return
    yield run_playground(device, epochs=RECIPE["epochs"], patience=RECIPE["patience"])
    yield run_reference(device, epochs=RECIPE["epochs"], patience=RECIPE["patience"])
