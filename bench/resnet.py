"""resnet: plain vs residual twins (the page's defaults), engine vs notebook-style DataLoader loop."""

import torch
from torch import nn

from bench import result, timed_engine_run
from bench._reference import PILImageDataset, notebook_accuracy, timed_notebook_training, warm_up
from core import data, resnet
from core.engine import TrainConfig, evaluate, train

WORKLOAD = "resnet"  # lines are "resnet-plain" and "resnet-residual", one per impl
NET = resnet.NetConfig(depth=20, width=64, activation="sigmoid", batchnorm=False, kind="mlp",
                       in_shape=(1, 28, 28))
RECIPE = TrainConfig(epochs=3, batch_size=64, lr=0.01, optimizer="sgd_momentum", momentum=0.9,
                     seed=0, log_every=200)
N_TEST = 2000


def run_playground(device, epochs: int, n_train: int) -> list[dict]:
    exp = resnet.experiment_data("mnist", n_train=n_train, n_test=N_TEST, seed=0)
    config = TrainConfig(**{**RECIPE.__dict__, "epochs": epochs})
    lines = []
    for name, model in zip(("plain", "residual"), resnet.build_pair(NET, seed=0)):
        events = train(model, (exp["x_train"], exp["y_train"]), config, device)
        _, seconds = timed_engine_run(events, device)
        accuracy = evaluate(model, exp["x_test"], exp["y_test"], device)["accuracy"]
        lines.append(result(f"{WORKLOAD}-{name}", "playground", device, epochs, seconds,
                            epochs * n_train, "test_accuracy", accuracy))
    return lines


def run_reference(device, epochs: int, n_train: int) -> list[dict]:
    """The same twins trained the notebook way: per-sample ToTensor/Normalize + DataLoader."""
    from torch.utils.data import DataLoader
    from torchvision import transforms

    exp = resnet.experiment_data("mnist", n_train=n_train, n_test=N_TEST, seed=0)
    (xtr, ytr), (xte, yte) = data.load_mnist(True), data.load_mnist(False)
    transform = transforms.Compose([transforms.ToTensor(),
                                    transforms.Normalize((data.MNIST_MEAN,), (data.MNIST_STD,))])
    train_set = PILImageDataset(xtr[exp["train_index"]], ytr[exp["train_index"]], transform)
    test_set = PILImageDataset(xte[exp["test_index"]], yte[exp["test_index"]], transform)
    lines = []
    for name, model in zip(("plain", "residual"), resnet.build_pair(NET, seed=0)):
        torch.manual_seed(0)
        model = model.to(device)
        train_loader = DataLoader(train_set, batch_size=64, shuffle=True)
        criterion = nn.CrossEntropyLoss()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        seconds = timed_notebook_training(model, train_loader, criterion, optimizer, device, epochs)
        accuracy = notebook_accuracy(model, DataLoader(test_set, batch_size=1000), device)
        lines.append(result(f"{WORKLOAD}-{name}", "reference", device, epochs, seconds,
                            epochs * n_train, "test_accuracy", accuracy))
    return lines


def run(quick: bool, device):
    warm_up(device)
    epochs, n_train = (1, 1000) if quick else (RECIPE.epochs, 5000)
    yield from run_playground(device, epochs, n_train)
    yield from run_reference(device, epochs, n_train)
