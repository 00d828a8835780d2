"""The training engine and device choice."""
import math

import pytest
import torch
from torch import nn

from core import device as device_mod
from core.engine import OPTIMIZERS, TrainConfig, build_seeded, evaluate, predict, run_to_end, train
from core.models import count_params, make_mlp

CPU = torch.device("cpu")


def _blobs(n=400, seed=0):
    """Two well separated Gaussian blobs in 2-D: an easy classification problem."""
    g = torch.Generator().manual_seed(seed)
    x = torch.cat([torch.randn(n // 2, 2, generator=g) + 2, torch.randn(n // 2, 2, generator=g) - 2])
    y = torch.cat([torch.zeros(n // 2, dtype=torch.long), torch.ones(n // 2, dtype=torch.long)])
    return x, y


def _small_model():
    return nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_loss_falls_with_every_optimizer(optimizer):
    x, y = _blobs()
    config = TrainConfig(epochs=5, batch_size=32, lr=0.05 if optimizer.startswith("sgd") else 0.01,
                         optimizer=optimizer, log_every=1)
    events = list(train(_small_model(), (x, y), config, CPU))
    batches = [e for e in events if e["kind"] == "batch"]
    epochs = [e for e in events if e["kind"] == "epoch"]
    assert events[-1]["kind"] == "end" and events[-1]["reason"] == "completed"
    assert epochs[-1]["train_loss"] < 0.5 * epochs[0]["train_loss"] or epochs[-1]["train_acc"] > 98
    assert batches[-1]["progress"] == pytest.approx(1.0)
    for event in events:  # plain floats, never tensors
        assert not any(isinstance(v, torch.Tensor) for v in event.values())


def test_same_seed_reproduces_and_other_seed_differs():
    x, y = _blobs()
    def final_loss(seed):
        config = TrainConfig(epochs=2, batch_size=16, lr=0.05, seed=seed)
        model = build_seeded(_small_model, seed)
        return run_to_end(train(model, (x, y), config, CPU))[0][-1]["train_loss"]
    assert final_loss(1) == final_loss(1)
    assert final_loss(1) != final_loss(2)


def test_early_stopping_stops_and_restores_best():
    x, y = _blobs()
    model = _small_model()
    # min_delta far above any real improvement: epoch 1 is best, the next 3 "do not improve"
    config = TrainConfig(epochs=200, batch_size=32, lr=0.05, optimizer="sgd", patience=3, min_delta=10.0)
    epochs, end = run_to_end(train(model, (x, y), config, CPU, val_data=(x, y)))
    assert end["reason"] == "early_stop" and len(epochs) == 4  # best at 1, then 3 bad epochs
    assert end["best_epoch"] == 1 and "Early stopping" in end["message"]


def test_divergence_is_caught_not_raised():
    x, y = _blobs()
    x = x * 1e6
    config = TrainConfig(epochs=5, batch_size=32, lr=1e6, optimizer="sgd", log_every=1)
    epochs, end = run_to_end(train(_small_model(), (x, y), config, CPU))
    assert end["reason"] == "diverged" and "lower the learning rate" in end["message"].lower()


def test_stop_mid_epoch_by_breaking():
    x, y = _blobs(4000)
    config = TrainConfig(epochs=50, batch_size=8, log_every=5)
    seen = []
    for event in train(_small_model(), (x, y), config, CPU):
        seen.append(event)
        if event["kind"] == "batch" and event["step"] >= 20:
            break  # what the page's Stop does
    assert seen[-1]["epoch"] == 1 and seen[-1]["progress"] < 0.01


def test_regression_and_step_probe():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(256, 1, generator=g)
    y = 3 * x + 1
    model = nn.Linear(1, 1)
    def probe(m):
        return {"grad_norm": m.weight.grad.norm().item()}
    events = list(train(model, (x, y), TrainConfig(epochs=60, batch_size=64, lr=0.1, optimizer="adam",
                                                  task="regression", log_every=4), CPU, step_probe=probe))
    assert all("probe" in e for e in events if e["kind"] == "batch")
    assert events[-2]["train_acc"] is None and events[-2]["train_loss"] < 0.01
    assert evaluate(model, x, y, CPU, task="regression")["loss"] < 0.01


def test_evaluate_and_predict():
    x, y = _blobs()
    model = _small_model()
    run_to_end(train(model, (x, y), TrainConfig(epochs=3, batch_size=32, lr=0.05), CPU))
    metrics = evaluate(model, x, y, CPU)
    assert metrics["accuracy"] > 95 and math.isfinite(metrics["loss"])
    probs = predict(model, x, CPU, softmax=True)
    assert probs.shape == (400, 2) and torch.allclose(probs.sum(1), torch.ones(400))
    assert model.training  # evaluate/predict restore the mode


def test_bad_config_raises_value_error():
    x, y = _blobs()
    with pytest.raises(ValueError):
        next(train(_small_model(), (x, y), TrainConfig(epochs=0), CPU))
    with pytest.raises(ValueError):
        next(train(_small_model(), (x, y), TrainConfig(optimizer="lbfgs"), CPU))


def test_notebook_mlp_has_109386_parameters():
    assert count_params(make_mlp()) == 109_386


def test_device_choice(monkeypatch):
    monkeypatch.delenv("PLAYGROUND_FORCE_CPU", raising=False)
    assert device_mod.pick_device(force_cpu=True).type == "cpu"
    # The build may be a CUDA build, but with no usable GPU we must get the CPU.
    if not torch.cuda.is_available():
        assert device_mod.pick_device().type in ("cpu", "mps")
    # A usable CUDA wins over the rest.
    monkeypatch.setattr(torch.accelerator, "current_accelerator",
                        lambda check_available=False: torch.device("cuda") if check_available else None)
    assert device_mod.pick_device().type == "cuda"
    # The build's accelerator alone (check_available=False) must not be trusted.
    monkeypatch.setattr(torch.accelerator, "current_accelerator",
                        lambda check_available=False: None if check_available else torch.device("cuda"))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert device_mod.pick_device().type in ("cpu", "mps")
    info = device_mod.device_info(torch.device("cpu"))
    assert info["device"] == "cpu" and info["cpu_threads"] >= 1 and info["torch"] == torch.__version__


def test_app_leaves_one_core_to_the_browser(monkeypatch):
    from core import device as device_mod

    before = torch.get_num_threads()
    try:
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
        for default, expected in [(2, 1), (8, 7), (1, 1)]:
            monkeypatch.setattr(device_mod, "_DEFAULT_THREADS", default)
            assert device_mod.share_cpu_with_browser() == expected == torch.get_num_threads()
        monkeypatch.setenv("OMP_NUM_THREADS", "2")  # the user's explicit choice stays
        torch.set_num_threads(2)
        assert device_mod.share_cpu_with_browser() == 2
    finally:
        torch.set_num_threads(before)


def test_small_mnist_run_learns():
    from core.data import load_mnist, normalize

    x, y = load_mnist(True)
    xt, yt = load_mnist(False)
    def tf(b):
        return normalize(b, 0.5, 0.5)
    model = make_mlp()
    config = TrainConfig(epochs=2, batch_size=64, lr=0.01, log_every=100)
    run_to_end(train(model, (x[:5000], y[:5000]), config, CPU, transform=tf))
    assert evaluate(model, xt[:2000], yt[:2000], CPU, transform=tf)["accuracy"] > 75  # vs 10% guessing


def test_in_sequence_tags_spans_progress_and_reports_divergence():
    from core.engine import combined

    def phase(reason):
        def events():
            yield {"kind": "batch", "progress": 0.5, "elapsed": 0.1}
            yield {"kind": "epoch", "epoch": 1}
            yield {"kind": "end", "reason": reason, "message": f"{reason}.", "elapsed": 0.2}
        return events

    events = list(combined([("a", 1.0, phase("completed")), ("b", 3.0, phase("diverged"))],
                              tag="net", labels={"b": "Net B"}))
    assert [e["net"] for e in events[:-1]] == ["a"] * 3 + ["b"] * 3
    progress = [e["progress"] for e in events[:-1]]
    assert progress == sorted(progress) and progress[0] == 0.125 and progress[-1] == 1.0
    assert [e["kind"] for e in events if e["kind"].endswith("end")] == ["model_end", "model_end", "end"]
    assert events[-1]["reason"] == "diverged" and events[-1]["message"] == "Net B: diverged."
    assert events[0]["model_elapsed"] == 0.1


def test_combined_side_by_side_gives_each_model_its_own_numbers_and_stops_on_close():
    import threading

    from core.engine import combined

    x, y = _blobs()
    config = TrainConfig(epochs=4, batch_size=32, lr=0.05, log_every=2)

    def phase(seed):
        model = build_seeded(_small_model, seed)
        return model, lambda: train(model, (x, y), TrainConfig(**{**config.__dict__, "seed": seed}), CPU)

    alone = {}
    for seed in (1, 2):
        model, make = phase(seed)
        alone[seed] = run_to_end(make())[0][-1]["train_loss"]
    a, make_a = phase(1)
    b, make_b = phase(2)
    events = list(combined([("a", 1.0, make_a), ("b", 1.0, make_b)], workers=2))
    final = {e["model"]: e["train_loss"] for e in events if e["kind"] == "epoch" and e["epoch"] == 4}
    assert final == {"a": alone[1], "b": alone[2]}  # same numbers as trained one by one
    progress = [e["progress"] for e in events[:-1]]
    assert progress == sorted(progress) and progress[-1] == 1.0 and events[-1]["kind"] == "end"

    before = threading.active_count()
    _, make_a = phase(1)
    _, make_b = phase(2)
    stream = combined([("a", 1.0, make_a), ("b", 1.0, make_b)], workers=2)
    next(stream)
    stream.close()  # Stop: both threads end
    assert threading.active_count() == before


def test_a_run_that_stays_at_chance_is_not_called_a_success():
    x, y = _blobs()
    y = torch.randint(0, 2, (len(x),), generator=torch.Generator().manual_seed(0))  # nothing to learn
    config = TrainConfig(epochs=2, batch_size=32, lr=1e-6, optimizer="sgd")
    epochs, end = run_to_end(train(build_seeded(_small_model, 0), (x, y), config, CPU))
    assert end["reason"] == "not_learned" and "chance" in end["message"]
    assert "more epochs" in end["message"]  # the loss did not rise: the advice is to train longer


def test_a_loss_that_blows_up_without_becoming_infinite_is_a_failure():
    from core.engine import not_learned
    y = torch.tensor([0, 1, 1, 0])
    config = TrainConfig(optimizer="adam", lr=1.0)
    said = not_learned(2.3, 1e4, 40.0, y, config)
    assert said is not None and said.key == "engine.loss_exploded" and said.values["ratio"] > 4000
    assert not_learned(2.3, 0.5, 95.0, y, config) is None  # learned: no verdict
    at_chance = not_learned(0.69, 0.69, 50.0, y, config)
    assert at_chance.key == "engine.at_chance" and at_chance.values["advice"].key == "engine.advice_lower"


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_every_optimizer_warns_before_a_risky_learning_rate(optimizer):
    from core.engine import RISKY_LR, lr_risk
    assert lr_risk(optimizer, RISKY_LR[optimizer]) is not None
    assert lr_risk(optimizer, RISKY_LR[optimizer] / 10) is None
    assert lr_risk(optimizer, 1.0) is not None  # the case: 1.0 fails with every optimizer


def test_estimate_counts_every_step_and_evaluation():
    from core.engine import Costs, measure_costs, parallel_seconds
    config = TrainConfig(epochs=2, batch_size=50)
    # 2 epochs × (20 steps × 0.01 s + one evaluation of 100 rows: 0.1 s + 100 × 0.001 s)
    assert Costs(step=0.01, eval_fixed=0.1, eval_row=0.001).seconds(1000, config, 100) == pytest.approx(0.8)
    x, y = _blobs(2000)
    costs = measure_costs(_small_model(), (x, y), config, CPU, val_data=(x, y))
    assert 0 < costs.step < 1 and costs.eval_fixed >= 0 and costs.eval_row >= 0
    assert parallel_seconds([3.0, 1.0, 1.0], 2) == 3.0 and parallel_seconds([1.0, 1.0, 1.0], 1) == 3.0
