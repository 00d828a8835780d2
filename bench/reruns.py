"""reruns: how long a page takes to answer a settings change, for the settings a learner can reach.

    python -m bench reruns [--quick]

Every page runs through app.py under Streamlit's AppTest (no browser): opened once, then its
widgets driven to their extremes one at a time (each to its far end, then back) and in the worst
combinations found (the issue's cases among them: the RNN page at T 200, 4,300 sequences,
2 layers, hidden 128, then a full batch; the ANN page with six hidden layers of 4,096). Each
change is one rerun, timed from the widget's change to the end of the script run. One line per
case (its slowest rerun and which change it was) and one per page (`case: "slowest"`, the
slowest rerun of all its cases); the opening run is not a rerun and is reported apart
(`open_seconds`). The issue's bar: every rerun within about a second.

--quick: one case of one page (a smoke test, not for figures).
"""
import datetime as dt
import os
import tempfile
import time
from pathlib import Path

WORKLOAD = "reruns"
ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 900.0  # seconds one rerun may take before AppTest gives up (the old estimates took minutes)
WIDE = ", ".join(["4096"] * 6)  # the widest and deepest MLP the hidden-layer boxes accept

# page -> [(case, [change, ...])]; a change is {widget key: value}, set together, then one rerun.
# "Extremes" cases move one widget at a time to its far end and back to the default.
CASES: dict[str, list[tuple[str, list[dict]]]] = {
    "home": [("rerun", [{}])],
    "lessons": [("rerun", [{}])],
    "glossary": [("search", [{"glossary_query": "gradient"}, {"glossary_query": "x" * 40}, {"glossary_query": ""}])],
    "perceptron": [
        ("extremes", [
            {"perceptron_act_range": (-10.0, 10.0)}, {"perceptron_act_range": (-5.0, 5.0)},
            {"perceptron_temperature": 0.05}, {"perceptron_temperature": 10.0},
            {"perceptron_depth": 50}, {"perceptron_depth": 10},
            {"perceptron_points": 1000}, {"perceptron_points": 20}, {"perceptron_points": 200},
            {"perceptron_noise": 1.0}, {"perceptron_noise": 0.1},
            {"perceptron_dataset": "circles"}, {"perceptron_dataset": "AND"},
            {"perceptron_rule_epochs": 200}, {"perceptron_rule_lr": 0.001}, {"perceptron_rule_lr": 0.1},
            {"perceptron_rule_epochs": 20},
            {"perceptron_mlp_hidden": 32}, {"perceptron_mlp_hidden": 4},
            {"perceptron_mlp_epochs": 2000}, {"perceptron_mlp_batch": 16}, {"perceptron_mlp_batch": 0},
            {"perceptron_mlp_epochs": 200},
            {"perceptron_mlp_optimizer": "rmsprop"}, {"perceptron_mlp_optimizer": "adam"},
            {"perceptron_sine_open": True},  # the gradient-descent exercise opens with a toggle
            {"perceptron_sine_steps": 10000}, {"perceptron_sine_steps": 2000},
        ]),
        ("worst: 1,000 noisy points, 200 rule epochs, MLP 32 wide, 2,000 epochs, batch 16, 10,000 steps", [
            {"perceptron_dataset": "circles"}, {"perceptron_points": 1000}, {"perceptron_noise": 1.0},
            {"perceptron_rule_epochs": 200}, {"perceptron_rule_lr": 0.001},
            {"perceptron_mlp_hidden": 32}, {"perceptron_mlp_epochs": 2000}, {"perceptron_mlp_batch": 16},
            {"perceptron_mlp_optimizer": "rmsprop"}, {"perceptron_mlp_activation": "gelu"},
            {"perceptron_sine_open": True}, {"perceptron_sine_steps": 10000}, {"perceptron_sine_method": "adam"},
            {"perceptron_points": 980},
        ]),
    ],
    "ann": [
        ("extremes", [
            {"ann_n_train": 1000}, {"ann_n_train": 60000},
            {"ann_epochs": 30}, {"ann_epochs": 10},
            {"ann_batch_size": 16}, {"ann_batch_size": 1024}, {"ann_batch_size": 64},
            {"ann_dropout": 0.8}, {"ann_dropout": 0.0},
            {"ann_activation": "gelu"}, {"ann_activation": "relu"},
            {"ann_optimizer": "rmsprop"}, {"ann_optimizer": "sgd_momentum"},
            {"ann_normalization": "none"}, {"ann_normalization": "notebook"},
            {"ann_hidden": "4096"}, {"ann_hidden": "1"}, {"ann_hidden": ""}, {"ann_hidden": "128, 64"},
            {"reg_hidden": "4096"}, {"reg_hidden": "32, 16"},
            {"reg_epochs": 1000}, {"reg_batch_size": 8}, {"reg_batch_size": 32}, {"reg_epochs": 300},
        ]),
        ("issue: six hidden layers of 4,096, then every other setting", [
            {"ann_hidden": WIDE}, {}, {"ann_batch_size": 1024}, {"ann_batch_size": 16}, {"ann_n_train": 1000},
            {"ann_epochs": 30}, {"ann_activation": "gelu"}, {"ann_dropout": 0.8}, {"ann_optimizer": "rmsprop"},
            {"ann_normalization": "none"}, {"ann_seed": 7}, {"ann_lr": 0.0001},
        ]),
        ("worst regression: six hidden layers of 4,096, batch 8, 1,000 epochs", [
            {"reg_hidden": WIDE}, {"reg_batch_size": 8}, {"reg_epochs": 1000}, {"reg_activation": "gelu"},
            {"reg_dropout": 0.8}, {"reg_optimizer": "rmsprop"}, {"reg_seed": 3},
        ]),
    ],
    "cnn": [
        ("extremes", [
            {"cnn_mnist_n_train": 60000}, {"cnn_mnist_epochs": 10}, {"cnn_mnist_batch": 16},
            {"cnn_mnist_batch": 256}, {"cnn_mnist_opt": "rmsprop"}, {"cnn_mnist_batch": 64},
            {"cnn_aug_mnist_crop": False}, {"cnn_aug_mnist_rotate": False}, {"cnn_aug_mnist_crop": True},
            {"cnn_mnist_index": 1999},
            {"cnn_preset": "vgg_block"}, {"cnn_in_c": 512}, {"cnn_in_h": 1024}, {"cnn_in_w": 1024},
            {"cnn_in_c": 1}, {"cnn_preset": "worked_example"},
        ]),
        ("worst: CIFAR-10, 10,000 images, batch 16 and 256, every augmentation, RMSprop, 10 epochs", [
            {"cnn_dataset": "cifar"}, {"cnn_cifar_batch": 16}, {"cnn_cifar_batch": 256},
            {"cnn_aug_cifar_jitter": True}, {"cnn_cifar_opt": "rmsprop"}, {"cnn_cifar_epochs": 10},
            {"cnn_cifar_batch": 16}, {"cnn_cifar_n_train": 1000}, {"cnn_cifar_index": 1999},
        ]),
    ],
    "resnet": [
        ("extremes", [
            {"resnet_depth": 50}, {"resnet_depth": 8}, {"resnet_depth": 20},
            {"resnet_width": 256}, {"resnet_width": 16}, {"resnet_width": 64},
            {"resnet_batch": 256}, {"resnet_batch": 16}, {"resnet_batch": 64},
            {"resnet_n_train": 60000}, {"resnet_epochs": 10}, {"resnet_bn": True}, {"resnet_activation": "relu"},
            {"resnet_optimizer": "rmsprop"}, {"resnet_dataset": "cifar10"}, {"resnet_dataset": "mnist"},
            {"transfer_per_class": 500}, {"transfer_epochs": 30}, {"transfer_backbone_lr": 1e-3},
            {"resnet_arch": "resnet50"}, {"resnet_block_kind": True},
        ]),
        ("worst: convolutional, depth 50, 32 channels, CIFAR-10, batch 256 and 16, 10 epochs", [
            {"resnet_kind": "conv"}, {"resnet_channels": 32}, {"resnet_depth": 50}, {"resnet_dataset": "cifar10"},
            {"resnet_batch": 256}, {"resnet_bn": True}, {"resnet_n_train": 60000}, {"resnet_epochs": 10},
            {"resnet_batch": 16}, {"resnet_optimizer": "adam"}, {"resnet_activation": "relu"},
        ]),
    ],
    "rnn": [
        ("extremes", [
            {"rnn_seq_len": 200}, {"rnn_seq_len": 50}, {"rnn_samples": 5000}, {"rnn_samples": 1000},
            {"rnn_hidden": 128}, {"rnn_hidden": 32}, {"rnn_layers": 3}, {"rnn_layers": 1},
            {"rnn_epochs": 300}, {"rnn_epochs": 60}, {"rnn_batch": "full"}, {"rnn_batch": 16}, {"rnn_batch": 128},
            {"rnn_mem_T": 100}, {"rnn_mem_samples": 2048}, {"rnn_mem_epochs": 100},
            {"rnn_mem_T": 40}, {"rnn_mem_samples": 512}, {"rnn_mem_epochs": 30},
        ]),
        ("issue: T 200, 4,300 sequences, 2 layers, hidden 128, 60 epochs, then a full batch", [
            {"rnn_seq_len": 200}, {"rnn_samples": 4300}, {"rnn_layers": 2}, {"rnn_hidden": 128},
            {"rnn_epochs": 60}, {"rnn_batch": "full"},
        ]),
        ("worst: T 200, 5,000 sequences, 3 layers, hidden 128, 300 epochs, full batch and 16", [
            {"rnn_seq_len": 200}, {"rnn_samples": 5000}, {"rnn_layers": 3}, {"rnn_hidden": 128},
            {"rnn_epochs": 300}, {"rnn_batch": "full"}, {"rnn_batch": 16}, {"rnn_gate_index": 999},
            {"rnn_gate_layer": 3}, {"rnn_mem_T": 100}, {"rnn_mem_samples": 2048}, {"rnn_mem_epochs": 100},
        ]),
    ],
    "stocks": [
        ("extremes", [
            {"stocks_online": False},
            {"stocks_window": 120}, {"stocks_window": 5}, {"stocks_window": 30},
            {"stocks_hidden": 64}, {"stocks_hidden": 10}, {"stocks_layers": 3}, {"stocks_layers": 1},
            {"stocks_batch": 8}, {"stocks_batch": 256}, {"stocks_batch": 32},
            {"stocks_epochs": 300}, {"stocks_early": False}, {"stocks_dropout": 0.5},
            {"stocks_leaky_demo": True}, {"stocks_features": ["Open", "High", "Low", "Close", "Volume", "Return"]},
            {"stocks_target": "return"}, {"stocks_chart_kind": "candlestick"},
        ]),
        ("worst: from 1990, all features, window 120, hidden 64, 3 layers, batch 8, 300 epochs, leaky model", [
            {"stocks_online": False}, {"stocks_start": dt.date(1990, 1, 1)},
            {"stocks_features": ["Open", "High", "Low", "Close", "Volume", "Return"]},
            {"stocks_window": 120}, {"stocks_hidden": 64}, {"stocks_layers": 3}, {"stocks_batch": 8},
            {"stocks_epochs": 300}, {"stocks_early": False}, {"stocks_leaky_demo": True},
            {"stocks_chart_kind": "candlestick"},
        ]),
    ],
}
QUICK = {"rnn": [CASES["rnn"][1]]}

WIDGET_KINDS = ("slider", "select_slider", "selectbox", "radio", "checkbox", "toggle", "number_input",
                "text_input", "multiselect", "date_input")


def _widget(at, key: str):
    for kind in WIDGET_KINDS:
        try:
            return getattr(at, kind)(key=key)
        except KeyError:
            continue
    raise KeyError(f"no widget with key {key!r}")


def open_page(page: str, language: str = "en", timeout: float = TIMEOUT):
    """app.py under AppTest on `page` (views/<page>/<page>.py): the same path as tests/conftest.open_page."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    if language != "en":
        at.query_params["lang"] = language
    at.run()
    if page != "home":
        at.switch_page(f"views/{page}/{page}.py")
        at.run()
    return at


def timed_rerun(at, change: dict) -> float:
    """Set the widgets of `change`, rerun the page, and return the rerun's seconds."""
    for key, value in change.items():
        _widget(at, key).set_value(value)
    started = time.perf_counter()
    at.run()
    return time.perf_counter() - started


def describe(change: dict) -> str:
    return ", ".join(f"{key}={value}" for key, value in change.items()) or "(no change)"


def run_case(page: str, changes: list[dict]) -> dict:
    """Open `page` fresh and make each change in turn: the slowest rerun, which change, any errors."""
    from streamlit.testing.v1.errors import AppTestError

    started = time.perf_counter()
    at = open_page(page)
    opened = time.perf_counter() - started
    slowest, which, errors, times = 0.0, "", [], []
    for change in changes:
        try:
            seconds = timed_rerun(at, change)
        except (KeyError, AppTestError) as exc:  # a widget the page does not draw (or disables) with these settings
            errors.append(f"{describe(change)}: {exc}")
            continue
        except RuntimeError as exc:  # AppTest's timeout: the rerun took longer than TIMEOUT
            seconds = TIMEOUT
            errors.append(f"{describe(change)}: {exc}")
            at = open_page(page)
        except Exception as exc:  # noqa: BLE001  (a value the widget refuses: said, and the case goes on)
            errors.append(f"{describe(change)}: {exc!r}")
            at = open_page(page)
            continue
        times.append(round(seconds, 2))
        if at.exception:
            errors.append(f"{describe(change)}: {at.exception[0].message}")
        if seconds > slowest:
            slowest, which = seconds, describe(change)
    return {"open_seconds": round(opened, 2), "slowest_seconds": round(slowest, 2), "slowest_change": which,
            "reruns": len(times), "seconds": times, "errors": errors}


def run(quick: bool, device):
    # Learners' work goes to a throwaway database, never the repository's data/.workspaces.
    os.environ["PLAYGROUND_DATA_DIR"] = tempfile.mkdtemp(prefix="playground-bench-")
    os.environ.setdefault("PLAYGROUND_FORCE_CPU", "0")
    for page, cases in (QUICK if quick else CASES).items():
        slowest = {"slowest_seconds": -1.0}
        for case, changes in cases:
            found = run_case(page, changes)
            yield {"workload": WORKLOAD, "page": page, "case": case, "device": str(device), **found}
            if found["slowest_seconds"] > slowest["slowest_seconds"]:
                slowest = {**found, "case_of_slowest": case}
        yield {"workload": WORKLOAD, "page": page, "case": "slowest", "device": str(device),
               "slowest_seconds": slowest["slowest_seconds"], "slowest_change": slowest["slowest_change"],
               "in_case": slowest["case_of_slowest"]}
