"""Page 1: what one neuron computes, activations and their gradients, losses, gradient descent."""
import math
import time

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st
import torch

from core import neuron
from core.codegen_neuron import generate_code
from core.engine import OPTIMIZER_LABELS, OPTIMIZERS
from core.models import ACTIVATIONS as MLP_ACTIVATIONS
from ui import current_device, ensure_app_shell, format_seconds, show_code

CLASS_COLORS = ["#4c78a8", "#f58518"]  # class 0 blue, class 1 orange, everywhere on this page
REGION_SCALE = alt.Scale(domain=[0, 0.5, 1], range=[CLASS_COLORS[0], "#f4f4f4", CLASS_COLORS[1]])
LR_CHOICES = [0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0]
CUBIC_LR_CHOICES = [1e-8, 3e-8, 1e-7, 3e-7, 1e-6, 2e-6, 5e-6, 1e-5, 3e-5, 1e-4, 1e-3, 3e-3, 1e-2,
                    3e-2, 0.1, 0.3, 1.0]
CUBIC_SHORT = {"plain": "plain", "momentum": "momentum", "adam": "Adam"}
REDRAW_SECONDS = 0.2  # live charts redraw at most ~5 times a second


def _chart(chart, key: str | None = None) -> None:
    st.altair_chart(chart, width="stretch", key=key)


def _points_frame(X: torch.Tensor, y: torch.Tensor, predicted: np.ndarray | None) -> pd.DataFrame:
    frame = pd.DataFrame({"x1": X[:, 0].numpy(), "x2": X[:, 1].numpy(), "class": y.numpy().astype(str)})
    correct = np.ones(len(y), dtype=bool) if predicted is None else (predicted == y.numpy())
    frame["result"] = np.where(correct, "right", "wrong")
    return frame


def _region_chart(bounds, values: np.ndarray, points: pd.DataFrame, resolution: int,
                  segment=None, hidden_lines=None, title: str = "", legend: str = "output") -> alt.LayerChart:
    """Heatmap of the model's output over the plane, the data on top, optional boundary lines."""
    xs = np.linspace(bounds[0], bounds[1], resolution)
    ys = np.linspace(bounds[2], bounds[3], resolution)
    cells = neuron.grid_frame(xs, ys, values)
    x_scale = alt.Scale(domain=[bounds[0], bounds[1]], nice=False)
    y_scale = alt.Scale(domain=[bounds[2], bounds[3]], nice=False)
    heat = alt.Chart(cells).mark_rect(opacity=0.75).encode(
        x=alt.X("x1:Q", scale=x_scale, title="x₁"), x2="x1_end:Q",
        y=alt.Y("x2:Q", scale=y_scale, title="x₂"), y2="x2_end:Q",
        color=alt.Color("value:Q", scale=REGION_SCALE, title=legend),
        tooltip=[alt.Tooltip("value:Q", title=legend, format=".3f")],
    )
    dots = alt.Chart(points).mark_point(filled=True, size=45, stroke="black", strokeWidth=0.6).encode(
        x=alt.X("x1:Q", scale=x_scale), y=alt.Y("x2:Q", scale=y_scale),
        fill=alt.Fill("class:N", scale=alt.Scale(domain=["0", "1"], range=CLASS_COLORS), title="class"),
        shape=alt.Shape("result:N", scale=alt.Scale(domain=["right", "wrong"], range=["circle", "cross"]),
                        title="prediction"),
        tooltip=["class", "result", alt.Tooltip("x1:Q", format=".2f"), alt.Tooltip("x2:Q", format=".2f")],
    )
    layers = [heat, dots]
    if hidden_lines:
        rows = []
        for i, (w1, w2, b) in enumerate(hidden_lines):
            for order, (p, q) in enumerate(neuron.line_segment(w1, w2, b, bounds)):
                rows.append({"neuron": f"h{i + 1}", "x1": p, "x2": q, "order": order})
        if rows:
            layers.append(alt.Chart(pd.DataFrame(rows)).mark_line(color="gray", strokeDash=[4, 3]).encode(
                x=alt.X("x1:Q", scale=x_scale), y=alt.Y("x2:Q", scale=y_scale), detail="neuron:N",
                order="order:Q", tooltip=["neuron"]))
    if segment:
        line = pd.DataFrame(segment, columns=["x1", "x2"])
        layers.append(alt.Chart(line).mark_line(color="black", strokeWidth=2.5).encode(
            x=alt.X("x1:Q", scale=x_scale), y=alt.Y("x2:Q", scale=y_scale)))
    return alt.layer(*layers).properties(title=title, height=380)


# --- Introduction ------------------------------------------------------------------------------
ensure_app_shell()
st.title("⚡ Perceptron, activations, losses & gradient descent")
st.markdown(
    "One artificial neuron multiplies each input by a weight, adds a bias and passes the sum "
    "through an **activation function**. Training means nudging the weights to make a **loss** "
    "smaller, using its **gradient**. This page lets you play with each of those pieces."
)
st.latex(r"y = f(w_1 x_1 + w_2 x_2 + b)")

# --- 1. Activation functions ---------------------------------------------------------------------
st.header("1 · Activation functions and their derivatives")
st.markdown(
    "Every derivative curve below is computed by **`torch.autograd`** (`torch.autograd.grad` on "
    "the activation), not by a hand-written formula — the same machinery that trains networks. "
    "The formulas are shown for reference; the tests check that autograd agrees with them."
)
c1, c2, c3 = st.columns(3)
x_range = c1.slider("x range", -10.0, 10.0, (-5.0, 5.0), 0.5, key="perceptron_act_range")
leaky_slope = c2.slider("Leaky ReLU slope α (for x < 0)", 0.0, 1.0, 0.1, 0.01, key="perceptron_leaky_slope",
                        help="PyTorch's default is 0.01; 0.1 makes the slope visible.")
elu_alpha = c3.slider("ELU α", 0.1, 3.0, 1.0, 0.1, key="perceptron_elu_alpha")
if x_range[1] - x_range[0] < 0.5:
    st.warning("The x range is empty; showing −5 … 5 instead. Drag the two handles apart.")
    x_range = (-5.0, 5.0)
curves = neuron.activation_curves(x_range[0], x_range[1], slope=leaky_slope, alpha=elu_alpha)
wide = curves.pivot_table(index=["activation", "x"], columns="series", values="value").reset_index()
wide = wide.rename(columns={"f(x)": "fx", "f'(x)": "dfx"})  # plain field names for Vega-Lite

columns = st.columns(3)
for index, name in enumerate(neuron.ACTIVATIONS):
    data = wide[wide["activation"] == name]
    hover = alt.selection_point(fields=["x"], nearest=True, on="pointerover", empty=False)
    base = alt.Chart(data).encode(x=alt.X("x:Q", title="x"))
    lines = base.transform_fold(["fx", "dfx"], as_=["key", "value"]).transform_calculate(
        series="datum.key == 'fx' ? 'f(x)' : 'f′(x)'").mark_line().encode(
        y=alt.Y("value:Q", title=None),
        color=alt.Color("series:N", scale=alt.Scale(domain=["f(x)", "f′(x)"], range=["#4c78a8", "#e45756"]),
                        title=None, legend=alt.Legend(orient="top", direction="horizontal")),
        strokeDash=alt.StrokeDash("series:N", scale=alt.Scale(domain=["f(x)", "f′(x)"], range=[[1, 0], [5, 3]]),
                                  legend=None),
    )
    rule = base.mark_rule(color="gray").encode(
        opacity=alt.condition(hover, alt.value(0.8), alt.value(0)),
        tooltip=[alt.Tooltip("x:Q", format=".2f"), alt.Tooltip("fx:Q", format=".4f", title="f(x)"),
                 alt.Tooltip("dfx:Q", format=".4f", title="f′(x) (autograd)")],
    ).add_params(hover)
    with columns[index % 3]:
        _chart(alt.layer(lines, rule).properties(title=neuron.ACTIVATION_LABELS[name], height=220))
        st.latex(neuron.ACTIVATION_FORMULAS[name])
st.caption(
    "Solid: the activation f(x); dashed: its derivative f′(x) from autograd (hover for values). "
    "Look at the derivative's height: sigmoid's never exceeds 0.25 and tanh's is 1 only at 0, "
    "while ReLU's is exactly 1 for every positive x (and 0 for negative x — Leaky ReLU and ELU keep "
    "a small slope there, so those neurons can still learn). GELU is a smooth ReLU used in transformers."
)

# Softmax turns a vector of scores (logits) into probabilities.
st.subheader("Softmax with temperature")
c1, c2 = st.columns([2, 1])
logit_text = c1.text_input("Logits z (comma-separated, one per class)", "2.0, 1.0, 0.1, -1.0",
                           key="perceptron_logits")
temperature = c2.slider("Temperature T", 0.05, 10.0, 1.0, 0.05, key="perceptron_temperature")
st.latex(neuron.SOFTMAX_FORMULA + r"\qquad \frac{\partial p_i}{\partial z_j} = \frac{p_i(\delta_{ij} - p_j)}{T}")
try:
    logits = neuron.parse_logits(logit_text)
except ValueError as error:
    st.error(str(error))
    logits = None
if logits is not None:
    probs, jacobian = neuron.softmax_with_jacobian(logits, temperature)
    probs_t1, _ = neuron.softmax_with_jacobian(logits, 1.0)
    classes = [f"class {i}" for i in range(len(logits))]
    bars = pd.DataFrame({"class": classes, "probability": probs_t1, "temperature": "T = 1 (plain softmax)"})
    if temperature != 1.0:
        bars = pd.concat([bars, pd.DataFrame({"class": classes, "probability": probs,
                                              "temperature": f"T = {temperature:g}"})], ignore_index=True)
    jac = pd.DataFrame([{"output p_i": classes[i], "input z_j": classes[j], "grad": jacobian[i, j]}
                        for i in range(len(logits)) for j in range(len(logits))])
    c1, c2 = st.columns(2)
    with c1:
        _chart(alt.Chart(bars).mark_bar().encode(
            x=alt.X("class:N", title=None), xOffset="temperature:N",
            y=alt.Y("probability:Q", scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("temperature:N", title=None, legend=alt.Legend(orient="top")),
            tooltip=["class", "temperature", alt.Tooltip("probability:Q", format=".4f")],
        ).properties(title="Probabilities", height=260))
        st.caption("Low T (< 1) sharpens the distribution towards the largest logit; high T flattens it "
                   "towards uniform. The probabilities always sum to 1.")
    with c2:
        heat = alt.Chart(jac).encode(x=alt.X("input z_j:N", title="input z_j"),
                                     y=alt.Y("output p_i:N", title="output p_i"))
        _chart(alt.layer(
            heat.mark_rect().encode(color=alt.Color("grad:Q", scale=alt.Scale(scheme="redblue", domainMid=0),
                                                    title="∂pᵢ/∂zⱼ")),
            heat.mark_text(fontSize=11).encode(text=alt.Text("grad:Q", format=".3f")),
        ).properties(title="Softmax's derivative (Jacobian, by autograd)", height=260))
        st.caption("Softmax has one derivative per (output, input) pair. Raising your own logit raises your "
                   "probability (positive diagonal) and lowers everyone else's (negative off-diagonal). "
                   "Each row sums to 0 because the probabilities always sum to 1.")

# --- 2. Vanishing gradient -------------------------------------------------------------------------
st.header("2 · The vanishing gradient in one picture")
st.markdown(
    "Backpropagation multiplies one derivative per layer. Along a path through n layers whose "
    "pre-activation is z (weights set to 1 to isolate the activation), the gradient that reaches "
    "the first layer is f′(z)ⁿ."
)
c1, c2 = st.columns(2)
depth = c1.slider("Depth n (layers)", 1, 50, 10, key="perceptron_depth")
z_value = c2.slider("Pre-activation z at every layer", -3.0, 3.0, 1.0, 0.1, key="perceptron_vanish_z")
vanish = neuron.gradient_through_layers(depth, z_value, slope=leaky_slope)
positive = vanish[vanish["gradient"] > 0]
_chart(alt.Chart(positive).mark_line(point=depth <= 20).encode(
    x=alt.X("layer:Q", title="layers the gradient has passed", axis=alt.Axis(tickMinStep=1)),
    y=alt.Y("gradient:Q", scale=alt.Scale(type="log"), title="surviving gradient (log scale)"),
    color=alt.Color("activation:N", title=None),
    strokeDash=alt.condition(alt.datum.activation == "Sigmoid, best case (z = 0)", alt.value([5, 3]), alt.value([1, 0])),
    tooltip=["activation", "layer", alt.Tooltip("gradient:Q", format=".3e")],
).properties(height=300))
last = vanish[vanish["layer"] == depth].set_index("activation")["gradient"]
m1, m2, m3 = st.columns(3)
m1.metric(f"Sigmoid after {depth} layers (best case 0.25ⁿ)", f"{last['Sigmoid, best case (z = 0)']:.2e}")
m2.metric(f"Sigmoid after {depth} layers at z = {z_value:g}", f"{last['Sigmoid']:.2e}")
m3.metric(f"ReLU after {depth} layers at z = {z_value:g}", f"{last['ReLU']:.2e}")
dropped = sorted(set(vanish["activation"]) - set(positive["activation"]))
st.caption(
    "Each line is the gradient after passing k layers, on a log axis (ReLU and Leaky ReLU coincide for z > 0): a straight downward line means it "
    "shrinks by the same factor per layer. Sigmoid loses at least 4× per layer (0.25ⁿ ≈ "
    f"{0.25 ** depth:.1e} after {depth} layers), so early layers barely learn. "
    + (f"Not drawn (exactly 0, a dead path): {', '.join(dropped)} — ReLU's derivative is 0 for z < 0. "
       if dropped else "")
    + "**Why ReLU and residual connections help:** ReLU's derivative is exactly 1 for positive inputs, so "
    "the product does not shrink, and a residual block computes x + F(x), whose derivative 1 + F′(x) "
    "always offers the gradient a path with factor 1 around the layers (page 4, ResNet)."
)

# --- 3. The perceptron ----------------------------------------------------------------------------
st.header("3 · The perceptron")
st.markdown("A perceptron is the single neuron above with a **step** activation: it outputs 1 when "
            "w₁x₁ + w₂x₂ + b ≥ 0 and 0 otherwise, so it splits the plane with one straight line.")
st.session_state.setdefault("perceptron_data_seed", 0)
c1, c2, c3, c4 = st.columns([1.2, 1, 1, 0.8])
dataset = c1.selectbox("Dataset", neuron.DATASETS, index=neuron.DATASETS.index("AND"), key="perceptron_dataset",
                       help="Used by sections 3 and 4.")
noise = c2.slider("Noise (std of the jitter)", 0.0, 1.0, 0.1, 0.05, key="perceptron_noise")
n_points = c3.slider("Points", 20, 1000, 200, 20, key="perceptron_points")
with c4:
    st.write("")
    if st.button("🎲 Regenerate", key="perceptron_regenerate", help="Draw new random points."):
        st.session_state["perceptron_data_seed"] += 1
data_seed = st.session_state["perceptron_data_seed"]
X, y = neuron.make_dataset(dataset, n_points, noise, data_seed)
bounds = neuron.plot_bounds(X)
data_key = (dataset, n_points, noise, data_seed)
if noise >= 0.5 and dataset in ("AND", "OR", "XOR"):
    st.warning("With this much noise the four corners overlap: even the best model cannot get every point right.")

st.subheader("Move the line yourself")
c_controls, c_chart = st.columns([1, 2])
with c_controls:
    activation = st.radio("Activation", ["step", "sigmoid"], horizontal=True, key="perceptron_activation",
                          help="Sigmoid gives a probability instead of 0/1; the boundary (output 0.5) is the same line.")
    w1 = st.slider("w₁", -5.0, 5.0, 1.0, 0.1, key="perceptron_w1")
    w2 = st.slider("w₂", -5.0, 5.0, 1.0, 0.1, key="perceptron_w2")
    b = st.slider("b", -5.0, 5.0, -1.5, 0.1, key="perceptron_b")
    accuracy = neuron.perceptron_accuracy(X, y, w1, w2, b)
    st.metric("Accuracy", f"{accuracy:.1f}%")
    if w1 == 0 and w2 == 0:
        st.warning("With w₁ = w₂ = 0 the neuron ignores its inputs: every point gets the same class "
                   "and there is no line to draw.")
    st.latex(rf"y = f({w1:g}\,x_1 {w2:+g}\,x_2 {b:+g})")
_, _, grid = neuron.grid_points(bounds, 40)
manual_values = neuron.perceptron_output(grid, w1, w2, b, activation)
predicted = neuron.perceptron_output(X, w1, w2, b, "step")
with c_chart:
    _chart(_region_chart(bounds, manual_values, _points_frame(X, y, predicted), 40,
                         segment=neuron.line_segment(w1, w2, b, bounds),
                         title="Your perceptron", legend="output"))
    st.caption("Background: the neuron's output (blue = class 0, orange = class 1; the sigmoid shades "
               "between them). Black line: the decision boundary w₁x₁ + w₂x₂ + b = 0. Crosses are "
               "misclassified points. The defaults (1, 1, −1.5) implement AND.")

if not neuron.LINEARLY_SEPARABLE[dataset]:
    with st.container(border=True):
        st.markdown(f"**{dataset} is not linearly separable: no single line can split it.**")
        if dataset == "XOR":
            st.markdown("Suppose a line did. The step neuron would need")
            st.latex(r"\begin{aligned} (0,0)\mapsto 0:&\ b < 0 & (1,1)\mapsto 0:&\ w_1 + w_2 + b < 0 \\"
                     r" (1,0)\mapsto 1:&\ w_1 + b \ge 0 & (0,1)\mapsto 1:&\ w_2 + b \ge 0 \end{aligned}")
            st.markdown("Adding the two left-hand conditions gives w₁ + w₂ + 2b < 0; adding the two "
                        "right-hand ones gives w₁ + w₂ + 2b ≥ 0. Contradiction — so the perceptron rule "
                        "below can never finish (the best any line does is 3 of the 4 corners, 75%). "
                        "Section 4 adds a hidden layer and solves it.")
        else:
            st.markdown("One class surrounds or hooks into the other; a straight line always cuts through "
                        "one of them. Section 4's hidden layer bends the boundary.")

st.subheader("Train it with the perceptron learning rule")
st.latex(r"\hat y = f(w \cdot x + b), \qquad w \leftarrow w + \eta\,(y - \hat y)\,x, "
         r"\qquad b \leftarrow b + \eta\,(y - \hat y)")
c1, c2, c3, c4 = st.columns([1, 1, 1, 1])
rule_lr = c1.slider("Learning rate η", 0.001, 2.0, 0.1, 0.001, format="%.3f", key="perceptron_rule_lr")
rule_epochs = c2.slider("Max epochs", 1, 200, 20, key="perceptron_rule_epochs")
rule_start = c3.radio("Start from", ["w = 0, b = 0", "my sliders"], key="perceptron_rule_start",
                      help="The classic rule starts from zero weights; or continue from the line you set above.")
with c4:
    st.write("")
    train_rule = st.button("▶ Train", key="perceptron_rule_train", type="primary",
                           help="Uses the activation chosen above (step or sigmoid).")
st.caption("With the step activation only mistakes move the line (y − ŷ is 0 when right): each mistake tilts "
           "and shifts it towards the misclassified point. With sigmoid every point nudges it, which is "
           "gradient descent on the cross-entropy (logistic regression).")


def _rule_frame_chart(frame: dict, activation_name: str) -> alt.LayerChart:
    """One replay frame: the line after an update or an epoch, the point that moved it circled."""
    chart = _region_chart(
        bounds, neuron.perceptron_output(grid, frame["w1"], frame["w2"], frame["b"], activation_name),
        _points_frame(X, y, neuron.perceptron_output(X, frame["w1"], frame["w2"], frame["b"], "step")),
        40, segment=neuron.line_segment(frame["w1"], frame["w2"], frame["b"], bounds),
        title=(f"Epoch {frame['epoch']}, update {frame['update']}: the circled point was wrong"
               if frame["kind"] == "update" else
               f"End of epoch {frame['epoch']}: accuracy {frame['accuracy']:.1f}%" if frame["epoch"] else
               f"Start: accuracy {frame['accuracy']:.1f}%"))
    if frame["kind"] == "update":
        ring = alt.Chart(pd.DataFrame([frame])).mark_point(size=400, strokeWidth=3, color="black").encode(
            x="x1:Q", y="x2:Q")
        chart = alt.layer(*chart.layer, ring).properties(title=chart.title, height=380)
    return chart


if train_rule:
    start_w = (w1, w2, b) if rule_start == "my sliders" else (0.0, 0.0, 0.0)
    config = neuron.PerceptronConfig(lr=rule_lr, epochs=rule_epochs, activation=activation,
                                     w1=start_w[0], w2=start_w[1], b=start_w[2], seed=data_seed)
    stop_slot = st.empty()
    stop_slot.button("⏹ Stop", key="perceptron_rule_stop")
    live = st.empty()
    frames = []
    st.session_state["perceptron_rule_run"] = {"frames": frames, "end": None, "data_key": data_key,
                                               "activation": activation}  # kept if Stop interrupts
    last_draw = 0.0
    for event in neuron.train_perceptron(X, y, config):
        if event["kind"] == "end":
            st.session_state["perceptron_rule_run"]["end"] = event
            break
        frames.append(event)
        # Animate the first frames slowly, then redraw at most a few times a second.
        if len(frames) <= 30 or time.perf_counter() - last_draw > REDRAW_SECONDS:
            live.altair_chart(_rule_frame_chart(event, activation), width="stretch")
            time.sleep(0.12 if len(frames) <= 30 else 0.0)
            last_draw = time.perf_counter()
    live.empty()
    stop_slot.empty()
    st.session_state["perceptron_rule_frame"] = len(frames) - 1

run = st.session_state.get("perceptron_rule_run")
if run and run["data_key"] != data_key:
    st.info("The data changed since the last training run: press **Train** again to train on it.")
elif run and run["frames"]:
    end, frames = run["end"], run["frames"]
    if end is None:
        st.warning("Training was stopped; you can replay the steps that ran.")
    elif end["reason"] == "converged":
        st.success(end["message"])
    else:
        st.warning(end["message"] + (" XOR cannot be learned by a single line (see the box above)."
                                     if dataset == "XOR" else ""))
    last_frame = len(frames) - 1
    st.session_state["perceptron_rule_frame"] = min(st.session_state.get("perceptron_rule_frame", last_frame),
                                                    last_frame)
    shown = st.slider("Replay: step through the training", 0, max(1, last_frame), key="perceptron_rule_frame",
                      disabled=last_frame < 1,
                      help="Frame 0 is the start. With the step activation every single update of the first "
                           "200 is a frame (the circled point caused it); after that, one frame per epoch.")
    frame = frames[min(shown, last_frame)]
    c1, c2 = st.columns([2, 1])
    with c1:
        _chart(_rule_frame_chart(frame, run["activation"]))
        st.caption(f"w₁ = {frame['w1']:.3f}, w₂ = {frame['w2']:.3f}, b = {frame['b']:.3f}. Drag the replay "
                   "slider to watch each mistake pull the line towards the point that was wrong.")
    with c2:
        per_epoch = pd.DataFrame([f for f in frames if f["kind"] == "epoch" and f["epoch"] > 0])
        if not per_epoch.empty:
            _chart(alt.Chart(per_epoch).mark_line(point=True).encode(
                x=alt.X("epoch:Q", axis=alt.Axis(tickMinStep=1, format="d")),
                y=alt.Y("mistakes:Q", title="misclassified points met", axis=alt.Axis(format="d"),
                        scale=alt.Scale(domainMin=0)),
                tooltip=["epoch", "mistakes", alt.Tooltip("accuracy:Q", format=".1f")],
            ).properties(title="Mistakes per epoch", height=300))
        st.caption("On separable data the mistakes reach 0 and the rule stops (the perceptron convergence "
                   "theorem); on XOR they never do.")
        st.metric("Accuracy after this frame",
                  f"{neuron.perceptron_accuracy(X, y, frame['w1'], frame['w2'], frame['b']):.1f}%")

# --- 4. From perceptron to MLP ---------------------------------------------------------------------
st.header("4 · From perceptron to MLP: one hidden layer")
st.markdown(f"The same **{dataset}** data, now through a hidden layer: 2 inputs → *h* neurons → 2 outputs "
            "(one logit per class, cross-entropy loss), trained by `core.engine.train`. Each hidden neuron "
            "draws one line; the output layer combines them into a bent boundary.")
c1, c2, c3 = st.columns(3)
hidden = c1.slider("Hidden neurons", 1, 32, 4, key="perceptron_mlp_hidden")
mlp_activation = c1.selectbox("Activation", list(MLP_ACTIVATIONS), index=list(MLP_ACTIVATIONS).index("tanh"),
                              format_func=lambda n: neuron.ACTIVATION_LABELS.get(n, n),
                              key="perceptron_mlp_activation")
mlp_optimizer = c2.selectbox("Optimizer", OPTIMIZERS, index=OPTIMIZERS.index("adam"),
                             format_func=OPTIMIZER_LABELS.get, key="perceptron_mlp_optimizer")
mlp_lr = c2.select_slider("Learning rate", LR_CHOICES, value=0.03, key="perceptron_mlp_lr")
mlp_epochs = c3.slider("Epochs", 10, 2000, 200, 10, key="perceptron_mlp_epochs")
mlp_batch = c3.selectbox("Batch size", [0, 64, 16], format_func=lambda v: "full batch" if v == 0 else str(v),
                         key="perceptron_mlp_batch")
mlp_config = neuron.MLPConfig(hidden=hidden, activation=mlp_activation, lr=mlp_lr, optimizer=mlp_optimizer,
                              epochs=mlp_epochs, batch_size=mlp_batch, seed=0)
if mlp_lr >= 3.0:
    st.warning(f"A learning rate of {mlp_lr:g} is very large: expect the loss to jump around or diverge.")
train_mlp = st.button("▶ Train the MLP", key="perceptron_mlp_train", type="primary")


def _mlp_loss_chart(losses: list[dict]) -> alt.Chart:
    frame = pd.DataFrame(losses or [{"epoch": 0, "loss": None}])
    return alt.Chart(frame).mark_line().encode(
        x=alt.X("epoch:Q", axis=alt.Axis(tickMinStep=1)),
        y=alt.Y("loss:Q", title="training loss (cross-entropy)", scale=alt.Scale(zero=False)),
        tooltip=["epoch", alt.Tooltip("loss:Q", format=".4f")],
    ).properties(title="Loss per epoch", height=380)


if train_mlp:
    stop_slot = st.empty()
    stop_slot.button("⏹ Stop", key="perceptron_mlp_stop", help="Stops training; what ran so far is kept.")
    progress = st.progress(0.0, text="Training the MLP: starting…")
    c1, c2 = st.columns([3, 2])
    heat_slot, loss_slot = c1.empty(), c2.empty()
    grids, losses, end, last_draw = [], [], None, 0.0
    st.session_state["perceptron_mlp_run"] = {"grids": grids, "losses": losses, "end": None,
                                              "data_key": data_key, "config": mlp_config}
    for event in neuron.train_mlp(X, y, mlp_config, current_device(), bounds):
        if event["kind"] == "end":
            end = event
            break
        if event["kind"] == "epoch":
            losses.append({"epoch": event["epoch"], "loss": event["train_loss"]})
            progress.progress(event["epoch"] / mlp_epochs,
                              text=(f"Epoch {event['epoch']}/{mlp_epochs}, loss {event['train_loss']:.4f}, "
                                    f"ETA {format_seconds(event['eta'])}"))
        elif event["kind"] == "grid":
            grids.append(event)
            now = time.perf_counter()
            if now - last_draw > 2 * REDRAW_SECONDS:  # the heatmap is the costliest chart to send
                heat_slot.altair_chart(_region_chart(bounds, event["probs"], _points_frame(X, y, event["predicted"]),
                                                     mlp_config.resolution, title=f"Epoch {event['epoch']}",
                                                     legend="P(class 1)"), width="stretch")
                loss_slot.altair_chart(_mlp_loss_chart(losses), width="stretch")
                last_draw = now
    heat_slot.empty()
    loss_slot.empty()
    stop_slot.empty()
    progress.empty()
    st.session_state["perceptron_mlp_run"]["end"] = end
    st.session_state["perceptron_mlp_snapshot"] = len(grids) - 1

mlp_run = st.session_state.get("perceptron_mlp_run")
if mlp_run is None:
    st.info("Press **Train the MLP** to watch the decision regions form. Try XOR with 1 hidden neuron "
            "(a single line again: it fails), then with 2 or more.")
elif mlp_run["data_key"] != data_key:
    st.info("The data changed since the last MLP run: press **Train the MLP** again.")
elif mlp_run["grids"]:
    end, grids, losses = mlp_run["end"], mlp_run["grids"], mlp_run["losses"]
    cfg = mlp_run["config"]
    if end is None:
        st.warning("Training was stopped; showing what ran so far.")
    elif end["reason"] == "diverged":
        st.error(end["message"] + " The regions below are from the last epoch before it diverged.")
    final_acc = grids[-1]["accuracy"]
    last_index = len(grids) - 1
    st.session_state["perceptron_mlp_snapshot"] = min(st.session_state.get("perceptron_mlp_snapshot", last_index),
                                                      last_index)
    shown = st.slider("Replay: snapshot", 0, max(1, last_index), key="perceptron_mlp_snapshot", disabled=last_index < 1,
                      help="Step through the saved decision regions (one every few epochs).")
    snap = grids[min(shown, last_index)]
    show_hidden = st.toggle("Show each hidden neuron's line", key="perceptron_mlp_show_hidden")
    c1, c2 = st.columns([3, 2])
    with c1:
        _chart(_region_chart(bounds, snap["probs"], _points_frame(X, y, snap["predicted"]), cfg.resolution,
                             hidden_lines=snap["hidden"] if show_hidden else None,
                             title=f"Epoch {snap['epoch']}: accuracy {snap['accuracy']:.1f}%",
                             legend="P(class 1)"))
        st.caption("Background: the network's probability of class 1 at every point of the plane. Where it "
                   "crosses 0.5 (white) is the decision boundary — no longer a straight line. Dashed grey: "
                   "the line w·x + b = 0 of each hidden neuron.")
    with c2:
        _chart(_mlp_loss_chart(losses))
        st.caption("Cross-entropy on the training points, averaged over each epoch. It should fall; a flat line "
                   "means the network is stuck (too few neurons, a too small learning rate).")
    m1, m2, m3 = st.columns(3)
    m1.metric("Final accuracy", f"{final_acc:.1f}%")
    m2.metric("Final loss", f"{losses[-1]['loss']:.4f}" if losses else "—")
    m3.metric("Parameters", f"{2 * cfg.hidden + cfg.hidden + 2 * cfg.hidden + 2}")
    if dataset == "XOR" and final_acc >= 95:
        st.success(f"XOR solved: {final_acc:.1f}% with {cfg.hidden} hidden neuron(s) — the hidden layer "
                   "did what no single perceptron can.")
    elif final_acc < 95 and end is not None and end["reason"] != "diverged":
        st.info("Not every point is right yet. Try more hidden neurons, more epochs, or another learning "
                "rate" + (" — with one hidden neuron the boundary is still a single line." if cfg.hidden == 1 else "."))

# --- 5. Loss functions -----------------------------------------------------------------------------
st.header("5 · Loss functions")
st.markdown("A loss turns \"how wrong\" into one number that gradient descent can make smaller. "
            "Regression uses distances; classification uses cross-entropy on probabilities.")
tab_reg, tab_bce, tab_ce = st.tabs(["MSE & MAE (regression)", "Binary cross-entropy", "Categorical cross-entropy"])

with tab_reg:
    st.latex(r"\mathrm{MSE} = \frac{1}{N}\sum_i (\hat y_i - y_i)^2 \qquad \mathrm{MAE} = \frac{1}{N}\sum_i |\hat y_i - y_i|")
    c1, c2 = st.columns([1, 2])
    with c1:
        table = st.data_editor(pd.DataFrame({"target y": [3.0, -0.5, 2.0, 7.0], "prediction ŷ": [2.5, 0.0, 2.0, 8.0]}),
                               num_rows="dynamic", key="perceptron_reg_table", width="stretch")
        outlier = st.slider("Add an error to the last prediction", -10.0, 10.0, 0.0, 0.5, key="perceptron_reg_outlier")
    rows = table.apply(pd.to_numeric, errors="coerce").dropna()
    if len(rows) < len(table):
        st.warning(f"{len(table) - len(rows)} row(s) with empty or non-numeric cells are ignored.")
    if rows.empty:
        st.error("Enter at least one row with a target and a prediction.")
    else:
        predictions = rows["prediction ŷ"].to_numpy(dtype=float).copy()
        predictions[-1] += outlier
        targets = rows["target y"].to_numpy(dtype=float)
        losses_reg = neuron.regression_losses(targets, predictions)
        errors = predictions - targets
        with c1:
            m1, m2 = st.columns(2)
            m1.metric("MSE", f"{losses_reg['mse']:.4f}")
            m2.metric("MAE", f"{losses_reg['mae']:.4f}")
        with c2:
            reach = max(3.0, float(np.abs(errors).max()) + 0.5)
            curves_reg = neuron.pointwise_regression_curves(reach)
            samples = pd.DataFrame({"error": np.concatenate([errors, errors]),
                                    "loss": np.concatenate([errors ** 2, np.abs(errors)]),
                                    "series": ["MSE: e²"] * len(errors) + ["MAE: |e|"] * len(errors)})
            color = alt.Color("series:N", title=None, legend=alt.Legend(orient="top"),
                              scale=alt.Scale(domain=["MSE: e²", "MAE: |e|"], range=["#e45756", "#4c78a8"]))
            _chart(alt.layer(
                alt.Chart(curves_reg).mark_line().encode(x=alt.X("error:Q", title="error e = ŷ − y"),
                                                         y=alt.Y("loss:Q", title="loss of one sample"), color=color),
                alt.Chart(samples).mark_point(filled=True, size=70).encode(
                    x="error:Q", y="loss:Q", color=color,
                    tooltip=[alt.Tooltip("error:Q", format=".2f"), "series", alt.Tooltip("loss:Q", format=".3f")]),
            ).properties(title="Each sample's contribution", height=300))
            st.caption("Dots are your samples. MSE squares the error, so one big miss dominates the average "
                       "(move the slider to make an outlier); MAE grows linearly and is more robust to outliers.")

with tab_bce:
    st.latex(r"\mathrm{BCE} = -\big[y \log p + (1 - y) \log(1 - p)\big]")
    c1, c2 = st.columns([1, 2])
    with c1:
        p_one = st.slider("Predicted P(class 1)", 0.0, 1.0, 0.8, 0.001, format="%.3f", key="perceptron_bce_p")
        label = st.radio("True label y", [1, 0], horizontal=True, key="perceptron_bce_label")
        bce = neuron.binary_cross_entropy(p_one, label)
        st.metric("Binary cross-entropy", "∞" if math.isinf(bce) else f"{bce:.4f}")
        if math.isinf(bce):
            st.warning("The model gave the true class probability 0: the loss is infinite. This is why "
                       "`nn.BCELoss` clamps log at −100 and why `nn.BCEWithLogitsLoss` works on logits.")
    with c2:
        bce_curves = neuron.binary_cross_entropy_curves()
        q = min(max(p_one, 1e-3), 1 - 1e-3)
        marker = pd.DataFrame({"p": [q], "loss": [min(neuron.binary_cross_entropy(q, label), 7.0)],
                               "series": [f"true label {label}"]})
        color = alt.Color("series:N", title=None, legend=alt.Legend(orient="top"),
                          scale=alt.Scale(domain=["true label 1", "true label 0"], range=CLASS_COLORS[::-1]))
        _chart(alt.layer(
            alt.Chart(bce_curves).mark_line().encode(x=alt.X("p:Q", title="predicted P(class 1)"),
                                                     y=alt.Y("loss:Q", title="loss"), color=color),
            alt.Chart(marker).mark_point(filled=True, size=120, color="black").encode(x="p:Q", y="loss:Q"),
        ).properties(title="BCE against the prediction", height=300))
        st.caption("Black dot: your prediction. Confident and right costs almost nothing; confident and wrong "
                   "costs a lot (the curve shoots up at the edge).")

with tab_ce:
    probs0, target = neuron.COURSE_CE_EXAMPLE
    st.markdown(f"The course example: the model predicts **{probs0}** and the true class is **{target}** "
                "(one-hot [0, 1, 0, 0, 0]). Only the true class's probability counts:")
    example_ce = neuron.cross_entropy_from_probs(probs0, target)
    st.latex(r"\mathrm{CE} = -\sum_k y_k \log p_k = -\log p_{\text{true}} = -\ln 0.90 = "
             f"{example_ce:.5f} \\approx 0.1053")
    c1, c2 = st.columns([1, 2])
    with c1:
        p_true = st.slider("Predicted probability of the true class", 0.0, 1.0, 0.90, 0.005, format="%.3f",
                           key="perceptron_ce_p")
        probs_now = neuron.with_true_class_prob(probs0, target, p_true)
        ce = neuron.cross_entropy_from_probs(probs_now, target)
        st.metric("Cross-entropy", "∞" if math.isinf(ce) else f"{ce:.5f}",
                  delta=None if math.isinf(ce) else f"{ce - example_ce:+.4f} vs the example", delta_color="inverse")
        if math.isinf(ce):
            st.warning("p = 0 for the true class: −log 0 is infinite. PyTorch's `nn.CrossEntropyLoss` takes "
                       "logits and uses log-softmax, so this never happens in training.")
        _chart(alt.Chart(pd.DataFrame({"class": [str(i) for i in range(len(probs_now))], "p": probs_now,
                                       "true": ["true class" if i == target else "other" for i in range(len(probs_now))]}))
               .mark_bar().encode(x=alt.X("class:N", title="class"), y=alt.Y("p:Q", scale=alt.Scale(domain=[0, 1])),
                                  color=alt.Color("true:N", title=None, scale=alt.Scale(domain=["true class", "other"],
                                                                                        range=[CLASS_COLORS[1], "#bbbbbb"])),
                                  tooltip=["class", alt.Tooltip("p:Q", format=".4f")])
               .properties(title="Predicted probabilities", height=200))
        st.caption("The other classes share 1 − p in their original ratio.")
    with c2:
        ce_curve = neuron.cross_entropy_curve()
        shown_p = max(p_true, 1e-4)
        marker = pd.DataFrame({"p": [shown_p], "loss": [-math.log(shown_p)]})
        _chart(alt.layer(
            alt.Chart(ce_curve).mark_line().encode(
                x=alt.X("p:Q", scale=alt.Scale(domain=[0, 1]), title="predicted probability of the true class"),
                y=alt.Y("loss:Q", title="−ln p"), tooltip=[alt.Tooltip("p:Q", format=".4g"),
                                                           alt.Tooltip("loss:Q", format=".3f")]),
            alt.Chart(marker).mark_point(filled=True, size=120, color="black").encode(x="p:Q", y="loss:Q"),
        ).properties(title="Cross-entropy explodes as p → 0", height=330))
        st.caption("Halving p adds ln 2 ≈ 0.69 to the loss, without bound: p = 0.01 costs 4.6, p = 0.0001 costs "
                   "9.2, p = 0 is infinite. Wrong and confident predictions get huge gradients — the signal "
                   "that drives classification training.")
    st.caption("In PyTorch: from probabilities, `F.nll_loss(torch.log(p), target)` (used here); in a model, "
               "`nn.CrossEntropyLoss()(logits, target)`, which applies log-softmax itself — don't add a softmax layer.")

# --- 6. Gradient descent on sin(x) -------------------------------------------------------------------
st.header("6 · Gradient descent: fit a cubic to sin(x)")
st.markdown("The course exercise: 1,000 points of sin(x) on [−π, π], a cubic y = a + bx + cx² + dx³ with "
            "random starting coefficients, the **summed** squared error as loss, gradients from "
            "`loss.backward()`, and 2,000 steps of learning rate 1e-6.")
problem = neuron.cubic_problem(1000, seed=0)
c1, c2, c3 = st.columns(3)
method = c1.radio("Update rule", neuron.CUBIC_METHODS, format_func=neuron.CUBIC_METHOD_LABELS.get,
                  key="perceptron_sine_method")
sine_lr = c2.select_slider("Learning rate", CUBIC_LR_CHOICES, value=neuron.CUBIC_DEFAULT_LR[method],
                           format_func=lambda v: f"{v:g}", key=f"perceptron_sine_lr_{method}",
                           help="Each update rule remembers its own learning rate.")
sine_steps = c3.slider("Steps", 100, 10000, 2000, 100, key="perceptron_sine_steps")
sine_seed = c3.number_input("Random start (seed)", 0, 9999, 0, key="perceptron_sine_seed")
st.caption(f"Why such a tiny learning rate? The loss is a sum over 1,000 points, so its gradients are huge. "
           f"For the plain update, anything above lr ≈ {problem['stable_lr']:.2g} (2 / the largest curvature of "
           f"the loss) makes every step overshoot more than the last — try 1e-5. Momentum tolerates about twice "
           f"that; Adam divides each step by the gradient's size, so it needs a much larger lr (≈ 1e-2).")
if method == "adam" and sine_lr < 1e-4:
    st.warning(f"Adam moves each coefficient by about lr per step: with lr = {sine_lr:g} it will hardly move "
               "in this many steps. Try 1e-2.")
sine_config = neuron.CubicFitConfig(method=method, lr=sine_lr, steps=sine_steps, seed=int(sine_seed),
                                    log_every=max(1, sine_steps // 200))
run_sine = st.button("▶ Run gradient descent", key="perceptron_sine_run", type="primary")
runs = st.session_state.setdefault("perceptron_sine_runs", {})
if run_sine:
    stop_slot = st.empty()
    stop_slot.button("⏹ Stop", key="perceptron_sine_stop")
    progress = st.progress(0.0, text="Gradient descent: starting…")
    history, end, started = [], None, time.perf_counter()
    runs[method] = {"config": sine_config, "history": history, "end": None}
    for event in neuron.fit_cubic(sine_config):
        if event["kind"] == "end":
            end = event
            break
        history.append(event)
        elapsed = time.perf_counter() - started
        progress.progress(event["progress"], text=(
            f"Step {event['step']}/{sine_steps}, loss {event['loss']:.4g}, "
            f"ETA {format_seconds(elapsed / event['progress'] * (1 - event['progress']))}"))
    runs[method]["end"] = end
    stop_slot.empty()
    progress.empty()

current = runs.get(method)
shown_seed = current["config"].seed if current else int(sine_seed)  # the start of the run on show
start_coeffs = neuron.cubic_problem(1000, seed=shown_seed)["start"]
x_sine = problem["x"]
fit_frames = [pd.DataFrame({"x": x_sine, "y": problem["y"], "curve": "sin(x)"}),
              pd.DataFrame({"x": x_sine, "y": neuron.cubic_values(x_sine, start_coeffs), "curve": "random start"})]
if current is None:
    st.info("Press **Run gradient descent**. Runs of the three update rules are kept, so you can compare "
            "their loss curves.")
else:
    end = current["end"]
    if end is None:
        st.warning("Stopped; showing the run so far.")
    elif end["reason"] == "diverged":
        st.error(end["message"] + " Nothing to plot for the fit: its coefficients blew up.")
    else:
        st.success(end["message"])
        fit_frames.append(pd.DataFrame({"x": x_sine, "y": neuron.cubic_values(x_sine, end["coefficients"]),
                                        "curve": "fitted cubic"}))
fit_frame = pd.concat(fit_frames, ignore_index=True)
c1, c2 = st.columns(2)
with c1:
    _chart(alt.Chart(fit_frame).mark_line(clip=True).encode(
        x=alt.X("x:Q", title="x"), y=alt.Y("y:Q", title="y", scale=alt.Scale(domain=[-3, 3])),
        color=alt.Color("curve:N", title=None, scale=alt.Scale(domain=["sin(x)", "random start", "fitted cubic"],
                                                                 range=["#333333", "#bbbbbb", "#e45756"]),
                        legend=alt.Legend(orient="top")),
        strokeDash=alt.condition(alt.datum.curve == "random start", alt.value([5, 3]), alt.value([1, 0])),
    ).properties(title="sin(x), the random start and the fit", height=320))
    st.caption(f"The best cubic possible (least squares) is y = {problem['best'][1]:.4f}x "
               f"{problem['best'][3]:+.4f}x³ with loss {problem['best_loss']:.3f}; a and c are 0 because sin is odd. "
               "The y axis is clipped to ±3.")
with c2:
    loss_rows = [{"step": e["step"], "loss": e["loss"], "run": f"{CUBIC_SHORT[m]}, lr {r['config'].lr:g}"}
                 for m, r in runs.items() for e in r["history"] if e["loss"] > 0]
    if loss_rows:
        _chart(alt.Chart(pd.DataFrame(loss_rows)).mark_line().encode(
            x=alt.X("step:Q"), y=alt.Y("loss:Q", scale=alt.Scale(type="log"), title="summed squared error (log)"),
            color=alt.Color("run:N", title=None, legend=alt.Legend(orient="top", columns=1)),
            tooltip=["run", "step", alt.Tooltip("loss:Q", format=".4g")],
        ).properties(title="Loss curves (latest run of each update rule)", height=320))
        st.caption("Log scale: equal drops mean equal factors. Plain updates crawl once the easy part is "
                   "done; momentum keeps speed along the long, shallow valley; Adam rescales each coefficient.")
if current is not None and current["history"]:
    coeffs = pd.DataFrame(current["history"]).melt(id_vars=["step"], value_vars=["a", "b", "c", "d"],
                                                   var_name="coefficient", value_name="value")
    c1, c2 = st.columns([3, 2])
    with c1:
        _chart(alt.Chart(coeffs).mark_line().encode(
            x="step:Q", y=alt.Y("value:Q", title="value"),
            color=alt.Color("coefficient:N", title=None, scale=alt.Scale(scheme="category10")),
            tooltip=["coefficient", "step", alt.Tooltip("value:Q", format=".4f")],
        ).properties(title=f"Coefficients during the run ({neuron.CUBIC_METHOD_LABELS[method]})", height=260))
        st.caption("Each line is one coefficient. b and d (the odd terms) head to the sin-like values; a and c go to 0.")
    with c2:
        final = current["end"]["coefficients"] if current["end"] and current["end"]["coefficients"] else None
        last_logged = current["history"][-1]
        st.dataframe(pd.DataFrame({
            "coefficient": ["a", "b", "c", "d"],
            "start": start_coeffs,
            "trained": final or [last_logged[k] for k in "abcd"],
            "best": problem["best"],
        }).round(4), hide_index=True, width="stretch")
        st.caption("start: the random coefficients; best: the least-squares cubic. Taylor's series would give "
                   "b = 1, d = −1/6 ≈ −0.167, but the best fit over all of [−π, π] differs.")

# --- 7. Show the code -----------------------------------------------------------------------------
st.header("7 · The code")
show_code(generate_code(dataset, n_points, noise, data_seed, mlp_config, sine_config),
          "perceptron_playground.py", key="perceptron")
