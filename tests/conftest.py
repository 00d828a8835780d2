"""Shared test helpers: repo root on sys.path, AppTest through app.py."""
import contextlib
import os
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytest_plugins = ["postgres"]  # the postgres_server / postgres_url fixtures: a throwaway PostgreSQL
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("PLAYGROUND_FORCE_CPU", "0")
# Learners' work goes to a database of this test session, never the repository's data/.workspaces
# (nor a PostgreSQL named in the environment: the database tests choose their own).
os.environ["PLAYGROUND_DATA_DIR"] = tempfile.mkdtemp(prefix="playground-tests-")
os.environ.pop("PLAYGROUND_DATABASE_URL", None)


def open_page(page: str, timeout: float = 120, query: dict | None = None):
    """Run app.py under Streamlit's AppTest and switch to `page` (e.g. "views/cnn/cnn.py"), with
    the URL's query parameters `query` (e.g. {"lang": "ko"})."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    for name, value in (query or {}).items():
        at.query_params[name] = value
    at.run()
    assert not at.exception, at.exception
    if page != "views/home/home.py":
        at.switch_page(page)
        at.run()
    return at


def open_link(page: str, query: dict | None = None, timeout: float = 180):
    """Run app.py under AppTest as a browser opening a link: `page` (e.g. "views/cnn/cnn.py") with
    the query parameters `query` from the first run, as a fresh session."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    for name, value in (query or {}).items():
        at.query_params[name] = value
    at.switch_page(page)
    at.run()
    return at


WIDGET_KINDS = ("slider", "select_slider", "selectbox", "radio", "checkbox", "toggle", "number_input",
                "text_input", "multiselect", "date_input")


def widget(at, key: str):
    """The AppTest widget with this key, whatever its kind."""
    for kind in WIDGET_KINDS:
        try:
            return getattr(at, kind)(key=key)
        except KeyError:
            continue
    raise KeyError(f"no widget with key {key!r}")


def share_link(at) -> str:
    """The link the 🔗 Share box shows (the code block in the sidebar's popover)."""
    links = [c.value for c in at.sidebar.code if "?" in c.value]
    assert len(links) == 1, links
    return links[0]


def link_query(link: str) -> dict:
    from urllib.parse import parse_qsl, urlsplit

    return dict(parse_qsl(urlsplit(link).query, keep_blank_values=True))


def idle(page) -> None:
    """Wait in Chromium until the app's script run is over and the page has settled."""
    page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for(timeout=120_000)
    page.wait_for_timeout(800)


def slider_value(page, label: str) -> str:
    """The value a labelled slider shows in Chromium."""
    slider = page.locator("[data-testid='stSlider']").filter(has_text=label)
    return slider.locator("[data-testid='stSliderThumbValue']").inner_text()


# Refuses every network connection from the moment it runs: run_recipe runs it in this process
# (and undoes it), tests/test_recipes.py before a recipe in a fresh Python, so a recipe that
# reaches for the internet fails its test instead of passing on a machine that happens to be online.
NO_NETWORK = """
import socket
def _refuse(*args, **kwargs):
    raise OSError("the network is blocked in this test")
socket.socket.connect = socket.socket.connect_ex = _refuse
socket.create_connection = socket.getaddrinfo = _refuse
"""


@contextlib.contextmanager
def no_network():
    import socket

    saved = socket.socket.connect, socket.socket.connect_ex, socket.create_connection, socket.getaddrinfo
    exec(NO_NETWORK, {})
    try:
        yield
    finally:
        socket.socket.connect, socket.socket.connect_ex, socket.create_connection, socket.getaddrinfo = saved


def run_recipe(name: str, optimizer=None, **values) -> dict:
    """Run core/recipes/<name>.py offline (the network blocked) with `values` (small settings) on
    the embedded data (DATA_DIR = the playground's data/ unless `values` names another).

    Returns the script's global variables after it ran, so a test reads the figures the
    script printed (e.g. `run_recipe("ann", EPOCHS=1)["test_acc"]`).
    """
    from core import recipes

    values.setdefault("DATA_DIR", str(ROOT / "data"))
    code = recipes.render(name, optimizer=optimizer, **values)
    namespace = {"__name__": "__main__", "__file__": f"{name}.py"}
    with no_network():
        exec(compile(code, f"{name}.py", "exec"), namespace)
    return namespace


@pytest.fixture(scope="module")
def one_thread():
    """Many tiny forward passes (convolutions, RNN steps) on a busy shared CPU: one thread
    avoids thread-pool stalls. Restored after the module."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def page_app():
    return open_page


# --- Real browser: one Streamlit server and one headless Chromium for the session ----------
from bench._browser import CHROMIUM, CHROMIUM_ARGS, CHROMIUM_MISSING  # noqa: E402  (one lookup, one set of settings)


def _require_browser():
    """Skip (with the reason) on a learner's machine without Chromium; never under CI=true."""
    reason = None
    if CHROMIUM is None:
        reason = CHROMIUM_MISSING
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "the playwright package is not installed (pip install -r requirements-dev.txt)"
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests must run under CI: {reason}")
        pytest.skip(reason)


@contextlib.contextmanager
def serve_app():
    """Start the app as the servers do (deploy/serve.py) on a free localhost port; yield its base
    URL once its /ready says the warm-up is done."""
    from bench._browser import app_url

    _require_browser()
    with app_url() as url:  # raises RuntimeError if the app does not start within 90 s
        yield url


@pytest.fixture(scope="session")
def streamlit_url():
    """One app server shared by the browser tests."""
    with serve_app() as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    yield tab
    context.close()


def same_value(a, b) -> bool:
    """Equal as stored and read back: tensors, arrays and frames by value, floats NaN-aware."""
    import math

    import numpy as np
    import pandas as pd
    import torch

    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.shape == b.shape and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    if isinstance(a, pd.DataFrame | pd.Series):
        return type(a) is type(b) and a.equals(b)
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return type(a) is type(b) and len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
    return a == b


def reopen_workspace(at, page: str, stores: list[str], timeout: float = 240, weights: bool = True):
    """A fresh session of the same workspace (its personal link, as a reload or another device
    would come back) on `page`: every run of `stores` comes back as it was kept (`weights=False`:
    without its weights, which were over the size limit)."""
    key = at.session_state["_workspace"]["key"]
    again = open_link(page, {"ws": key}, timeout=timeout)
    assert not again.exception, [e.message for e in again.exception]
    assert again.session_state["_workspace"]["key"] == key and "ws" not in again.query_params
    for store in stores:
        before, after = at.session_state[store]["runs"], again.session_state[store]["runs"]
        assert before and [r.id for r in after] == [r.id for r in before], store
        for kept, back in zip(before, after):
            assert back.settings == kept.settings and back.link == kept.link, store
            assert same_value(kept.end, back.end) and same_value(kept.history, back.history), store
            assert same_value(kept.results, back.results), store
            assert same_value(kept.state_dict, back.state_dict) if weights else back.state_dict is None, store
    return again
