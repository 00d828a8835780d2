"""Page 2: the course notebook's SimpleANN on MNIST: tune, retrain, compare runs, draw a digit."""
import math

import streamlit as st
import torch

from core import ann
from core.engine import FAILED
from ui import digit_reader
from ui.charts import training_chart
from ui.code import show_code
from ui.content import labels, t
from ui.export import export_box
from ui.runs import RunStore, follow_latest, remove_row
from ui.share import setting
from ui.shell import current_device, format_seconds
from ui.training import (
    announce,
    end_text,
    estimated,
    lever,
    measured_slowly,
    run_training,
    time_check,
    train_button,
    warn_lr,
)
from views.ann import charts, regression, widgets

_sample_grid = st.cache_resource(show_spinner=False)(ann.sample_grid)


@st.cache_data(show_spinner=False, max_entries=64)
def _untrained_accuracy(hidden: tuple, activation: str, dropout: float, seed: int, normalization: str, device: str):
    s = ann.AnnSettings(hidden=hidden, activation=activation, dropout=dropout, seed=seed, normalization=normalization)
    return ann.untrained_accuracy(s, torch.device(device))


@st.cache_resource(show_spinner=False)
def _untrained_known() -> dict:
    """Untrained accuracies of networks too large for a rerun, as measured on demand, for every session."""
    return {}


store = RunStore("ann_runs")
announce(store)
device = current_device()
st.title(t("ann.title"))
st.markdown(t("ann.intro"))

# --- 1. Data ---
st.header(t("ann.data_header"))
grid_images, grid_labels = _sample_grid(per_class=2)
st.image([charts.pixels(img, 2) for img in grid_images], caption=[t("ann.grid_label", digit=d) for d in grid_labels])
st.caption(t("ann.grid_caption"))
n_train = setting(st.slider, t("ann.n_train"), ann.N_TRAIN_MIN, ann.N_TRAIN_MAX, 60_000, step=1_000, key="ann_n_train",
                  help=t("ann.n_train_help"))
counts = torch.bincount(ann.training_subset(n_train)[1], minlength=10)
st.caption(t("ann.n_train_caption", n_train=n_train, low=int(counts.min()), high=int(counts.max())))
col_formula, col_table = st.columns([3, 2])
normalization = setting(col_formula.selectbox, t("ann.normalization"), list(ann.NORMALIZATIONS),
                        key="ann_normalization", format_func=labels("ann.normalization", ann.NORMALIZATIONS),
                        help=t("ann.normalization_help"))
mean, std = ann.NORMALIZATIONS[normalization]
col_formula.markdown(t("ann.normalization_intro"))
col_formula.latex(t("ann.normalization_latex", mean=mean, std=std))
col_formula.caption(t("ann.normalization_caption", black=(0 - mean) / std, ink=(1 - mean) / std))
col_table.dataframe(charts.gray_levels(mean, std), hide_index=True)
col_table.caption(t("ann.gray_levels_caption"))

# --- 2. Model ---
st.header(t("ann.model_header"))
hidden, activation, dropout = widgets.layers("ann", "ann", "128, 64", 0.0)
if hidden is not None:
    if not hidden:
        st.info(t("ann.no_hidden"))
    table = ann.layer_table(ann.AnnSettings(hidden=hidden, activation=activation, dropout=dropout))
    st.metric(t("ann.parameters"), f"{int(table['params'].iloc[-1]):,}")
    st.dataframe(charts.layer_frame(table), hide_index=True, width="stretch",
                 column_config={t("ann.col_params"): st.column_config.NumberColumn(format="localized")})
    st.caption(t("ann.layer_caption"))

# --- 3. Training ---
st.header(t("ann.training_header"), anchor="training")
optimizer, lr, batch_size = widgets.optimization("ann", "ann", "sgd_momentum", ann.LEARNING_RATES, 0.01,
                                                 ann.BATCH_SIZES, 64)
col_ep, col_seed, _ = st.columns(3)
epochs = setting(col_ep.slider, t("ann.epochs"), 1, 30, 10, key="ann_epochs")
seed = widgets.seed("ann", "ann", 0, col_seed)
warn_lr(optimizer, lr)
settings = None if hidden is None else ann.AnnSettings(
    hidden=hidden, activation=activation, dropout=dropout, n_train=n_train, optimizer=optimizer, lr=lr,
    batch_size=batch_size, epochs=epochs, seed=seed, normalization=normalization)

allowed = settings is not None
if settings is not None:
    untrained_key = (hidden, activation, dropout, seed, normalization, str(device))
    untrained = (_untrained_accuracy(*untrained_key) if ann.untrained_quick(settings)
                 else _untrained_known().get(untrained_key))  # a large network's: measured on demand
    col_untrained, col_work = st.columns(2)
    measure = col_untrained.empty()
    if untrained is None and measure.button(t("ann.untrained_measure"), key="ann_untrained_measure",
                                            help=t("ann.untrained_measure_help")):
        measured = measured_slowly(lambda: ann.untrained_steps(settings, device), "ann_untrained",
                                   t("ann.untrained_measuring"), where=col_untrained)
        if measured is not None:
            untrained = _untrained_known()[untrained_key] = measured["accuracy"]
            measure.empty()
    col_untrained.metric(t("ann.untrained"), "—" if untrained is None else f"{untrained:.1f} %",
                         help=t("ann.untrained_help"))
    col_untrained.caption(t("ann.untrained_caption" if untrained is not None else "ann.untrained_large"))
    col_work.metric(t("ann.steps"), f"{math.ceil(n_train / batch_size) * epochs:,}")
    col_work.caption(t("ann.steps_caption", n_train=n_train, batch_size=batch_size, epochs=epochs))
    estimate = estimated(ann.estimate_seconds, settings)
    allowed = time_check(estimate, "ann_train", [lever(t("ann.epochs"), epochs, range(1, epochs), estimate),
                                                 lever(t("ann.n_train"), n_train, range(1_000, n_train, 1_000),
                                                       estimate, "{:,}".format)])
if train_button(store, t("ann.train"), "ann_train", type="primary", disabled=not allowed, help=t("ann.train_help")):
    model, run_id = ann.build_model(settings), store.next_id()

    def _untrained_of_run(end: dict | None) -> float:
        """A large network's untrained accuracy, if not measured yet: measured once its training
        finished (still in its slot); a stopped run's stays unknown."""
        if untrained is not None or end is None:
            return math.nan if untrained is None else untrained
        return _untrained_known().setdefault(untrained_key, ann.untrained_accuracy(settings, device))
    events = ann.train_events(model, settings, device)
    run = run_training(events, key="ann_live", label=t("ann.run_label", id=run_id), store=store, settings=settings,
                       weights=model, results=lambda history, end: ann.analyze(model, settings, history, end,
                                                                               _untrained_of_run(end), device))
    st.caption(t("ann.live_caption"))
    if run.results["reason"] in FAILED:
        st.error(t("ann.diverged", message=end_text(run.end)))
    else:
        st.success(t("ann.trained", name=run.name, accuracy=run.results["accuracy"],
                     time=format_seconds(run.results["seconds"]), device=device))
follow_latest(store, "ann_followed", ("ann_result_run",), overlay="ann_compare_runs")

if store.runs:
    st.subheader(t("ann.results_header"))
    shown = store.get(st.selectbox(t("ann.result_run"), store.names, key="ann_result_run",
                                   format_func=charts.run_labels(store.runs).get))
    res = shown.results
    m1, m2, m3 = st.columns(3)
    m1.metric(t("ann.test_acc"), f"{res['accuracy']:.2f} %",
              delta=t("ann.vs_untrained", points=res["accuracy"] - res["untrained"])
              if math.isfinite(res["untrained"]) else None)
    m2.metric(t("ann.train_time"), format_seconds(res["seconds"]), help=t("ann.on_device", device=res["device"]))
    m3.metric(t("ann.epochs_run"), f"{len(shown.epochs)} / {shown.settings.epochs}", help=charts.run_message(shown))
    if res["reason"] != "completed":
        st.caption(charts.run_message(shown))
    st.altair_chart(training_chart(shown.history), width="stretch")
    st.caption(t("ann.overfit_caption"))
    col_cm, col_pc = st.columns(2)
    col_cm.altair_chart(charts.confusion_chart(res["confusion"]), width="stretch")
    col_cm.caption(charts.confusion_caption(res["confusion"]))
    col_pc.altair_chart(charts.per_class_chart(res["per_class"]), width="stretch")
    col_pc.caption(charts.per_class_caption(res["per_class"]))
    wrong = res["misclassified"].head(24)
    if len(wrong):
        header, images, captions = charts.mistakes_gallery(wrong, res["confusion"], ann.test_set()[0])
        st.markdown(header)
        st.image(images, caption=captions)
        st.caption(t("ann.misclassified_caption"))
else:
    st.info(t("ann.no_run_yet"))

# --- 4. Compare runs ---
st.header(t("ann.compare_header"))
if not store.runs:
    st.caption(t("ann.compare_empty"))
else:
    chosen = st.multiselect(t("ann.compare_runs"), store.names, key="ann_compare_runs")
    metric = st.radio(t("ann.compare_curve"), ["test_acc", "train_loss"], horizontal=True, key="ann_compare_metric",
                      format_func=labels("ann.curve", ["test_acc", "train_loss"]))
    curves = ann.runs_curves([r for r in store.runs if r.name in chosen])
    if curves.empty:
        st.info(t("ann.compare_pick"))
    else:
        st.altair_chart(charts.compare_chart(curves, metric, store.runs), width="stretch")
        st.caption(t("ann.compare_caption"))
    runs_table = charts.runs_frame(ann.runs_table(store.runs))
    st.dataframe(runs_table, hide_index=True, width="stretch")
    st.download_button(t("ann.download_csv"), runs_table.to_csv(index=False), file_name="mnist_runs.csv",
                       mime="text/csv", key="ann_runs_csv", on_click="ignore")
    remove_row(store, "ann_remove")

# --- 5. Draw a digit ---
st.header(t("ann.draw_header"))
# CNN, MLP, my run side by side; shift
digit_reader.render([r for r in store.runs if ann.usable(r.state_dict) and r.results["reason"] not in FAILED])

# --- 6. Save: the model as .pt and ONNX ---
st.header(t("ann.save_header"))
export_box(store)

# --- 7. Show the code ---
st.header(t("ann.code_header"))
if settings is None:
    st.warning(t("ann.code_fix_settings"))
else:
    show_code("ann", key="ann", optimizer=settings.train_config(), **settings.recipe_values())

# --- 8. Regression on a table: its own runs, baselines and code (ui/regression.py) ---
regression.render(device)
