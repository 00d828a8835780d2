"""The perceptron page's Altair charts, and the words about its runs, in the page's order.

Pure functions (no Streamlit): charts, tables and texts built from core.perceptron's data, every
word from content/<lang>/perceptron.md. A message is (level, text), level naming the Streamlit
call that shows it (info, warning, error, success); a "view" is a dict of what one part shows.
"""
import math

import altair as alt
import numpy as np
import pandas as pd
import torch

from core import perceptron
from core.engine import FAILED
from ui.content import say, t
from ui.training import end_text

CLASS_COLORS = ["#4c78a8", "#f58518"]  # class 0 blue, class 1 orange, everywhere on this page
REGION_SCALE = alt.Scale(domain=[0, 0.5, 1], range=[CLASS_COLORS[0], "#f4f4f4", CLASS_COLORS[1]])
CUBIC_COLORS = ["#333333", "#bbbbbb", "#e45756"]  # sin(x), the random start, the fit
SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def scientific(value: float, digits: int | None = None) -> str:
    """A number as 9.54×10⁻⁷ rather than 9.54e-07 (`digits` after the point; None: as `:g` would):
    math, not words, so the same in every language."""
    text = f"{value:.{digits}e}" if digits is not None else f"{value:g}"
    mantissa, exponent = text.split("e") if "e" in text else (text, "0")
    power = int(exponent)
    return mantissa if power == 0 else f"{mantissa}×10{str(power).translate(SUPERSCRIPT)}"


# --- 1, 2 · Activations, softmax, the vanishing gradient ------------------------------------------

HOVER_EVERY = 5  # every fifth x (a step of 0.125 on -5..5) answers the hover, with the exact values there
ACTIVATION_COLORS = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#b279a2", "#72b7b2"]  # in ACTIVATIONS order


def activations(curves: pd.DataFrame, series: str) -> alt.LayerChart:
    """Every activation on one chart, `series` "f(x)" (the functions) or "f'(x)" (their autograd
    derivatives), one colour per activation, the same in both charts; hovering shows all six values
    at one x. Two charts instead of six small ones: the six derivatives side by side on one axis are
    the comparison that matters (sigmoid's never above 0.25), and the browser draws the page's top
    in a fraction of the time."""
    labels = [perceptron.ACTIVATION_LABELS[name] for name in perceptron.ACTIVATIONS]
    rows = curves[curves["series"] == series]
    drawn = rows.assign(name=rows["activation"].map(perceptron.ACTIVATION_LABELS))[["x", "value", "name"]]
    lines = alt.Chart(drawn).mark_line().encode(
        x=alt.X("x:Q", title="x"), y=alt.Y("value:Q", title=None),
        color=alt.Color("name:N", title=None, scale=alt.Scale(domain=labels, range=ACTIVATION_COLORS),
                        legend=alt.Legend(orient="top", direction="horizontal", columns=3)))
    wide = rows.pivot_table(index="x", columns="activation", values="value").reset_index().iloc[::HOVER_EVERY]
    hover = alt.selection_point(fields=["x"], nearest=True, on="pointerover", empty=False)
    rule = alt.Chart(wide).mark_rule(color="gray").encode(
        x="x:Q", opacity=alt.condition(hover, alt.value(0.8), alt.value(0)),
        tooltip=[alt.Tooltip("x:Q", format=".2f")] + [
            alt.Tooltip(f"{name}:Q", format=".4f", title=perceptron.ACTIVATION_LABELS[name])
            for name in perceptron.ACTIVATIONS]).add_params(hover)
    title = t("perceptron.act_title_f") if series == "f(x)" else t("perceptron.act_title_df")
    return alt.layer(lines, rule).properties(title=title, height=320)


def usable_range(x_range: tuple[float, float]) -> tuple[tuple[float, float], tuple[str, str] | None]:
    """The activation plots' x range, or -5..5 with a warning when the two handles (nearly) meet."""
    if x_range[1] - x_range[0] < 0.5:
        return (-5.0, 5.0), ("warning", t("perceptron.act_range_empty"))
    return x_range, None


def softmax(logits: list[float], temperature: float) -> tuple[list, list]:
    """The probabilities (at T = 1 and T) and softmax's Jacobian, with their captions."""
    jacobian = perceptron.softmax_with_jacobian(logits, temperature)[1]
    return ([softmax_bars(logits, temperature), softmax_jacobian(jacobian)],
            [t("perceptron.softmax_caption"), t("perceptron.jacobian_caption")])


def softmax_bars(logits: list[float], temperature: float) -> alt.Chart:
    """The probabilities at T = 1 and, next to them, at the learner's temperature."""
    classes = [t("perceptron.class_name", index=i) for i in range(len(logits))]
    rows = [(T, t("perceptron.softmax_plain") if T == 1.0 else t("perceptron.softmax_at", temperature=T))
            for T in dict.fromkeys([1.0, temperature])]
    bars = pd.concat([pd.DataFrame({"class": classes, "probability": perceptron.softmax_with_jacobian(logits, T)[0],
                                    "temperature": label}) for T, label in rows], ignore_index=True)
    return alt.Chart(bars).mark_bar().encode(
        x=alt.X("class:N", title=None), xOffset="temperature:N",
        y=alt.Y("probability:Q", scale=alt.Scale(domain=[0, 1]), title=t("perceptron.axis_probability")),
        color=alt.Color("temperature:N", title=None, legend=alt.Legend(orient="top")),
        tooltip=[alt.Tooltip("class:N", title=t("perceptron.axis_class")),
                 alt.Tooltip("temperature:N", title=t("perceptron.temperature")),
                 alt.Tooltip("probability:Q", format=".4f", title=t("perceptron.axis_probability"))],
    ).properties(title=t("perceptron.softmax_bars_title"), height=260)


def softmax_jacobian(jacobian: np.ndarray) -> alt.LayerChart:
    classes = [t("perceptron.class_name", index=i) for i in range(len(jacobian))]
    jac = pd.DataFrame([{"p": classes[i], "z": classes[j], "grad": jacobian[i, j]}
                        for i in range(len(classes)) for j in range(len(classes))])
    heat = alt.Chart(jac).encode(x=alt.X("z:N", title=t("perceptron.axis_input_z"), sort=classes),
                                 y=alt.Y("p:N", title=t("perceptron.axis_output_p"), sort=classes))
    return alt.layer(
        heat.mark_rect().encode(color=alt.Color("grad:Q", scale=alt.Scale(scheme="redblue", domainMid=0),
                                                title="∂pᵢ/∂zⱼ")),
        heat.mark_text(fontSize=11).encode(text=alt.Text("grad:Q", format=".3f")),
    ).properties(title=t("perceptron.jacobian_title"), height=260)


def vanishing_label(name: str) -> str:
    """A line of the vanishing-gradient chart: an activation's name, or sigmoid's best case."""
    return t("perceptron.series_sigmoid_best") if name == "sigmoid_best" else perceptron.ACTIVATION_LABELS[name]


def vanishing(table: pd.DataFrame, depth: int) -> alt.Chart:
    """The surviving gradient per layer on a log axis (exact zeros cannot be drawn there)."""
    positive = table[table["gradient"] > 0].assign(activation=lambda f: f["activation"].map(vanishing_label))
    return alt.Chart(positive).mark_line(point=depth <= 20).encode(
        x=alt.X("layer:Q", title=t("perceptron.axis_layers_passed"), axis=alt.Axis(tickMinStep=1)),
        y=alt.Y("gradient:Q", scale=alt.Scale(type="log"), title=t("perceptron.axis_surviving_gradient")),
        color=alt.Color("activation:N", title=None),
        strokeDash=alt.condition(alt.datum.activation == vanishing_label("sigmoid_best"), alt.value([5, 3]),
                                 alt.value([1, 0])),
        tooltip=[alt.Tooltip("activation:N", title=t("perceptron.mlp_activation")),
                 alt.Tooltip("layer:Q", title=t("perceptron.axis_layers_passed")),
                 alt.Tooltip("gradient:Q", format=".3e", title=t("perceptron.tip_gradient"))],
    ).properties(height=300)


def vanishing_metrics(table: pd.DataFrame, depth: int, z: float) -> list[tuple[str, str]]:
    """(label, value) of the gradient left after `depth` layers: sigmoid at best, sigmoid and ReLU at z."""
    last = table[table["layer"] == depth].set_index("activation")["gradient"]
    return [(t("perceptron.metric_sigmoid_best", depth=depth), scientific(last["sigmoid_best"], 2)),
            (t("perceptron.metric_sigmoid_at", depth=depth, z=z), scientific(last["sigmoid"], 2)),
            (t("perceptron.metric_relu_at", depth=depth, z=z), scientific(last["relu"], 2))]


def vanishing_caption(table: pd.DataFrame, depth: int) -> str:
    alive = set(table[table["gradient"] > 0]["activation"])
    dead = sorted(vanishing_label(name) for name in set(table["activation"]) - alive)
    return t("perceptron.vanish_caption", depth=depth, best=0.25 ** depth,
             dead=t("perceptron.vanish_dead", names=", ".join(dead)) if dead else "")


# --- 3 · The perceptron ---------------------------------------------------------------------------

def data_warning(data: perceptron.ToyData) -> tuple[str, str] | None:
    if data.noise >= 0.5 and data.name in ("AND", "OR", "XOR"):
        return "warning", t("perceptron.noise_overlap")
    return None


def no_line_warning(w1: float, w2: float) -> tuple[str, str] | None:
    return ("warning", t("perceptron.no_line")) if w1 == 0 and w2 == 0 else None


def points_frame(X: torch.Tensor, y: torch.Tensor, predicted: np.ndarray | None) -> pd.DataFrame:
    """The data points with their class and whether the model gets them right."""
    right, wrong = t("perceptron.result_right"), t("perceptron.result_wrong")
    frame = pd.DataFrame({"x1": X[:, 0].numpy(), "x2": X[:, 1].numpy(), "class": y.numpy().astype(str)})
    correct = np.ones(len(y), dtype=bool) if predicted is None else (predicted == y.numpy())
    frame["result"] = np.where(correct, right, wrong)
    return frame


def region(bounds, values: np.ndarray, points: pd.DataFrame, resolution: int, segment=None,
           hidden_lines=None, title: str = "", legend: str = "") -> alt.LayerChart:
    """Heatmap of the model's output over the plane, the data on top, optional boundary lines."""
    xs = np.linspace(bounds[0], bounds[1], resolution)
    ys = np.linspace(bounds[2], bounds[3], resolution)
    cells = perceptron.grid_frame(xs, ys, values)
    x_scale = alt.Scale(domain=[bounds[0], bounds[1]], nice=False)
    y_scale = alt.Scale(domain=[bounds[2], bounds[3]], nice=False)
    x, y = alt.X("x1:Q", scale=x_scale), alt.Y("x2:Q", scale=y_scale)
    heat = alt.Chart(cells).mark_rect(opacity=0.75).encode(
        x=alt.X("x1:Q", scale=x_scale, title="x₁"), x2="x1_end:Q",
        y=alt.Y("x2:Q", scale=y_scale, title="x₂"), y2="x2_end:Q",
        color=alt.Color("value:Q", scale=REGION_SCALE, title=legend),
        tooltip=[alt.Tooltip("value:Q", title=legend, format=".3f")])
    results = [t("perceptron.result_right"), t("perceptron.result_wrong")]
    dots = alt.Chart(points).mark_point(filled=True, size=45, stroke="black", strokeWidth=0.6).encode(
        x=x, y=y, fill=alt.Fill("class:N", scale=alt.Scale(domain=["0", "1"], range=CLASS_COLORS),
                                title=t("perceptron.legend_class")),
        shape=alt.Shape("result:N", scale=alt.Scale(domain=results, range=["circle", "cross"]),
                        title=t("perceptron.legend_prediction")),
        tooltip=[alt.Tooltip("class:N", title=t("perceptron.legend_class")),
                 alt.Tooltip("result:N", title=t("perceptron.legend_prediction")),
                 alt.Tooltip("x1:Q", format=".2f", title="x₁"), alt.Tooltip("x2:Q", format=".2f", title="x₂")])
    layers = [heat, dots]
    rows = [{"neuron": f"h{i + 1}", "x1": p, "x2": q, "order": order}
            for i, (w1, w2, b) in enumerate(hidden_lines or [])
            for order, (p, q) in enumerate(perceptron.line_segment(w1, w2, b, bounds))]
    if rows:
        layers.append(alt.Chart(pd.DataFrame(rows)).mark_line(color="gray", strokeDash=[4, 3]).encode(
            x=x, y=y, detail="neuron:N", order="order:Q",
            tooltip=[alt.Tooltip("neuron:N", title=t("perceptron.tip_neuron"))]))
    if segment:
        layers.append(alt.Chart(pd.DataFrame(segment, columns=["x1", "x2"])).mark_line(
            color="black", strokeWidth=2.5).encode(x=x, y=y))
    return alt.layer(*layers).properties(title=title, height=380)


def neuron_regions(X: torch.Tensor, y: torch.Tensor, bounds, w1: float, w2: float, b: float,
                   activation_name: str, title: str, resolution: int = 40) -> alt.LayerChart:
    """One neuron's output over the plane, its line, the points it gets wrong as crosses."""
    _, _, grid = perceptron.grid_points(bounds, resolution)
    return region(bounds, perceptron.perceptron_output(grid, w1, w2, b, activation_name),
                  points_frame(X, y, perceptron.perceptron_output(X, w1, w2, b, "step")), resolution,
                  segment=perceptron.line_segment(w1, w2, b, bounds), title=title,
                  legend=t("perceptron.legend_output"))


def rule_frame(frame: dict, X: torch.Tensor, y: torch.Tensor, bounds, activation_name: str) -> alt.LayerChart:
    """One replay frame of the perceptron rule: the line after an update or an epoch, the point
    that moved it circled."""
    if frame["kind"] == "update":
        title = t("perceptron.frame_update", epoch=frame["epoch"], update=frame["update"])
    elif frame["epoch"]:
        title = t("perceptron.frame_epoch", epoch=frame["epoch"], accuracy=frame["accuracy"])
    else:
        title = t("perceptron.frame_start", accuracy=frame["accuracy"])
    chart = neuron_regions(X, y, bounds, frame["w1"], frame["w2"], frame["b"], activation_name, title)
    if frame["kind"] == "update":
        point = pd.DataFrame([frame])[["x1", "x2"]]  # only what is drawn: the chart's data is sent as is
        ring = alt.Chart(point).mark_point(size=400, strokeWidth=3, color="black").encode(x="x1:Q", y="x2:Q")
        chart = alt.layer(*chart.layer, ring).properties(title=title, height=380)
    return chart


def rule_replay(run, frame: dict, X: torch.Tensor, y: torch.Tensor, bounds) -> tuple[list, list]:
    """A replay frame of a perceptron-rule run beside the run's mistakes per epoch, with captions."""
    return ([rule_frame(frame, X, y, bounds, run.settings.activation), mistakes(run.history)],
            [t("perceptron.frame_caption", **frame), t("perceptron.mistakes_caption")])


def frame_accuracy(frame: dict, X: torch.Tensor, y: torch.Tensor) -> tuple[str, str]:
    accuracy = perceptron.perceptron_accuracy(X, y, frame["w1"], frame["w2"], frame["b"])
    return t("perceptron.frame_accuracy"), f"{accuracy:.1f}%"


def mistakes(frames: list[dict]) -> alt.Chart:
    columns = ["epoch", "mistakes", "accuracy"]  # of the epoch events: the rest is not drawn
    per_epoch = pd.DataFrame([f for f in frames if f["kind"] == "epoch" and f["epoch"] > 0]
                             or [{"epoch": 1, "mistakes": None, "accuracy": None}], columns=columns)
    return alt.Chart(per_epoch).mark_line(point=True).encode(
        x=alt.X("epoch:Q", title=t("perceptron.axis_epoch"), axis=alt.Axis(tickMinStep=1, format="d")),
        y=alt.Y("mistakes:Q", title=t("perceptron.axis_mistakes"), axis=alt.Axis(format="d"),
                scale=alt.Scale(domainMin=0)),
        tooltip=[alt.Tooltip("epoch:Q", title=t("perceptron.axis_epoch")),
                 alt.Tooltip("mistakes:Q", title=t("perceptron.axis_mistakes")),
                 alt.Tooltip("accuracy:Q", format=".1f", title=t("perceptron.tip_accuracy"))],
    ).properties(title=t("perceptron.mistakes_title"), height=300)


def rule_outcome(end: dict | None, dataset: str) -> tuple[str, str]:
    if end is None:
        return "warning", t("perceptron.rule_stopped")
    if end["reason"] == "converged":
        return "success", say(end["words"])
    hint = " " + t("perceptron.rule_xor_hint") if dataset == "XOR" else ""
    return "warning", say(end["words"]) + hint


# --- 4 · The MLP ----------------------------------------------------------------------------------

def lr_warning(lr: float, method: str | None = None) -> tuple[str, str] | None:
    """The MLP's learning rate far too large, or Adam's far too small for the cubic fit."""
    if method is None:
        return ("warning", t("perceptron.lr_very_large", lr=lr)) if lr >= 3.0 else None
    return ("warning", t("perceptron.adam_tiny_lr", lr=lr)) if method == "adam" and lr < 1e-4 else None


def mlp_pair(history: list[dict], X: torch.Tensor, y: torch.Tensor, bounds, resolution: int,
             show_hidden: bool = False, snapshot: int = -1, captions: bool = False) -> tuple[list, list]:
    """The decision regions at a snapshot (default: the latest grid) and the loss per epoch,
    with their captions when asked."""
    grids = [e for e in history if e["kind"] == "grid"]
    regions = mlp_regions(grids[snapshot], X, y, bounds, resolution, show_hidden) if grids else None
    words = [t("perceptron.mlp_regions_caption"), t("perceptron.mlp_loss_caption")] if captions else [None, None]
    return [regions, mlp_loss(history)], words


def mlp_regions(grid: dict, X: torch.Tensor, y: torch.Tensor, bounds, resolution: int,
                show_hidden: bool = False) -> alt.LayerChart:
    """The network's P(class 1) over the plane at one snapshot (a "grid" event)."""
    return region(bounds, grid["probs"], points_frame(X, y, grid["predicted"]), resolution,
                  hidden_lines=grid["hidden"] if show_hidden else None,
                  title=t("perceptron.mlp_regions_title", epoch=grid["epoch"], accuracy=grid["accuracy"]),
                  legend=t("perceptron.legend_p1"))


def mlp_loss(history: list[dict]) -> alt.Chart:
    """The training loss per epoch from the engine's epoch events."""
    losses = [{"epoch": e["epoch"], "loss": e["train_loss"]} for e in history if e["kind"] == "epoch"]
    return alt.Chart(pd.DataFrame(losses or [{"epoch": 0, "loss": None}])).mark_line().encode(
        x=alt.X("epoch:Q", title=t("perceptron.axis_epoch"), axis=alt.Axis(tickMinStep=1)),
        y=alt.Y("loss:Q", title=t("perceptron.axis_mlp_loss"), scale=alt.Scale(zero=False)),
        tooltip=[alt.Tooltip("epoch:Q", title=t("perceptron.axis_epoch")),
                 alt.Tooltip("loss:Q", format=".4f", title=t("perceptron.axis_loss"))],
    ).properties(title=t("perceptron.mlp_loss_title"), height=380)


def mlp_metrics(run) -> list[tuple[str, str]]:
    """(label, value): the final accuracy and loss of a run, and its parameter count."""
    grids = [e for e in run.history if e["kind"] == "grid"]
    losses = [e["train_loss"] for e in run.epochs]
    return [(t("perceptron.final_accuracy"), f"{grids[-1]['accuracy']:.1f}%"),
            (t("perceptron.final_loss"), f"{losses[-1]:.4f}" if losses else "—"),
            (t("perceptron.parameters"), f"{run.settings.parameters}")]


def mlp_status(end: dict | None) -> tuple[str, str] | None:
    """A stopped or diverged run says so above its pictures."""
    if end is None:
        return "warning", t("perceptron.mlp_stopped")
    if end["reason"] == "diverged":
        return "error", end_text(end) + " " + t("perceptron.mlp_diverged")
    if end["reason"] in FAILED:  # finished, but at chance or with a blown-up loss: say so
        return "warning", end_text(end)
    return None


def mlp_verdict(run, dataset: str) -> tuple[str, str] | None:
    """Below a run's pictures: XOR solved, or a hint when points are still wrong."""
    accuracy = [e for e in run.history if e["kind"] == "grid"][-1]["accuracy"]
    if dataset == "XOR" and accuracy >= 95:
        return "success", t("perceptron.xor_solved", accuracy=accuracy, hidden=run.settings.hidden)
    if accuracy < 95 and run.end is not None and run.end["reason"] not in FAILED:
        return "info", t("perceptron.not_all_right_one" if run.settings.hidden == 1 else "perceptron.not_all_right")
    return None


# --- 5 · Loss functions ---------------------------------------------------------------------------

def regression_table() -> dict:
    """st.data_editor's data and column labels for the MSE/MAE table: the course's targets and
    predictions, under column names that do not change with the language (only the labels do)."""
    return {"data": pd.DataFrame({"target": [3.0, -0.5, 2.0, 7.0], "prediction": [2.5, 0.0, 2.0, 8.0]}),
            "column_config": {"target": t("perceptron.col_target"), "prediction": t("perceptron.col_prediction")}}


def regression_view(table: pd.DataFrame, outlier: float) -> dict:
    """The MSE/MAE of the table's numeric rows: messages about left-out or missing rows,
    the metrics (label, value) and each sample's loss on the curves (None without rows)."""
    targets, predictions, ignored = perceptron.table_errors(table, outlier)
    messages = [("warning", t("perceptron.rows_ignored", count=ignored))] if ignored else []
    if len(targets) == 0:
        return {"messages": [*messages, ("error", t("perceptron.rows_empty"))], "metrics": [], "chart": None}
    losses = perceptron.regression_losses(targets, predictions)
    return {"messages": messages, "metrics": [("MSE", f"{losses['mse']:.4f}"), ("MAE", f"{losses['mae']:.4f}")],
            "chart": regression(predictions - targets)}


def regression(errors: np.ndarray) -> alt.LayerChart:
    """Each sample's loss against its error, on the curves e² (MSE) and |e| (MAE)."""
    reach = max(3.0, float(np.abs(errors).max()) + 0.5)
    names = {"mse": t("perceptron.series_mse"), "mae": t("perceptron.series_mae")}
    curves = perceptron.pointwise_regression_curves(reach).replace({"series": names})
    samples = pd.DataFrame({"error": np.concatenate([errors, errors]),
                            "loss": np.concatenate([errors ** 2, np.abs(errors)]),
                            "series": [names["mse"]] * len(errors) + [names["mae"]] * len(errors)})
    color = alt.Color("series:N", title=None, legend=alt.Legend(orient="top"),
                      scale=alt.Scale(domain=list(names.values()), range=["#e45756", "#4c78a8"]))
    return alt.layer(
        alt.Chart(curves).mark_line().encode(x=alt.X("error:Q", title=t("perceptron.axis_error")),
                                             y=alt.Y("loss:Q", title=t("perceptron.axis_sample_loss")), color=color),
        alt.Chart(samples).mark_point(filled=True, size=70).encode(
            x="error:Q", y="loss:Q", color=color,
            tooltip=[alt.Tooltip("error:Q", format=".2f", title=t("perceptron.axis_error")),
                     alt.Tooltip("series:N", title=t("perceptron.tip_loss_function")),
                     alt.Tooltip("loss:Q", format=".3f", title=t("perceptron.axis_sample_loss"))]),
    ).properties(title=t("perceptron.regression_title"), height=300)


def loss_value(value: float, digits: int) -> str:
    return "∞" if math.isinf(value) else f"{value:.{digits}f}"


def bce_view(p_one: float, label: int) -> dict:
    """The BCE of one prediction: metric (label, value), a warning when infinite, the chart."""
    loss = perceptron.binary_cross_entropy(p_one, label)
    return {"metric": {"label": t("perceptron.bce_metric"), "value": loss_value(loss, 4)},
            "warning": ("warning", t("perceptron.bce_infinite")) if math.isinf(loss) else None,
            "chart": bce(p_one, label)}


def bce(p_one: float, label: int) -> alt.LayerChart:
    """BCE against P(class 1) for both labels, the learner's prediction as a dot."""
    names = {k: t("perceptron.series_true_label", label=k) for k in (1, 0)}
    curves = perceptron.binary_cross_entropy_curves().assign(series=lambda f: f["label"].map(names))
    q = min(max(p_one, 1e-3), 1 - 1e-3)
    marker = pd.DataFrame({"p": [q], "loss": [min(perceptron.binary_cross_entropy(q, label), 7.0)]})
    color = alt.Color("series:N", title=None, legend=alt.Legend(orient="top"),
                      scale=alt.Scale(domain=list(names.values()), range=CLASS_COLORS[::-1]))
    return alt.layer(
        alt.Chart(curves).mark_line().encode(x=alt.X("p:Q", title=t("perceptron.axis_p1")),
                                             y=alt.Y("loss:Q", title=t("perceptron.axis_loss")), color=color),
        alt.Chart(marker).mark_point(filled=True, size=120, color="black").encode(x="p:Q", y="loss:Q"),
    ).properties(title=t("perceptron.bce_title"), height=300)


def ce_intro() -> str:
    """The course's example and its cross-entropy, worked out."""
    probs, target = perceptron.COURSE_CE_EXAMPLE
    example = perceptron.cross_entropy_from_probs(probs, target)
    return t("perceptron.ce_example", probs=probs, target=target,
             formula=perceptron.FORMULAS["ce"] + f"{example:.5f} \\approx 0.1053")


def ce_view(p_true: float) -> dict:
    """The course's example with the true class at `p_true`: metric (st.metric's label, value,
    delta), a warning when infinite, the probabilities and the -ln p curve."""
    probs, target = perceptron.COURSE_CE_EXAMPLE
    example = perceptron.cross_entropy_from_probs(probs, target)
    now = perceptron.with_true_class_prob(probs, target, p_true)
    loss = perceptron.cross_entropy_from_probs(now, target)
    return {"metric": {"label": t("perceptron.ce_metric"), "value": loss_value(loss, 5),
                       "delta": None if math.isinf(loss) else t("perceptron.ce_delta", delta=loss - example)},
            "warning": ("warning", t("perceptron.ce_infinite")) if math.isinf(loss) else None,
            "bars": ce_bars(now, target), "curve": ce_curve(p_true)}


def ce_bars(probs: list[float], target: int) -> alt.Chart:
    true, other = t("perceptron.ce_true_class"), t("perceptron.ce_other_class")
    frame = pd.DataFrame({"class": [str(i) for i in range(len(probs))], "p": probs,
                          "true": [true if i == target else other for i in range(len(probs))]})
    return alt.Chart(frame).mark_bar().encode(
        x=alt.X("class:N", title=t("perceptron.axis_class")), y=alt.Y("p:Q", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("true:N", title=None,
                        scale=alt.Scale(domain=[true, other], range=[CLASS_COLORS[1], "#bbbbbb"])),
        tooltip=[alt.Tooltip("class:N", title=t("perceptron.axis_class")), alt.Tooltip("p:Q", format=".4f")],
    ).properties(title=t("perceptron.ce_bars_title"), height=200)


def ce_curve(p_true: float) -> alt.LayerChart:
    shown = max(p_true, 1e-4)
    marker = pd.DataFrame({"p": [shown], "loss": [-math.log(shown)]})
    return alt.layer(
        alt.Chart(perceptron.cross_entropy_curve()).mark_line().encode(
            x=alt.X("p:Q", scale=alt.Scale(domain=[0, 1]), title=t("perceptron.axis_p_true")),
            y=alt.Y("loss:Q", title="−ln p"),
            tooltip=[alt.Tooltip("p:Q", format=".4g"), alt.Tooltip("loss:Q", format=".3f", title="−ln p")]),
        alt.Chart(marker).mark_point(filled=True, size=120, color="black").encode(x="p:Q", y="loss:Q"),
    ).properties(title=t("perceptron.ce_curve_title"), height=330)


# --- 6 · Gradient descent on sin(x) ---------------------------------------------------------------

def sine_view(runs: list, method: str, problem: dict, seed: int) -> dict:
    """What section 6 shows for the latest run of `method` among `runs` (None: none yet):
    the message, the fit and the loss curves of the latest run of each update rule, and the
    coefficients (chart and table) of the run on show."""
    latest = {run.settings.method: run for run in runs}  # later runs replace earlier ones
    current = latest.get(method)
    end = current.end if current else None
    start = perceptron.cubic_problem(len(problem["x"]), seed=current.settings.seed if current else seed)["start"]
    view = {"message": sine_outcome(end, current is not None),
            "charts": [cubic_fit(problem, start, end["coefficients"] if end else None),
                       cubic_losses([(sine_run_name(r.settings), r.history) for r in latest.values()])
                       if latest else None],
            "captions": [t("perceptron.cubic_fit_caption", b=problem["best"][1], d=problem["best"][3],
                           loss=problem["best_loss"]), t("perceptron.cubic_losses_caption") if latest else None],
            "coefficients": None, "table": None}
    if current is not None and current.history:
        trained = (end or {}).get("coefficients") or [current.history[-1][k] for k in "abcd"]
        view["coefficients"] = coefficients(current.history, t(f"perceptron.method_{method}"))
        view["table"] = coefficients_table(start, trained, problem["best"])
    return view


def sine_outcome(end: dict | None, has_run: bool) -> tuple[str, str]:
    if not has_run:
        return "info", t("perceptron.sine_press")
    if end is None:
        return "warning", t("perceptron.sine_stopped")
    return ("error" if end["reason"] in FAILED else "success"), say(end["words"])


def sine_run_name(settings: perceptron.CubicFitConfig) -> str:
    return t("perceptron.sine_run_name", method=t(f"perceptron.method_short_{settings.method}"), lr=settings.lr)


def cubic_fit(problem: dict, start: list[float], fitted: list[float] | None) -> alt.Chart:
    """sin(x), the random starting cubic and (when there is one) the fitted cubic."""
    names = [t("perceptron.curve_sin"), t("perceptron.curve_start"), t("perceptron.curve_fit")]
    x = problem["x"]
    curves = [(names[0], problem["y"]), (names[1], perceptron.cubic_values(x, start))]
    if fitted:
        curves.append((names[2], perceptron.cubic_values(x, fitted)))
    frame = pd.concat([pd.DataFrame({"x": x, "y": values, "curve": name}) for name, values in curves],
                      ignore_index=True)
    return alt.Chart(frame).mark_line(clip=True).encode(
        x=alt.X("x:Q", title="x"), y=alt.Y("y:Q", title="y", scale=alt.Scale(domain=[-3, 3])),
        color=alt.Color("curve:N", title=None, scale=alt.Scale(domain=names, range=CUBIC_COLORS),
                        legend=alt.Legend(orient="top")),
        strokeDash=alt.condition(alt.datum.curve == names[1], alt.value([5, 3]), alt.value([1, 0])),
    ).properties(title=t("perceptron.cubic_fit_title"), height=320)


def cubic_losses(runs: list[tuple[str, list[dict]]]) -> alt.Chart:
    """Loss curves on a log axis, one per (name, step events)."""
    rows = [{"step": e["step"], "loss": e["loss"], "run": name}
            for name, history in runs for e in history if e["kind"] == "step" and e["loss"] > 0]
    return alt.Chart(pd.DataFrame(rows or [{"step": 0, "loss": None, "run": ""}])).mark_line().encode(
        x=alt.X("step:Q", title=t("perceptron.axis_step")),
        y=alt.Y("loss:Q", scale=alt.Scale(type="log"), title=t("perceptron.axis_summed_loss")),
        color=alt.Color("run:N", title=None, legend=alt.Legend(orient="top", columns=1)),
        tooltip=[alt.Tooltip("run:N", title=t("perceptron.tip_run")),
                 alt.Tooltip("step:Q", title=t("perceptron.axis_step")),
                 alt.Tooltip("loss:Q", format=".4g", title=t("perceptron.axis_loss"))],
    ).properties(title=t("perceptron.cubic_losses_title"), height=320)


def coefficients(history: list[dict], method_label: str) -> alt.Chart:
    frame = pd.DataFrame([e for e in history if e["kind"] == "step"]).melt(
        id_vars=["step"], value_vars=["a", "b", "c", "d"], var_name="coefficient", value_name="value")
    return alt.Chart(frame).mark_line().encode(
        x=alt.X("step:Q", title=t("perceptron.axis_step")), y=alt.Y("value:Q", title=t("perceptron.axis_value")),
        color=alt.Color("coefficient:N", title=None, scale=alt.Scale(scheme="category10")),
        tooltip=[alt.Tooltip("coefficient:N", title=t("perceptron.col_coefficient")),
                 alt.Tooltip("step:Q", title=t("perceptron.axis_step")),
                 alt.Tooltip("value:Q", format=".4f", title=t("perceptron.axis_value"))],
    ).properties(title=t("perceptron.coefficients_title", method=method_label), height=260)


def coefficients_table(start: list[float], trained: list[float], best: list[float]) -> pd.DataFrame:
    return pd.DataFrame({t("perceptron.col_coefficient"): list("abcd"), t("perceptron.col_start"): start,
                         t("perceptron.col_trained"): trained, t("perceptron.col_best"): best}).round(4)
