"""Page 2: the course notebook's SimpleANN on MNIST: tune, retrain, compare runs, draw a digit."""
import math

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st
import torch
from PIL import Image
from streamlit_drawable_canvas import st_canvas

from core import mnist_ann as ann
from core.digits import default_digit_info, default_digit_model, digit_probabilities, preprocess_digit
from core.engine import OPTIMIZER_LABELS, OPTIMIZERS, train
from core.models import ACTIVATIONS
from ui import current_device, ensure_app_shell, format_seconds, live_training, show_code, training_chart

MAX_RUNS = 20            # runs kept per session (each holds ~0.4 MB of weights)
LOW_CONFIDENCE = 0.60    # below this top probability the page says the model is unsure
LEARNING_RATES = [0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0]
BATCH_SIZES = [16, 32, 64, 128, 256, 512, 1024]
CANVAS = 280             # canvas side in pixels: 10x MNIST's 28


@st.cache_resource(show_spinner=False)
def _sample_grid():
    return ann.sample_grid(per_class=2)


@st.cache_resource(show_spinner="Loading the default digit model…")
def _default_model():
    return default_digit_model(), default_digit_info()


@st.cache_data(show_spinner=False, max_entries=64)
def _untrained_accuracy(hidden: tuple, activation: str, dropout: float, seed: int, normalization: str,
                        device: str) -> float:
    s = ann.AnnSettings(hidden=hidden, activation=activation, dropout=dropout, seed=seed,
                        normalization=normalization)
    return ann.untrained_accuracy(s, torch.device(device))


def _pixels(image: np.ndarray, scale: int) -> np.ndarray:
    """0..1 float or uint8 image -> uint8, enlarged by whole pixels so MNIST pixels stay crisp."""
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        arr = np.clip(np.round(arr * 255), 0, 255).astype(np.uint8)
    return np.kron(arr, np.ones((scale, scale), dtype=np.uint8))


def _tile(image: np.ndarray, side: int = 112) -> np.ndarray:
    """A 0..1 image of any size, scaled to fit a side x side tile on gray, so the steps line up.

    Small images are enlarged by whole pixels (crisp MNIST pixels), large ones smoothly shrunk.
    """
    img = Image.fromarray(np.clip(np.round(image * 255), 0, 255).astype(np.uint8))
    scale = side / max(img.size)
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    img = img.resize(size, Image.NEAREST if scale >= 1 else Image.LANCZOS)
    tile = Image.new("L", (side, side), 70)  # gray: shows where the image itself ends
    tile.paste(img, ((side - size[0]) // 2, (side - size[1]) // 2))
    return np.asarray(tile)


def _keep_run(record: ann.RunRecord) -> None:
    """Store a finished run and point the results, overlay and save pickers at it."""
    runs.append(record)
    st.session_state["ann_next_id"] = record.run_id + 1
    st.session_state["ann_result_run"] = record.name
    st.session_state["ann_save_run"] = record.name
    overlaid = [n for n in st.session_state.get("ann_compare_runs", []) if n in {r.name for r in runs}]
    st.session_state["ann_compare_runs"] = overlaid + [record.name]


runs: list[ann.RunRecord] = st.session_state.setdefault("ann_runs", [])
st.session_state.setdefault("ann_next_id", 1)
device = current_device()

# --- A training run interrupted by Stop (or any widget) is kept if it finished an epoch ---
pending = st.session_state.pop("ann_pending", None)
if pending is not None:
    partial = st.session_state.get("ann_live_partial", [])
    if any(e["kind"] == "epoch" for e in partial):
        record = ann.record_run(pending["run_id"], pending["settings"], pending["model"], list(partial),
                                None, pending["untrained"], device)
        _keep_run(record)
        st.toast(f"Run {record.name} was stopped; kept with {len(record.epochs)} epoch(s).")
    else:
        st.toast("Training stopped before the first epoch ended: nothing to keep.")

ensure_app_shell()
st.title("✍️ ANN on MNIST")
st.markdown(
    "The course notebook's **SimpleANN**: every 28×28 image becomes a row of 784 numbers that "
    "flows through fully connected layers to 10 scores, one per digit. Change a setting, retrain, "
    "and compare the runs side by side. Then draw a digit and watch the model read it."
)

# --- 1. Data ---
st.header("1 · Data")
grid_images, grid_labels = _sample_grid()
st.image([_pixels(img, 2) for img in grid_images], caption=[f"label {d}" for d in grid_labels])
st.caption("The first two training images of each digit, as stored: 28×28 gray levels 0…255, "
           "white ink on black.")
n_train = st.slider("Training-set size (images)", ann.N_TRAIN_MIN, ann.N_TRAIN_MAX, 60_000,
                    step=1_000, key="ann_n_train",
                    help="The first N of the 60,000 training images. Testing always uses the "
                         "official 10,000 test images, which the model never trains on.")
counts = torch.bincount(ann.training_subset(n_train)[1], minlength=10)
st.caption(f"Training on {n_train:,} images ({int(counts.min()):,} to {int(counts.max()):,} per "
           f"digit); tested on the official 10,000.")
col_formula, col_table = st.columns([3, 2])
with col_formula:
    normalization = st.selectbox("Normalization", list(ann.NORMALIZATIONS), key="ann_normalization",
                                 format_func=ann.NORMALIZATION_LABELS.get,
                                 help="How pixels are scaled before the first layer. The notebook uses "
                                      "(0.5, 0.5); try MNIST's own statistics and compare the runs.")
    mean, std = ann.NORMALIZATIONS[normalization]
    st.markdown("`ToTensor()` divides by 255, then `Normalize` subtracts the mean and divides by the std:")
    st.latex(rf"x_{{\text{{input}}}} = \frac{{x / 255 - {mean:g}}}{{{std:g}}}")
    st.caption(f"Black background becomes {(0 - mean) / std:.2f} and full ink {(1 - mean) / std:.2f}. "
               "Inputs on a scale near ±1 keep the first layer's sums in a range where training moves "
               "quickly; the scale and offset still change how fast it learns (compare the runs).")
with col_table:
    st.dataframe(pd.DataFrame({"pixel": [0, 64, 128, 255],
                               "input": [round((p / 255 - mean) / std, 3) for p in (0, 64, 128, 255)]}),
                 hide_index=True)
    st.caption("What a few gray levels become.")

# --- 2. Model ---
st.header("2 · Model")
col_hidden, col_act, col_drop = st.columns(3)
hidden_text = col_hidden.text_input("Hidden layer sizes", "128, 64", key="ann_hidden",
                                    help="Comma-separated widths, e.g. '128, 64' (the notebook) or "
                                         "'512, 256, 128'. Leave empty for no hidden layer.")
activation = col_act.selectbox("Activation", list(ACTIVATIONS), key="ann_activation")
dropout = col_drop.slider("Dropout", 0.0, 0.8, 0.0, step=0.05, key="ann_dropout",
                          help="Randomly zeroes this share of each hidden layer's outputs while training.")
try:
    hidden = ann.parse_hidden(hidden_text)
except ValueError as exc:
    st.error(str(exc))
else:
    if not hidden:
        st.info("No hidden layer: this is logistic regression, 784 inputs straight to 10 scores.")
    table = ann.layer_table(ann.AnnSettings(hidden=hidden, activation=activation, dropout=dropout))
    total = int(table["Parameters"].iloc[-1])
    st.metric("Parameters", f"{total:,}")
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={"Parameters": st.column_config.NumberColumn(format="localized")})
    st.caption("Each Linear layer has one weight per (input, output) pair plus one bias per output: "
               "(inputs + 1) × outputs. The first layer holds most of the parameters because every "
               "one of the 784 pixels connects to every unit.")

# --- 3. Training ---
st.header("3 · Training")
col_opt, col_lr, col_bs = st.columns(3)
optimizer = col_opt.selectbox("Optimizer", OPTIMIZERS, index=OPTIMIZERS.index("sgd_momentum"),
                              format_func=OPTIMIZER_LABELS.get, key="ann_optimizer")
lr = col_lr.select_slider("Learning rate", LEARNING_RATES, value=0.01, key="ann_lr",
                          format_func=lambda v: f"{v:g}")
batch_size = col_bs.select_slider("Batch size", BATCH_SIZES, value=64, key="ann_batch_size")
col_ep, col_seed, _ = st.columns(3)
epochs = col_ep.slider("Epochs", 1, 30, 10, key="ann_epochs")
seed = int(col_seed.number_input("Seed", 0, 99_999, 0, step=1, key="ann_seed",
                                 help="Same seed, same initial weights and batch order: same result."))
if optimizer in ("adam", "adamw", "rmsprop") and lr >= 0.03:
    st.warning(f"{OPTIMIZER_LABELS[optimizer]} usually wants a learning rate near 0.001; "
               f"{lr:g} may make the loss jump around or diverge.")

try:
    settings = ann.AnnSettings(hidden=ann.parse_hidden(hidden_text), activation=activation,
                               dropout=dropout, n_train=n_train, optimizer=optimizer, lr=lr,
                               batch_size=batch_size, epochs=epochs, seed=seed,
                               normalization=normalization)
    ann.check_settings(settings)
except ValueError:
    settings = None  # the Model section already said why

col_untrained, col_work = st.columns(2)
if settings is not None:
    untrained = _untrained_accuracy(settings.hidden, activation, dropout, seed, normalization,
                                    str(device))
    col_untrained.metric("Untrained accuracy", f"{untrained:.1f} %",
                         help="The freshly initialized model on the 10,000 test images.")
    col_untrained.caption("Before training the weights are random: the model is guessing, so about "
                          "1 test image in 10 comes out right.")
    steps = math.ceil(n_train / batch_size) * epochs
    col_work.metric("Optimizer steps", f"{steps:,}")
    col_work.caption(f"{n_train:,} images ÷ batch {batch_size} × {epochs} epochs. The defaults are the "
                     "notebook's recipe (about 10 s on a 2-core CPU); fewer images or "
                     "epochs train faster.")

clicked = st.button("▶ Train", key="ann_train", type="primary", disabled=settings is None,
                    help="Trains a new model with the settings above; every run is kept below.")
if clicked and settings is not None:
    run_id = st.session_state["ann_next_id"]
    model = ann.build_model(settings)
    st.session_state["ann_pending"] = {"run_id": run_id, "settings": settings, "model": model,
                                       "untrained": untrained}
    events = train(model, ann.training_subset(n_train), settings.train_config(), device,
                   val_data=ann.test_set(), transform=settings.transform())
    history, end = live_training(events, key="ann_live", label=f"Run #{run_id}")
    st.caption("Loss (left axis) every few batches; accuracy (right axis, dashed) after each epoch, "
               "on the training images and on the 10,000 test images. Behind the scenes the engine "
               "runs backpropagation written out by hand for plain MLPs (`core/backprop.py`, checked "
               "against autograd in the tests): the same gradients as `loss.backward()`, about twice "
               "as fast on a CPU. Dropout, ELU and GELU fall back to autograd.")
    record = ann.record_run(run_id, settings, model, history, end, untrained, device)
    st.session_state.pop("ann_pending", None)
    _keep_run(record)
    if len(runs) > MAX_RUNS:
        dropped = runs.pop(0)
        st.info(f"Keeping the last {MAX_RUNS} runs: run {dropped.name} was dropped.")
    if end["reason"] == "diverged":
        st.error(end["message"] + " The run is kept so you can compare it, but it cannot read digits.")
    else:
        st.success(f"Run #{run_id}: {record.test_accuracy:.2f}% on the test set after "
                   f"{format_seconds(record.train_seconds)} on {device}.")

if runs:
    st.subheader("Results")
    names = [r.name for r in runs]
    if st.session_state.get("ann_result_run") not in names:
        st.session_state["ann_result_run"] = names[-1]
    shown_name = st.selectbox("Show the results of run", names, key="ann_result_run",
                              format_func=lambda n: f"{n} · {next(r for r in runs if r.name == n).settings.label()}")
    shown = next(r for r in runs if r.name == shown_name)
    a = shown.analysis
    m1, m2, m3 = st.columns(3)
    m1.metric("Test accuracy", f"{a.accuracy:.2f} %",
              delta=f"{a.accuracy - shown.untrained_accuracy:+.1f} points vs untrained")
    m2.metric("Training time", format_seconds(shown.train_seconds), help=f"on {shown.device}")
    m3.metric("Epochs run", f"{len(shown.epochs)} / {shown.settings.epochs}",
              help=shown.message)
    if shown.reason != "completed":
        st.caption(shown.message)
    history = shown.losses + shown.epochs  # the events as the live chart saw them
    st.altair_chart(training_chart(history), width="stretch")
    st.caption("If the test accuracy stops rising while the training accuracy keeps climbing, the "
               "model has started memorizing its training images (overfitting).")

    col_cm, col_pc = st.columns(2)
    with col_cm:
        cm = pd.DataFrame([{"true": t, "predicted": p, "count": int(a.confusion[t, p])}
                           for t in range(10) for p in range(10)])
        base = alt.Chart(cm).encode(x=alt.X("predicted:O", title="predicted digit"),
                                    y=alt.Y("true:O", title="true digit"))
        heat = base.mark_rect().encode(
            color=alt.Color("count:Q", scale=alt.Scale(type="symlog", scheme="blues"), legend=None),
            tooltip=["true", "predicted", "count"])
        text = base.mark_text(fontSize=10).encode(
            text="count:Q", color=alt.condition("datum.count > 300", alt.value("white"), alt.value("black")))
        st.altair_chart((heat + text).properties(title="Confusion matrix", height=330),
                        width="stretch")
        off = [(int(a.confusion[t, p]), t, p) for t in range(10) for p in range(10) if t != p]
        worst = ", ".join(f"{t}→{p} ({n})" for n, t, p in sorted(off, reverse=True)[:3] if n)
        st.caption("Rows: the true digit; columns: the model's answer. The diagonal counts the "
                   f"correct answers; look for dark cells off it. Most common mistakes: {worst or 'none'}.")
    with col_pc:
        pc = a.per_class.assign(digit=a.per_class["digit"].astype(str))
        low = max(0.0, float(pc["accuracy"].min()) - 2)
        bars = alt.Chart(pc).mark_bar(clip=True).encode(
            x=alt.X("digit:N", title="digit"),
            y=alt.Y("accuracy:Q", title="accuracy (%)", scale=alt.Scale(domain=[low, 100])),
            tooltip=["digit", "correct", "total", alt.Tooltip("accuracy:Q", format=".2f")])
        st.altair_chart(bars.properties(title="Per-class accuracy", height=330), width="stretch")
        hardest = pc.sort_values("accuracy").iloc[0]
        st.caption(f"Share of each digit's test images read correctly (the axis starts at {low:.0f}%). "
                   f"Hardest here: {hardest['digit']} at {hardest['accuracy']:.1f}%.")

    wrong = a.misclassified.head(24)
    if len(wrong):
        mistakes = int(a.confusion.sum() - np.trace(a.confusion))
        st.markdown(f"**Misclassified test digits**: the {len(wrong)} most confident of "
                    f"{mistakes:,} mistakes")
        x_test = ann.test_set()[0]
        st.image([_pixels(x_test[int(i)].numpy(), 2) for i in wrong["index"]],
                 caption=[f"true {t} → {p} ({c:.0%})" for t, p, c in
                          zip(wrong["true"], wrong["predicted"], wrong["confidence"])])
        st.caption("True label → the model's answer (its confidence). Many of these are hard even "
                   "for people; confident mistakes on clear digits show what the model has not learned.")
else:
    st.info("No run yet: press **Train**. For a quick first try, use 5,000 images and 2 epochs: "
            "the notebook recipe gets into the high 80s within seconds; MNIST's own normalization, "
            "one hidden layer of 512 and batch size 16 pass 90%.")

# --- 4. Compare runs ---
st.header("4 · Compare runs")
if not runs:
    st.caption("Every finished run is kept here with its settings, so you can change one slider, "
               "retrain, and see the effect side by side.")
else:
    names = [r.name for r in runs]
    # Overlay every run by default; forget runs that were removed or dropped.
    st.session_state["ann_compare_runs"] = [n for n in st.session_state.get("ann_compare_runs", names)
                                            if n in names]
    chosen = st.multiselect("Runs to overlay", names, key="ann_compare_runs")
    metric = st.radio("Curve", ["test accuracy (%)", "train loss"], horizontal=True, key="ann_compare_metric")
    curves = ann.runs_curves([r for r in runs if r.name in chosen])
    if curves.empty:
        st.info("Pick at least one run with a finished epoch to draw its curve.")
    else:
        chart = alt.Chart(curves).mark_line(point=True).encode(
            x=alt.X("epoch:Q", axis=alt.Axis(tickMinStep=1)),
            y=alt.Y(f"{metric}:Q", scale=alt.Scale(zero=False)),
            color=alt.Color("run:N", legend=alt.Legend(orient="bottom", columns=1, labelLimit=600)),
            tooltip=["run", "epoch", alt.Tooltip(f"{metric}:Q", format=".3f")])
        st.altair_chart(chart.properties(height=300), width="stretch")
        st.caption("One line per run, measured after each epoch. Runs that differ in one setting show "
                   "that setting's effect: a higher curve (accuracy) or lower curve (loss) is better.")
    table = ann.runs_table(runs)
    st.dataframe(table, hide_index=True, width="stretch")
    st.download_button("Download the table (CSV)", table.to_csv(index=False), file_name="mnist_runs.csv",
                       mime="text/csv", key="ann_runs_csv", on_click="ignore")

    def _remove_runs():
        doomed = set(st.session_state.get("ann_remove_select", []))
        st.session_state["ann_runs"] = [r for r in st.session_state["ann_runs"] if r.name not in doomed]

    col_sel, col_btn = st.columns([3, 1])
    col_sel.multiselect("Runs to remove", names, key="ann_remove_select")
    col_btn.button("🗑 Remove", key="ann_remove", on_click=_remove_runs,
                   disabled=not st.session_state.get("ann_remove_select"))

# --- 5. Draw a digit ---
st.header("5 · Draw a digit")
default_model, default_info = _default_model()
usable = [r for r in runs if r.usable()]
sources = ["Default model"] + (["My latest run"] if usable else [])
source = st.radio("Model that reads it", sources, horizontal=True, key="ann_draw_model",
                  help="The default model is the notebook's recipe trained once on all 60,000 images "
                       f"({default_info['test_accuracy']:.2f}% on the test set).")
if source == "My latest run" and usable:
    reader, reader_name = usable[-1].model(), f"run {usable[-1].name} ({usable[-1].test_accuracy:.2f}%)"
    reader_norm = usable[-1].settings.mean_std
else:
    reader, reader_name = default_model, f"the default model ({default_info['test_accuracy']:.2f}%)"
    reader_norm = (default_info["mean"], default_info["std"])
    if not usable:
        st.caption("Train a run above to read your drawing with your own model.")

col_in, col_out = st.columns([1, 1])
with col_in:
    kind = st.radio("Input", ["Draw on the canvas", "Upload a photo"], horizontal=True, key="ann_draw_input")
    image = None
    if kind == "Draw on the canvas":
        st.caption("Draw one digit with the mouse (or a finger), as large as you like. The toolbar "
                   "above the canvas undoes strokes or clears it (🗑).")
        drawing = st_canvas(stroke_width=20, stroke_color="#FFFFFF", background_color="#000000",
                            height=CANVAS, width=CANVAS, drawing_mode="freedraw",
                            return_image_data=True, key="ann_canvas")
        image = drawing.image_data
    else:
        photo = st.file_uploader("A photo of one handwritten digit (dark ink on light paper)",
                                 type=["png", "jpg", "jpeg", "webp", "bmp"], key="ann_photo")
        if photo is not None:
            try:
                image = np.asarray(Image.open(photo).convert("RGBA"))
            except Exception as exc:  # not an image, truncated file...
                st.error(f"Could not read that file as an image: {exc}")
with col_out:
    steps = None
    if image is not None:
        try:
            steps = preprocess_digit(image, *reader_norm)  # normalized as the reader was trained
        except ValueError as exc:
            st.error(f"Could not use that image: {exc}")
    if steps is None:
        st.info("Draw a digit on the canvas (or upload a photo) and the model will read it. "
                "Nothing drawn yet, so no prediction.")
    else:
        fit_h, fit_w = steps.fitted.shape
        st.image([_tile(steps.ink), _tile(steps.cropped), _tile(steps.fitted),
                  _tile(steps.centered)],
                 caption=[f"1 · ink ({steps.ink_style})", "2 · cropped to the ink",
                          f"3 · fit in 20×20 ({fit_w} wide, {fit_h} tall)",
                          "4 · centered in 28×28"], width=112)
        st.caption("MNIST's own preprocessing: crop to the ink, shrink so the longer side is 20 pixels "
                   "(keeping the aspect), then paste into 28×28 so the ink's center of mass sits at the "
                   f"middle. 5 · normalized as {reader_name.split(' (')[0]} was trained: values "
                   f"{steps.tensor.min():.2f} … {steps.tensor.max():.2f}, shape (1, 1, 28, 28).")
        probs = digit_probabilities(reader, steps.tensor)
        if not np.isfinite(probs).all():
            st.error("This model's outputs are not numbers (NaN): its training diverged. "
                     "Pick the default model or train again with a lower learning rate.")
        else:
            top = int(np.argmax(probs))
            st.metric("Prediction", str(top), delta=f"{probs[top]:.1%} confident", delta_color="off",
                      help=f"Read by {reader_name}.")
            bars = alt.Chart(pd.DataFrame({"digit": [str(d) for d in range(10)], "probability": probs})
                             ).mark_bar().encode(
                x=alt.X("digit:N"), y=alt.Y("probability:Q", scale=alt.Scale(domain=[0, 1])),
                color=alt.condition(f"datum.digit == '{top}'", alt.value("#e4572e"), alt.value("#4c78a8")),
                tooltip=["digit", alt.Tooltip("probability:Q", format=".3f")])
            st.altair_chart(bars.properties(height=200), width="stretch")
            st.caption("Softmax probabilities over the 10 digits. A tall single bar means the model is "
                       "sure; several medium bars mean it sees features of more than one digit.")
            if probs[top] < LOW_CONFIDENCE:
                st.warning(f"Low confidence ({probs[top]:.0%}): the model is unsure. Try drawing the "
                           "digit larger and clearer, or train a stronger model.")

# --- 6. Save ---
st.header("6 · Save the model")
if not runs:
    st.caption("Train a run to download its weights.")
else:
    if st.session_state.get("ann_save_run") not in [r.name for r in runs]:
        st.session_state["ann_save_run"] = runs[-1].name
    save_name = st.selectbox("Run to save", [r.name for r in runs], key="ann_save_run")
    to_save = next(r for r in runs if r.name == save_name)
    st.download_button(f"Download run {to_save.name}'s state_dict (.pt)",
                       data=lambda: ann.state_dict_bytes(to_save),
                       file_name=f"mnist_ann_run{to_save.run_id}.pt", mime="application/octet-stream",
                       key="ann_save", on_click="ignore")
    st.caption("A `torch.save(model.state_dict())` file. It loads into the model of 'Show the code' "
               "with the same settings: `model.load_state_dict(torch.load('mnist_ann_run"
               f"{to_save.run_id}.pt'))`.")

# --- 7. Show the code ---
st.header("7 · Show the code")
if settings is None:
    st.warning("Fix the settings above to see their code.")
else:
    show_code(ann.generate_code(settings), "mnist_ann.py", key="ann")
