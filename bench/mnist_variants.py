"""mnist-mlp variants: the ANN page's levers (optimizer, normalization, batch size) on the engine."""

from bench import result, timed_engine_run
from core.ann import AnnSettings, build_model, test_set, training_subset
from core.engine import evaluate, train

WORKLOAD = "mnist-mlp-variants"
# workload name in the result line -> what differs from the notebook recipe (SimpleANN,
# SGD + momentum 0.9, lr 0.01, batch 64, Normalize((0.5,), (0.5,)), 10 epochs on 60,000)
VARIANTS = {
    "mnist-mlp-adam": {"optimizer": "adam", "lr": 0.001},
    "mnist-mlp-mnistnorm": {"normalization": "mnist"},
    "mnist-mlp-bs256": {"batch_size": 256, "lr": 0.04},  # 4x batch, 4x lr (linear scaling)
}


def run_variant(name: str, changes: dict, device, epochs: int, n_train: int) -> dict:
    s = AnnSettings(n_train=n_train, epochs=epochs, **changes)
    model = build_model(s)
    config = s.train_config()
    config.log_every = 200  # as bench/mnist_mlp.py: few syncs
    events = train(model, training_subset(n_train), config, device, transform=s.transform())
    _, seconds = timed_engine_run(events, device)
    x_test, y_test = test_set()
    accuracy = evaluate(model, x_test, y_test, device, transform=s.transform())["accuracy"]
    return result(name, "playground", device, epochs, seconds, epochs * n_train, "test_accuracy", accuracy)


def run(quick: bool, device):
    epochs, n_train = (1, 5000) if quick else (10, 60_000)
    for name, changes in VARIANTS.items():
        yield run_variant(name, changes, device, epochs, n_train)
