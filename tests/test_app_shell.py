"""The app shell: every page renders through app.py with no exception; core stays Streamlit-free."""
import subprocess
import sys

import pytest

from conftest import ROOT, open_page

PAGES = ["views/home/home.py", "views/perceptron/perceptron.py", "views/ann/ann.py", "views/cnn/cnn.py",
         "views/resnet/resnet.py", "views/rnn/rnn.py", "views/stocks/stocks.py", "views/glossary/glossary.py"]


def test_home_renders_title_path_and_status():
    at = open_page("views/home/home.py")
    assert not at.exception
    assert at.title[0].value.startswith("🧠 Deep Learning Playground")
    headers = [h.value for h in at.header]
    assert "The learning path" in headers and "Status" in headers
    assert any(m.label == "Training device" for m in at.metric)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_without_exception(page):
    at = open_page(page)
    assert not at.exception, [e.message for e in at.exception]


def test_topic_pages_run_inside_app_py():
    at = open_page("views/cnn/cnn.py")
    assert at.sidebar.toggle(key="force_cpu").label == "Force CPU"  # app.py's sidebar is there
    assert "CNN" in at.title[0].value


def test_sidebar_shows_device_and_can_force_cpu():
    at = open_page("views/home/home.py")
    sidebar_text = " ".join(m.value for m in at.sidebar.markdown)
    assert "Device:" in sidebar_text
    import os

    from core import device as device_mod

    # The script thread's count (not this thread's): OpenMP thread counts are per thread.
    default = device_mod._DEFAULT_THREADS
    expected = (f"trains on {default - 1} of {default} CPU threads"  # a core left to the browser
                if default > 1 and not os.environ.get("OMP_NUM_THREADS") else "CPU threads")
    assert any(expected in c.value for c in at.sidebar.caption), [c.value for c in at.sidebar.caption]
    assert at.sidebar.toggle(key="force_cpu").label == "Force CPU"
    at.session_state["force_cpu"] = True
    at.run()
    assert not at.exception
    assert any(m.label == "Training device" and m.value == "CPU" for m in at.metric)


def test_server_config_keeps_training_fast():
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    # The file watcher's thread took most of a core (and the GIL) from training.
    assert config["server"]["fileWatcherType"] == "none"


def test_force_cpu_overrides_detection(monkeypatch):
    import torch

    from core.device import pick_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pick_device(force_cpu=True).type == "cpu"


def test_core_never_imports_streamlit():
    code = ("import importlib, pkgutil, sys, core\n"
            "for m in pkgutil.iter_modules(core.__path__): importlib.import_module('core.' + m.name)\n"
            "sys.exit(3 if 'streamlit' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0
    for path in (ROOT / "core").rglob("*.py"):
        assert "import streamlit" not in path.read_text(), path


def statements(path) -> int:
    """What a page holds: its statements, imports and docstrings apart (wrapping a long line
    into two does not make a page longer, and squeezing two into one does not make it shorter)."""
    import ast

    count = 0
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.stmt) and not isinstance(node, ast.Import | ast.ImportFrom):
            is_docstring = isinstance(node, ast.Expr) and isinstance(getattr(node, "value", None), ast.Constant) \
                and isinstance(node.value.value, str)
            count += not is_docstring
    return count


def test_pages_stay_short():
    """A page reads as the lesson's flow; the words live in content/, the work in core/, a long
    section in a module of its own beside the page (views/<page>/)."""
    for path in [p for p in ROOT.glob("views/*/*.py") if p.stem == p.parent.name]:
        held = statements(path)
        assert held <= 200, f"{path.parent.name} holds {held} statements"


def test_every_text_key_in_the_code_exists_in_the_content():
    """Each literal t("page.section") key in app.py, views/ and ui/ names a real section."""
    import re

    from core.words import sections
    from ui.content import DEFAULT_LANGUAGE

    sources = [ROOT / "app.py", *(ROOT / "views").rglob("*.py"), *(ROOT / "ui").glob("*.py")]
    keys = {key for path in sources
            for key in re.findall(r"\bt\(\s*\"([a-z_]+\.[A-Za-z0-9_.]+)\"", path.read_text())}
    assert len(keys) > 50
    missing = [k for k in sorted(keys)
               if k.partition(".")[2] not in sections(DEFAULT_LANGUAGE, k.partition(".")[0])]
    assert not missing, missing


def test_content_files_parse_and_fill():
    """Every section of every content file formats with str.format rules (no stray braces)."""
    import string

    from core.words import CONTENT_DIR, sections

    for path in (CONTENT_DIR / "en").glob("*.md"):
        for name, text in sections("en", path.stem).items():
            assert text, f"{path.name} [[{name}]] is empty"
            fields = [f for _, f, _, _ in string.Formatter().parse(text) if f is not None]
            assert all(f.isidentifier() for f in fields), (path.name, name, fields)
