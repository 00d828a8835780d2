"""Streamlit helpers shared by the pages: device, live training panel, charts, "Show the code"."""
import time

import altair as alt
import pandas as pd
import streamlit as st
import torch

from core.device import pick_device

HISTORY_LIMIT = 2000  # points kept for the live chart: bounded, so re-rendering stays cheap
REDRAW_SECONDS = 0.25  # at most ~4 chart redraws a second


def ensure_app_shell() -> None:
    """Make a page opened by a deep link (e.g. /cnn) run inside app.py's navigation.

    Streamlit treats an app with a `pages/` folder as a v1 multipage app until the main
    script calls `st.navigation`; a fresh server's first request for /cnn would run
    pages/cnn.py alone (no shared sidebar). Flip the flag and rerun through app.py.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def current_device() -> torch.device:
    """The device the sidebar chose (CUDA > MPS > CPU unless the learner forced CPU)."""
    return pick_device(force_cpu=st.session_state.get("force_cpu", False))


def cpu_threads_label(info: dict) -> str:
    """"1 of 2 CPU threads" when training leaves cores to the browser, else "2 CPU threads"."""
    used, default = info["cpu_threads"], info["cpu_threads_default"]
    return f"{used} of {default} CPU threads" if used < default else f"{used} CPU threads"


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, sec = divmod(int(round(seconds)), 60)
    return f"{minutes} min {sec:02d} s"


def live_training(events, key: str, label: str = "Training",
                  metric: str = "accuracy") -> tuple[list[dict], dict | None]:
    """Drain a core.engine.train generator while drawing progress, ETA and live curves.

    Returns (history of batch/epoch events, end event or None if interrupted). Pressing the
    Stop button (or any widget) reruns the script, which interrupts this loop at once; the
    history so far is kept in st.session_state[f"{key}_partial"].
    """
    st.button("⏹ Stop", key=f"{key}_stop", help="Stops training now; the curves so far are kept.")
    progress = st.progress(0.0, text=f"{label}: starting…")
    chart_slot = st.empty()
    history: list[dict] = []
    st.session_state[f"{key}_partial"] = history
    last_draw = 0.0
    end = None
    for event in events:
        if event["kind"] == "end":
            end = event
            break
        history.append(event)
        if len(history) > HISTORY_LIMIT:
            del history[: len(history) - HISTORY_LIMIT]
        if event["kind"] == "batch":
            progress.progress(min(1.0, event["progress"]),
                              text=(f"{label}: epoch {event['epoch']}, loss {event['loss']:.4f}, "
                                    f"{format_seconds(event['elapsed'])} elapsed, "
                                    f"ETA {format_seconds(event['eta'])}"))
        now = time.perf_counter()
        if now - last_draw > REDRAW_SECONDS or event["kind"] == "epoch":
            chart_slot.altair_chart(training_chart(history, metric), width="stretch")
            last_draw = now
    if history:
        chart_slot.altair_chart(training_chart(history, metric), width="stretch")
    progress.progress(1.0, text=f"{label}: {end['message'] if end else 'stopped'}")
    return history, end


def training_chart(history: list[dict], metric: str = "accuracy") -> alt.LayerChart | alt.Chart:
    """One chart over epochs: loss on the left axis (every logged batch, and per epoch on
    held-out data), accuracy on the right axis (per epoch). A single layered chart, so it
    fits the width of whatever column it is drawn in."""
    loss_rows = [{"epoch": e["epoch_float"], "value": e["loss"], "series": "train loss (batch)"}
                 for e in history if e["kind"] == "batch"]
    acc_rows = []
    for e in history:
        if e["kind"] != "epoch":
            continue
        if e.get("val_loss") is not None:
            loss_rows.append({"epoch": e["epoch"], "value": e["val_loss"], "series": "held-out loss"})
        if metric == "accuracy":
            if e.get("train_acc") is not None:
                acc_rows.append({"epoch": e["epoch"], "value": e["train_acc"], "series": "train accuracy"})
            if e.get("val_acc") is not None:
                acc_rows.append({"epoch": e["epoch"], "value": e["val_acc"], "series": "test accuracy"})
    series_order = ["train loss (batch)", "held-out loss", "train accuracy", "test accuracy"]
    color = alt.Color("series:N", title=None, scale=alt.Scale(
        domain=series_order, range=["#4f46e5", "#f59e0b", "#10b981", "#dc2626"]),
        legend=alt.Legend(orient="bottom"))
    base_x = alt.X("epoch:Q", title="epoch", axis=alt.Axis(tickMinStep=1, format=".2~f"))
    loss_chart = alt.Chart(pd.DataFrame(loss_rows or [{"epoch": 0, "value": None, "series": series_order[0]}])
                           ).mark_line(point=alt.OverlayMarkDef(size=12)).encode(
        x=base_x, color=color,
        y=alt.Y("value:Q", title="loss", scale=alt.Scale(zero=False), axis=alt.Axis(format=".3~g")),
        tooltip=[alt.Tooltip("epoch:Q", format=".2f"), "series:N", alt.Tooltip("value:Q", title="loss", format=".4f")])
    if not acc_rows:
        return loss_chart.properties(height=260)
    acc_chart = alt.Chart(pd.DataFrame(acc_rows)).mark_line(point=True, strokeDash=[5, 3]).encode(
        x=base_x, y=alt.Y("value:Q", title="accuracy (%)", scale=alt.Scale(zero=False)), color=color,
        tooltip=["epoch:Q", "series:N", alt.Tooltip("value:Q", title="accuracy %", format=".2f")])
    return alt.layer(loss_chart, acc_chart).resolve_scale(y="independent").properties(height=260)


def show_code(code: str, filename: str, key: str) -> None:
    """The "Show the code" expander: runnable PyTorch for the current settings."""
    with st.expander("Show the code", icon="🐍"):
        st.caption("Plain PyTorch for the settings above. Save it and run `python " + filename + "`.")
        st.code(code, language="python")
        st.download_button("Download " + filename, code, file_name=filename,
                           mime="text/x-python", key=f"{key}_download_code")
