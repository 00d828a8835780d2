"""Streamlit helpers shared by the pages: device, live training panel, charts, "Show the code"."""
import time

import altair as alt
import pandas as pd
import streamlit as st
import torch

from core.device import pick_device

HISTORY_LIMIT = 2000  # points kept for the live chart: bounded, so re-rendering stays cheap
REDRAW_SECONDS = 0.25  # at most ~4 chart redraws a second


def current_device() -> torch.device:
    """The device the sidebar chose (CUDA > MPS > CPU unless the learner forced CPU)."""
    return pick_device(force_cpu=st.session_state.get("force_cpu", False))


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, sec = divmod(int(round(seconds)), 60)
    return f"{minutes} min {sec:02d} s"


def live_training(events, key: str, label: str = "Training", metric: str = "accuracy") -> tuple[list[dict], dict | None]:
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
            chart_slot.altair_chart(training_chart(history, metric), use_container_width=True)
            last_draw = now
    if history:
        chart_slot.altair_chart(training_chart(history, metric), use_container_width=True)
    progress.progress(1.0, text=f"{label}: {end['message'] if end else 'stopped'}")
    return history, end


def training_chart(history: list[dict], metric: str = "accuracy") -> alt.HConcatChart | alt.Chart:
    """Loss per logged batch (and per epoch on validation) beside the per-epoch metric."""
    batch = [e for e in history if e["kind"] == "batch"]
    epochs = [e for e in history if e["kind"] == "epoch"]
    rows = [{"step": e["step"], "epoch": e["epoch"], "loss": e["loss"], "series": "train (batch)"}
            for e in batch]
    loss_df = pd.DataFrame(rows or [{"step": 0, "epoch": 0, "loss": None, "series": "train (batch)"}])
    loss_chart = alt.Chart(loss_df).mark_line().encode(
        x=alt.X("step:Q", title="optimizer step"),
        y=alt.Y("loss:Q", title="loss", scale=alt.Scale(zero=False)),
        color=alt.Color("series:N", title=None),
        tooltip=["step", "epoch", alt.Tooltip("loss:Q", format=".4f")],
    ).properties(title="Loss", height=220)
    metric_rows = []
    for e in epochs:
        if metric == "accuracy":
            if e.get("train_acc") is not None:
                metric_rows.append({"epoch": e["epoch"], "value": e["train_acc"], "series": "train accuracy"})
            if e.get("val_acc") is not None:
                metric_rows.append({"epoch": e["epoch"], "value": e["val_acc"], "series": "test accuracy"})
        else:
            metric_rows.append({"epoch": e["epoch"], "value": e["train_loss"], "series": "train loss"})
            if e.get("val_loss") is not None:
                metric_rows.append({"epoch": e["epoch"], "value": e["val_loss"], "series": "validation loss"})
    if not metric_rows:
        return loss_chart
    metric_df = pd.DataFrame(metric_rows)
    metric_chart = alt.Chart(metric_df).mark_line(point=True).encode(
        x=alt.X("epoch:Q", title="epoch", axis=alt.Axis(tickMinStep=1)),
        y=alt.Y("value:Q", title="accuracy (%)" if metric == "accuracy" else "loss",
                scale=alt.Scale(zero=False)),
        color=alt.Color("series:N", title=None),
        tooltip=["epoch", "series", alt.Tooltip("value:Q", format=".3f")],
    ).properties(title="Per epoch", height=220)
    return alt.hconcat(loss_chart, metric_chart).resolve_scale(color="independent")


def show_code(code: str, filename: str, key: str) -> None:
    """The "Show the code" expander: runnable PyTorch for the current settings."""
    with st.expander("Show the code", icon="🐍"):
        st.caption("Plain PyTorch for the settings above. Save it and run `python " + filename + "`.")
        st.code(code, language="python")
        st.download_button("Download " + filename, code, file_name=filename,
                           mime="text/x-python", key=f"{key}_download_code")
