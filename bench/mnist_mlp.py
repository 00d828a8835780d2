"""mnist-mlp: the notebook's SimpleANN recipe, engine vs notebook-style DataLoader loop."""

import torch
from torch import nn

from bench import result, timed_engine_run
from bench._reference import notebook_accuracy, timed_notebook_training, warm_up
from core.data import NOTEBOOK_MEAN, NOTEBOOK_STD, load_mnist, normalize
from core.engine import TrainConfig, build_seeded, evaluate, train
from core.models import make_mlp

WORKLOAD = "mnist-mlp"
RECIPE = TrainConfig(epochs=10, batch_size=64, lr=0.01, optimizer="sgd_momentum", momentum=0.9,
                     seed=0, log_every=200)


def _to_input(images: torch.Tensor) -> torch.Tensor:
    return normalize(images, NOTEBOOK_MEAN, NOTEBOOK_STD)  # (N, 28, 28) float


def run_playground(device, epochs: int, n_train: int | None = None) -> dict:
    x_train, y_train = load_mnist(train=True)
    x_test, y_test = load_mnist(train=False)
    if n_train:
        x_train, y_train = x_train[:n_train], y_train[:n_train]
    x_train, x_test = _to_input(x_train), _to_input(x_test)
    model = build_seeded(make_mlp, seed=0)  # same initial weights as the reference
    config = TrainConfig(**{**RECIPE.__dict__, "epochs": epochs})
    _, seconds = timed_engine_run(train(model, (x_train, y_train), config, device), device)
    accuracy = evaluate(model, x_test, y_test, device)["accuracy"]
    return result(WORKLOAD, "playground", device, epochs, seconds, epochs * len(x_train),
                  "test_accuracy", accuracy)


def run_reference(device, epochs: int, n_train: int | None = None) -> dict:
    """The notebook as written: torchvision MNIST + ToTensor/Normalize per sample + DataLoader."""
    from torch.utils.data import DataLoader, Subset
    from torchvision import datasets, transforms

    from core.data import CACHE_DIR, load_mnist as _ensure_raw_files

    _ensure_raw_files(True)
    root = str(CACHE_DIR / "torchvision")
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
    train_set = datasets.MNIST(root, train=True, download=False, transform=transform)
    test_set = datasets.MNIST(root, train=False, download=False, transform=transform)
    if n_train:
        train_set = Subset(train_set, range(n_train))
    train_loader = DataLoader(train_set, batch_size=64, shuffle=True)
    test_loader = DataLoader(test_set, batch_size=1000, shuffle=False)
    model = build_seeded(make_mlp, seed=0).to(device)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    seconds = timed_notebook_training(model, train_loader, criterion, optimizer, device, epochs)
    accuracy = notebook_accuracy(model, test_loader, device)
    return result(WORKLOAD, "reference", device, epochs, seconds, epochs * len(train_set),
                  "test_accuracy", accuracy)


def run(quick: bool, device):
    warm_up(device)
    if quick:  # a smoke test: 1 epoch on 5,000 samples
        yield run_playground(device, epochs=1, n_train=5000)
        yield run_reference(device, epochs=1, n_train=5000)
        return
    yield run_playground(device, epochs=10)
    yield run_reference(device, epochs=10)
