"""The CNN page's pictures, pure functions with words from content/<lang>/cnn.md: the layer
editor's columns, the trace table, highlighted number grids, run labels and metrics, class
probabilities, and the before | after grids of filters and feature maps."""
from collections.abc import Callable

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st
from PIL import Image

from core import cnn, shapes
from core.engine import FAILED, OPTIMIZER_LABELS
from ui.content import labels, say, t
from ui.runs import Run
from ui.shell import format_seconds
from ui.training import end_text


def grid_frame(values, offset: int = 0) -> pd.DataFrame:
    """A number grid with rows r0, r1, … and columns c0, c1, … (in the session's language);
    `offset` numbers padding negative."""
    arr = np.asarray(values)
    return pd.DataFrame(arr, index=[t("cnn.grid_row", i=i - offset) for i in range(arr.shape[0])],
                        columns=[t("cnn.grid_col", i=j - offset) for j in range(arr.shape[1])])


def pool_grid_columns(n: int) -> dict:
    """The pooling tab's editable grid: columns c0…c{n-1} (fixed keys), labelled in the session's language."""
    return {f"c{j}": st.column_config.NumberColumn(t("cnn.grid_col", i=j)) for j in range(n)}


def highlight(frame: pd.DataFrame, rows: tuple[int, int], cols: tuple[int, int], color: str = "#ffe08a"):
    """A Styler that colours the cells inside [r0, r1) × [c0, c1)."""
    styles = np.full(frame.shape, "", dtype=object)  # numpy, not .iloc: one-column frames too
    styles[rows[0]:rows[1], cols[0]:cols[1]] = f"background-color: {color}"
    return frame.style.apply(lambda _: pd.DataFrame(styles, index=frame.index, columns=frame.columns),
                             axis=None).format(precision=2)


def stack_columns() -> dict:
    """The layer editor's columns: a layer type and four whole numbers (keys stay English ids;
    the learner reads the labels and layer types in the session's language)."""
    number = st.column_config.NumberColumn
    return {"type": st.column_config.SelectboxColumn(t("cnn.col_type"), options=list(shapes.LAYER_TYPES),
                                                     required=True, format_func=labels("cnn.type", shapes.LAYER_TYPES)),
            "out": number(t("cnn.col_out"), min_value=0, step=1, help=t("cnn.col_out_help")),
            "kernel": number(t("cnn.col_kernel"), min_value=1, step=1, help=t("cnn.col_kernel_help")),
            "stride": number(t("cnn.col_stride"), min_value=1, step=1),
            "padding": number(t("cnn.col_padding"), min_value=0, step=1)}


def stack_problem(report: cnn.StackReport) -> str | None:
    """Why the calculator's stack does not run, with the suggested fix; None when it runs."""
    if not report.layers:
        return t("cnn.stack_empty")
    return None if report.error is None else say(report.error.words)


def trace_frame(rows: list[dict]) -> pd.DataFrame:
    """The trace as a table: per layer its label, shapes, parameters, receptive field, formulas, notes."""
    col = {k: t(f"cnn.col_{k}") for k in ("layer", "input", "output", "params", "rf", "formula", "notes")}
    table = []
    for r in rows:
        rf = r["receptive_field"]
        table.append({"#": r["layer"], col["layer"]: say(r["label"]), col["input"]: _shape(r["input_shape"]),
                      col["output"]: _shape(r["output_shape"]), col["params"]: r["params"],
                      col["rf"]: f"{rf}×{rf}" if rf is not None else t("cnn.rf_whole"),
                      col["formula"]: " ;  ".join(map(say, r["formula"])),
                      col["notes"]: " ; ".join(map(say, r["notes"]))})
    return pd.DataFrame(table)


def _shape(shape: tuple) -> str:
    return "×".join(str(d) for d in shape)


def check_text(report: cnn.StackReport) -> tuple[str, str] | None:
    """(level, text) of the torch cross-check under the table; None when it did not run."""
    if report.verdict is None:
        return None
    level = {"ok": "success", "refused": "caption", "failed": "error"}[report.verdict]
    return level, t(f"cnn.check_{report.verdict}", message=say(report.check["words"]), n=len(report.rows),
                    how=t(f"cnn.check_{report.check['mode']}"))


def pad_table(padded: np.ndarray, padding: int):
    """A padded image with the original image shaded blue."""
    inside = (padding, len(padded) - padding)
    return highlight(grid_frame(padded.astype(int), padding), inside, inside, "#dbeafe")


def pool_tables(values: np.ndarray, pool: dict, cell: int, padding: int) -> list[tuple[str, object]]:
    """(header, highlighted table) for the input with the cell's window, then max and average pooling."""
    max_cell = pool["max_cells"][cell]
    here = ((max_cell["row"], max_cell["row"] + 1), (max_cell["col"], max_cell["col"] + 1))
    padded = grid_frame(np.pad(values, padding, constant_values=np.nan), padding)
    return [(t("cnn.pool_input_padded" if padding else "cnn.pool_input"),
             highlight(padded, max_cell["rows"], max_cell["cols"])),
            (t("cnn.pool_max"), highlight(grid_frame(pool["max"]), *here)),
            (t("cnn.pool_avg"), highlight(grid_frame(pool["avg"]), *here))]


def conv_tables(cell: dict, kernel: np.ndarray, out: np.ndarray, row: int, col: int,
                padding: int) -> list[tuple[str, object]]:
    """(header, table) for the padded input with the kernel's window, the kernel, and the output."""
    size = len(cell["padded"])
    return [(t("cnn.conv_input", size=size, padding=padding),
             highlight(grid_frame(cell["padded"].astype(int), padding), cell["rows"], cell["cols"])),
            (t("cnn.conv_kernel_header"), grid_frame(kernel)),
            (t("cnn.conv_output", rows=out.shape[0], cols=out.shape[1]),
             highlight(grid_frame(out.astype(int)), (row, row + 1), (col, col + 1)))]


def run_outcome(run: Run) -> tuple[str, str]:
    """(level, text): how the shown run ended (finished, diverged or stopped by Stop)."""
    outcome = "stopped" if run.stopped else "diverged" if run.end["reason"] in FAILED else "finished"
    return ({"stopped": "info", "diverged": "error", "finished": "success"}[outcome],
            t(f"cnn.run_{outcome}", name=run.name, epochs=len(run.epochs), message=end_text(run.end)))


def class_names(dataset: str) -> list[str]:
    """The dataset's classes as the learner reads them (CIFAR-10's in the session's language)."""
    classes = cnn.DATASETS[dataset]["classes"]
    return [t(f"cnn.class_{c}") for c in classes] if dataset == "cifar" else list(classes)


def run_labels(runs) -> Callable[[str], str]:
    """The run picker's format_func, run name -> label (fixed now, as in `labels`). The picker's
    options are names: a Run compares its tensors, which a widget's change check cannot do."""
    return {run.name: run_label(run) for run in runs}.__getitem__


def run_label(run: Run) -> str:
    """A run in the picker: its name, settings and test accuracy."""
    s = run.settings
    test_acc = f"{run.epochs[-1]['val_acc']:.2f}%" if run.epochs else "—"
    return t("cnn.run_label", name=run.name, epochs=len(run.epochs), n_train=s.n_train, lr=s.lr,
             optimizer=OPTIMIZER_LABELS[s.optimizer], test_acc=test_acc)


def run_metrics(run: Run) -> list[tuple[str, str, str | None]]:
    """(label, value, help) of a run's test accuracy, train accuracy and training time."""
    last = run.epochs[-1]
    return [(t("cnn.metric_test_acc"), f"{last['val_acc']:.2f}%",
             t("cnn.metric_test_acc_help", n_test=run.settings.n_test)),
            (t("cnn.metric_train_acc"), f"{last['train_acc']:.2f}%", None),
            (t("cnn.metric_time"), format_seconds((run.end or last)["elapsed"]), None)]


def probability_chart(classes, before: np.ndarray, after: np.ndarray | None) -> alt.Chart:
    """Softmax probabilities per class, before and (when trained) after training, side by side."""
    names = [t("cnn.before"), t("cnn.after")]
    rows = [{"class": c, "probability": float(p), "model": names[0]} for c, p in zip(classes, before)]
    if after is not None:
        rows += [{"class": c, "probability": float(p), "model": names[1]} for c, p in zip(classes, after)]
    return alt.Chart(pd.DataFrame(rows)).mark_bar().encode(
        x=alt.X("class:N", sort=list(classes), title=None),
        xOffset="model:N",
        y=alt.Y("probability:Q", scale=alt.Scale(domain=[0, 1]), title=t("cnn.probability")),
        color=alt.Color("model:N", sort=names, title=None),
        tooltip=[alt.Tooltip("model:N", title=t("cnn.tooltip_model")),
                 alt.Tooltip("class:N", title=t("cnn.tooltip_class")),
                 alt.Tooltip("probability:Q", title=t("cnn.probability"), format=".3f")],
    ).properties(height=220, title=t("cnn.probs_title"))


def before_after(title: str, before: np.ndarray, after: np.ndarray | None, shared: bool,
                 rgb: bool = False) -> list[tuple[Image.Image | None, str]]:
    """One layer's grids before | after training, on one colour scale when `shared`.

    Returns (image or None when not trained yet, caption) for each of the two columns.
    """
    vmax = None
    if shared and after is not None and not rgb:
        vmax = float(max(np.abs(before).max(), np.abs(after).max()))
    pictures = []
    for label, tiles in ((t("cnn.before"), before), (t("cnn.after"), after)):
        if tiles is None:
            pictures.append((None, t("cnn.grid_missing", title=title, label=label)))
            continue
        img, used = cnn.render_grid(tiles, vmax=vmax, rgb=rgb, tile_px=cnn.tile_px(tiles))
        caption = (t("cnn.grid_caption", title=title, label=label) if rgb
                   else t("cnn.grid_caption_scale", title=title, label=label, vmax=used))
        pictures.append((img, caption))
    return pictures


def filter_pairs(before_model, after_model, dataset: str, shared: bool) -> list[list]:
    """The before | after pictures of conv1's and conv2's filters (see cnn.filter_tiles)."""
    before = cnn.filter_tiles(before_model, dataset)
    after = cnn.filter_tiles(after_model, dataset) if after_model is not None else {}
    return [before_after(t(f"cnn.conv1_{dataset}"), before["conv1"], after.get("conv1"), shared,
                         rgb=dataset == "cifar"),
            before_after(t("cnn.conv2_filters", n=len(before["conv2"])), before["conv2"], after.get("conv2"),
                         shared)]


def map_pairs(maps_before: dict, maps_after: dict | None, dataset: str, shared: bool) -> list[tuple[str, list]]:
    """(header, before | after pictures) per feature stage; the header checks the shape against
    what the shape calculator's trace predicts."""
    pairs = []
    for stage, expected in cnn.stage_shapes(dataset).items():
        got = tuple(maps_before[stage].shape)
        header = t("cnn.stage_ok" if got == expected else "cnn.stage_mismatch", stage=stage,
                   shape="×".join(map(str, got)), expected=expected)
        pairs.append((header, before_after(stage, maps_before[stage],
                                           None if maps_after is None else maps_after[stage], shared)))
    return pairs


# --- The calculator's stack in a shared link (parameter cnn_net) ----------------------------------

def shared_net(text: str) -> tuple | None:
    """A link's cnn_net as (input shape, layers), the layers past shapes.MAX_SHARED_LAYERS
    dropped with a notice; None (and a notice) for text that is not a stack."""
    from ui import share
    try:
        shape, layers, dropped = shapes.parse_stack_text(str(text)[:share.MAX_TEXT * 4])
    except ValueError:
        share.note("cnn_net", text, "share.problem_invalid")
        return None
    if dropped:
        share.note("cnn_net", text, "share.problem_layers", shapes.MAX_SHARED_LAYERS)
    return shape, layers


def net_text(preset_id: str, input_shape: tuple, layers: list[dict]) -> str | None:
    """The stack as cnn_net text, or None when it is the preset's own (then the link stays short)."""
    text = shapes.stack_text(input_shape, layers[:shapes.MAX_SHARED_LAYERS])
    return None if text == shapes.stack_text(*shapes.preset(preset_id)) else text
