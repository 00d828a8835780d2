"""ResNet: why skip connections let deep networks train."""
import inspect
import math
import time

import altair as alt
import pandas as pd
import streamlit as st
import torch

import ui
from core import data, resnet
from core.device import synchronize
from core.engine import OPTIMIZER_LABELS, OPTIMIZERS, TrainConfig, train
from core.models import count_params

ui.ensure_app_shell()  # a deep link to /resnet still gets app.py's navigation and sidebar

st.title("4 · ResNet — why skip connections let deep networks train")
st.markdown(
    "Training updates every weight with its gradient, **W ← W − α ∇W**. By the chain rule the "
    "gradient of an early layer is a *product* of one factor per later layer. When those factors "
    "are smaller than 1 — a sigmoid's slope is at most 0.25 — the product shrinks exponentially "
    "with depth: the first layers barely learn (the **vanishing gradient**). A residual block "
    "adds its input back, **H(x) = F(x) + x**, so ∂H/∂x = ∂F/∂x + 1: there is always a direct "
    "path for the gradient.")


# --- 1. The residual block ---------------------------------------------------------------------
st.header("1. The residual block")


def _block_dot(projection: bool) -> str:
    """Graphviz DOT source of torchvision's BasicBlock (identity or 1x1-conv shortcut)."""
    c_in, c_out, stride = (64, 128, 2) if projection else (64, 64, 1)
    size_in, size_out = 56, 56 // stride
    shortcut = (f'short [label="1x1 conv, {c_out}, stride {stride}\\n+ BatchNorm", '
                'shape=box, style="rounded,filled", fillcolor="#fde2c8"];\n'
                '  x -> short [color="#e07b00", penwidth=2];\n'
                '  short -> add [color="#e07b00", penwidth=2, label=" shortcut(x)"];'
                if projection else
                'x -> add [color="#e07b00", penwidth=2, label=" identity: x"];')
    return f"""digraph block {{
  rankdir=TB; node [fontname="Helvetica", fontsize=11]; edge [fontname="Helvetica", fontsize=10];
  x [label="x\\n{c_in} x {size_in} x {size_in}", shape=ellipse, style=filled, fillcolor="#e8eefc"];
  conv1 [label="3x3 conv, {c_out}, stride {stride}", shape=box, style="rounded,filled", fillcolor="#dbeafe"];
  bn1 [label="BatchNorm", shape=box, style=rounded];
  relu1 [label="ReLU", shape=box, style=rounded];
  conv2 [label="3x3 conv, {c_out}", shape=box, style="rounded,filled", fillcolor="#dbeafe"];
  bn2 [label="BatchNorm", shape=box, style=rounded];
  add [label="+", shape=circle, style=filled, fillcolor="#fef3c7", fontsize=16];
  relu2 [label="ReLU", shape=box, style=rounded];
  out [label="H(x) = F(x) + shortcut(x)\\n{c_out} x {size_out} x {size_out}", shape=ellipse, style=filled, fillcolor="#e8eefc"];
  x -> conv1 -> bn1 -> relu1 -> conv2 -> bn2;
  bn2 -> add [label=" F(x)"];
  {shortcut}
  add -> relu2 -> out;
}}"""


block_col, code_col = st.columns([2, 3])
with block_col:
    shape_choice = st.radio(
        "Block", ["Same shape: 64 → 64 channels, stride 1", "Shape changes: 64 → 128 channels, stride 2"],
        key="resnet_block_kind",
        help="F(x) and x must have the same shape to be added. When the block changes the number "
             "of channels or the image size, the shortcut becomes a 1x1 convolution.")
    projection = shape_choice.startswith("Shape changes")
    st.graphviz_chart(_block_dot(projection))
    c_in, c_out, stride = (64, 128, 2) if projection else (64, 64, 1)
    demo_block = resnet.BasicBlock(c_in, c_out, stride)
    with torch.no_grad():
        demo_out = demo_block.eval()(torch.zeros(1, c_in, 56, 56))  # (1, C, 56, 56)
    shortcut_params = count_params(demo_block.shortcut)
    st.caption(
        f"Computed by running `BasicBlock({c_in}, {c_out}, stride={stride})`: input 1 x {c_in} x 56 x 56 "
        f"→ output {' x '.join(map(str, demo_out.shape))}, {count_params(demo_block):,} parameters"
        + (f", of which {shortcut_params:,} in the 1x1 shortcut." if shortcut_params else
           "; the identity shortcut has no parameters."))
with code_col:
    st.code(inspect.getsource(resnet.BasicBlock), language="python")

st.subheader("Batch Normalization")
st.markdown(
    "Every BatchNorm layer normalizes each channel over the current mini-batch B, then lets the "
    "network choose its own scale and shift:")
st.latex(r"\hat{x} = \frac{x - \mu_B}{\sqrt{\sigma_B^2 + \epsilon}}, \qquad y = \gamma\,\hat{x} + \beta")
st.markdown(
    "μ_B and σ²_B are the batch mean and variance, **γ (scale)** and **β (shift)** are learned "
    "like weights. Whatever the weights do, every activation gets inputs with a steady spread, "
    "so the signal keeps its size from layer to layer — and on the way back BN divides the "
    "gradient by the same σ_B, so the gradient keeps its size too. It also keeps sigmoids out "
    "of their flat tails as weights grow. At test time running averages of μ and σ² replace "
    "the batch statistics (`model.eval()`). Section 3 shows the effect on the activations.")


# --- 2. Experiment: plain vs residual ------------------------------------------------------------
st.header("2. Experiment: plain vs residual at equal depth")
st.markdown(
    "Both networks have the same layers and the same starting weights, see the same data in the "
    "same order; the residual one only adds its input back around every pair of layers "
    "(pre-activation order, so the skip path is a pure identity: BN → act → layer → BN → act → "
    "layer, + x).")


@st.cache_resource(max_entries=4, show_spinner="Loading the dataset…")
def _experiment_data(dataset: str, n_train: int) -> dict:
    return resnet.experiment_data(dataset, n_train=n_train, n_test=2000, seed=0)


@st.cache_data(max_entries=16, show_spinner=False)
def _seconds_per_step(net: dict, batch_size: int, device_name: str) -> float:
    """Time a few forward+backward passes of the plain net: the basis of the time estimate."""
    device = torch.device(device_name)
    model = resnet.DeepNet(resnet.NetConfig(**net), residual=False).to(device)
    x = torch.randn(batch_size, *net["in_shape"], device=device)
    y = torch.randint(0, 10, (batch_size,), device=device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    times = []
    for _ in range(3):
        start = time.perf_counter()
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
        synchronize(device)  # honest timing on a GPU
        times.append(time.perf_counter() - start)
    return min(times)


c1, c2, c3, c4 = st.columns(4)
with c1:
    depth = st.slider("Depth (weight layers)", 8, 50, 20, step=2, key="resnet_depth",
                      help="First layer + 2 per block + last layer, so the depth is even.")
    kind = st.radio("Network", list(resnet.NET_KINDS), format_func=resnet.NET_KINDS.get,
                    key="resnet_kind", horizontal=True,
                    help="Fully connected layers train in seconds. The convolutional version "
                         "uses 3 stages (stride-2 stem, channels x1/x2/x4) with 1x1-conv "
                         "shortcuts where the shape changes; it is slower, and with sigmoid "
                         "even its residual twin learns slowly (try ReLU or BatchNorm).")
with c2:
    activation = st.radio("Activation", list(resnet.EXPERIMENT_ACTIVATIONS), key="resnet_activation",
                          format_func={"relu": "ReLU", "sigmoid": "Sigmoid"}.get, index=1,
                          horizontal=True)
    batchnorm = st.toggle("BatchNorm", value=False, key="resnet_bn",
                          help="BatchNorm before every activation, in both networks.")
with c3:
    dataset = st.radio("Dataset", list(resnet.DATASETS), format_func=resnet.DATASETS.get,
                       key="resnet_dataset", horizontal=True)
    if kind == "conv":
        width = st.select_slider("Channels in the first stage", [4, 8, 16, 32], 8, key="resnet_channels")
    else:
        width = st.select_slider("Width (features per layer)", [16, 32, 64, 128, 256], 64,
                                 key="resnet_width")
with c4:
    n_max = 60000 if dataset == "mnist" else 10000
    n_train = st.select_slider("Training images", [500, 1000, 2000, 3000, 5000, 10000, 20000, 60000],
                               5000, key="resnet_n_train")
    epochs = st.slider("Epochs", 1, 10, 3, key="resnet_epochs")

c5, c6, c7, _ = st.columns(4)
with c5:
    optimizer = st.selectbox("Optimizer", OPTIMIZERS, index=OPTIMIZERS.index("sgd_momentum"),
                             format_func=OPTIMIZER_LABELS.get, key="resnet_optimizer")
with c6:
    lr = st.select_slider("Learning rate", [0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0],
                          0.01, key="resnet_lr")
with c7:
    batch_size = st.select_slider("Batch size", [16, 32, 64, 128, 256], 64, key="resnet_batch")

if n_train > n_max:
    st.warning(f"The {resnet.DATASETS[dataset]} has {n_max:,} training images; using all {n_max:,}.")
    n_train = n_max

device = ui.current_device()
exp = _experiment_data(dataset, n_train)
net_cfg = resnet.NetConfig(depth=depth, width=width, activation=activation, batchnorm=batchnorm,
                           kind=kind, in_shape=exp["in_shape"])
train_cfg = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, optimizer=optimizer, seed=0,
                        log_every=max(1, math.ceil(n_train / batch_size) * epochs // 40))
settings = {"net": net_cfg.__dict__ | {"in_shape": tuple(net_cfg.in_shape)}, "dataset": dataset,
            "n_train": n_train, "epochs": epochs, "lr": lr, "optimizer": optimizer,
            "batch_size": batch_size}

plain_preview, residual_preview = resnet.build_pair(net_cfg)
steps = math.ceil(n_train / batch_size) * epochs
estimate = 2 * steps * _seconds_per_step(settings["net"], batch_size, str(device)) * 1.3  # + eval
st.caption(
    f"Both networks: {depth} weight layers ({resnet.blocks_for_depth(depth)} residual blocks). "
    f"Plain {count_params(plain_preview):,} parameters, residual {count_params(residual_preview):,}"
    + (" (the extra ones are the 1x1 shortcuts)." if count_params(residual_preview) != count_params(plain_preview)
       else " (identity shortcuts add none).")
    + f" {steps:,} optimizer steps each; estimated time for both on `{device.type}`: "
      f"{ui.format_seconds(estimate)}.")
if estimate > 120:
    st.warning(f"These settings take about {ui.format_seconds(estimate)}. For a quick look, lower "
               "the depth, the number of images or epochs, or use the fully connected network.")

if st.button("▶ Train both networks", type="primary", key="resnet_train"):
    st.session_state.pop("resnet_runs", None)
    runs = {"settings": settings}
    plain, residual = resnet.build_pair(net_cfg)
    for name, model in (("plain", plain), ("residual", residual)):
        events = train(model, (exp["x_train"], exp["y_train"]), train_cfg, device,
                       val_data=(exp["x_test"], exp["y_test"]), step_probe=resnet.grad_norm_probe)
        history, end = ui.live_training(events, key=f"resnet_run_{name}",
                                        label=f"{name.capitalize()} network")
        runs[name] = {"history": history, "end": end}
        if end is None:  # interrupted: keep what there is, do not start the second network
            break
    st.session_state["resnet_runs"] = runs
    st.rerun()  # the live panels give way to the side-by-side results below

runs = st.session_state.get("resnet_runs")


def _curves(runs: dict) -> tuple[alt.Chart, alt.Chart]:
    loss_rows, acc_rows = [], []
    for name in ("plain", "residual"):
        for e in runs[name]["history"]:
            if e["kind"] == "batch":
                loss_rows.append({"network": name, "step": e["step"], "loss": e["loss"]})
            elif e["kind"] == "epoch" and e.get("val_acc") is not None:
                acc_rows.append({"network": name, "epoch": e["epoch"], "accuracy": e["val_acc"]})
    colors = alt.Scale(domain=["plain", "residual"], range=["#d62728", "#1f77b4"])
    loss = alt.Chart(pd.DataFrame(loss_rows)).mark_line().encode(
        x=alt.X("step:Q", title="optimizer step"), y=alt.Y("loss:Q", title="training loss"),
        color=alt.Color("network:N", scale=colors), tooltip=["network", "step", alt.Tooltip("loss:Q", format=".4f")],
    ).properties(title="Training loss", height=240)
    acc = alt.Chart(pd.DataFrame(acc_rows or [{"network": "plain", "epoch": 0, "accuracy": None}])).mark_line(
        point=True).encode(
        x=alt.X("epoch:Q", title="epoch", axis=alt.Axis(tickMinStep=1)),
        y=alt.Y("accuracy:Q", title="test accuracy (%)", scale=alt.Scale(domain=[0, 100])),
        color=alt.Color("network:N", scale=colors),
        tooltip=["network", "epoch", alt.Tooltip("accuracy:Q", format=".2f")],
    ).properties(title="Test accuracy per epoch", height=240)
    return loss, acc


def _heatmap(grads: pd.DataFrame, title: str, domain: list[float]) -> alt.Chart:
    return alt.Chart(grads).mark_rect().encode(
        x=alt.X("step:O", title="optimizer step", axis=alt.Axis(labelOverlap=True)),
        y=alt.Y("layer:O", title="layer (input at the top)", sort="ascending"),
        color=alt.Color("shown:Q", title="‖∇W‖ (log)",
                        scale=alt.Scale(type="log", domain=domain, scheme="viridis"),
                        legend=alt.Legend(format=".0e", orient="bottom", gradientLength=220)),
        tooltip=["layer", "step", alt.Tooltip("grad_norm:Q", format=".2e")],
    ).properties(title=title)


if runs:
    done = all(runs.get(n, {}).get("end") is not None for n in ("plain", "residual"))
    if runs["settings"] != settings:
        st.info("The results below were trained with other settings; press ▶ Train to rerun with "
                "the current ones.")
    for name in ("plain", "residual"):
        end = runs.get(name, {}).get("end")
        if end is not None and end["reason"] == "diverged":
            st.warning(f"{name.capitalize()} network: {end['message']}")
    if not done:
        st.warning("Training was stopped before both networks finished.")
    else:
        grads = {n: resnet.gradient_frame(runs[n]["history"]) for n in ("plain", "residual")}
        first = {n: float(g.loc[g["layer_index"] == 1, "grad_norm"].median()) if len(g) else float("nan")
                 for n, g in grads.items()}
        acc = {n: next((e["val_acc"] for e in reversed(runs[n]["history"]) if e["kind"] == "epoch"), None)
               for n in ("plain", "residual")}
        m1, m2, m3, m4 = st.columns(4)
        m1.metric("Plain: test accuracy", f"{acc['plain']:.1f} %" if acc["plain"] is not None else "—")
        m2.metric("Residual: test accuracy", f"{acc['residual']:.1f} %" if acc["residual"] is not None else "—",
                  delta=(f"{acc['residual'] - acc['plain']:+.1f} points"
                         if None not in acc.values() else None))
        m3.metric("Plain: gradient at layer 1", f"{first['plain']:.1e}")
        ratio = first["residual"] / first["plain"] if first["plain"] > 0 else float("inf")
        m4.metric("Residual: gradient at layer 1", f"{first['residual']:.1e}",
                  delta=f"{ratio:.1e} x the plain one" if math.isfinite(ratio) else "plain one is 0",
                  delta_color="off")
        st.caption("Gradient at layer 1: median over the logged steps of the norm ‖∇W‖ of the "
                   "first layer's weight gradient — how strongly the layer nearest the input is "
                   "being updated. A ratio of 10ⁿ means the plain network's first layer learns "
                   "about 10ⁿ times slower.")

        loss_chart, acc_chart = _curves(runs)
        left, right = st.columns(2)
        left.altair_chart(loss_chart, width="stretch")
        right.altair_chart(acc_chart, width="stretch")
        st.caption("Same data, same start, same learning rate. With a deep plain sigmoid network "
                   "the loss stays near ln 10 ≈ 2.30 and accuracy near 10 % (guessing), while "
                   "the residual twin learns. Turn BatchNorm on or choose ReLU to see how much "
                   "of the gap they close.")

        all_grads = pd.concat(grads.values())
        positive = all_grads.loc[all_grads["grad_norm"] > 0, "grad_norm"]
        if len(positive):
            floor = float(positive.min())
            domain = [floor, max(float(positive.max()), floor * 10)]
            left, right = st.columns(2)
            for col, name in ((left, "plain"), (right, "residual")):
                g = grads[name].assign(shown=grads[name]["grad_norm"].clip(lower=floor))  # log: no zeros
                # Streamlit sizes the element; the plot gets what the title/axes/legend leave
                rows_px = min(560, max(200, 12 * g["layer"].nunique()))
                col.altair_chart(_heatmap(g, f"{name.capitalize()} network", domain),
                                 width="stretch", height=rows_px + 230)
            st.caption("Each cell is ‖∇W‖ of one layer (row, input at the top) at one logged step "
                       "(column); both maps share one log colour scale. Dark rows at the top of "
                       "the plain map are the vanishing gradient: the layers near the input get "
                       "gradients many orders of magnitude smaller than the last layers.")
            profile = all_grads.assign(network=[n for n in grads for _ in range(len(grads[n]))])
            profile = profile[profile["grad_norm"] > 0].groupby(["network", "layer_index"], as_index=False)[
                "grad_norm"].median()
            line = alt.Chart(profile).mark_line(point=True).encode(
                x=alt.X("layer_index:Q", title="layer (1 = nearest the input)", axis=alt.Axis(tickMinStep=1)),
                y=alt.Y("grad_norm:Q", title="median ‖∇W‖ (log)", scale=alt.Scale(type="log")),
                color=alt.Color("network:N", scale=alt.Scale(domain=["plain", "residual"],
                                                             range=["#d62728", "#1f77b4"])),
                tooltip=["network", "layer_index", alt.Tooltip("grad_norm:Q", format=".2e")],
            ).properties(title="Gradient size by layer (median over steps)", height=240)
            st.altair_chart(line, width="stretch")
            st.caption("Read right to left, as backpropagation does: in the plain network every "
                       "layer multiplies the gradient by a factor below 1, so the line falls "
                       "steadily towards the input. The residual line stays flat because each "
                       "block's gradient also flows through the + x.")
        else:
            st.warning("No gradient norms were recorded (all zero).")

ui.show_code(resnet.experiment_code(net_cfg, dataset, n_train, epochs, batch_size, lr, optimizer,
                                    seed=0), "plain_vs_residual.py", key="resnet_code")


# --- 3. BatchNorm effect ------------------------------------------------------------------------
st.header("3. BatchNorm: what the activations look like")


@st.cache_data(max_entries=8, show_spinner="Computing activation histograms…")
def _histograms(net: dict, dataset: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    batch = _experiment_data(dataset, 5000)["x_train"][:256]
    return resnet.activation_histograms(resnet.NetConfig(**net), batch)


hist, stats = _histograms(settings["net"], dataset)
hist_chart = alt.Chart(hist).mark_bar().encode(
    x=alt.X("bin_start:Q", bin="binned", title=f"{activation} output"),
    x2="bin_end:Q",
    y=alt.Y("fraction:Q", title="share", axis=alt.Axis(format="%")),
    color=alt.Color("batchnorm:N", legend=None, scale=alt.Scale(domain=["without BN", "with BN"],
                                                                range=["#d62728", "#2ca02c"])),
    tooltip=[alt.Tooltip("bin_start:Q", format=".2f"), alt.Tooltip("fraction:Q", format=".1%")],
).properties(height=70, width=250).facet(
    row=alt.Row("layer:N", sort=alt.SortField("layer_index"), title=None),
    column=alt.Column("batchnorm:N", sort=["without BN", "with BN"], title=None),
).resolve_scale(y="independent")
st.altair_chart(hist_chart)
first_std = stats.groupby("batchnorm")["std"].first()
last_std = stats.groupby("batchnorm")["std"].last()
st.caption(
    f"Outputs of the activations of the plain {depth}-layer network at initialization, on 256 "
    f"training images (one row per layer, first to last). Without BN their spread (std) goes "
    f"from {first_std['without BN']:.3g} at the first layer to {last_std['without BN']:.3g} at "
    f"the last; with BN from {first_std['with BN']:.3g} to {last_std['with BN']:.3g}. "
    + ("Without BN the sigmoid outputs bunch up around one value, so deep layers see nearly the "
       "same input for every image. With BN each layer's inputs are re-centred and re-scaled "
       "(then γ and β let training choose the best range), so the outputs keep their spread."
       if activation == "sigmoid" else
       "Without BN the ReLU outputs shrink layer after layer (PyTorch's default initialization "
       "is a little small for ReLU) towards a spike at 0. With BN every layer starts again from "
       "a unit spread and about half of the units are active."))
wide = stats.pivot(index=["layer_index", "layer"], columns="batchnorm", values=["std", "mean_slope"])
wide = wide[[(s, bn) for s in ("std", "mean_slope") for bn in ("without BN", "with BN")]]
wide.columns = [f"{stat.replace('_', ' ')} ({bn})" for stat, bn in wide.columns]
st.table(wide.reset_index(level=0, drop=True).style.format("{:.3g}"))
st.caption("std: spread of the activations. mean slope: the average derivative of the activation "
           "at these inputs, the factor it multiplies the gradient by on the way back "
           + ("(for a sigmoid y(1 − y), never above 0.25). Without BN the outputs sit near 0.5, "
              "where the slope is close to its 0.25 maximum — the gradient vanishes anyway, "
              "because every layer multiplies it by ≤ 0.25 and by small weights. BN's division "
              "by the batch spread σ_B makes up for exactly that shrinking." if activation == "sigmoid"
              else "(for ReLU 1 on active units and 0 on the rest, so it is the share of active units)."))


# --- 4. Real architectures ----------------------------------------------------------------------
st.header("4. Real ResNets: ResNet-18, 34 and 50")


@st.cache_data(show_spinner="Building the model and running a 224x224 image through it…")
def _stage_table(name: str) -> pd.DataFrame:
    return resnet.stage_table(name, 224)


arch = st.radio("Model", list(resnet.TORCHVISION_RESNETS), key="resnet_arch", horizontal=True,
                format_func=lambda n: n.replace("resnet", "ResNet-"))
table = _stage_table(arch)
total = table.iloc[-1]
left, right = st.columns([3, 2])
with left:
    shown = table.rename(columns={"output": "output (C x H x W)"}).set_index("stage")
    st.table(shown.style.format({"parameters": "{:,}", "blocks": lambda b: "" if pd.isna(b) else b}))
with right:
    bars = alt.Chart(table[table["stage"] != "total"]).mark_bar().encode(
        x=alt.X("parameters:Q", title="parameters"),
        y=alt.Y("stage:N", sort=None, title=None, axis=alt.Axis(labelOverlap=False)),
        tooltip=["stage", alt.Tooltip("parameters:Q", format=",")],
    ).properties(title="Parameters per stage", height=300)
    st.altair_chart(bars, width="stretch")
biggest = table.iloc[:-1].sort_values("parameters").iloc[-1]
st.caption(
    f"torchvision's `{arch}(weights=None)` run on one 1 x 3 x 224 x 224 image; shapes come from "
    f"forward hooks. {total['parameters'] / 1e6:.1f} M parameters in {total['weight layers']} "
    f"weight layers (the number in the name, 1x1 shortcut convs not counted). The stem halves "
    f"224 to 112, max pooling to 56, then each stage halves the size (56 → 28 → 14 → 7) while "
    f"the channels double; `{biggest['stage']}` holds {biggest['parameters'] / total['parameters']:.0%} "
    f"of the parameters."
    + (" ResNet-50 uses Bottleneck blocks (1x1 → 3x3 → 1x1, 4x wider output) instead of "
       "BasicBlocks." if arch == "resnet50" else ""))


# --- 5. Transfer learning -----------------------------------------------------------------------
st.header("5. Transfer learning: ImageNet weights on CIFAR-10")
st.markdown(
    "A ResNet-18 trained on 1.2 million ImageNet photos has already learned edges, textures and "
    "object parts. Keep those layers frozen, replace only the last layer (512 → 10 classes) and "
    "train it on a few CIFAR-10 images; compare with the whole ResNet-18 trained from random "
    "weights on the same images.")

if "resnet_online" not in st.session_state:
    st.session_state["resnet_online"] = resnet.pretrained_available()
if not st.session_state["resnet_online"]:
    st.warning(
        f"This section needs the internet once: the ImageNet-pretrained ResNet-18 weights "
        f"({resnet.PRETRAINED_SIZE_MB} MB) are downloaded from download.pytorch.org and then cached "
        f"under `{data.CACHE_DIR}`. The internet is not reachable now — everything above works "
        "offline.")
    if st.button("Check again", key="resnet_check_online"):
        st.session_state.pop("resnet_online")
        st.rerun()
else:
    t1, t2, t3, t4 = st.columns(4)
    tl_n = t1.select_slider("Training images", [200, 500, 1000, 2000, 5000, 10000], 2000, key="resnet_tl_n")
    tl_size = t2.select_slider("Image size", [32, 64, 96, 128, 224], 64, key="resnet_tl_size",
                               help="CIFAR images are 32x32; ImageNet models expect about 224. "
                                    "Bigger is more accurate and much slower.")
    tl_head_epochs = t3.slider("Epochs, new last layer", 1, 30, 15, key="resnet_tl_head_epochs")
    tl_scratch_epochs = t4.slider("Epochs, from scratch", 1, 10, 3, key="resnet_tl_scratch_epochs")
    tl_cfg = resnet.TransferConfig(n_train=tl_n, image_size=tl_size, head_epochs=tl_head_epochs,
                                   scratch_epochs=tl_scratch_epochs)
    st.caption(f"ResNet-18 at {tl_size}x{tl_size} costs about {1.82 * (tl_size / 224) ** 2:.2f} GFLOPs "
               "per image forward; the from-scratch run also backpropagates through all 18 layers "
               "every epoch, so it is the slow part on a CPU.")
    if st.button("▶ Run transfer learning", type="primary", key="resnet_tl_train"):
        st.session_state.pop("resnet_tl", None)
        try:
            with st.spinner("Loading the ImageNet weights (downloaded once, then cached)…"):
                pretrained = resnet.load_pretrained_resnet18()
        except data.OfflineError as exc:
            st.error(str(exc))
        else:
            tl = resnet.transfer_data(tl_cfg)
            bar = st.progress(0.0, text="Pretrained ResNet-18: computing features…")
            feats = {}
            for split in ("train", "test"):
                feats[split] = resnet.extract_features(
                    pretrained, tl[f"x_{split}"], device, tl_size,
                    on_progress=lambda f, s=split: bar.progress(
                        f, text=f"Pretrained ResNet-18: features of the {s} images…"))
            head_cfg = TrainConfig(epochs=tl_head_epochs, batch_size=tl_cfg.batch_size,
                                   lr=tl_cfg.lr_head, optimizer="adam", seed=0, log_every=20)
            head_hist, head_end = ui.live_training(
                train(resnet.new_head(), (feats["train"], tl["y_train"]), head_cfg, device,
                      val_data=(feats["test"], tl["y_test"])),
                key="resnet_tl_head", label="New last layer on pretrained features")
            scratch_cfg = TrainConfig(epochs=tl_scratch_epochs, batch_size=tl_cfg.batch_size,
                                      lr=tl_cfg.lr_scratch, optimizer="adam", seed=0, log_every=10)
            scratch_hist, scratch_end = ui.live_training(
                train(resnet.scratch_resnet18(), (tl["x_train"], tl["y_train"]), scratch_cfg, device,
                      val_data=(tl["x_test"], tl["y_test"]),
                      transform=resnet.imagenet_transform(tl_size)),
                key="resnet_tl_scratch", label="ResNet-18 from scratch")
            st.session_state["resnet_tl"] = {"pretrained": (head_hist, head_end),
                                             "scratch": (scratch_hist, scratch_end),
                                             "size": tl_size, "n": tl_n}
    tl_runs = st.session_state.get("resnet_tl")
    if tl_runs:
        rows = []
        for name, label in (("pretrained", "pretrained + new last layer"), ("scratch", "from scratch")):
            hist_, end_ = tl_runs[name]
            if end_ is None:
                st.warning(f"The {label} run was stopped.")
            rows += [{"model": label, "epoch": e["epoch"], "test accuracy": e["val_acc"],
                      "seconds": e["elapsed"]} for e in hist_ if e["kind"] == "epoch"]
        frame = pd.DataFrame(rows)
        if len(frame):
            finals = frame.groupby("model").last()
            cols = st.columns(len(finals))
            for col, (label, row) in zip(cols, finals.iterrows()):
                col.metric(label, f"{row['test accuracy']:.1f} %",
                           help=f"after {int(row['epoch'])} epochs, {ui.format_seconds(row['seconds'])}")
            st.altair_chart(alt.Chart(frame).mark_line(point=True).encode(
                x=alt.X("epoch:Q", axis=alt.Axis(tickMinStep=1)),
                y=alt.Y("test accuracy:Q", title="test accuracy (%)", scale=alt.Scale(domain=[0, 100])),
                color="model:N", tooltip=["model", "epoch", alt.Tooltip("test accuracy:Q", format=".1f")],
            ).properties(height=240), width="stretch")
            st.caption(f"{tl_runs['n']:,} CIFAR-10 training images at {tl_runs['size']}x{tl_runs['size']}, "
                       "scored on 1,000 held-out images. The pretrained features give a good "
                       "classifier after seconds of training one layer; from scratch the same "
                       "architecture needs far more data and epochs to catch up.")
