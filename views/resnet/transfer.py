"""The ResNet page's offline transfer-learning section: the shipped CIFAR-5 backbone reused on
the other five classes, scratch vs frozen backbone vs fine-tuning, and accuracy vs labels."""
import inspect

import altair as alt
import pandas as pd
import streamlit as st
import torch

from core import data, transfer
from core.engine import FAILED
from ui.code import show_code
from ui.content import t
from ui.export import export_box
from ui.runs import RunStore
from ui.share import setting
from ui.shell import format_seconds
from ui.training import announce, end_text, estimated, lever, run_training, time_check, train_button

COLORS = ["#7f7f7f", "#1f77b4", "#ff7f0e"]  # scratch grey, frozen blue, fine-tuning orange
BACKBONE_LRS = [1e-5, 3e-5, 1e-4, 3e-4, 1e-3]


def _names() -> dict[str, str]:
    return {m: t(f"transfer.model_{m}") for m in transfer.MODES}


def _color(field: str = "model") -> alt.Color:
    names = _names()
    return alt.Color(f"{field}:N", title=t("transfer.chart_model"), legend=alt.Legend(labelLimit=300),
                     scale=alt.Scale(domain=[names[m] for m in transfer.MODES], range=COLORS))


def curves_chart(history: list[dict]) -> alt.Chart:
    """Test accuracy per epoch of the three models, overlaid (also the live view)."""
    return _accuracy_lines(transfer.curves(history), "epoch", t("transfer.chart_epoch"), 0,
                           alt.Axis(tickMinStep=1), alt.Undefined, t("transfer.curves_title"))


def sweep_chart(frame: pd.DataFrame) -> alt.Chart:
    """Final test accuracy against labelled images per class (log axis), one line per model."""
    return _accuracy_lines(frame, "size", t("transfer.chart_per_class"), 10,
                           alt.Axis(values=list(transfer.SWEEP_SIZES)), alt.Scale(type="log"),
                           t("transfer.sweep_title"))


def _accuracy_lines(frame: pd.DataFrame, x: str, x_title: str, first_x, axis, scale, title: str) -> alt.Chart:
    """Test accuracy (%) against `x`, one coloured line per model; an empty frame draws empty axes."""
    frame = frame.assign(model=frame["model"].map(_names()))
    if frame.empty:
        frame = pd.DataFrame([{"model": _names()["scratch"], x: first_x, "accuracy": None}])
    return alt.Chart(frame).mark_line(point=True).encode(
        x=alt.X(f"{x}:Q", title=x_title, scale=scale, axis=axis),
        y=alt.Y("accuracy:Q", title=t("transfer.chart_accuracy"), scale=alt.Scale(domain=[0, 100])),
        color=_color(),
        tooltip=[alt.Tooltip("model:N", title=t("transfer.chart_model")),
                 alt.Tooltip(f"{x}:Q", title=x_title),
                 alt.Tooltip("accuracy:Q", title=t("transfer.chart_accuracy"), format=".1f")],
    ).properties(title=title, height=260)


def _summary_table(table: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({t("transfer.col_model"): table["model"].map(_names()),
                         t("transfer.col_accuracy"): table["accuracy"].map("{:.1f} %".format),
                         t("transfer.col_best"): table["best"].map("{:.1f} %".format),
                         t("transfer.col_seconds"): table["seconds"].map(format_seconds)}
                        ).set_index(t("transfer.col_model"))


def _verdict(table: pd.DataFrame, per_class: int) -> str | None:
    found = transfer.verdict(table)
    if found is None:
        return None
    key = "transfer.verdict_gain" if found["gain"] >= 2 else (
        "transfer.verdict_loss" if found["gain"] <= -2 else "transfer.verdict_even")
    return t(key, n=per_class, best=_names()[found["best"]], accuracy=found["accuracy"],
             scratch=found["scratch"], gain=abs(found["gain"]))


@st.cache_resource(show_spinner=False)
def _backbone() -> transfer.Backbone:
    return transfer.load_backbone()


@st.cache_data(max_entries=2, show_spinner=False)
def _counts(seed: int) -> dict:
    models = transfer.build_models(transfer.TransferSettings(seed=seed), _backbone())
    return {m: transfer.parameter_counts(model) for m, model in models.items()}


def render(device: torch.device) -> None:
    """The whole offline section; everything in it works without the internet."""
    st.subheader(t("transfer.header"))
    st.markdown(t("transfer.intro"))
    try:
        info = transfer.backbone_info()
    except Exception:  # missing, truncated or foreign file: say how to rebuild it, no traceback
        path, root = transfer.BACKBONE_PATH, data.DATA_DIR.parent
        st.warning(t("transfer.missing", path=path.relative_to(root) if path.is_relative_to(root) else path))
        st.subheader(t("transfer.online_header"))
        return
    source = ", ".join(t(f"transfer.class_{name}") for name in info["classes"])
    target = ", ".join(t(f"transfer.class_{data.CIFAR10_CLASSES[c]}") for c in transfer.TARGET_CLASSES)
    st.caption(t("transfer.backbone_caption", source=source, target=target,
                 params=info["parameters"], epochs=info["epochs"], accuracy=info["test_accuracy"],
                 kb=transfer.BACKBONE_PATH.stat().st_size / 1024))

    c1, c2, c3 = st.columns(3)
    per_class = setting(c1.select_slider, t("transfer.per_class_label"), transfer.PER_CLASS_CHOICES, 50,
                        key="transfer_per_class", help=t("transfer.per_class_help"))
    epochs = setting(c2.slider, t("transfer.epochs_label"), 2, 30, 15, key="transfer_epochs")
    backbone_lr = setting(c3.select_slider, t("transfer.backbone_lr_label"), BACKBONE_LRS, 1e-4,
                          key="transfer_backbone_lr", format_func="{:g}".format, help=t("transfer.backbone_lr_help"))
    settings = transfer.TransferSettings(per_class=per_class, epochs=epochs, backbone_lr=backbone_lr)

    counts = _counts(settings.seed)
    st.dataframe(pd.DataFrame({t("transfer.col_model"): [_names()[m] for m in transfer.MODES],
                               t("transfer.col_trainable"): [f"{counts[m]['trainable']:,}" for m in transfer.MODES],
                               t("transfer.col_frozen"): [f"{counts[m]['frozen']:,}" for m in transfer.MODES]}),
                 hide_index=True)
    st.markdown(t("transfer.freeze_text"))
    st.code(inspect.getsource(transfer.TransferNet), language="python")

    estimate = estimated(transfer.estimate_seconds, settings)
    store = RunStore("transfer_runs")
    announce(store)
    left, right = st.columns([1, 3])
    right.caption(t("transfer.estimate", n=settings.n_train, epochs=epochs, estimate=format_seconds(estimate),
                    device=device.type))
    allowed = time_check(estimate, "transfer_train", [
        lever(t("transfer.epochs_label"), epochs, range(2, epochs), estimate),
        lever(t("transfer.per_class_label"), settings.per_class, transfer.PER_CLASS_CHOICES, estimate)], where=right)
    clicked = train_button(store, t("transfer.button"), "transfer_train", where=left, type="primary",
                           disabled=not allowed)
    if clicked:
        store.clear()  # the section compares the three models of the latest run only
        models = transfer.build_models(settings, _backbone())
        run_training(transfer.compare(settings, models, transfer.target_data(settings), device),
                     key="transfer_run", label=t("transfer.label"), store=store, weights=models,
                     settings=settings, results=lambda history, end: {"table": transfer.summary(history)},
                     live_view=lambda history: st.altair_chart(curves_chart(history), width="stretch"),
                     clear=True)

    run = store.latest
    if run is not None:
        if run.settings != settings:
            st.info(t("transfer.other_settings", n=run.settings.per_class))
        table = run.results["table"]
        missing = [m for m in transfer.MODES if m not in set(table["model"])]
        if missing:
            st.warning(t("transfer.stopped", models=", ".join(_names()[m] for m in missing)))
        for end in (e for e in run.history if e["kind"] == "model_end" and e["reason"] in FAILED):
            st.warning(t("transfer.failed", model=_names()[end["model"]], message=end_text(end)))
        st.altair_chart(curves_chart(run.history), width="stretch")
        if len(table):
            st.table(_summary_table(table))
        said = _verdict(table, run.settings.per_class)
        if said:
            st.markdown(said)
        st.caption(t("transfer.table_caption", n=run.settings.n_train))

    export_box(store)
    _render_sweep(settings, device)
    show_code("transfer", key="transfer_code", optimizer=settings.train_config(), **settings.recipe_values())
    st.subheader(t("transfer.online_header"))


def _render_sweep(settings: transfer.TransferSettings, device: torch.device) -> None:
    st.markdown(t("transfer.sweep_text", sizes=", ".join(map(str, transfer.SWEEP_SIZES))))
    store = RunStore("transfer_sweeps")
    announce(store)
    estimate = estimated(transfer.sweep_estimate_seconds, settings)
    left, right = st.columns([1, 3])
    right.caption(t("transfer.sweep_estimate", epochs=settings.epochs, estimate=format_seconds(estimate)))
    allowed = time_check(estimate, "transfer_sweep", [
        lever(t("transfer.epochs_label"), settings.epochs, range(2, settings.epochs), estimate)], where=right)
    clicked = train_button(store, t("transfer.sweep_button"), "transfer_sweep", where=left, disabled=not allowed)
    if clicked:
        store.clear()
        run_training(transfer.sweep(settings, device, transfer.SWEEP_SIZES, _backbone()),
                     key="transfer_sweep_run", label=t("transfer.sweep_label"), store=store,
                     settings=settings, results=lambda history, end: {"frame": transfer.sweep_frame(history)},
                     live_view=lambda history: st.altair_chart(sweep_chart(transfer.sweep_frame(history)),
                                                               width="stretch"),
                     clear=True)
    run = store.latest
    if run is None:
        return
    frame = run.results["frame"]
    st.altair_chart(sweep_chart(frame), width="stretch")
    if len(frame):
        wide = frame.assign(model=frame["model"].map(_names())).pivot(index="size", columns="model",
                                                                       values="accuracy")
        wide = wide[[n for n in _names().values() if n in wide.columns]]
        st.table(wide.rename_axis(t("transfer.chart_per_class")).style.format("{:.1f} %"))
        gains = [(size, transfer.verdict(part)) for size, part in frame.groupby("size")]
        st.markdown(t("transfer.sweep_gains", gains=", ".join(
            t("transfer.sweep_gain", n=size, gain=found["gain"], best=_names()[found["best"]])
            for size, found in gains if found is not None)))
        st.caption(t("transfer.sweep_caption", epochs=run.settings.epochs))
