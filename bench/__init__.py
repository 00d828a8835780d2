"""Benchmark harness: `python -m bench [WORKLOAD ...] [--quick]` prints one JSON line per result.

Each workload is a module in this package defining `WORKLOAD = "name"` and
`run(quick: bool, device: torch.device) -> Iterator[dict]` yielding results made by `result()`.
"""
import importlib
import pkgutil
import time


def result(workload: str, impl: str, device, epochs: int, train_seconds: float, samples: int,
           metric: str, value: float) -> dict:
    """One benchmark line; `samples` is the number of training samples processed."""
    return {
        "workload": workload,
        "impl": impl,  # "playground" (the core engine) or "reference" (notebook-style DataLoader)
        "device": str(device),
        "epochs": int(epochs),
        "train_seconds": round(float(train_seconds), 4),
        "samples_per_second": round(samples / train_seconds, 1) if train_seconds > 0 else 0.0,
        "metric": metric,
        "value": round(float(value), 4),
    }


def timed_engine_run(events, device) -> tuple[dict, float]:
    """Drain a core.engine training generator: (its end event, wall-clock seconds, device synced)."""
    from core.device import synchronize
    from core.engine import run_to_end

    synchronize(device)
    start = time.perf_counter()
    _, end = run_to_end(events)
    synchronize(device)
    return end, time.perf_counter() - start


def timed_side_by_side(events, reference_epoch, epochs: int, device) -> tuple[float, float]:
    """Alternate one engine epoch (drawn from a core.engine generator) with one reference epoch.

    Why: a shared 2-core VM drifts by a third in speed over minutes. Run back to back, a
    6-second engine run and a 100-second reference run see different machines; epoch by
    epoch, both see the same drift. Returns (engine seconds, reference seconds), device synced.
    """
    from core.device import synchronize

    engine_seconds = reference_seconds = 0.0
    events, engine_done, reference_epochs = iter(events), False, 0
    while not engine_done or reference_epochs < epochs:
        if not engine_done:
            synchronize(device)
            start = time.perf_counter()
            for event in events:  # up to the next epoch's end, or the end of training
                if event["kind"] in ("epoch", "end"):
                    engine_done = event["kind"] == "end"
                    break
            else:
                engine_done = True
            synchronize(device)
            engine_seconds += time.perf_counter() - start
        if reference_epochs < epochs:
            synchronize(device)
            start = time.perf_counter()
            reference_epoch()
            synchronize(device)
            reference_seconds += time.perf_counter() - start
            reference_epochs += 1
    return engine_seconds, reference_seconds


def discover() -> dict:
    """WORKLOAD name -> module, for every workload module in this package."""
    found = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "WORKLOAD"):
            found[module.WORKLOAD] = module
    return dict(sorted(found.items()))
