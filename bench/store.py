"""store: seconds to keep and to restore a typical run of each page in the database (db.keep_run,
db.load_runs), p50 and p95 over REPETITIONS, on SQLite and on a throwaway PostgreSQL.

    python -m bench store [--quick]

A "typical" run is a real one (core's training code on a small subset, so its events, end and
results have the page's own shapes), its history repeated up to about what the page's default
settings log (TYPICAL_EVENTS) and its weights those of the page's default-size model. PostgreSQL
comes from deploy/postgres.py's throwaway cluster; where it cannot start, its line says why.
page_runs() also gives tests/test_db.py a real run of every store.
"""
import contextlib
import dataclasses
import itertools
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

WORKLOAD = "store"
REPETITIONS = 20
TYPICAL_EVENTS = {  # events the page's default settings log, roughly (the live chart's points)
    "ann_runs": 2000, "ann_reg_runs": 400, "perceptron_rule_runs": 220, "perceptron_mlp_runs": 440,
    "perceptron_sine_runs": 200, "cnn_runs": 30, "cnn_augment_runs": 60, "resnet_runs": 300, "resnet_tl_runs": 120,
    "transfer_runs": 120, "transfer_sweeps": 400, "rnn_runs": 600, "rnn_memory": 400, "stocks_runs": 400,
    "resnet_photo_runs": 100,
}
PAGES = {"ann": ("ann_runs", "ann_reg_runs"), "perceptron": ("perceptron_rule_runs", "perceptron_mlp_runs",
                                                              "perceptron_sine_runs"),
         "cnn": ("cnn_runs", "cnn_augment_runs"), "resnet": ("resnet_runs", "resnet_tl_runs", "transfer_runs",
                                                              "transfer_sweeps", "resnet_photo_runs"),
         "rnn": ("rnn_runs", "rnn_memory"), "stocks": ("stocks_runs",)}
PAGE_OF = {store: page for page, stores in PAGES.items() for store in stores}
CPU = torch.device("cpu")


def _weights(model: torch.nn.Module) -> dict:
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def _drain(events) -> tuple[list[dict], dict | None]:
    history, end = [], None
    for event in events:
        if event["kind"] == "end":
            end = event
        else:
            history.append(event)
    return history, end


def _run(settings, history, end, results=None, state_dict=None, query: str = "") -> dict:
    return {"settings": settings, "history": history, "end": end, "results": results or {},
            "state_dict": state_dict, "link": f"http://localhost:8501/{query}"}


def page_runs() -> dict[str, dict]:
    """A real, small run of every page's store: store -> {settings, history, end, results,
    state_dict, link}, as the page's make_run builds them (about 10 s on one CPU thread)."""
    from core import ann, augment, cnn, perceptron, regression, resnet, rnn, stocks, transfer
    from core import data as core_data
    from core.engine import train

    runs = {}
    s = ann.AnnSettings(hidden=(32,), n_train=500, epochs=1)
    model = ann.build_model(s)
    h, end = _drain(train(model, ann.training_subset(s.n_train), s.train_config(), CPU, val_data=ann.test_set(),
                          transform=s.transform()))
    runs["ann_runs"] = _run(s, h, end, ann.analyze(model, s, h, end, 9.0, CPU), _weights(model), "ann?ann_epochs=1")

    s = regression.RegressionSettings(hidden=(8,), epochs=3, patience=0)
    split, model = regression.split(s.split_seed, s.val_share, s.test_share), regression.build_model(s)
    h, end = _drain(regression.train_events(model, split, s, CPU))
    runs["ann_reg_runs"] = _run(s, h, end, regression.analyze(model, split, s, h, end, CPU), _weights(model), "ann")

    data = perceptron.ToyData("XOR", 100, 0.1, 0)
    x, y = data.make()
    rule = perceptron.PerceptronConfig(epochs=5)
    runs["perceptron_rule_runs"] = _run(rule, *_drain(perceptron.train_perceptron(x, y, rule)), {"data": data})
    mlp = perceptron.MLPConfig(epochs=20)
    runs["perceptron_mlp_runs"] = _run(mlp, *_drain(perceptron.train_mlp(x, y, mlp, CPU, perceptron.plot_bounds(x))),
                                       {"data": data})
    cubic = perceptron.CubicFitConfig(steps=200)
    runs["perceptron_sine_runs"] = _run(cubic, *_drain(perceptron.fit_cubic(cubic)))

    s = cnn.CNNSettings(n_train=256, n_test=128, epochs=1)
    model = cnn.build_cnn("mnist", 0)
    runs["cnn_runs"] = _run(s, *_drain(cnn.train_events(model, s, CPU)), None, _weights(model), "cnn")
    s = dataclasses.replace(s, augment=augment.Augment(flip=True))
    h, end = _drain(cnn.compare_events({arm: cnn.build_cnn("mnist", 0) for arm in cnn.ARMS}, s, CPU))
    runs["cnn_augment_runs"] = _run(s, h, end, cnn.comparison(h), None, "cnn")

    s = resnet.ExperimentSettings(depth=6, n_train=200, epochs=1)
    plain, residual = resnet.build_pair(s.net_config())
    h, end = _drain(resnet.plain_vs_residual(plain, residual, s, resnet.experiment_data("mnist", 200, 100, 0), CPU))
    runs["resnet_runs"] = _run(s, h, end, resnet.comparison(h),
                               {"plain": _weights(plain), "residual": _weights(residual)}, "resnet")
    import torchvision

    tl = resnet.TransferConfig(n_train=20, n_test=10, image_size=32, head_epochs=1, scratch_epochs=1)
    head, scratch = resnet.new_head(tl.seed), resnet.scratch_resnet18(tl.seed)
    h, end = _drain(resnet.transfer_events(tl, torchvision.models.resnet18(weights=None), head, scratch, CPU))
    runs["resnet_tl_runs"] = _run(tl, h, end, {}, {"pretrained": _weights(head), "scratch": _weights(scratch)},
                                  "resnet")  # ResNet-18 from scratch: 43 MB, above the weights limit
    ts = transfer.TransferSettings(per_class=5, epochs=1)
    backbone = transfer.load_backbone()
    h, end = _drain(transfer.compare(ts, transfer.build_models(ts, backbone), transfer.target_data(ts), CPU))
    runs["transfer_runs"] = _run(ts, h, end, {"table": transfer.summary(h)}, None, "resnet")
    h, end = _drain(transfer.sweep(ts, CPU, (5,), backbone))
    runs["transfer_sweeps"] = _run(ts, h, end, {"frame": transfer.sweep_frame(h)}, None, "resnet")

    from bench.estimates import _photo  # a generated photo of a circle or a square, decoded as an upload
    from core import photos

    ps = photos.PhotoSettings(classes=("circle", "square"), counts=(6, 6), epochs=1)
    task = photos.prepare(ps, [[_photo(shape, 100 * c + i) for i in range(6)] for c, shape in enumerate(ps.classes)])
    models = photos.build_models(ps, backbone)
    h, end = _drain(photos.train_events(ps, models, task, CPU))
    runs["resnet_photo_runs"] = _run(ps, h, end, photos.results(ps, models, task),
                                     {mode: _weights(m) for mode, m in models.items()}, "resnet")

    s = rnn.SineSettings(samples=60, seq_len=8, hidden_size=4, epochs=2, batch_size=16)
    trained, events = rnn.train_cells(rnn.make_sine_data(s), s, CPU)
    h, end = _drain(events)
    found = {e["cell"]: e for e in h if e["kind"] == "result"}
    runs["rnn_runs"] = _run(s, h, end, found, {c: _weights(trained[c]) for c in found}, "rnn")
    ms = rnn.MemorySettings(t_values=(4, 8), samples=128, test_samples=64, hidden_size=8, epochs=2)
    h, end = _drain(rnn.run_memory_experiment(ms, CPU))
    runs["rnn_memory"] = _run(ms, h, end, {"points": [e for e in h if e["kind"] == "result"],
                                           "gradients": {e["cell"]: e for e in h if e["kind"] == "gradients"}},
                              None, "rnn")

    frame = core_data.embedded_prices("005930")
    frame = frame[(frame["Date"] >= pd.Timestamp("2021-01-01")) & (frame["Date"] <= pd.Timestamp("2023-12-31"))]
    s = stocks.StockSettings(window=10, hidden=4, epochs=2, batch_size=128, patience=None)
    plan, models = stocks.plans(frame, stocks.prepare(frame, s)), {}
    h, end = _drain(stocks.train_models(plan, CPU, models, message="done"))
    results = {**stocks.summarize(models, plan, h, CPU), "data": ("embedded", "2023-12-28", len(frame)),
               "currency": "₩"}
    runs["stocks_runs"] = _run(s, h, end, results, {n: _weights(m) for n, m in models.items()}, "stocks")
    return runs


def typical_runs() -> dict[str, dict]:
    """page_runs() at the page's default sizes: history repeated up to TYPICAL_EVENTS, weights
    of the default-size models."""
    from core import ann, cnn, regression, resnet, rnn, stocks

    runs = page_runs()
    for store, run in runs.items():
        cycle = itertools.cycle(run["history"]) if run["history"] else iter(())
        run["history"] = [dict(e) for e in itertools.islice(cycle, TYPICAL_EVENTS[store])]
    defaults = {
        "ann_runs": lambda: _weights(ann.build_model(ann.AnnSettings())),
        "ann_reg_runs": lambda: _weights(regression.build_model(regression.RegressionSettings())),
        "cnn_runs": lambda: _weights(cnn.build_cnn("mnist", 0)),
        "resnet_runs": lambda: dict(zip(("plain", "residual"), map(
            _weights, resnet.build_pair(resnet.ExperimentSettings().net_config())))),
        "rnn_runs": lambda: {c: _weights(rnn.make_model(c, rnn.SineSettings().hidden_size)) for c in rnn.CELLS},
        "stocks_runs": lambda: {c: _weights(stocks.RecurrentForecaster(c)) for c in ("lstm", "gru")},
    }
    for store, weights in defaults.items():
        runs[store]["state_dict"] = weights()
    return runs


@contextlib.contextmanager
def _backends():
    """(name, URL or None, why not) for SQLite and PostgreSQL."""
    with tempfile.TemporaryDirectory(prefix="bench-store-") as folder:
        found = [("sqlite", f"sqlite:///{Path(folder) / 'playground.db'}", None)]
        try:
            from deploy.postgres import throwaway_postgres, unavailable
        except ImportError as error:
            yield [*found, ("postgresql", None, f"deploy/postgres.py is not importable: {error}")]
            return
        reason = unavailable()
        if reason:
            yield [*found, ("postgresql", None, reason)]
            return
        with throwaway_postgres() as server:
            yield [*found, ("postgresql", server.create_database("bench_store"), None)]


def run(quick: bool = False, device=None):
    """Yield per backend and store: keep seconds and restore seconds (p50 in value, p95 beside)."""
    import db

    torch.set_num_threads(1)
    runs = page_runs() if quick else typical_runs()
    repetitions = 3 if quick else REPETITIONS
    with _backends() as backends:
        for backend, url, why_not in backends:
            common = {"workload": WORKLOAD, "impl": backend, "device": "cpu"}
            if url is None:
                yield {**common, "metric": "skipped", "value": 0.0, "reason": why_not}
                continue
            database = db.connect(url, heartbeat=False)
            _, ws = database.create_workspace()
            try:
                for store, r in runs.items():
                    keep, restore = [], []
                    for _ in range(repetitions):  # one run in the store, as a learner's first
                        database.clear(ws, store)
                        start = time.perf_counter()
                        kept = database.keep_run(ws, store, 1, r["settings"], r["history"], r["end"], r["results"],
                                                 r["link"], r["state_dict"])
                        keep.append(time.perf_counter() - start)
                        start = time.perf_counter()
                        [restored] = database.load_runs(ws, store)
                        restore.append(time.perf_counter() - start)
                    database.clear(ws, store)
                    for op, times in (("keep", keep), ("restore", restore)):
                        yield {**common, "page": PAGE_OF[store], "store": store, "metric": f"{op}_seconds",
                               "value": round(float(np.percentile(times, 50)), 4),
                               "p50": round(float(np.percentile(times, 50)), 4),
                               "p95": round(float(np.percentile(times, 95)), 4), "repetitions": repetitions,
                               "events": len(r["history"]), "bytes": kept.size_bytes,
                               "weights_kept": restored.state_dict is not None}
            finally:
                database.close()
