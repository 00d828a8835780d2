"""The RNN page's charts and runs table: pure builders, every word from content/<lang>/rnn.md."""
import math

import altair as alt
import numpy as np
import pandas as pd
import torch

from core.rnn import CELL_LABELS
from ui.content import t
from ui.runs import Run

CELL_COLORS = ["#e45756", "#4c78a8", "#54a24b"]  # RNN, LSTM, GRU on every chart
CELL_SCALE = alt.Scale(domain=list(CELL_LABELS.values()), range=CELL_COLORS)


def scientific(value: float, digits: int) -> str:
    """4.5×10⁻⁸ rather than 4.5e-08: the same number, without a Latin letter on a Korean page."""
    if not math.isfinite(value):
        return "∞" if value > 0 else "−∞" if value < 0 else "—"
    mantissa, exponent = f"{value:.{digits}e}".split("e")
    return mantissa if int(exponent) == 0 else f"{mantissa}×10{str(int(exponent)).translate(_SUPERSCRIPT)}"


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _tip(field: str, key: str, fmt: str | None = None) -> alt.Tooltip:
    """A tooltip line titled in the session's language (Altair would show the field's name)."""
    return alt.Tooltip(field, title=t(f"rnn.{key}"), **({"format": fmt} if fmt else {}))


def loss_curves(curves: list[tuple[str, list[dict]]], by_run: bool) -> alt.Chart | None:
    """Train and test MSE per epoch and cell, log scale; `curves` are (run name, events).
    Runs are told apart by dash when `by_run`, else train and test are. None when empty."""
    splits = {"train_loss": t("rnn.split_train"), "val_loss": t("rnn.split_test")}
    rows = [{"epoch": e["epoch"], "loss": e[key], "cell": CELL_LABELS[e["cell"]], "split": split, "run": name}
            for name, history in curves for e in history if e["kind"] == "epoch"
            for key, split in splits.items()
            if e.get(key) is not None and e[key] > 0 and math.isfinite(e[key])]
    if not rows:
        return None
    dash, dash_title = ("run:N", t("rnn.axis_run")) if by_run else ("split:N", t("rnn.axis_split"))
    return alt.Chart(pd.DataFrame(rows)).mark_line().encode(
        x=alt.X("epoch:Q", title=t("rnn.axis_epoch")),
        y=alt.Y("loss:Q", scale=alt.Scale(type="log"), title=t("rnn.axis_mse_log")),
        color=alt.Color("cell:N", scale=CELL_SCALE, title=t("rnn.axis_cell")),
        strokeDash=alt.StrokeDash(dash, title=dash_title), detail="split:N",
        tooltip=[_tip("run:N", "axis_run"), _tip("cell:N", "axis_cell"), _tip("split:N", "axis_split"),
                 _tip("epoch:Q", "axis_epoch"), _tip("loss:Q", "tooltip_mse", ".2e")],
    ).properties(height=300)


def runs_table(runs: list[Run]) -> pd.DataFrame:
    """One row per run and cell: parameters, time, final losses, the run's settings, status."""
    rows = []
    for run in runs:
        s = run.settings
        for cell, r in run.results.items():
            status = "diverged" if r["diverged"] else "stopped" if run.stopped else "complete"
            rows.append({t("rnn.col_run"): run.name, t("rnn.col_cell"): CELL_LABELS[cell],
                         t("rnn.col_params"): r["params"], t("rnn.col_seconds"): round(r["seconds"], 1),
                         t("rnn.col_train_mse"): r["train_loss"], t("rnn.col_test_mse"): r["test_mse"],
                         t("rnn.col_T"): s.seq_len, t("rnn.col_sequences"): s.samples,
                         t("rnn.col_hidden"): s.hidden_size, t("rnn.col_layers"): s.num_layers,
                         t("rnn.col_lr"): s.lr, t("rnn.col_epochs"): s.epochs, t("rnn.col_batch"): s.batch_size,
                         t("rnn.col_status"): t(f"rnn.status_{status}")})
    return pd.DataFrame(rows)


def _lines(rows: list[dict], domain: list[str], colors: list[str], height: int, points: bool,
           value_format: str) -> alt.Chart:
    mark = alt.Chart(pd.DataFrame(rows)).mark_line(point=alt.OverlayMarkDef(size=12) if points else False)
    return mark.encode(
        x=alt.X("t:Q", title=t("rnn.axis_t")), y=alt.Y("value:Q", title=t("rnn.axis_sin")),
        color=alt.Color("series:N", title=None, scale=alt.Scale(domain=domain, range=colors)),
        tooltip=[_tip("series:N", "tooltip_series"), _tip("t:Q", "axis_t"),
                 _tip("value:Q", "tooltip_value", value_format)]).properties(height=height)


def prediction(truth: np.ndarray, predictions: dict[str, np.ndarray]) -> alt.Chart:
    """The next value, true and predicted by each cell (label -> values), over one sequence."""
    series = {t("rnn.series_truth_next"): truth, **predictions}
    rows = [{"t": i, "value": float(v), "series": name} for name, values in series.items()
            for i, v in enumerate(values)]
    domain = [t("rnn.series_truth_next"), *CELL_LABELS.values()]
    return _lines(rows, domain, ["#999999", *CELL_COLORS], 260, True, ".4f")


def forecast(context: np.ndarray, truth: np.ndarray, forecasts: dict[str, np.ndarray]) -> alt.Chart:
    """The true context, then the true continuation and each cell's free-running forecast."""
    start = len(context)
    rows = [{"t": i, "value": float(v), "series": t("rnn.series_context")} for i, v in enumerate(context)]
    series = {t("rnn.series_truth"): truth, **forecasts}
    rows += [{"t": start + k, "value": float(v), "series": name} for name, values in series.items()
             for k, v in enumerate(values)]
    domain = [t("rnn.series_context"), t("rnn.series_truth"), *CELL_LABELS.values()]
    return _lines(rows, domain, ["#333333", "#bbbbbb", *CELL_COLORS], 280, False, ".3f")


def memory_accuracy(points: list[dict]) -> alt.Chart:
    """Accuracy of the last answer against T, one line per cell, over the ≈10 % of answering 0."""
    frame = pd.DataFrame([{**p, "cell": CELL_LABELS[p["cell"]]} for p in points])
    chance = alt.Chart(pd.DataFrame({"y": [10.0]})).mark_rule(strokeDash=[4, 4], color="gray").encode(y="y:Q")
    lines = alt.Chart(frame).mark_line(point=True).encode(
        x=alt.X("T:Q", title=t("rnn.axis_mem_T")),
        y=alt.Y("accuracy:Q", title=t("rnn.axis_mem_accuracy"), scale=alt.Scale(domain=[0, 100])),
        color=alt.Color("cell:N", scale=CELL_SCALE, title=t("rnn.axis_cell")),
        tooltip=[_tip("cell:N", "axis_cell"), _tip("T:Q", "col_T"), _tip("accuracy:Q", "axis_mem_accuracy", ".1f"),
                 _tip("seconds:Q", "axis_seconds", ".1f")])
    return (lines + chance).properties(height=280)


def gradients(profiles: dict[str, dict]) -> alt.Chart | None:
    """|dL/dx_t| against the steps before the answer, at initialisation and after training."""
    stages = {"initial": t("rnn.weights_initial"), "trained": t("rnn.weights_trained")}
    rows = [{"back": p["T"] - 1 - i, "grad": g, "cell": CELL_LABELS[cell], "weights": stages[stage]}
            for cell, p in profiles.items() for stage in stages for i, g in enumerate(p[stage]) if g > 0]
    if not rows:
        return None
    return alt.Chart(pd.DataFrame(rows)).mark_line(point=alt.OverlayMarkDef(size=10)).encode(
        x=alt.X("back:Q", title=t("rnn.axis_steps_before"), scale=alt.Scale(reverse=True)),
        y=alt.Y("grad:Q", scale=alt.Scale(type="log"), title=t("rnn.axis_grad")),
        color=alt.Color("cell:N", scale=CELL_SCALE, title=t("rnn.axis_cell")),
        tooltip=[_tip("cell:N", "axis_cell"), _tip("back:Q", "axis_steps_before"),
                 _tip("grad:Q", "axis_grad", ".2e")],
    ).properties(height=240, width=330).facet(
        column=alt.Column("weights:N", title=None, sort=list(stages.values())))


def input_line(x: torch.Tensor) -> alt.Chart:
    """The input sequence x_t of one sequence (1, T, 1)."""
    frame = pd.DataFrame({"t": np.arange(x.shape[1]), "input": x[0, :, 0].numpy()})
    return alt.Chart(frame).mark_line(color="#333", point=alt.OverlayMarkDef(size=10)).encode(
        x=alt.X("t:Q", title=t("rnn.axis_t")), y=alt.Y("input:Q", title=t("rnn.axis_input")),
        tooltip=[_tip("t:Q", "axis_t"), _tip("input:Q", "axis_input", ".3f")]).properties(height=150)


def _heatmap(values: torch.Tensor, name: str, gate: bool) -> alt.Chart:
    arr = values[0].numpy()  # (T, H)
    steps, units = arr.shape
    frame = pd.DataFrame({"t": np.repeat(np.arange(steps), units), "unit": np.tile(np.arange(units), steps),
                          "value": arr.reshape(-1)})
    scale = (alt.Scale(scheme="viridis", domain=[0, 1]) if gate
             else alt.Scale(scheme="redblue", domainMid=0, reverse=True))
    return alt.Chart(frame).mark_rect().encode(
        x=alt.X("t:O", title=t("rnn.axis_t"), axis=alt.Axis(values=list(range(0, steps, 10)))),
        y=alt.Y("unit:O", title=t("rnn.axis_unit"), axis=alt.Axis(values=list(range(0, units, 8)))),
        color=alt.Color("value:Q", scale=scale, title=None),
        tooltip=[_tip("t:O", "axis_t"), _tip("unit:O", "axis_unit"), _tip("value:Q", "tooltip_value", ".3f")],
    ).properties(title=t(f"rnn.gate_{name}"), height=160, width=250)


def _grid(layer: dict, rows: list[list[tuple[str, str, bool]]]) -> alt.VConcatChart:
    """Heatmaps two by two; a row of two gates shares its 0..1 colour scale."""
    lines = [alt.hconcat(*(_heatmap(layer[key], name, gate) for key, name, gate in row)).resolve_scale(
        color="shared" if all(gate for *_, gate in row) else "independent") for row in rows]
    return alt.vconcat(*lines).resolve_scale(color="independent")


def lstm_gates(layer: dict) -> alt.VConcatChart:
    """One LSTM layer's i, f, o gates, candidate g, cell state c and hidden state h over time."""
    return _grid(layer, [[("i", "i", True), ("f", "f", True)], [("o", "o", True), ("g", "g", False)],
                         [("c", "c", False), ("h", "lstm_h", False)]])


def gru_gates(layer: dict) -> alt.VConcatChart:
    """One GRU layer's r, z gates, candidate n and hidden state h over time."""
    return _grid(layer, [[("r", "r", True), ("z", "z", True)], [("n", "n", False), ("h", "gru_h", False)]])
