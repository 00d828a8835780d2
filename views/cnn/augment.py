"""The CNN page's data augmentation section: the toggles, a few training images with augmented
versions of each, and one training without and one with augmentation from the same seed, their
accuracy curves overlaid with the train–test gap. Words from content/<lang>/augment.md."""
from dataclasses import replace

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st
from PIL import Image

from core import augment, cnn
from ui.content import say, t
from ui.export import export_box
from ui.runs import RunStore
from ui.share import setting
from ui.shell import current_device, format_seconds
from ui.training import announce, estimated, lever, run_training, time_check, train_button

GRID_IMAGES = 4    # training images in the grid, one per row
GRID_VERSIONS = 6  # augmented versions of each, next to the original
ARM_COLORS = ["#64748b", "#dc2626"]  # without (gray), with augmentation (red)


def render(settings: cnn.CNNSettings) -> cnn.CNNSettings:
    """Draw the section for the training settings above it; returns them with the augmentation
    the toggles chose (the code below shows it)."""
    dataset = settings.dataset
    st.header(t("augment.header"))
    st.markdown(t(f"augment.intro_{dataset}"))
    options = list(augment.OPTIONS[dataset])
    chosen = [name for name, col in zip(options, st.columns(len(options)))
              if setting(col.toggle, t(f"augment.toggle_{name}"), value=name in augment.DEFAULT_ON[dataset],
                         key=f"cnn_aug_{dataset}_{name}", help=t(f"augment.toggle_{name}_help"))]
    settings = replace(settings, augment=augment.from_toggles(dataset, chosen))
    _grid(settings)
    _comparison(settings)
    return settings


def grid_image(tiles: np.ndarray, zoom: int = 3, gap: int = 4) -> Image.Image:
    """(rows, cols, C, H, W) uint8 -> one picture, pixels enlarged, a wider gap after the first
    column (the originals)."""
    rows, cols, c, h, w = tiles.shape
    th, tw = h * zoom, w * zoom
    canvas = np.full((rows * (th + gap) + gap, cols * (tw + gap) + 3 * gap, 3), 255, np.uint8)
    for r in range(rows):
        for k in range(cols):
            tile = tiles[r, k].transpose(1, 2, 0).repeat(3 // c, axis=2)  # gray -> three equal channels
            top, left = gap + r * (th + gap), gap + k * (tw + gap) + (2 * gap if k else 0)
            canvas[top:top + th, left:left + tw] = tile.repeat(zoom, 0).repeat(zoom, 1)
    return Image.fromarray(canvas)


def _grid(settings: cnn.CNNSettings) -> None:
    """The same training images and GRID_VERSIONS augmented versions of each; a button draws anew."""
    st.subheader(t("augment.grid_header"))
    draw = st.session_state.setdefault("cnn_aug_draw", 0)
    if st.button(t("augment.redraw"), key="cnn_aug_redraw", disabled=not settings.augment.active):
        draw = st.session_state["cnn_aug_draw"] = draw + 1
    images, labels = cnn.load_split(settings.dataset, True, GRID_IMAGES, settings.seed)
    versions = augment.examples(images, settings.augment, GRID_VERSIONS, seed=draw)
    tiles = np.concatenate([images[:, None].numpy(), versions.numpy()], axis=1)
    classes = [t(f"cnn.class_{c}") if settings.dataset == "cifar" else c
               for c in cnn.DATASETS[settings.dataset]["classes"]]
    st.image(grid_image(tiles), caption=t("augment.grid_caption", labels=", ".join(classes[int(i)] for i in labels),
                                         versions=GRID_VERSIONS, draw=draw))
    if not settings.augment.active:
        st.info(t("augment.none_on"), icon="👆")


def _comparison(settings: cnn.CNNSettings) -> None:
    """Train without and with augmentation (one button, one run), then the overlaid curves,
    the figures and what happened."""
    st.subheader(t("augment.compare_header"))
    st.markdown(t("augment.compare_intro", n_train=settings.n_train, epochs=settings.epochs,
                  n_test=settings.n_test))
    store = RunStore("cnn_augment_runs")
    announce(store)
    bc = st.columns([1, 3])
    total = estimated(cnn.compare_estimate, settings)
    bc[1].caption(t("augment.estimate", total=format_seconds(total),
                    plain=format_seconds(estimated(cnn.estimate_seconds, replace(settings, augment=augment.Augment()))),
                    augmented=format_seconds(estimated(cnn.estimate_seconds, settings))))
    allowed = time_check(total, "cnn_aug_train",
                         [lever(t("cnn.epochs"), settings.epochs, range(1, settings.epochs), total),
                          lever(t("cnn.n_train"), settings.n_train, [1_000, 2_000, 5_000, 10_000], total,
                                "{:,}".format)], where=bc[1])
    clicked = train_button(store, t("augment.train"), "cnn_aug_train", where=bc[0], type="primary",
                           disabled=not settings.augment.active or not allowed)
    if clicked:
        models = {arm: cnn.build_cnn(settings.dataset, settings.seed) for arm in cnn.ARMS}
        run_training(cnn.compare_events(models, settings, current_device()), key="cnn_aug_run", store=store,
                     label=t("augment.training_label"), clear=True, live_view=_live,
                     settings=settings, weights=models, results=lambda history, end: cnn.comparison(history))
    run = next((r for r in reversed(store.runs) if r.settings.dataset == settings.dataset), None)
    if run is None:
        return
    if run.settings != settings:
        st.info(t("augment.other_settings", name=run.name), icon="ℹ️")
    figures = run.results
    for col, arm in zip(st.columns(2), cnn.ARMS):
        col.markdown(t(f"augment.arm_{arm}_header"))
        if figures[arm] is None:
            col.caption(t("augment.arm_missing"))
            continue
        mc = col.columns(3)
        mc[0].metric(t("augment.metric_test"), f"{figures[arm]['test']:.2f}%")
        mc[1].metric(t("augment.metric_train"), f"{figures[arm]['train']:.2f}%", help=t("augment.metric_train_help"))
        mc[2].metric(t("augment.metric_gap"), t("augment.points", value=figures[arm]["gap"]),
                     help=t("augment.metric_gap_help"))
        col.caption(t("augment.seconds_per_epoch", seconds=format_seconds(seconds_per_epoch(run.history, arm))))
    st.altair_chart(accuracy_chart(run.history), width="stretch")
    st.markdown(f"**{t('augment.gap_title')}**")  # above the chart: Vega clips this chart's own title
    st.altair_chart(gap_chart(run.history), width="stretch")
    verdict = cnn.comparison_verdict(figures)
    if verdict is not None:
        st.markdown(say(verdict))
    st.caption(t("augment.chart_caption", n_test=run.settings.n_test))
    export_box(store)


def seconds_per_epoch(history: list[dict], arm: str) -> float | None:
    """The arm's own training time per epoch (its last epoch event's model time / epochs)."""
    epochs = [e for e in history if e["kind"] == "epoch" and e.get("model") == arm]
    return epochs[-1]["model_elapsed"] / len(epochs) if epochs else None


def _arm_names() -> list[str]:
    return [t(f"augment.arm_{arm}") for arm in cnn.ARMS]


def _live(history: list[dict]) -> None:
    """While training: the accuracy curves once an epoch ended, the batch losses before that."""
    if any(e["kind"] == "epoch" for e in history):
        st.altair_chart(accuracy_chart(history), width="stretch")
        return
    names = dict(zip(cnn.ARMS, _arm_names()))
    rows = [{"epoch": e["epoch_float"], "loss": e["loss"], "arm": names[e["model"]]}
            for e in history if e["kind"] == "batch"]
    if rows:
        st.altair_chart(alt.Chart(pd.DataFrame(rows)).mark_line().encode(
            x=alt.X("epoch:Q", title=t("augment.axis_epoch")), y=alt.Y("loss:Q", title=t("augment.axis_loss")),
            color=alt.Color("arm:N", scale=alt.Scale(domain=_arm_names(), range=ARM_COLORS), title=None)
        ).properties(height=260), width="stretch")


def accuracy_chart(history: list[dict]) -> alt.Chart:
    """Test (solid) and clean training (dashed) accuracy per epoch, without and with augmentation."""
    names = dict(zip(cnn.ARMS, _arm_names()))
    kinds = {"clean_train_acc": t("augment.series_train"), "val_acc": t("augment.series_test")}
    rows = [{"epoch": e["epoch"], "accuracy": e[key], "arm": names[e["model"]], "measured": label}
            for e in history if e["kind"] == "epoch" for key, label in kinds.items()]
    return alt.Chart(pd.DataFrame(rows, columns=["epoch", "accuracy", "arm", "measured"])).mark_line(point=True).encode(
        x=alt.X("epoch:Q", title=t("augment.axis_epoch"), axis=alt.Axis(tickMinStep=1, format="d")),
        y=alt.Y("accuracy:Q", title=t("augment.axis_accuracy"), scale=alt.Scale(zero=False)),
        color=alt.Color("arm:N", scale=alt.Scale(domain=_arm_names(), range=ARM_COLORS), title=None,
                        legend=alt.Legend(orient="bottom")),
        strokeDash=alt.StrokeDash("measured:N", sort=list(kinds.values()), title=None,
                                  scale=alt.Scale(domain=list(kinds.values()), range=[[6, 4], [1, 0]]),
                                  legend=None),  # the title says which is dashed
        tooltip=[alt.Tooltip("arm:N", title=t("augment.tooltip_arm")), alt.Tooltip("measured:N", title=" "),
                 alt.Tooltip("epoch:Q", title=t("augment.axis_epoch")),
                 alt.Tooltip("accuracy:Q", title=t("augment.axis_accuracy"), format=".2f")],
    ).properties(height=280, title=t("augment.accuracy_title"))


def gap_chart(history: list[dict]) -> alt.Chart:
    """The gap clean training accuracy − test accuracy per epoch, without and with augmentation
    (the y axis starts at 0 or below: 0 is no overfitting)."""
    names = dict(zip(cnn.ARMS, _arm_names()))
    rows = [{"epoch": e["epoch"], "gap": e["clean_train_acc"] - e["val_acc"], "arm": names[e["model"]]}
            for e in history if e["kind"] == "epoch"]
    return alt.Chart(pd.DataFrame(rows, columns=["epoch", "gap", "arm"])).mark_line(point=True).encode(
        x=alt.X("epoch:Q", title=t("augment.axis_epoch"), axis=alt.Axis(tickMinStep=1, format="d")),
        y=alt.Y("gap:Q", title=t("augment.axis_gap")),
        color=alt.Color("arm:N", scale=alt.Scale(domain=_arm_names(), range=ARM_COLORS), title=None,
                        legend=alt.Legend(orient="bottom")),
        tooltip=[alt.Tooltip("arm:N", title=t("augment.tooltip_arm")),
                 alt.Tooltip("epoch:Q", title=t("augment.axis_epoch")),
                 alt.Tooltip("gap:Q", title=t("augment.axis_gap"), format=".2f")],
    ).properties(height=220)


def code_values(aug: augment.Augment) -> dict:
    """The recipe's augmentation settings for `aug` (all off: the recipe trains as before)."""
    return {"CROP_PADDING": aug.crop_padding, "FLIP": aug.flip, "JITTER": aug.jitter, "DEGREES": aug.degrees}
