"""The ANN page's "Draw a digit": readers side by side on one drawing, the shift control and why
the MLP breaks when the digit moves; and the CNN page's own-image upload through the same loader."""
import altair as alt
import numpy as np
import pandas as pd
import streamlit as st
import torch
from PIL import Image
from streamlit_drawable_canvas import st_canvas

from core import ann, cnn, digits
from core.data import DataError, normalize
from ui.content import labels, t
from ui.share import setting
from ui.shell import page_file

CANVAS = 280           # canvas side in pixels: 10x MNIST's 28
LOW_CONFIDENCE = 0.60  # below this top probability a reader is called unsure
MAX_SHIFT = 6          # the shift sliders and the chart go this many pixels either way
READERS = ("cnn", "mlp", "latest")  # the two shipped readers and the learner's newest usable run

_shipped_model = st.cache_resource(show_spinner=False)(digits.digit_model)  # shipped files: loads at once


@st.cache_resource(show_spinner=False)
def _shipped_info(kind: str) -> dict:
    return digits.digit_model_info(kind)


def _reader(kind: str, runs: list) -> dict:
    """What one reader needs: its name, model, the normalization it was trained with, its figures."""
    if kind == "latest":
        run = runs[-1]
        mean, std = run.settings.mean_std
        return {"kind": kind, "name": t("digits.reader_latest"), "model": ann.load_model(run.settings, run.state_dict),
                "mean": mean, "std": std, "figures": t("digits.figures_run", mnist=run.results["accuracy"])}
    info = _shipped_info(kind)
    return {"kind": kind, "name": t(f"digits.reader_{kind}"), "model": _shipped_model(kind),
            "mean": info["mean"], "std": info["std"],
            "figures": t("digits.figures", mnist=info["test_accuracy"], drawn=info.get("drawn_accuracy", float("nan")))}


def _drawing() -> tuple[digits.DigitSteps | None, str | None]:
    """The canvas or an uploaded photo, preprocessed; (None, what to say) when there is no digit."""
    kind = setting(st.radio, t("digits.input"), ["canvas", "photo"], horizontal=True, key="ann_draw_input",
                   format_func=labels("digits.input", ["canvas", "photo"]))
    if kind == "canvas":
        st.caption(t("digits.canvas_caption"))
        image = st_canvas(stroke_width=20, stroke_color="#FFFFFF", background_color="#000000", height=CANVAS,
                          width=CANVAS, drawing_mode="freedraw", return_image_data=True, key="ann_canvas").image_data
        steps = None if image is None else digits.preprocess_digit(image)
        return steps, None if steps is not None else "info:digits.nothing_drawn"
    photo = st.file_uploader(t("digits.photo"), type=["png", "jpg", "jpeg", "webp", "bmp"], key="ann_photo")
    if photo is None:
        return None, "info:digits.nothing_drawn"
    try:
        image = digits.load_image(photo)
    except DataError:
        return None, "error:digits.photo_unreadable_mnist"
    steps = digits.preprocess_digit(image)
    return steps, None if steps is not None else "warning:digits.no_digit_in_photo"


@torch.no_grad()
def _probabilities(reader: dict, pictures: list[np.ndarray]) -> np.ndarray:
    """Softmax over the 10 digits for each 28x28 ink picture, as the reader was trained to see it."""
    x = torch.cat([digits.pixels_to_input(p, reader["mean"], reader["std"]) for p in pictures])
    model = reader["model"].eval()
    return torch.softmax(model(x.to(next(model.parameters()).device)), dim=1).cpu().numpy()


def shift_curves(readers: list[dict], centered: np.ndarray, most: int = MAX_SHIFT) -> pd.DataFrame:
    """For each reader: the probability of its unmoved answer with the ink moved -most..most pixels sideways."""
    shifts = list(range(-most, most + 1))
    rows = []
    for reader in readers:
        probs = _probabilities(reader, [digits.shift_pixels(centered, dx, 0) for dx in shifts])
        answer = int(np.argmax(probs[most]))
        rows += [{"reader": reader["name"], "shift": dx, "confidence": float(p[answer])}
                 for dx, p in zip(shifts, probs)]
    return pd.DataFrame(rows)


def _shift_chart(curves: pd.DataFrame) -> alt.Chart:
    return alt.Chart(curves, title=t("digits.shift_chart_title")).mark_line(point=True).encode(
        x=alt.X("shift:Q", title=t("digits.axis_shift"), axis=alt.Axis(tickMinStep=1)),
        y=alt.Y("confidence:Q", title=t("digits.axis_confidence"), scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("reader:N", title=t("digits.axis_reader")),  # legend at the right: below, it squashes the plot
        tooltip=[alt.Tooltip("reader:N", title=t("digits.axis_reader")),
                 alt.Tooltip("shift:Q", title=t("digits.axis_shift")),
                 alt.Tooltip("confidence:Q", title=t("digits.axis_confidence"), format=".3f")]).properties(height=260)


def _answer(col, reader: dict, probs: np.ndarray) -> None:
    """One reader's column: its answer, how sure, its figures, its probability bars."""
    if not np.isfinite(probs).all():
        col.error(t("digits.diverged_reader"))
        return
    top = int(np.argmax(probs))
    col.metric(t("digits.prediction", reader=reader["name"]), str(top),
               delta=t("digits.confident", probability=probs[top]), delta_color="off")
    col.caption(reader["figures"])
    col.altair_chart(probability_chart(probs), width="stretch")
    if probs[top] < LOW_CONFIDENCE:
        col.warning(t("digits.low_confidence", probability=probs[top]))


def render(runs: list) -> None:
    """The whole "Draw a digit" section; `runs`: the page's runs that can read digits, oldest first."""
    options = list(READERS) if runs else list(READERS[:2])
    picked = st.session_state.get("ann_draw_readers", ["cnn", "mlp"])  # the default: both shipped readers
    st.session_state["ann_draw_readers"] = [k for k in picked if k in options]  # a removed run leaves the picks too
    chosen = st.multiselect(t("digits.readers"), options, key="ann_draw_readers",
                            format_func=labels("digits.reader", READERS), help=t("digits.readers_help"))
    if not runs:
        st.caption(t("digits.train_to_compare"))
    col_in, col_steps = st.columns([1, 1])
    with col_in:
        steps, message = _drawing()
    readers = [_reader(kind, runs) for kind in chosen]
    if steps is None:
        kind, key = message.split(":", 1)
        getattr(col_steps, kind)(t(key))
    else:
        images, captions, caption = steps_gallery(steps, t("digits.steps_reader"))
        col_steps.image(images, caption=captions, width=112)
        col_steps.caption(caption)
        st.markdown(f"**{t('digits.shift_header')}**")
        col_shift, col_seen = st.columns([3, 1])
        col_shift.caption(t("digits.shift_intro"))
        dx = setting(col_shift.slider, t("digits.shift_x"), -MAX_SHIFT, MAX_SHIFT, 0, key="ann_shift_x")
        dy = setting(col_shift.slider, t("digits.shift_y"), -MAX_SHIFT, MAX_SHIFT, 0, key="ann_shift_y")
        shifted = digits.shift_pixels(steps.centered, dx, dy)
        col_seen.image(tile(shifted, 140), caption=t("digits.shifted_caption", dx=dx, dy=dy), width=140)
        if not readers:
            st.info(t("digits.pick_a_reader"))
        for col, reader in zip(st.columns(max(1, len(readers))), readers):
            _answer(col, reader, _probabilities(reader, [shifted])[0])
        if readers:
            st.altair_chart(_shift_chart(shift_curves(readers, steps.centered)), width="stretch")
            st.caption(t("digits.shift_chart_caption", most=MAX_SHIFT))
    st.subheader(t("digits.why_header"))
    st.markdown(t("digits.why"))
    st.page_link(page_file("cnn"), label=t("digits.cnn_link"), icon="🧩")


# --- The CNN page: its own-image upload, through the one loader, read by the same default reader ---

def cnn_upload(upload, dataset: str) -> torch.Tensor | None:
    """An uploaded file -> the CNN page's (C, H, W) uint8 input, or None after saying why not."""
    try:
        rgba = digits.load_image(upload)
    except DataError:
        st.error(t(f"digits.photo_unreadable_{dataset}"))
        return None
    image = cnn.upload_to_image(Image.fromarray(rgba), dataset)
    if image is None:
        st.warning(t("cnn.upload_blank"))
    return image


def default_reading(image: torch.Tensor | None, dataset: str, source: str) -> None:
    """Under the learner's own digit on the CNN page: what the ANN page's default reader makes of it."""
    if dataset != "mnist" or source == "test" or image is None:
        return
    info = _shipped_info("cnn")
    x = normalize(image.reshape(1, 28, 28), info["mean"], info["std"])[None]  # (1, 1, 28, 28)
    probs = digits.digit_probabilities(_shipped_model("cnn"), x)
    st.caption(t("digits.default_reads", digit=int(np.argmax(probs)), probability=float(probs.max())))


def tile(image: np.ndarray, side: int = 112) -> np.ndarray:
    """A 0..1 image of any size, scaled to fit a side x side tile on gray, so the steps line up.

    Small images are enlarged by whole pixels (crisp MNIST pixels), large ones smoothly shrunk.
    """
    img = Image.fromarray(np.clip(np.round(image * 255), 0, 255).astype(np.uint8))
    scale = side / max(img.size)
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    img = img.resize(size, Image.NEAREST if scale >= 1 else Image.LANCZOS)
    framed = Image.new("L", (side, side), 70)  # gray: shows where the image itself ends
    framed.paste(img, ((side - size[0]) // 2, (side - size[1]) // 2))
    return np.asarray(framed)

def steps_gallery(steps, reader: str) -> tuple[list[np.ndarray], list[str], str]:
    """core.digits.DigitSteps as four equal tiles, their captions, and the caption explaining them
    (`reader` names the model whose normalization the last step used)."""
    fit_h, fit_w = steps.fitted.shape
    style = t(f"ann.ink_style_{steps.ink_style.replace(' ', '_')}")
    captions = [t("ann.step_ink", style=style), t("ann.step_cropped"),
                t("ann.step_fitted", width=fit_w, height=fit_h), t("ann.step_centered")]
    caption = t("ann.preprocess_caption", reader=reader, low=float(steps.tensor.min()), high=float(steps.tensor.max()))
    return [tile(img) for img in (steps.ink, steps.cropped, steps.fitted, steps.centered)], captions, caption

def probability_chart(probs: np.ndarray) -> alt.Chart:
    """Softmax probabilities of the 10 digits, the top one highlighted."""
    top = int(np.argmax(probs))
    frame = pd.DataFrame({"digit": [str(d) for d in range(10)], "probability": probs})
    return alt.Chart(frame).mark_bar().encode(
        x=alt.X("digit:N", title=t("ann.axis_digit")),
        y=alt.Y("probability:Q", title=t("ann.axis_probability"), scale=alt.Scale(domain=[0, 1])),
        color=alt.condition(f"datum.digit == '{top}'", alt.value("#e4572e"), alt.value("#4c78a8")),
        tooltip=[alt.Tooltip("digit:N", title=t("ann.axis_digit")),
                 alt.Tooltip("probability:Q", title=t("ann.axis_probability"), format=".3f")]).properties(height=200)
