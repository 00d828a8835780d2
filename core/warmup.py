"""What every learner's first page view needs, loaded once when the server starts.

A Streamlit server runs no app code until the first browser session, so without this the
first learner of a fresh server waited for PyTorch's optimizer machinery (torch._dynamo,
imported by the first optimizer), torchvision, scikit-learn, MNIST, the digit readers and the
page's time estimates before the page showed. `warm()` does that work in the process up front;
every loader it calls keeps its result in a process-wide cache (functools caches, data/.cache),
so a page's later call is a dictionary look-up. The server launcher (deploy/serve.py) runs it
in a background thread at start.

    python -m core.warmup      # the same, once, in this process: builds data/.cache (the image does)

Plain Python + PyTorch: never Streamlit. A step that fails is logged and skipped: warming is
an optimization, never a reason for the server not to start.
"""
import logging
import time

log = logging.getLogger("playground.warmup")


def _optimizer() -> None:
    """The first optimizer built in a process imports torch._dynamo, the slowest import of all."""
    import torch

    weight = torch.nn.Parameter(torch.zeros(1))
    for make in (torch.optim.SGD, torch.optim.Adam):
        make([weight], lr=0.1).step()


def _torchvision() -> None:
    import torchvision.models  # noqa: F401  (the ResNet page's stage tables; the datasets' readers)
    import torchvision.transforms  # noqa: F401


def _mnist() -> None:
    from core.data import load_mnist

    load_mnist(True)
    load_mnist(False)


def _cifar() -> None:
    from core.data import load_cifar10

    load_cifar10(True)
    load_cifar10(False)


def _digit_readers() -> None:
    from core import digits

    for kind in ("cnn", "mlp"):
        digits.digit_model_info(kind)


def _transfer_backbone() -> None:
    from core import transfer

    transfer.backbone_info()


def _regression() -> None:
    from core import regression  # scikit-learn comes with it

    regression.load_table()


def _stocks() -> None:
    from core import stocks  # noqa: F401  (scikit-learn's metrics and scalers)
    from core.data import EMBEDDED_STOCKS, load_stock_csv

    load_stock_csv(next(iter(EMBEDDED_STOCKS)))


def _words() -> None:
    from core import glossary, lessons
    from core.words import CONTENT_DIR, sections

    for language_dir in sorted(p for p in CONTENT_DIR.iterdir() if p.is_dir()):
        for page in sorted(language_dir.glob("*.md")):
            sections(language_dir.name, page.stem)
    glossary.terms()
    lessons.catalog()


def _estimates() -> None:
    """Each training button's estimate for the page's starting settings: a few timed steps of its
    model, kept by core's caches per network shape and thread count, so the first learner on a
    page reads the estimate instead of waiting for it. The threads are the app's
    (`share_cpu_with_browser`), or the timings would be kept under another key."""
    from core import ann, cnn, perceptron, regression, resnet, rnn, stocks, transfer
    from core.data import EMBEDDED_STOCKS, load_stock_csv
    from core.device import pick_device, share_cpu_with_browser

    share_cpu_with_browser()
    device = pick_device()
    for estimate, settings in ((ann.estimate_seconds, ann.AnnSettings()),
                               (regression.estimate_seconds, regression.RegressionSettings()),
                               (cnn.estimate_seconds, cnn.DEFAULTS["mnist"]),
                               (cnn.compare_estimate, cnn.DEFAULTS["mnist"]),
                               (resnet.estimate_seconds, resnet.ExperimentSettings()),
                               (transfer.estimate_seconds, transfer.TransferSettings()),
                               (rnn.estimate_sine_seconds, rnn.SineSettings()),
                               (rnn.estimate_memory_seconds, rnn.MemorySettings())):
        estimate(settings, device)
    X, y = perceptron.ToyData().make()  # the perceptron page's MLP and cubic fit, at its starting settings
    perceptron.estimate_mlp_seconds(X, y, perceptron.MLPConfig(), device, perceptron.plot_bounds(X))
    perceptron.estimate_cubic_seconds(perceptron.CubicFitConfig())
    frame = load_stock_csv(next(iter(EMBEDDED_STOCKS)))  # the stocks page's first ticker, offline or not
    stocks.estimate_seconds(stocks.plans(frame, stocks.prepare(frame, stocks.StockSettings())), device)


STEPS = (  # (name, work): the order a class meets them, the heaviest shared work first
    ("optimizer", _optimizer),
    ("torchvision", _torchvision),
    ("mnist", _mnist),
    ("digit_readers", _digit_readers),
    ("words", _words),
    ("regression", _regression),
    ("cifar10", _cifar),
    ("transfer_backbone", _transfer_backbone),
    ("stocks", _stocks),
    ("estimates", _estimates),
)


def warm(steps=STEPS) -> dict[str, float | str]:
    """Run every step once; {step: seconds it took, or "failed: <why>"}."""
    done: dict[str, float | str] = {}
    for name, work in steps:
        started = time.perf_counter()
        try:
            work()
        except Exception as exc:  # noqa: BLE001  (warming must never stop the server)
            log.warning("warm-up step %s failed: %s", name, exc)
            done[name] = f"failed: {exc}"
            continue
        done[name] = round(time.perf_counter() - started, 2)
    return done


if __name__ == "__main__":
    import json

    print(json.dumps(warm()))
