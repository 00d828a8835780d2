"""digits: each digit reader's accuracy on MNIST's test images and on drawn digits (core.drawn_digits).

MNIST accuracy is not drawing accuracy: the course's MLP reads MNIST's test set almost as well
as the CNN, but misreads far more of the digits drawn the way people draw them.
"""
import time

import torch

from core import digits, drawn_digits

WORKLOAD = "digits"
READERS = ("cnn", "mlp")  # the shipped readers: core.digits.digit_model(kind)


def _line(reader: str, dataset: str, n: int, accuracy: float, seconds: float) -> dict:
    return {"workload": WORKLOAD, "reader": reader, "dataset": dataset, "samples": n,
            "accuracy": round(float(accuracy), 2), "seconds": round(seconds, 3)}


def run(quick: bool = False, device: torch.device | None = None):
    """Yield one line per (reader, dataset): dataset is "mnist_test" (the official 10,000) or "drawn"."""
    device = device or torch.device("cpu")
    n_test = 1000 if quick else 10_000
    n_per_class = 5 if quick else drawn_digits.N_PER_CLASS
    pictures, labels, _ = drawn_digits.drawn_set(n_per_class, drawn_digits.SEED)
    for kind in READERS:
        model, info = digits.digit_model(kind).to(device), digits.digit_model_info(kind)
        mean, std = info["mean"], info["std"]
        start = time.perf_counter()
        acc = digits.mnist_test_accuracy(model, mean, std, device, n_test)
        yield _line(kind, "mnist_test", n_test, acc, time.perf_counter() - start)
        start = time.perf_counter()
        hits = drawn_digits.predictions(model, pictures, mean, std) == labels
        yield _line(kind, "drawn", len(labels), 100.0 * hits.mean(), time.perf_counter() - start)
