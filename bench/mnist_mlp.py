"""mnist-mlp: the notebook's SimpleANN recipe, engine vs notebook-style DataLoader loop."""

import torch
from torch import nn

from bench import result, timed_side_by_side
from bench._reference import notebook_accuracy, notebook_epoch, warm_up
from core.data import NOTEBOOK_MEAN, NOTEBOOK_STD, load_mnist, normalize
from core.engine import TrainConfig, build_seeded, evaluate, train
from core.models import make_mlp

WORKLOAD = "mnist-mlp"
RECIPE = TrainConfig(epochs=10, batch_size=64, lr=0.01, optimizer="sgd_momentum", momentum=0.9,
                     seed=0, log_every=200)


def _to_input(images: torch.Tensor) -> torch.Tensor:
    return normalize(images, NOTEBOOK_MEAN, NOTEBOOK_STD)  # (N, 28, 28) float


def _playground(device, epochs: int, n_train: int | None):
    """The engine on resident tensors: (training events, model, test set, training-set size)."""
    x_train, y_train = load_mnist(train=True)
    x_test, y_test = load_mnist(train=False)
    if n_train:
        x_train, y_train = x_train[:n_train], y_train[:n_train]
    x_train, x_test = _to_input(x_train), _to_input(x_test)
    model = build_seeded(make_mlp, seed=0)  # same initial weights as the reference
    config = TrainConfig(**{**RECIPE.__dict__, "epochs": epochs})
    events = train(model, (x_train, y_train), config, device)
    return events, model, (x_test, y_test), len(x_train)


def _reference(device, n_train: int | None):
    """The notebook as written: torchvision MNIST + ToTensor/Normalize per sample + DataLoader.

    Returns (one-epoch function, model, test loader, training-set size)."""
    from torch.utils.data import DataLoader, Subset
    from torchvision import datasets, transforms

    from core.data import CACHE_DIR

    load_mnist(True)  # makes sure torchvision's raw files are in the cache
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

    def one_epoch():
        notebook_epoch(model, train_loader, criterion, optimizer, device)

    return one_epoch, model, test_loader, len(train_set)


def run(quick: bool, device):
    warm_up(device)
    epochs, n_train = (1, 5000) if quick else (10, None)  # quick: a smoke test, not for figures
    events, model, (x_test, y_test), n_engine = _playground(device, epochs, n_train)
    reference_epoch, reference_model, test_loader, n_reference = _reference(device, n_train)
    engine_seconds, reference_seconds = timed_side_by_side(events, reference_epoch, epochs, device)
    yield result(WORKLOAD, "playground", device, epochs, engine_seconds, epochs * n_engine,
                 "test_accuracy", evaluate(model, x_test, y_test, device)["accuracy"])
    yield result(WORKLOAD, "reference", device, epochs, reference_seconds, epochs * n_reference,
                 "test_accuracy", notebook_accuracy(reference_model, test_loader, device))
