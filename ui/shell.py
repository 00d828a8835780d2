"""The app shell's pieces: page files, the device the sidebar chose, time and thread labels."""
import streamlit as st
import torch

from core.device import pick_device
from ui.content import t


def page_file(name: str) -> str:
    """The script of page `name` ("ann" -> "views/ann/ann.py"): what st.Page, st.page_link and
    st.switch_page take. One place, so a page moves in one line."""
    return f"views/{name}/{name}.py"


class PageStop(Exception):
    """Raised by stop_page; app.py's run_page catches it (see there)."""


def stop_page() -> None:
    """Stop drawing the page here, like st.stop(), but let the app finish its frame: the URL
    is written and the 🔗 Share box drawn (after st.stop() nothing more can be drawn)."""
    raise PageStop


def current_device() -> torch.device:
    """The device the sidebar chose (CUDA > MPS > CPU unless the learner forced CPU)."""
    return pick_device(force_cpu=st.session_state.get("force_cpu", False))


def cpu_threads_label(info: dict) -> str:
    """"1 of 2 CPU threads" when training leaves cores to the browser, else "2 CPU threads"."""
    used, default = info["cpu_threads"], info["cpu_threads_default"]
    return t("app.threads_of" if used < default else "app.threads_all", used=used, default=default)


def format_seconds(seconds: float | None) -> str:
    """1.2 s, 4 min 05 s, or ? when unknown."""
    if seconds is None:
        return "?"
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, sec = divmod(int(round(seconds)), 60)
    return f"{minutes} min {sec:02d} s"
