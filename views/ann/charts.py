"""The ANN page's own pictures and tables: MNIST pixels, the confusion matrix, per-class and
probability bars, the run overlay, and core.ann's tables with their words from content/."""

import altair as alt
import numpy as np
import pandas as pd

from core.ann import AnnSettings
from core.engine import OPTIMIZER_LABELS
from core.models import activation_name
from ui.content import t
from ui.training import end_text


def pixels(image: np.ndarray, scale: int) -> np.ndarray:
    """0..1 float or uint8 image -> uint8, enlarged by whole pixels so MNIST pixels stay crisp."""
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        arr = np.clip(np.round(arr * 255), 0, 255).astype(np.uint8)
    return np.kron(arr, np.ones((scale, scale), dtype=np.uint8))



def normalization_name(key: str) -> str:
    """A core.ann.NORMALIZATIONS key in words ("notebook", "mnist", "none")."""
    return t(f"ann.norm_name_{key}")


def run_labels(runs) -> dict[str, str]:
    """Run name -> '#2 · its settings', for the pickers of runs."""
    return {r.name: f"{r.name} · {settings_label(r.settings)}" for r in runs}


def settings_label(s: AnnSettings) -> str:
    """A short one-line description, e.g. '784-128-64-10 ReLU · SGD + momentum lr 0.01 · …'."""
    drop = " " + t("ann.settings_label_dropout", dropout=s.dropout) if s.dropout else ""
    norm = ("" if s.normalization == "notebook" else
            " · " + t("ann.settings_label_normalization", normalization=normalization_name(s.normalization)))
    return t("ann.settings_label", architecture=s.architecture(), activation=activation_name(s.activation),
             dropout=drop,
             optimizer=OPTIMIZER_LABELS[s.optimizer], lr=s.lr, batch_size=s.batch_size, epochs=s.epochs,
             n_train=s.n_train, seed=s.seed, normalization=norm)


def layer_frame(table: pd.DataFrame) -> pd.DataFrame:
    """core.ann.layer_table with its layer names, notes and column titles in words."""
    rows = [{t("ann.col_layer"): t(f"ann.layer_{r.kind}", name=r.name), t("ann.col_shape"): r.shape,
             t("ann.col_params"): r.params, t("ann.col_arithmetic"): r.arithmetic or t(f"ann.note_{r.kind}")}
            for r in table.itertuples()]
    return pd.DataFrame(rows)


def runs_frame(table: pd.DataFrame) -> pd.DataFrame:
    """core.ann.runs_table with its column titles and its ids (no hidden layer, activation,
    normalization, outcome) in words, as shown and as downloaded."""
    if table.empty:
        return table.rename(columns={c: t(f"ann.col_{c}") for c in table.columns})
    words = table.assign(hidden=[h or t("ann.hidden_none") for h in table["hidden"]],
                         activation=table["activation"].map(activation_name),
                         normalization=table["normalization"].map(normalization_name),
                         outcome=[t(f"ann.outcome_{o}") for o in table["outcome"]])
    return words.rename(columns={c: t(f"ann.col_{c}") for c in table.columns})


def gray_levels(mean: float, std: float) -> pd.DataFrame:
    """What a few gray levels become after ToTensor and Normalize(mean, std)."""
    levels = [0, 64, 128, 255]
    return pd.DataFrame({t("ann.col_pixel"): levels, t("ann.col_input"): [round((p / 255 - mean) / std, 3)
                                                                          for p in levels]})


def confusion_caption(confusion: np.ndarray, top: int = 3) -> str:
    """The caption under the confusion matrix, naming the most frequent (true → predicted) mistakes."""
    off = [(int(confusion[i, j]), i, j) for i in range(10) for j in range(10) if i != j]
    worst = ", ".join(f"{i}→{j} ({n})" for n, i, j in sorted(off, reverse=True)[:top] if n)
    return t("ann.confusion_caption", worst=worst or t("ann.no_mistakes"))


def confusion_chart(confusion: np.ndarray) -> alt.LayerChart:
    """The 10x10 counts as a heat map with the numbers written in."""
    cm = pd.DataFrame([{"true": i, "predicted": j, "count": int(confusion[i, j])}
                       for i in range(10) for j in range(10)])
    base = alt.Chart(cm).encode(x=alt.X("predicted:O", title=t("ann.axis_predicted")),
                                y=alt.Y("true:O", title=t("ann.axis_true")))
    heat = base.mark_rect().encode(
        color=alt.Color("count:Q", scale=alt.Scale(type="symlog", scheme="blues"), legend=None),
        tooltip=[alt.Tooltip("true:O", title=t("ann.axis_true")),
                 alt.Tooltip("predicted:O", title=t("ann.axis_predicted")),
                 alt.Tooltip("count:Q", title=t("ann.tip_count"))])
    text = base.mark_text(fontSize=10).encode(
        text="count:Q", color=alt.condition("datum.count > 300", alt.value("white"), alt.value("black")))
    return (heat + text).properties(title=t("ann.confusion_title"), height=330)


def _per_class_low(per_class: pd.DataFrame) -> float:
    return max(0.0, float(per_class["accuracy"].min()) - 2)


def per_class_chart(per_class: pd.DataFrame) -> alt.Chart:
    """Accuracy per digit, the axis starting a little below the lowest so the differences show."""
    pc = per_class.assign(digit=per_class["digit"].astype(str))
    low = _per_class_low(per_class)
    bars = alt.Chart(pc).mark_bar(clip=True).encode(
        x=alt.X("digit:N", title=t("ann.axis_digit")),
        y=alt.Y("accuracy:Q", title=t("ann.axis_class_accuracy"), scale=alt.Scale(domain=[low, 100])),
        tooltip=[alt.Tooltip("digit:N", title=t("ann.axis_digit")),
                 alt.Tooltip("correct:Q", title=t("ann.tip_correct")),
                 alt.Tooltip("total:Q", title=t("ann.tip_total")),
                 alt.Tooltip("accuracy:Q", title=t("ann.axis_class_accuracy"), format=".2f")])
    return bars.properties(title=t("ann.per_class_title"), height=330)


def per_class_caption(per_class: pd.DataFrame) -> str:
    hardest = per_class.sort_values("accuracy").iloc[0]
    return t("ann.per_class_caption", low=_per_class_low(per_class), digit=int(hardest["digit"]),
             accuracy=hardest["accuracy"])


def mistakes_gallery(wrong: pd.DataFrame, confusion: np.ndarray, x_test) -> tuple[str, list[np.ndarray], list[str]]:
    """A header counting the mistakes, the misclassified test images (enlarged) and their
    'true 4 → 9 (97%)' captions."""
    mistakes = int(confusion.sum() - np.trace(confusion))
    header = t("ann.misclassified_header", shown=len(wrong), mistakes=mistakes)
    images = [pixels(x_test[int(i)].numpy(), 2) for i in wrong["index"]]
    captions = [t("ann.mistake", true=tr, predicted=p, confidence=c)
                for tr, p, c in zip(wrong["true"], wrong["predicted"], wrong["confidence"])]
    return header, images, captions



def run_message(run) -> str:
    """How the run ended (the end event's words), or how far a run Stop cut short got."""
    if run.end is not None:
        return end_text(run.end)
    return t("ann.stopped_message", done=len(run.epochs), total=run.settings.epochs)



def compare_chart(curves: pd.DataFrame, metric: str, runs) -> alt.Chart:
    """One line per run over the epochs: `metric` is "test_acc" or "train_loss" of core.ann.runs_curves;
    the legend names each run with its settings (`runs`: the Run records drawn)."""
    title = t(f"ann.curve_{metric}")
    labels = {r.name: settings_label(r.settings) for r in runs}
    frame = curves.assign(run=[f"{n} · {labels.get(n, '')}" for n in curves["run"]])
    return alt.Chart(frame).mark_line(point=True).encode(
        x=alt.X("epoch:Q", title=t("common.axis_epoch"), axis=alt.Axis(tickMinStep=1)),
        y=alt.Y(f"{metric}:Q", title=title, scale=alt.Scale(zero=False)),
        color=alt.Color("run:N", title=t("ann.axis_run"),
                        legend=alt.Legend(orient="bottom", columns=1, labelLimit=600)),
        tooltip=[alt.Tooltip("run:N", title=t("ann.axis_run")), alt.Tooltip("epoch:Q", title=t("common.axis_epoch")),
                 alt.Tooltip(f"{metric}:Q", title=title, format=".3f")]).properties(height=300)
