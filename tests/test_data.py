"""Data loaders: shapes, dtypes, counts, label order, checksums, cache speed, stock tables, errors."""
import hashlib
import subprocess
import sys
import time

import pandas as pd
import pytest
import torch

from conftest import ROOT
from core import data


def _md5(path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("name,expected", [(k, v) for k, v in data.MNIST_FILES.items() if v])
def test_official_mnist_files_have_official_md5(name, expected):
    assert _md5(data.DATA_DIR / "mnist" / name) == expected


def test_mnist_train_and_test():
    x_train, y_train = data.load_mnist(train=True)
    x_test, y_test = data.load_mnist(train=False)
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == torch.uint8
    assert y_train.shape == (60000,) and y_train.dtype == torch.int64
    assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    # The first labels of the official files.
    assert y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert torch.bincount(y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    # The canonical statistics (the README's figures for the rebuilt training images).
    scaled = x_train.float() / 255
    assert abs(scaled.mean().item() - 0.1307) < 1e-3
    assert abs(scaled.std().item() - 0.3081) < 2e-3


def test_cifar10_subset():
    x_train, y_train = data.load_cifar10(train=True)
    x_test, y_test = data.load_cifar10(train=False)
    assert x_train.shape == (10000, 3, 32, 32) and x_train.dtype == torch.uint8
    assert x_test.shape == (2000, 3, 32, 32) and y_test.dtype == torch.int64
    assert torch.bincount(y_train).tolist() == [1000] * 10
    assert torch.bincount(y_test).tolist() == [200] * 10
    assert y_train[0].item() == 0 and y_train[-1].item() == 9  # sorted by class, airplane first
    assert 0.3 < x_train.float().mean().item() / 255 < 0.6


def test_normalize_matches_torchvision_normalize():
    from torchvision import transforms

    images, _ = data.load_cifar10(train=False)
    ours = data.normalize(images[:4], data.CIFAR10_MEAN, data.CIFAR10_STD)
    reference = transforms.Normalize(data.CIFAR10_MEAN, data.CIFAR10_STD)(images[:4].float() / 255)
    assert torch.allclose(ours, reference, atol=1e-6)
    mnist, _ = data.load_mnist(train=False)
    flat = data.normalize(mnist[:2], 0.5, 0.5)
    assert flat.min().item() == -1.0 and flat.max().item() == 1.0


def test_second_load_is_fast_in_a_new_process():
    data.load_mnist(True), data.load_cifar10(True)  # make sure the cache exists
    code = ("import time, torch; from core import data; t = time.perf_counter(); "
            "data.load_mnist(True); data.load_mnist(False); data.load_cifar10(True); "
            "data.load_cifar10(False); print(time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert float(out.stdout.strip()) < 1.0
    start = time.perf_counter()
    data.load_mnist(True)  # in-process: memoized
    assert time.perf_counter() - start < 0.1


def test_stock_csvs():
    for symbol in data.EMBEDDED_STOCKS:
        frame = data.load_stock_csv(symbol)
        assert list(frame.columns) == ["Date", "Open", "High", "Low", "Close", "Volume", "Change"]
        assert frame["Date"].is_monotonic_increasing and len(frame) > 2000
    samsung = data.load_stock_csv("005930")
    assert str(samsung["Date"].iloc[0].date()) == "2000-01-04"
    with pytest.raises(KeyError, match="No embedded data"):
        data.load_stock_csv("NOPE")


def test_embedded_prices_are_tidy_and_cut_to_the_range():
    prices = data.embedded_prices("005930", "2020-01-01", "2020-12-31")
    assert list(prices.columns) == ["Date", *data.STOCK_COLUMNS]
    assert prices["Date"].is_monotonic_increasing and prices["Date"].is_unique
    assert (prices["Date"].iloc[0] >= pd.Timestamp("2020-01-01")
            and prices["Date"].iloc[-1] <= pd.Timestamp("2020-12-31"))
    assert all(prices[c].dtype == "float64" for c in data.STOCK_COLUMNS)
    assert data.describe_prices(prices) == data.Words("stocks.span", {
        "first": prices["Date"].iloc[0], "last": prices["Date"].iloc[-1], "days": len(prices)})


def test_data_errors_carry_words_not_sentences():
    error = data.DataError("stocks.no_prices", symbol="ZZZZ")
    assert error.words == data.Words("stocks.no_prices", {"symbol": "ZZZZ"})
    assert isinstance(error, ValueError) and "stocks.no_prices" in str(error)
    plain = data.OfflineError("The full CIFAR-10 needs the internet")
    assert str(plain) == "The full CIFAR-10 needs the internet" and plain.words is None
    worded = data.OfflineError(words=data.words("stocks.why_timeout", timeout=8.0))
    assert worded.words.key == "stocks.why_timeout" and "stocks.why_timeout" in str(worded)


def test_full_cifar10_offline_says_it_needs_the_internet(monkeypatch, tmp_path):
    monkeypatch.setattr(data, "internet_available", lambda *a, **k: False)
    with pytest.raises(data.OfflineError, match="needs the internet"):
        data.load_cifar10_full(root=tmp_path)
