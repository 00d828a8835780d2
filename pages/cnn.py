"""CNN page: a shape calculator, convolution and pooling by hand, filters and feature maps."""
import altair as alt
import numpy as np
import pandas as pd
import streamlit as st
import torch
from PIL import Image

import ui
from core import cnn, shapes
from core.data import OfflineError
from core.engine import OPTIMIZER_LABELS, OPTIMIZERS

ui.ensure_app_shell()
st.title("🧩 CNN: shapes, convolution arithmetic, filters and feature maps")
st.caption("Two things trip learners up with CNNs: getting the shapes right (the number after "
           "`Flatten`) and seeing what the filters actually detect. This page does both.")

# --- 1. Shape calculator ------------------------------------------------------------------------
st.header("1 · Shape calculator")


def _load_preset():
    """Copy the chosen preset into the input boxes and start a fresh layer editor."""
    (c, h, w), _ = shapes.preset(st.session_state["cnn_preset"])
    st.session_state.update(cnn_in_c=c, cnn_in_h=h, cnn_in_w=w)
    st.session_state["cnn_editor_version"] = st.session_state.get("cnn_editor_version", 0) + 1


preset_names = list(shapes.PRESETS)
if "cnn_in_c" not in st.session_state:
    st.session_state["cnn_preset"] = preset_names[0]
    _load_preset()
preset_name = st.selectbox("Preset", preset_names, key="cnn_preset", on_change=_load_preset)
st.info(shapes.PRESETS[preset_name]["note"], icon="📝")

in_cols = st.columns(3)
channels = in_cols[0].number_input("Input channels C", 1, 512, step=1, key="cnn_in_c")
height = in_cols[1].number_input("Input height H", 1, 1024, step=1, key="cnn_in_h")
width = in_cols[2].number_input("Input width W", 1, 1024, step=1, key="cnn_in_w")
input_shape = (int(channels), int(height), int(width))

_, preset_layers = shapes.preset(preset_name)
editor_df = pd.DataFrame(shapes.layers_to_table(preset_layers),
                         columns=["type", "out", "kernel", "stride", "padding"]).astype(
    {"out": "Int64", "kernel": "Int64", "stride": "Int64", "padding": "Int64"})
st.caption("Edit the stack: one row per layer (add rows at the bottom, delete with the row "
           "checkbox). `out` = output channels (conv) or output features (linear); pools with an "
           "empty stride use stride = kernel, as torch does.")
edited = st.data_editor(
    editor_df, key=f"cnn_stack_{st.session_state.get('cnn_editor_version', 0)}",
    num_rows="dynamic", hide_index=True, width="stretch",
    column_config={
        "type": st.column_config.SelectboxColumn("type", options=list(shapes.LAYER_TYPES), required=True),
        "out": st.column_config.NumberColumn("out", min_value=0, step=1, help="conv: out_channels; linear: out_features"),
        "kernel": st.column_config.NumberColumn("kernel", min_value=1, step=1, help="kernel_size (conv, pools)"),
        "stride": st.column_config.NumberColumn("stride", min_value=1, step=1),
        "padding": st.column_config.NumberColumn("padding", min_value=0, step=1),
    })
records = [{k: (None if pd.isna(v) else v) for k, v in row.items()} for row in edited.to_dict("records")]

stack_error, rows = None, []
try:
    layers = shapes.layers_from_table(records)
    if not layers:
        raise shapes.StackError(None, "the stack is empty.", "add at least one layer, or pick a preset.")
    rows = shapes.trace(input_shape, layers)
except shapes.StackError as exc:
    stack_error, layers = exc, shapes.layers_from_table(records) if exc.layer else []

if stack_error is not None:
    where = "the input" if stack_error.layer is None else f"layer {stack_error.layer}"
    st.error(f"**The stack fails at {where}.** {stack_error.reason}\n\n"
             f"**Suggested fix:** {stack_error.fix}", icon="🚫")
    if stack_error.layer and stack_error.layer > 1:  # still show what works up to there
        try:
            rows = shapes.trace(input_shape, layers[:stack_error.layer - 1])
            st.caption(f"The layers before layer {stack_error.layer} work; their shapes:")
        except shapes.StackError:
            rows = []

if rows:
    table = pd.DataFrame(shapes.trace_table(rows))
    st.table(table.style.hide(axis="index"))  # static: the formulas wrap instead of being cut off
    st.caption("Each row: the output shape (batch left out), the course notes' formula "
               "H = ((H_in + 2×padding − kernel) / stride) + 1 with the numbers filled in "
               "(⌊ ⌋ marks where the division is not whole and is floored), the parameters "
               "(weights + biases) and the receptive field: how many input pixels one output "
               "pixel sees. After Flatten every number depends on the whole image.")

if rows and stack_error is None:
    total = shapes.summary(input_shape, rows)
    spatial = [r for r in rows if r["receptive_field"] is not None]
    flat = next((r for r in rows if r["type"] == "flatten"), None)
    m = st.columns(4)
    m[0].metric("Total parameters", f"{total['params']:,}")
    m[1].metric("Output shape", "×".join(str(d) for d in total["output_shape"]))
    m[2].metric("Flatten size", f"{flat['output_shape'][0]:,}" if flat else "—",
                help="The number to put in the first Linear layer's in_features.")
    m[3].metric("Last receptive field",
                f"{spatial[-1]['receptive_field']}×{spatial[-1]['receptive_field']}" if spatial else "—")

# Cross-check: the real torch module on a random batch, trace refused or not.
check_layers = layers if layers else []
if check_layers and (stack_error is None or stack_error.layer is not None):
    check = shapes.check_against_torch(input_shape, check_layers)
    how = ("a real forward pass of a random batch of 2" if check["mode"] == "forward"
           else "torch's meta device (shapes only: the stack is too big for a quick real pass)")
    if check["matches"] and stack_error is None:
        st.success(f"{check['message']} — {how} through the nn.Sequential gives the same shape "
                   f"and parameter count for all {len(rows)} layers.", icon="✅")
    elif check["matches"]:
        st.caption(f"{check['message']} (checked with {how}).")
    else:
        st.error(f"Cross-check failed: {check['message']}")

if rows and stack_error is None:
    st.markdown("**The stack as PyTorch** (`nn.Sequential`, shapes in the comments):")
    st.code(shapes.sequential_code(input_shape, layers), language="python")

# --- 2. Arithmetic by hand ----------------------------------------------------------------------
st.header("2 · Convolution and pooling by hand")
pool_tab, pad_tab, conv_tab = st.tabs(["Pooling", "Padding", "A kernel stepping over an image"])


def _highlight(frame: pd.DataFrame, rows_range, cols_range, color="#ffe08a"):
    """A Styler that colours the cells inside [r0, r1) × [c0, c1)."""
    def style(_):
        out = pd.DataFrame("", index=frame.index, columns=frame.columns)
        out.iloc[rows_range[0]:rows_range[1], cols_range[0]:cols_range[1]] = f"background-color: {color}"
        return out
    return frame.style.apply(style, axis=None).format(precision=2)


def _grid_frame(values, row_offset=0) -> pd.DataFrame:
    arr = np.asarray(values)
    return pd.DataFrame(arr, index=[f"r{i - row_offset}" for i in range(arr.shape[0])],
                        columns=[f"c{j - row_offset}" for j in range(arr.shape[1])])


with pool_tab:
    st.markdown("The notes' 4×4 example. Edit any number; a 2×2 window with stride 2 gives "
                "max [[9, 7], [8, 6]] and average [[4.25, 4.25], [4.25, 3.5]].")
    pool_input = st.data_editor(pd.DataFrame(cnn.POOL_EXAMPLE, columns=[f"c{j}" for j in range(4)]),
                                key="cnn_pool_grid", hide_index=True)
    pc = st.columns(3)
    pool_k = pc[0].number_input("Window (kernel)", 1, 4, 2, key="cnn_pool_k")
    pool_s = pc[1].number_input("Stride", 1, 4, 2, key="cnn_pool_s")
    pool_p = pc[2].number_input("Padding", 0, 2, 0, key="cnn_pool_p")
    try:
        grid = pool_input.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
        max_out, max_cells = cnn.pool_by_hand(grid, pool_k, pool_s, pool_p, "max")
        avg_out, avg_cells = cnn.pool_by_hand(grid, pool_k, pool_s, pool_p, "avg")
    except ValueError as exc:
        st.error(str(exc))
    else:
        labels = [f"({c['row']}, {c['col']})" for c in max_cells]
        pick = st.selectbox("Output cell to explain", labels, key="cnn_pool_cell")
        cell = labels.index(pick)
        padded = np.pad(grid, int(pool_p), constant_values=np.nan)
        oc = st.columns(3)
        oc[0].markdown("**Input** (window highlighted" + (", padding shown empty)" if pool_p else ")"))
        oc[0].dataframe(_highlight(_grid_frame(padded, int(pool_p)), max_cells[cell]["rows"],
                                   max_cells[cell]["cols"]))
        oc[1].markdown("**Max pooling**")
        oc[1].dataframe(_highlight(_grid_frame(max_out), (max_cells[cell]["row"], max_cells[cell]["row"] + 1),
                                   (max_cells[cell]["col"], max_cells[cell]["col"] + 1)))
        oc[2].markdown("**Average pooling**")
        oc[2].dataframe(_highlight(_grid_frame(avg_out), (avg_cells[cell]["row"], avg_cells[cell]["row"] + 1),
                                   (avg_cells[cell]["col"], avg_cells[cell]["col"] + 1)))
        st.markdown(f"Max: `{max_cells[cell]['text']}`  \nAverage: `{avg_cells[cell]['text']}`")
        ref_max = torch.nn.functional.max_pool2d(torch.tensor(grid)[None, None], pool_k, pool_s, pool_p)[0, 0]
        ref_avg = torch.nn.functional.avg_pool2d(torch.tensor(grid)[None, None], pool_k, pool_s, pool_p)[0, 0]
        same = np.allclose(ref_max.numpy(), max_out) and np.allclose(ref_avg.numpy(), avg_out)
        st.caption(("✓ matches torch's max_pool2d / avg_pool2d. " if same else "✗ differs from torch! ")
                   + "Max pooling keeps the strongest response in each window (where a feature "
                   "fired); average pooling smooths. Padding is ignored by max (it pads with −∞) "
                   "but counts as 0 in the average, which still divides by kernel².")

with pad_tab:
    st.markdown("Padding adds a border so a kernel can sit on edge pixels. Three ways to fill it:")
    pad_p = st.slider("Padding (pixels per side)", 1, 3, 1, key="cnn_pad_p")
    small = np.arange(1, 17).reshape(4, 4)
    st.caption("The 4×4 image: " + str(small.tolist()))
    pad_cols = st.columns(3)
    explain = {"zero": "zeros all around (`padding=1` in nn.Conv2d, the default mode)",
               "reflect": "mirror the pixels next to the edge, without repeating the edge "
                          "(`padding_mode='reflect'`)",
               "replicate": "repeat the edge pixel outwards (`padding_mode='replicate'`)"}
    for col, mode in zip(pad_cols, cnn.PAD_MODES):
        col.markdown(f"**{mode}**")
        try:
            padded = cnn.pad_by_hand(small, pad_p, mode)
        except ValueError as exc:
            col.warning(str(exc))
            continue
        frame = _grid_frame(padded.astype(int), pad_p)
        col.dataframe(_highlight(frame, (pad_p, pad_p + 4), (pad_p, pad_p + 4), "#dbeafe"))
        col.caption(explain[mode] + "; the original image is shaded blue.")

with conv_tab:
    st.markdown("A 3×3 kernel slides over a 5×5 image. Each output number is the sum of the "
                "products of the kernel with the pixels under it (plus a bias, 0 here).")
    kernels = {"vertical edge": [[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]],
               "horizontal edge": [[-1, -1, -1], [0, 0, 0], [1, 1, 1]],
               "blur (box)": [[1, 1, 1], [1, 1, 1], [1, 1, 1]],
               "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]]}
    image5 = np.array([[0, 0, 1, 2, 2], [0, 1, 2, 2, 1], [1, 2, 3, 1, 0], [2, 2, 1, 0, 0],
                       [2, 1, 0, 0, 0]])
    cc = st.columns(3)
    kernel_name = cc[0].selectbox("Kernel", list(kernels), key="cnn_conv_kernel")
    conv_s = cc[1].number_input("Stride", 1, 3, 1, key="cnn_conv_stride")
    conv_p = cc[2].number_input("Padding (zeros)", 0, 2, 0, key="cnn_conv_padding")
    kernel = np.array(kernels[kernel_name])
    try:
        conv_out = cnn.conv_by_hand(image5, kernel, conv_s, conv_p)
    except ValueError as exc:
        st.error(str(exc))
    else:
        oh, ow = conv_out.shape
        rc = st.columns(2)
        out_r = rc[0].slider("Output row", 0, oh - 1, 0, key="cnn_conv_row") if oh > 1 else 0
        out_c = rc[1].slider("Output column", 0, ow - 1, 0, key="cnn_conv_col") if ow > 1 else 0
        cell = cnn.conv_cell(image5, kernel, conv_s, conv_p, out_r, out_c)
        vc = st.columns([3, 2, 2])
        vc[0].markdown(f"**Input** {5 + 2 * conv_p}×{5 + 2 * conv_p} (padding {conv_p})")
        vc[0].dataframe(_highlight(_grid_frame(cell["padded"].astype(int), conv_p), cell["rows"], cell["cols"]))
        vc[1].markdown("**Kernel**")
        vc[1].dataframe(_grid_frame(kernel))
        vc[2].markdown(f"**Output** {oh}×{ow}")
        vc[2].dataframe(_highlight(_grid_frame(conv_out.astype(int)), (out_r, out_r + 1), (out_c, out_c + 1)))
        st.markdown(f"Output ({out_r}, {out_c}) = `{cell['text']}`")
        ref = torch.nn.functional.conv2d(torch.tensor(image5, dtype=torch.float64)[None, None],
                                         torch.tensor(kernel, dtype=torch.float64)[None, None],
                                         stride=conv_s, padding=conv_p)[0, 0].numpy()
        st.caption(f"Output size: (({5} + 2×{conv_p} − 3) / {conv_s}) + 1 = {oh} "
                   f"{'(floored)' if (5 + 2 * conv_p - 3) % conv_s else ''}. "
                   + ("✓ matches torch.nn.functional.conv2d. " if np.allclose(ref, conv_out) else "✗ differs from torch! ")
                   + "The vertical-edge kernel gives big numbers where brightness changes from left "
                   "to right; that is what a trained first-layer filter often learns.")

# --- 3. Filters and feature maps ----------------------------------------------------------------
st.header("3 · Filters and feature maps")
dataset = st.radio("Dataset", list(cnn.DATASETS), key="cnn_dataset", horizontal=True,
                   format_func=lambda d: cnn.DATASETS[d]["label"])
spec = cnn.DATASETS[dataset]
defaults = cnn.DEFAULTS[dataset]
if dataset == "cifar":
    st.info("The embedded CIFAR-10 is a **10,000 / 2,000 JPEG subset** (1,000 training and 200 "
            "test images per class) of the real 50,000 / 10,000, and JPEG slightly changes the "
            "pixels. With 5× less data, expect clearly lower accuracy than the notes' **72.47% "
            "after 10 epochs on the full CIFAR-10** (this page's 3-epoch default lands around "
            "50–60%).", icon="ℹ️")
st.caption("The model is the notes' SimpleCNN: "
           + ("conv 1→6 (3×3) → ReLU → pool → conv 6→16 (3×3) → ReLU → pool → 400 → 120 → 84 → 10 "
              "(flatten size corrected to 16×5×5 for 28×28 input)." if dataset == "mnist" else
              "conv 3→32 (3×3, pad 1) → ReLU → pool → conv 32→64 (3×3, pad 1) → ReLU → pool → "
              "4096 → 512 → 10."))

full_cifar = False
if dataset == "cifar" and st.checkbox(
        "Use the full CIFAR-10 (50,000 / 10,000; torchvision downloads 170 MB once — needs the internet)",
        key="cnn_full_cifar"):
    try:
        with st.spinner("Loading the full CIFAR-10 …"):
            cnn.load_split("cifar", True, 1, full_cifar=True)
        full_cifar = True
        st.success("Full CIFAR-10 loaded: train on up to 50,000 images.")
    except OfflineError as exc:
        st.warning(f"{exc} Training uses the embedded subset.", icon="📡")

sc = st.columns(5)
image_counts = [1000, 2000, 5000, 10000] + ([20000, 60000] if dataset == "mnist" else [])
if full_cifar:
    image_counts = [1000, 2000, 5000, 10000, 20000, 50000]
n_train = sc[0].select_slider("Training images", image_counts,
                              value=defaults.n_train, key=f"cnn_{dataset}_n_train")
epochs = sc[1].slider("Epochs", 1, 10, defaults.epochs, key=f"cnn_{dataset}_epochs")
lr = sc[2].select_slider("Learning rate", [0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 1.0],
                         value=defaults.lr, key=f"cnn_{dataset}_lr")
optimizer = sc[3].selectbox("Optimizer", OPTIMIZERS, index=OPTIMIZERS.index(defaults.optimizer),
                            format_func=OPTIMIZER_LABELS.get, key=f"cnn_{dataset}_opt")
batch = sc[4].select_slider("Batch size", [16, 32, 64, 128, 256], value=defaults.batch_size,
                            key=f"cnn_{dataset}_batch")
settings = cnn.CNNSettings(dataset=dataset, n_train=n_train, epochs=epochs, lr=lr,
                           optimizer=optimizer, batch_size=batch, full_cifar=full_cifar)
st.caption(f"Defaults ({defaults.n_train:,} images, {defaults.epochs} epochs, Adam 0.001) take "
           f"about {'10 s' if dataset == 'mnist' else 'a minute'} on a 2-core CPU.")

runs = st.session_state.setdefault("cnn_runs", {})
just_trained = False  # the live panel already drew this run's curves
if st.button("▶ Train", key="cnn_train", type="primary"):
    model = cnn.build_cnn(dataset, settings.seed)
    init_state = {k: v.clone() for k, v in model.state_dict().items()}
    history, end = ui.live_training(cnn.train_events(model, settings, ui.current_device()),
                                    key="cnn_run", label=f"Training on {spec['label']}")
    if end is not None:
        runs[dataset] = {"settings": settings, "init_state": init_state, "history": history, "end": end,
                         "state": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}}
        just_trained = True

run = runs.get(dataset)
if run is not None:
    end = run["end"]
    epochs_seen = [e for e in run["history"] if e["kind"] == "epoch"]
    if end["reason"] == "diverged":
        st.error(end["message"] + " The feature maps below show the broken weights.")
    else:
        st.success(end["message"])
    if epochs_seen:
        mc = st.columns(3)
        mc[0].metric("Test accuracy", f"{epochs_seen[-1]['val_acc']:.2f}%",
                     help=f"On {settings.n_test:,} test images the model never trained on.")
        mc[1].metric("Train accuracy", f"{epochs_seen[-1]['train_acc']:.2f}%")
        mc[2].metric("Training time", ui.format_seconds(end["elapsed"]))
        if not just_trained:
            st.altair_chart(ui.training_chart(run["history"]), width="stretch")
        st.caption("Left: loss per logged batch (it should fall). Right: accuracy per epoch on the "
                   "training images and on held-out test images; a widening gap means overfitting.")


def _model(state: dict | None) -> torch.nn.Module:
    model = cnn.build_cnn(dataset, defaults.seed)  # seeded: this IS the untrained model
    if state is not None:
        model.load_state_dict(state)
    return model.eval()


@st.cache_resource(show_spinner=False)
def _test_images(name: str):
    return cnn.load_split(name, False, 2000, seed=1)


# Which image to look at.
sources = ["A test image", "Upload an image"] + (["Draw a digit"] if dataset == "mnist" else [])
source = st.radio("Image", sources, key=f"cnn_{dataset}_source", horizontal=True)
test_x, test_y = _test_images(dataset)
image, image_label = None, None
if source == "Upload an image":
    upload = st.file_uploader("A picture (PNG/JPG)" + (": a dark digit on light paper, or a light digit on dark"
                                                      if dataset == "mnist" else ""),
                              type=["png", "jpg", "jpeg"], key=f"cnn_{dataset}_upload")
    if upload is not None:
        try:
            image = cnn.upload_to_image(Image.open(upload), dataset)
            if image is None:
                st.warning("No digit found in that picture (it looks blank). Showing a test image instead.")
            image_label = "your upload"
        except Exception as exc:  # noqa: BLE001 - a broken file must not break the page
            st.error(f"Could not read that image ({exc}). Showing a test image instead.")
elif source == "Draw a digit":
    try:
        from streamlit_drawable_canvas import st_canvas

        drawing = st_canvas(stroke_width=18, stroke_color="#ffffff", background_color="#000000",
                            height=224, width=224, drawing_mode="freedraw", return_image_data=True,
                            key="cnn_canvas")
        data = drawing.image_data if drawing is not None else None
    except Exception:  # noqa: BLE001 - the component is unavailable (e.g. under AppTest)
        data = None
    if data is not None:
        image = cnn.canvas_to_digit(data)
        image_label = "your drawing"
    if image is None:
        st.warning("Draw a digit in the box (white on black) to see its feature maps; until then "
                   "a test image is shown.")
if image is None:
    index = st.number_input(f"Test image number (0–{len(test_x) - 1})", 0, len(test_x) - 1, 0,
                            key=f"cnn_{dataset}_index")
    image = test_x[int(index)]
    image_label = f"test image, true class: {spec['classes'][int(test_y[int(index)])]}"

before_model = _model(None)
after_model = _model(run["state"]) if run is not None else None
maps_before, probs_before = cnn.feature_maps(before_model, image, dataset)
maps_after, probs_after = (cnn.feature_maps(after_model, image, dataset) if after_model is not None
                           else (None, None))

ic = st.columns([1, 3])
ic[0].image(cnn.image_to_pil(image, zoom=4 if dataset == "mnist" else 3), caption=image_label)
prob_rows = [{"class": c, "probability": float(p), "model": "before training"}
             for c, p in zip(spec["classes"], probs_before)]
if probs_after is not None:
    prob_rows += [{"class": c, "probability": float(p), "model": "after training"}
                  for c, p in zip(spec["classes"], probs_after)]
prob_chart = alt.Chart(pd.DataFrame(prob_rows)).mark_bar().encode(
    x=alt.X("class:N", sort=list(spec["classes"]), title=None),
    xOffset="model:N",
    y=alt.Y("probability:Q", scale=alt.Scale(domain=[0, 1])),
    color=alt.Color("model:N", sort=["before training", "after training"], title=None),
    tooltip=["model", "class", alt.Tooltip("probability:Q", format=".3f")],
).properties(height=220, title="Class probabilities (softmax)")
ic[1].altair_chart(prob_chart, width="stretch")
ic[1].caption("Untrained, the network spreads its bets almost evenly (about 0.1 each); after "
              "training one class should stand out." if after_model is not None else
              "Untrained, the network spreads its bets almost evenly (about 0.1 each). Train it "
              "above to see one class stand out.")
if after_model is None:
    st.info("Not trained yet: below are the **random initial** filters and the feature maps they "
            "make. Press ▶ Train to compare them with trained ones.", icon="👆")

shared = st.toggle("Same colour scale for before and after", value=True, key="cnn_shared_scale",
                   help="On: before and after use one scale per layer, so brightness is comparable. "
                        "Off: each grid uses its own maximum, so faint patterns become visible.")


def _pair(title: str, before: np.ndarray, after: np.ndarray | None, rgb: bool = False, cols=None):
    """Before | after grids of one layer, on one shared colour scale."""
    vmax = None
    if shared and after is not None and not rgb:
        vmax = float(max(np.abs(before).max(), np.abs(after).max()))
    gc = st.columns(2)
    for col, label, tiles in ((gc[0], "before training", before), (gc[1], "after training", after)):
        if tiles is None:
            col.caption(f"{title}, {label}: train the model to see it.")
            continue
        img, used = cnn.render_grid(tiles, vmax=vmax, rgb=rgb, cols=cols,
                                    tile_px=56 if tiles.shape[-1] <= 16 else (84 if len(tiles) <= 8 else 64))
        col.image(img, caption=f"{title}, {label}" + ("" if rgb else f" · scale ±{used:.3g}"))


st.subheader("Filters (the learned weights)")
st.image(cnn.colorbar(1.0), caption="colour scale: blue = negative · white = 0 · red = positive "
                                    "(±the number under each grid)")
f1_before = cnn.conv_filters(before_model, "conv1")
f1_after = cnn.conv_filters(after_model, "conv1") if after_model is not None else None
if dataset == "cifar":
    _pair("conv1: 32 filters 3×3 in colour (RGB weights, one scale)", f1_before,
          f1_after, rgb=True)
else:
    _pair("conv1: 6 filters 3×3", f1_before[:, 0], None if f1_after is None else f1_after[:, 0])
f2_before = cnn.conv_filters(before_model, "conv2")
f2_after = cnn.conv_filters(after_model, "conv2") if after_model is not None else None
n_show = 8 if dataset == "cifar" else 16
_pair(f"conv2: first input channel of {n_show} filters (3×3)", f2_before[:n_show, 0],
      None if f2_after is None else f2_after[:n_show, 0])
st.caption("Each tile is one filter's 3×3 weights. Random at first; after training, first-layer "
           "filters often look like small edge or blob detectors (a red side next to a blue side).")

st.subheader("Feature maps (what each layer outputs for this image)")
trace_rows = shapes.trace(spec["input"], spec["stack"])
stage_shapes = dict(zip([n for n, _ in before_model.named_children()], [r["output_shape"] for r in trace_rows]))
for stage in cnn.feature_stages(before_model):
    got = maps_before[stage].shape
    expected = stage_shapes[stage]
    st.markdown(f"**{stage}** — shape {'×'.join(map(str, got))} "
                + ("(as the shape calculator predicts ✓)" if tuple(got) == tuple(expected)
                   else f"(calculator said {expected} ✗)"))
    _pair(stage, maps_before[stage], None if maps_after is None else maps_after[stage])
st.caption("One tile per channel. conv: the filter's response (red = the pattern is there, blue = "
           "its opposite). ReLU: the blue parts set to 0 (only red stays). Pool: the same map at half "
           "the size, keeping each 2×2 window's strongest response. Deeper layers are smaller and "
           "more abstract. The maps are taken with forward hooks on the trained model itself.")

# --- 4. Show the code ---------------------------------------------------------------------------
st.header("4 · Show the code")
code = cnn.training_code(settings)
if rows and stack_error is None:
    code += ("\n# --- The shape calculator's current stack ---\n"
             + shapes.sequential_code(input_shape, layers, name="calculator_model")
             + f"\nprint(calculator_model(torch.zeros(1, {input_shape[0]}, {input_shape[1]}, "
               f"{input_shape[2]})).shape)\n")
else:
    code += "\n# The shape calculator's current stack is invalid, so it is not included.\n"
ui.show_code(code, "cnn_playground.py", key="cnn_code")
st.caption("The script trains the same CNN with the notebook's DataLoader loop on the full "
           "torchvision dataset (downloaded on first run), prints its feature-map shapes with "
           "create_feature_extractor, and ends with the calculator's stack as nn.Sequential.")
