"""Shared by the mnist-cnn and cifar-cnn workloads: the notes' CNN, engine vs DataLoader loop."""

import torch
from torch import nn

from bench import result, timed_engine_run
from bench._reference import PILImageDataset, notebook_accuracy, timed_notebook_training
from core import cnn
from core.device import synchronize
from core.engine import TrainConfig, evaluate, train

BATCH, LR = 64, 0.001  # the page's defaults: Adam 0.001, batch 64


def _warm_up(dataset: str, device) -> None:
    """One untimed Adam step so neither side pays one-time setup (kernel selection, the
    optimizer's first-step imports: over a second on a CPU) inside its timing."""
    model = cnn.build_cnn(dataset, seed=0).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    x = torch.randn(BATCH, *cnn.DATASETS[dataset]["input"], device=device)
    nn.functional.cross_entropy(model(x), torch.zeros(BATCH, dtype=torch.long, device=device)).backward()
    optimizer.step()
    synchronize(device)


def run_playground(workload: str, dataset: str, device, epochs: int, n_train: int | None) -> dict:
    """Our engine: uint8 images resident on the device, batches by slicing, normalized per batch."""
    x_train, y_train = cnn.load_split(dataset, True, n_train, seed=0)
    x_test, y_test = cnn.load_split(dataset, False, None, seed=1)
    model = cnn.build_cnn(dataset, seed=0)
    config = TrainConfig(epochs=epochs, batch_size=BATCH, lr=LR, optimizer="adam", seed=0,
                         log_every=200)
    transform = cnn.input_transform(dataset)
    _warm_up(dataset, device)
    events = train(model, (x_train, y_train), config, device, transform=transform)
    _, seconds = timed_engine_run(events, device)
    accuracy = evaluate(model, x_test, y_test, device, transform=transform)["accuracy"]
    return result(workload, "playground", device, epochs, seconds, epochs * len(x_train),
                  "test_accuracy", accuracy)


def _reference_sets(dataset: str, n_train: int | None):
    from torch.utils.data import Subset
    from torchvision import datasets, transforms

    spec = cnn.DATASETS[dataset]
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize(spec["mean"], spec["std"])])
    if dataset == "mnist":  # the notebook exactly: torchvision's MNIST class on the IDX files
        from core.data import CACHE_DIR, load_mnist

        load_mnist(True)  # makes sure the raw files are unpacked where torchvision looks
        root = str(CACHE_DIR / "torchvision")
        train_set = datasets.MNIST(root, train=True, download=False, transform=transform)
        test_set = datasets.MNIST(root, train=False, download=False, transform=transform)
        if n_train:  # the same seeded subset the engine trains on
            order = torch.randperm(len(train_set), generator=torch.Generator().manual_seed(0))
            train_set = Subset(train_set, order[:n_train].tolist())
        return train_set, test_set
    x_train, y_train = cnn.load_split(dataset, True, n_train, seed=0)  # decoded JPEG subset
    x_test, y_test = cnn.load_split(dataset, False, None, seed=1)
    return PILImageDataset(x_train, y_train, transform), PILImageDataset(x_test, y_test, transform)


def run_reference(workload: str, dataset: str, device, epochs: int, n_train: int | None) -> dict:
    """The notebook as written: per-sample ToTensor/Normalize + DataLoader(batch 64, shuffle)."""
    from torch.utils.data import DataLoader

    train_set, test_set = _reference_sets(dataset, n_train)
    train_loader = DataLoader(train_set, batch_size=BATCH, shuffle=True)
    test_loader = DataLoader(test_set, batch_size=1000, shuffle=False)
    model = cnn.build_cnn(dataset, seed=0).to(device)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    _warm_up(dataset, device)
    seconds = timed_notebook_training(model, train_loader, criterion, optimizer, device, epochs)
    accuracy = notebook_accuracy(model, test_loader, device)
    return result(workload, "reference", device, epochs, seconds, epochs * len(train_set),
                  "test_accuracy", accuracy)
