"""Shared test helpers: repo root on sys.path, AppTest through app.py."""
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("PLAYGROUND_FORCE_CPU", "0")


def open_page(page: str, timeout: float = 120):
    """Run app.py under Streamlit's AppTest and switch to `page` (e.g. "pages/cnn.py")."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    at.run()
    assert not at.exception, at.exception
    if page != "pages/home.py":
        at.switch_page(page)
        at.run()
    return at


@pytest.fixture
def page_app():
    return open_page
