"""Embedded datasets (MNIST, a CIFAR-10 subset, stock CSVs) loaded as ready tensors."""
import functools
import gzip
import io
import os
import shutil
import socket
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import torch

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
# Decoded tensors live here so a second load (even in a new process) is a torch.load.
CACHE_DIR = Path(os.environ.get("PLAYGROUND_CACHE", DATA_DIR / ".cache"))

MNIST_FILES = {  # file -> md5 of the official file (the training images are rebuilt, see data/README.md)
    "train-images-idx3-ubyte.gz": None,
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081  # canonical statistics on [0, 1]
NOTEBOOK_MEAN, NOTEBOOK_STD = 0.5, 0.5  # the course notebook's Normalize((0.5,), (0.5,))

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)

EMBEDDED_STOCKS = {  # symbol -> name, all in data/stocks/<symbol>.csv
    "005930": "Samsung Electronics (KRX)",
    "000660": "SK hynix (KRX)",
    "035420": "NAVER (KRX)",
    "005380": "Hyundai Motor (KRX)",
    "NFLX": "Netflix (NASDAQ)",
    "AAPL": "Apple (NASDAQ)",
    "GOOGL": "Alphabet (NASDAQ)",
    "TSLA": "Tesla (NASDAQ)",
}


class OfflineError(RuntimeError):
    """An online-only option was asked for while the internet is unreachable."""


def _cached(name: str, build):
    """torch.load CACHE_DIR/name if present, else build() and save it there."""
    path = CACHE_DIR / name
    if path.exists():
        try:
            return torch.load(path, weights_only=True)
        except Exception:  # a half-written or stale cache: rebuild it
            path.unlink(missing_ok=True)
    result = build()
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(result, tmp)
    os.replace(tmp, path)  # atomic: two processes may build at once
    return result


def _mnist_via_torchvision(train: bool) -> tuple[torch.Tensor, torch.Tensor]:
    from torchvision.datasets import MNIST

    # torchvision reads the *uncompressed* IDX files from <root>/MNIST/raw/.
    raw = CACHE_DIR / "torchvision" / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for gz_name in MNIST_FILES:
        target = raw / gz_name[:-3]
        if not target.exists():
            with gzip.open(DATA_DIR / "mnist" / gz_name, "rb") as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)
    dataset = MNIST(str(CACHE_DIR / "torchvision"), train=train, download=False)
    return dataset.data.clone(), dataset.targets.clone()


@functools.lru_cache(maxsize=2)
def load_mnist(train: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST as (images uint8 (N, 28, 28) in 0..255, labels int64 (N,)).

    60,000 training / 10,000 test images, read with torchvision's own IDX reader.
    Use `normalize` to get float inputs.
    """
    split = "train" if train else "test"
    images, labels = _cached(f"mnist_{split}.pt", lambda: _mnist_via_torchvision(train))
    return images, labels


def _decode_cifar_zip(split: str) -> tuple[torch.Tensor, torch.Tensor]:
    from PIL import Image

    images, labels = [], []
    with zipfile.ZipFile(DATA_DIR / "cifar10" / f"{split}.zip") as archive:
        names = sorted(n for n in archive.namelist() if n.lower().endswith(".jpg"))
        for name in names:  # <split>/<class>/<nnnn>.jpg
            class_name = name.split("/")[-2]
            with Image.open(io.BytesIO(archive.read(name))) as img:
                images.append(np.asarray(img.convert("RGB"), dtype=np.uint8))
            labels.append(CIFAR10_CLASSES.index(class_name))
    stacked = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()  # (N, 3, 32, 32)
    return stacked, torch.tensor(labels, dtype=torch.int64)


@functools.lru_cache(maxsize=2)
def load_cifar10(train: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """The embedded CIFAR-10 subset as (images uint8 (N, 3, 32, 32), labels int64 (N,)).

    10,000 training images (1,000 per class) and 2,000 test images (200 per class), JPEG
    decoded, so pixels differ slightly from the original CIFAR-10 batches. Sorted by class.
    """
    split = "train" if train else "test"
    return _cached(f"cifar10_{split}.pt", lambda: _decode_cifar_zip(split))


def normalize(images: torch.Tensor, mean, std) -> torch.Tensor:
    """uint8 images (N, H, W) or (N, C, H, W) -> float32 ((x / 255) - mean) / std per channel."""
    x = images.float().div_(255.0)
    if x.dim() == 4:
        mean_t = torch.as_tensor(mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
        std_t = torch.as_tensor(std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
        return (x - mean_t) / std_t
    return (x - float(mean)) / float(std)


def internet_available(host: str = "pypi.org", port: int = 443, timeout: float = 2.0) -> bool:
    """A quick TCP check, so online-only options fail fast with a message offline."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


@functools.lru_cache(maxsize=2)
def load_cifar10_full(train: bool = True, root: Path | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The full CIFAR-10 (50,000 / 10,000) through torchvision's download; needs the internet."""
    from torchvision.datasets import CIFAR10

    root = Path(root or CACHE_DIR / "torchvision")
    already = (root / "cifar-10-batches-py").exists()
    if not already and not internet_available("www.cs.toronto.edu"):
        raise OfflineError(
            "The full CIFAR-10 (170 MB) is downloaded by torchvision and needs the internet, "
            "which is not reachable. The embedded 10,000 / 2,000 subset works offline."
        )
    try:
        dataset = CIFAR10(str(root), train=train, download=not already)
    except Exception as exc:  # network drop mid-download, bad archive...
        raise OfflineError(f"Could not download the full CIFAR-10: {exc}") from exc
    images = torch.from_numpy(dataset.data).permute(0, 3, 1, 2).contiguous()  # (N, 3, 32, 32)
    return images, torch.tensor(dataset.targets, dtype=torch.int64)


def load_stock_csv(symbol: str) -> pd.DataFrame:
    """An embedded daily price table: Date, Open, High, Low, Close, Volume, Change (oldest first)."""
    if symbol not in EMBEDDED_STOCKS:
        raise KeyError(f"No embedded data for {symbol!r}; embedded: {', '.join(EMBEDDED_STOCKS)}")
    frame = pd.read_csv(DATA_DIR / "stocks" / f"{symbol}.csv", parse_dates=["Date"])
    return frame.sort_values("Date").reset_index(drop=True)
