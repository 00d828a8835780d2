"""Every data set: the embedded files (MNIST, a CIFAR-10 subset, stock CSVs), online downloads
(full CIFAR-10, FinanceDataReader prices), their disk caches, and the errors a learner reads.

Core code never holds a learner's words: a problem is named by `Words` (a content section and
its values) that a page writes with `ui.content.t`.
"""
import datetime as dt
import functools
import gzip
import io
import os
import re
import shutil
import socket
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from core.words import LearnerError, Words, words

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

# symbol -> English name (logs, tests, StockData.name), all in data/stocks/<symbol>.csv; a page
# shows the name in the learner's language from content/<lang>/stocks.md, [[name_<symbol>]].
EMBEDDED_STOCKS = {
    "005930": "Samsung Electronics (KRX)",
    "000660": "SK hynix (KRX)",
    "035420": "NAVER (KRX)",
    "005380": "Hyundai Motor (KRX)",
    "NFLX": "Netflix (NASDAQ)",
    "AAPL": "Apple (NASDAQ)",
    "GOOGL": "Alphabet (NASDAQ)",
    "TSLA": "Tesla (NASDAQ)",
}


class DataError(LearnerError):
    """Data that cannot be had, or settings that do not fit it; `words` tells the learner why."""


class OfflineError(RuntimeError):
    """An online-only option was asked for while the internet is unreachable.

    Raised with a plain message (the full CIFAR-10), or with `words` for a page to write from
    its content (stock prices); str() is the message, or the section and values.
    """

    def __init__(self, message: str = "", words: Words | None = None):
        self.words = words
        super().__init__(message or (f"{words.key} {words.values}" if words else ""))


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


# --- Stock prices: FinanceDataReader online, a disk cache, the embedded CSVs offline ------------
STOCK_CACHE = CACHE_DIR / "stocks"  # downloaded price tables, one CSV per (symbol, range)
STOCK_COLUMNS = ("Open", "High", "Low", "Close", "Volume")  # what every price table is reduced to


@dataclass
class StockData:
    frame: pd.DataFrame   # Date, Open, High, Low, Close, Volume (oldest first)
    symbol: str
    name: str             # "Samsung Electronics (KRX)" or the symbol itself
    source: str           # "download" | "cache" (fresh) | "stale_cache" | "embedded"
    currency: str         # "₩" for KRX codes, "$" otherwise
    why: Words | None = None        # why it is not a live download (stale cache, embedded)
    cache_file: str | None = None   # the cache file's name (cache, stale_cache)
    covers: Words | None = None     # the embedded file's whole range (embedded)

    @property
    def first_date(self) -> pd.Timestamp:
        return self.frame["Date"].iloc[0]

    @property
    def last_date(self) -> pd.Timestamp:
        return self.frame["Date"].iloc[-1]

    @property
    def origin(self) -> str:
        """Where an embedded CSV came from (see data/README.md): "krx" or "us"."""
        return "krx" if self.currency == "₩" else "us"

    @property
    def span(self) -> Words:
        return describe_prices(self.frame)


SYMBOL_SHOWN = 24  # a message echoes at most this much of what was typed as a ticker


def normalize_symbol(symbol: str) -> str:
    cleaned = "".join(str(symbol or "").split()).upper()
    if not cleaned:
        raise DataError("stocks.symbol_empty")
    if len(cleaned) > 20 or not all(c.isalnum() or c in ".-:^" for c in cleaned):
        shown = str(symbol)
        raise DataError("stocks.symbol_bad", symbol=shown if len(shown) <= SYMBOL_SHOWN else shown[:SYMBOL_SHOWN] + "…")
    return cleaned


def currency_of(symbol: str) -> str:
    return "₩" if symbol.isdigit() and len(symbol) == 6 else "$"  # 6-digit codes are KRX (won)


def embedded_list() -> str:
    """The embedded symbols with their English names, in one line (logs and tests)."""
    return ", ".join(f"{code} {name}" for code, name in EMBEDDED_STOCKS.items())


def embedded_words() -> Words:
    """The embedded symbols with their names, for a learner's message: content's [[embedded_list]]."""
    return words("stocks.embedded_list")


def tidy_prices(raw: pd.DataFrame) -> pd.DataFrame:
    """A Date-indexed (FinanceDataReader) or Date-column table -> Date + the five price columns."""
    frame = raw.copy()
    if "Date" not in frame.columns:
        frame = frame.rename_axis("Date").reset_index()
    missing = [c for c in STOCK_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError("stocks.download_columns", missing=", ".join(missing),
                        columns=", ".join(map(str, frame.columns)))
    frame = frame[["Date", *STOCK_COLUMNS]].copy()
    frame["Date"] = pd.to_datetime(frame["Date"]).dt.tz_localize(None).dt.normalize()
    for column in STOCK_COLUMNS:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    return frame.sort_values("Date").drop_duplicates("Date").reset_index(drop=True)


def _between(frame: pd.DataFrame, start: str | None, end: str | None) -> pd.DataFrame:
    mask = pd.Series(True, index=frame.index)
    if start is not None:
        mask &= frame["Date"] >= pd.Timestamp(start)
    if end is not None:
        mask &= frame["Date"] <= pd.Timestamp(end)
    return frame[mask].reset_index(drop=True)


def embedded_prices(symbol: str, start: str | None = None, end: str | None = None) -> pd.DataFrame:
    """An embedded stock's tidy price table, cut to [start, end]; never the network."""
    return _between(tidy_prices(load_stock_csv(symbol)), start, end)


def describe_prices(frame: pd.DataFrame) -> Words:
    return words("stocks.span", first=frame["Date"].iloc[0], last=frame["Date"].iloc[-1], days=len(frame))


def _period(start: str, end: str | None) -> Words:
    return words("stocks.period", start=start, end=end) if end else words("stocks.period_open", start=start)


def _download(symbol: str, start: str, end: str | None) -> pd.DataFrame:
    """The raw FinanceDataReader call (tests replace this; it is the only network access)."""
    import FinanceDataReader as fdr  # lazy: slow import, and only needed online

    return fdr.DataReader(symbol, start, end)


def _is_network_error(exc: BaseException) -> bool:
    # requests' ConnectionError/Timeout are OSError subclasses; an HTTP error status is an answer.
    return isinstance(exc, (OSError, TimeoutError)) and type(exc).__name__ != "HTTPError"


def _network_words(exc: BaseException) -> Words:
    """Why the network failed, in one line: requests' messages are long URLs, the host is what matters."""
    host = re.search(r"host='([^']+)'", str(exc))
    if host:
        return words("stocks.why_host", error=type(exc).__name__, host=host.group(1))
    text = str(exc).split("(Caused by")[0].strip()
    return words("stocks.why_network", error=f"{type(exc).__name__}: {text[:140]}" if text else type(exc).__name__)


def fetch_online(symbol: str, start: str, end: str | None, timeout: float = 10.0) -> pd.DataFrame:
    """FinanceDataReader in a daemon thread, given up after `timeout` seconds.

    Raises OfflineError for network trouble (a timeout included) and DataError when the
    server answered but has no data for the symbol.
    """
    box: dict = {}

    def work():
        try:
            box["frame"] = _download(symbol, start, end)
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=work, daemon=True, name=f"fdr-{symbol}")
    thread.start()
    thread.join(timeout)
    if thread.is_alive():  # the thread keeps going in the background; we stop waiting
        raise OfflineError(words=words("stocks.why_timeout", timeout=timeout))
    if "error" in box:
        exc = box["error"]
        if _is_network_error(exc):
            raise OfflineError(words=_network_words(exc)) from exc
        raise DataError("stocks.download_failed", symbol=symbol,
                        error=f"{type(exc).__name__}: {str(exc)[:160]}") from exc
    raw = box.get("frame")
    if raw is None or len(raw) == 0:
        raise DataError("stocks.no_prices", symbol=symbol, period=_period(start, end))
    return tidy_prices(raw)


def _cache_path(symbol: str, start: str, end: str | None) -> Path:
    safe = "".join(c if c.isalnum() else "_" for c in symbol)
    return STOCK_CACHE / f"{safe}_{start}_{end or 'latest'}.csv"


def _cache_is_fresh(path: Path, end: str | None) -> bool:
    """A closed past range never changes; a range reaching today is refreshed once a day."""
    today = dt.date.today()
    if end is not None and dt.date.fromisoformat(end) < today:
        return True
    return dt.date.fromtimestamp(path.stat().st_mtime) == today


def _read_cache(path: Path) -> pd.DataFrame | None:
    try:
        return tidy_prices(pd.read_csv(path, parse_dates=["Date"]))
    except Exception:  # a half-written or foreign file: ignore it
        return None


def _write_cache(path: Path, frame: pd.DataFrame) -> None:
    try:
        STOCK_CACHE.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        frame.to_csv(tmp, index=False)
        os.replace(tmp, path)  # atomic: two sessions may download at once
    except OSError:
        pass  # a read-only disk only costs a re-download


def load_prices(symbol: str, start: str = "2020-01-01", end: str | None = None, online: bool = True,
                timeout: float = 10.0) -> StockData:
    """Daily prices for `symbol` in [start, end]: download (cached on disk) or the embedded CSV.

    Order: a fresh disk cache, FinanceDataReader (with `timeout`), a stale cache, the embedded
    CSV. Raises OfflineError (network down, symbol not embedded) or DataError (bad symbol,
    unknown symbol, empty range), both with words for the learner.
    """
    symbol = normalize_symbol(symbol)
    if end is not None and pd.Timestamp(end) < pd.Timestamp(start):
        raise DataError("stocks.end_before_start", start=start, end=end)
    name, currency = EMBEDDED_STOCKS.get(symbol, symbol), currency_of(symbol)
    path = _cache_path(symbol, start, end)
    cached = _read_cache(path) if path.exists() else None
    if online and cached is not None and len(cached) and _cache_is_fresh(path, end):
        return StockData(cached, symbol, name, "cache", currency, cache_file=path.name)

    why, network_down = words("stocks.why_switched_off"), False
    if online:
        try:
            frame = fetch_online(symbol, start, end, timeout)
            _write_cache(path, frame)
            return StockData(frame, symbol, name, "download", currency)
        except DataError as exc:  # the server answered: the symbol or range is wrong
            if symbol not in EMBEDDED_STOCKS:
                raise DataError("stocks.unknown_symbol", reason=exc.words, embedded=embedded_words()) from exc
            why = exc.words
        except OfflineError as exc:
            network_down, why = True, exc.words
        except Exception as exc:  # DNS failure, library trouble: as good as offline
            network_down, why = True, _network_words(exc)
    if cached is not None and len(cached):
        return StockData(cached, symbol, name, "stale_cache", currency, why=why, cache_file=path.name)
    if symbol not in EMBEDDED_STOCKS:
        if network_down:
            raise OfflineError(words=words("stocks.offline_unknown", symbol=symbol, why=why,
                                           embedded=embedded_words()))
        raise DataError("stocks.not_embedded", symbol=symbol, why=why, embedded=embedded_words())
    full = embedded_prices(symbol)
    frame = _between(full, start, end)
    if frame.empty:
        raise DataError("stocks.embedded_empty", symbol=symbol, covers=describe_prices(full),
                        period=_period(start, end))
    return StockData(frame, symbol, name, "embedded", currency, why=why, covers=describe_prices(full))
