"""The benchmark harness: its JSON contract and the side-by-side timing."""
import json

import torch

from bench import timed_side_by_side
from bench.__main__ import main

KEYS = {"workload": str, "impl": str, "device": str, "epochs": int, "train_seconds": float,
        "samples_per_second": float, "metric": str, "value": float}


def test_quick_mnist_mlp_prints_the_contract_json(capsys):
    assert main(["mnist-mlp", "--quick", "--cpu"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["impl"] for line in lines] == ["playground", "reference"]
    for line in lines:
        assert list(line) == list(KEYS)
        assert all(isinstance(line[key], kind) for key, kind in KEYS.items())
        assert line["workload"] == "mnist-mlp" and line["metric"] == "test_accuracy"
        assert line["train_seconds"] > 0 and 50 < line["value"] <= 100  # 1 epoch on 5,000 samples


def test_side_by_side_alternates_and_runs_every_reference_epoch():
    log = []

    def events():
        for epoch in (1, 2):  # the engine stops early after 2 of 3 epochs
            log.append(f"engine {epoch}")
            yield {"kind": "batch"}
            yield {"kind": "epoch"}
        yield {"kind": "end"}

    engine_s, reference_s = timed_side_by_side(events(), lambda: log.append("reference"), 3,
                                             torch.device("cpu"))
    assert log == ["engine 1", "reference", "engine 2", "reference", "reference"]
    assert engine_s >= 0 and reference_s >= 0


def test_pages_workload_smoke_mode_clicks_the_perceptron_buttons_in_chromium(capsys):
    """`python -m bench pages --quick`: a fresh app, real Chromium, one JSON line per button."""
    import concurrent.futures

    from conftest import _require_browser

    _require_browser()
    # Its own thread: the sync Playwright fixtures of other browser tests hold this thread's loop.
    with concurrent.futures.ThreadPoolExecutor(1) as worker:
        assert worker.submit(main, ["pages", "--quick", "--cpu"]).result() == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert [line["page"] for line in lines] == ["perceptron"] * 3
    for line in lines:
        assert line["impl"] == "playground" and line["metric"] == "click_to_result_seconds"
        assert 0.1 < line["value"] < 120
