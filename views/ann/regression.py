"""The ANN page's regression section: the diabetes table (or the learner's own CSV, see
views/ann/own_table.py), an honest split and scaling, an MLP trained with MSE and early stopping,
the test figures next to the mean and linear baselines, runs kept and compared, and the code."""
import altair as alt
import pandas as pd
import streamlit as st
import torch

from core import regression
from core.engine import FAILED, OPTIMIZER_LABELS
from core.models import activation_name
from ui.code import show_code
from ui.content import labels, t
from ui.export import export_box
from ui.runs import Run, RunStore, follow_latest, remove_row
from ui.share import setting
from ui.shell import format_seconds
from ui.training import end_text, estimated, lever, run_training, time_check, train_button, warn_lr
from views.ann import own_table, widgets

COLUMNS = (*regression.FEATURES, regression.TARGET)
SOURCES = ("diabetes", "own")  # the embedded table, or the learner's CSV
SHOWN_DISTRIBUTIONS = 12       # histograms drawn at most (an own table may have 200 columns)
HISTOGRAM_ROWS = 5_000         # rows a histogram is drawn from at most: a sample keeps the shape
CHART_ROWS = 2_000             # test rows the scatter and residual charts draw at most
_split = st.cache_resource(show_spinner=False, max_entries=16)(regression.split)


def render(device: torch.device) -> None:
    """The whole section, drawn where the page calls it."""
    store = RunStore("ann_reg_runs")
    st.header(t("regression.header"))
    st.markdown(t("regression.intro"))
    st.info(t("regression.why_not_boston"), icon="⚖️")
    source = setting(st.radio, t("regression.source"), list(SOURCES), horizontal=True, key="reg_source",
                     format_func=labels("regression.source", SOURCES))
    choice = own_table.choose() if source == "own" else None
    if source == "own" and choice is None:  # nothing to train on yet: the runs kept so far still show
        follow_latest(store, "reg_followed", ("reg_result_run",), overlay="reg_compare_runs")
        _results(store)
        _compare(store)
        return
    _data(choice)
    split, split_seed = _preparation(choice)
    settings = _model_and_training(split, split_seed, choice)
    col_button, col_estimate = st.columns([1, 3])
    allowed = settings is not None
    if settings is not None:
        estimate = estimated(regression.estimate_seconds, settings)
        allowed = time_check(estimate, "reg_train", [lever(t("regression.epochs"), settings.epochs,
                                                           range(1, settings.epochs), estimate)], where=col_estimate)
        col_estimate.caption(t("regression.estimate", steps=settings.steps_per_epoch() * settings.epochs))
    if train_button(store, t("regression.train"), "reg_train", where=col_button, type="primary", disabled=not allowed):
        _train(settings, split, store, device)
    follow_latest(store, "reg_followed", ("reg_result_run",), overlay="reg_compare_runs")
    _results(store)
    _compare(store)
    st.subheader(t("regression.code_header"))
    if settings is None:
        st.warning(t("regression.code_fix_settings"))
    elif settings.own:  # the recipe reads the diabetes table: its code would not be this run's
        st.caption(t("regression.own_code"))
    else:
        show_code("ann_regression", key="reg", optimizer=settings.train_config(), **settings.recipe_values())


def _name(column: str, choice: own_table.Choice | None = None) -> str:
    """A column's meaning: the diabetes columns' from the content; an own table's column is its name."""
    return column if choice is not None else t(f"regression.feature_{column}")


def _rows_height(rows: int) -> int:
    """A dataframe's height in pixels that shows all its rows without scrolling."""
    return 35 * (rows + 1) + 3


def _data(choice: own_table.Choice | None) -> None:
    st.subheader(t("regression.data_header"))
    if choice is None:
        table, columns, target = regression.load_table(), COLUMNS, regression.TARGET
        st.markdown(t("regression.data_intro", rows=len(table), features=len(regression.FEATURES)))
        st.dataframe(table.head(6), hide_index=True, width="stretch",
                     column_config={c: st.column_config.NumberColumn(c, help=_name(c)) for c in COLUMNS})
    else:
        target, features = choice.table.target, choice.table.features
        columns = (*features, target)
        table = pd.DataFrame(choice.table.x, columns=list(features)).assign(**{target: choice.table.y})
        st.markdown(t("regression.own_data_intro", rows=len(table), features=len(features), target=target))
        st.dataframe(choice.own.frame.head(6), hide_index=True, width="stretch")
    summary = regression.feature_summary(table[list(columns)])
    frame = {t("regression.col_column"): summary["name"]}
    if choice is None:
        frame[t("regression.col_meaning")] = [_name(c) for c in summary["name"]]
    st.dataframe(pd.DataFrame({**frame, t("regression.col_mean"): summary["mean"].round(2),
                               t("regression.col_std"): summary["std"].round(2),
                               t("regression.col_min"): summary["min"], t("regression.col_max"): summary["max"]}),
                 hide_index=True, width="stretch", height=_rows_height(min(len(summary), 15)))
    shown = [*columns[:SHOWN_DISTRIBUTIONS - 1], target] if len(columns) > SHOWN_DISTRIBUTIONS else list(columns)
    st.altair_chart(_distributions(table, shown, target, choice), width="content")
    st.caption(t("regression.distributions_caption"))
    if len(shown) < len(columns) or len(table) > HISTOGRAM_ROWS:
        st.caption(t("regression.own_distributions_cut", shown=len(shown), columns=len(columns),
                     rows=min(len(table), HISTOGRAM_ROWS), all=len(table)))


def _distributions(table: pd.DataFrame, columns: list[str], target: str,
                   choice: own_table.Choice | None) -> alt.ConcatChart:
    """A histogram per column, each binned on its own range (ages and blood sugar share no axis).
    Each column is drawn as one field "value" (a column named like "a.b" or "[x]" is no Altair
    field), from at most HISTOGRAM_ROWS rows (a random sample: the chart's data travels to the browser)."""
    if len(table) > HISTOGRAM_ROWS:
        table = table.sample(n=HISTOGRAM_ROWS, random_state=0)
    charts = []
    for column in columns:
        if choice is not None:
            title = column
        else:
            title = _name(column) if column == target else f"{column} · {_name(column)}"
        values = pd.DataFrame({"value": table[column].to_numpy()})
        charts.append(alt.Chart(values).mark_bar(color="#e4572e" if column == target else "#4c78a8")
                      .encode(x=alt.X("value:Q", bin=alt.Bin(maxbins=20), title=None),
                              y=alt.Y("count():Q", title=t("regression.axis_rows")),
                              tooltip=[alt.Tooltip("value:Q", bin=alt.Bin(maxbins=20),
                                                   title=t("regression.axis_value")),
                                       alt.Tooltip("count():Q", title=t("regression.axis_rows"))])
                      .properties(title=alt.TitleParams(title, fontSize=11, limit=170), width=150, height=90))
    return alt.concat(*charts, columns=4)


def _preparation(choice: own_table.Choice | None) -> tuple[regression.Split, int]:
    st.subheader(t("regression.prep_header"))
    defaults = regression.RegressionSettings()
    col_seed, col_counts = st.columns([1, 2])
    split_seed = int(setting(col_seed.number_input, t("regression.split_seed"), 0, 99_999, defaults.split_seed, step=1,
                             key="reg_split_seed", help=t("regression.split_seed_help")))
    if choice is None:
        split = _split(split_seed, defaults.val_share, defaults.test_share)
    else:
        split = own_table.split(choice, split_seed, defaults.val_share, defaults.test_share)
    n_train, n_val, n_test = (len(split.rows[k]) for k in ("train", "val", "test"))
    col_counts.markdown(t("regression.split_counts", train=n_train, val=n_val, test=n_test))
    st.markdown(t("regression.scaler_intro"))
    st.latex(r"z = \frac{x - \mu_{\text{train}}}{\sigma_{\text{train}}}")
    scaler = regression.scaler_table(split)
    st.dataframe(pd.DataFrame({t("regression.col_column"): scaler["name"],
                               t("regression.col_train_mean"): scaler["train_mean"].round(3),
                               t("regression.col_train_std"): scaler["train_std"].round(3),
                               t("regression.col_all_mean"): scaler["all_mean"].round(3),
                               t("regression.col_all_std"): scaler["all_std"].round(3)}),
                 hide_index=True, width="stretch", height=_rows_height(min(len(scaler), 15)))
    st.caption(t("regression.scaler_caption"))
    raw, scaled = regression.scaled_preview(split)
    st.markdown(t("regression.preview_raw"))
    st.dataframe(raw, hide_index=True, width="stretch")
    st.markdown(t("regression.preview_scaled"))
    st.dataframe(scaled.round(2), hide_index=True, width="stretch")
    st.caption(t("regression.target_caption", mean=float(split.y_scaler.mean_[0]),
                 std=float(split.y_scaler.scale_[0])))
    return split, split_seed


def _model_and_training(split: regression.Split, split_seed: int,
                        choice: own_table.Choice | None) -> regression.RegressionSettings | None:
    st.subheader(t("regression.model_header"))
    d = regression.RegressionSettings()
    data = choice.settings if choice is not None else {}  # an own table: its name, digest, columns and rows
    hidden, activation, dropout = widgets.layers("regression", "reg", ", ".join(map(str, d.hidden)), d.dropout)
    if hidden is not None:
        shape = regression.RegressionSettings(hidden=hidden, activation=activation, dropout=dropout, **data)
        st.caption(t("regression.model_caption", architecture=shape.architecture(),
                     params=regression.parameters(shape), train=len(split.rows["train"])))
    st.subheader(t("regression.training_header"))
    optimizer, lr, batch_size = widgets.optimization("regression", "reg", d.optimizer, regression.LEARNING_RATES,
                                                     d.lr, regression.BATCH_SIZES, d.batch_size)
    col_ep, col_pat, col_seed = st.columns(3)
    epochs = setting(col_ep.slider, t("regression.epochs"), 1, regression.EPOCHS_MAX, d.epochs, key="reg_epochs")
    patience = setting(col_pat.slider, t("regression.patience"), 0, regression.PATIENCE_MAX, d.patience,
                       key="reg_patience", help=t("regression.patience_help"))
    seed = widgets.seed("regression", "reg", d.seed, col_seed)
    warn_lr(optimizer, lr)
    if hidden is None:
        return None
    return regression.RegressionSettings(
        hidden=hidden, activation=activation, dropout=dropout, optimizer=optimizer, lr=lr, batch_size=batch_size,
        epochs=epochs, patience=patience, seed=seed, split_seed=split_seed, **data)


def _train(settings: regression.RegressionSettings, split: regression.Split, store: RunStore,
           device: torch.device) -> None:
    model, run_id = regression.build_model(settings), store.next_id()
    events = regression.train_events(model, split, settings, device)
    run = run_training(events, key="reg_live", label=t("regression.run_label", id=run_id), store=store,
                       metric="loss", settings=settings, weights=model,
                       results=lambda history, end: regression.analyze(model, split, settings, history, end, device))
    st.caption(t("regression.live_caption"))
    if run.results["reason"] in FAILED:
        st.error(t("regression.diverged", message=end_text(run.end)))
    else:
        st.success(t("regression.trained", name=run.name, rmse=run.results["rmse"],
                     time=format_seconds(run.results["seconds"]), message=end_text(run.end)))


def _run_label(run: Run) -> str:
    s = run.settings
    return t("regression.run_settings", name=run.name, architecture=s.architecture(),
             activation=activation_name(s.activation), optimizer=OPTIMIZER_LABELS[s.optimizer], lr=s.lr,
             dropout=s.dropout, seed=s.seed, split_seed=s.split_seed) + _run_data(s)


def _run_data(s: regression.RegressionSettings) -> str:
    """" · file.csv: price" for a run on an own table (its file name and target); "" for diabetes."""
    return " · " + t("regression.run_data", data=s.data, target=s.target) if s.own else ""


def _results(store: RunStore) -> None:
    st.subheader(t("regression.results_header"))
    if not store.runs:
        st.info(t("regression.no_run_yet"))
        return
    runs = {r.name: _run_label(r) for r in store.runs}
    shown = store.get(st.selectbox(t("regression.result_run"), store.names, key="reg_result_run",
                                   format_func=runs.get))
    res = shown.results
    linear = res["baselines"]["linear"]
    m1, m2, m3, m4 = st.columns(4)
    m1.metric(t("regression.rmse"), f"{res['rmse']:.2f}", delta=f"{res['rmse'] - linear['rmse']:+.2f}",
              delta_color="inverse", help=t("regression.rmse_help"))
    m2.metric(t("regression.mae"), f"{res['mae']:.2f}", delta=f"{res['mae'] - linear['mae']:+.2f}",
              delta_color="inverse", help=t("regression.mae_help"))
    m3.metric(t("regression.r2"), f"{res['r2']:.3f}", delta=f"{res['r2'] - linear['r2']:+.3f}",
              help=t("regression.r2_help"))
    m4.metric(t("regression.epochs_run"), f"{len(shown.epochs)} / {shown.settings.epochs}",
              help=end_text(shown.end) if shown.end else t("regression.stopped"))
    st.caption(t("regression.metrics_caption", best=res["best_epoch"], time=format_seconds(res["seconds"])))
    table = regression.comparison(res)
    st.dataframe(pd.DataFrame({t("regression.col_model"): [t(f"regression.model_{m}") for m in table["model"]],
                               t("regression.col_rmse"): table["rmse"].round(2),
                               t("regression.col_mae"): table["mae"].round(2),
                               t("regression.col_r2"): table["r2"].round(3)}), hide_index=True, width="stretch")
    verdict = regression.verdict(res)
    getattr(st, "success" if verdict == "beats" else "warning")(t(
        f"regression.verdict_{verdict}", ann=res["rmse"], linear=linear["rmse"], mean=res["baselines"]["mean"]["rmse"]))
    st.markdown(t("regression.why_linear"))
    frame = regression.predictions_frame(res)
    if len(frame) > CHART_ROWS:  # the points travel to the browser: a random sample keeps the picture
        st.caption(t("regression.own_points_sample", rows=CHART_ROWS, all=len(frame)))
        frame = frame.sample(n=CHART_ROWS, random_state=0)
    col_scatter, col_residuals = st.columns(2)
    axes = _axes(shown.settings)
    col_scatter.altair_chart(_scatter(frame, axes), width="stretch")
    col_scatter.caption(t("regression.scatter_caption"))
    col_residuals.altair_chart(_residuals(frame, axes), width="stretch")
    col_residuals.caption(t("regression.residuals_caption", mean=float(frame["residual"].mean()),
                            spread=float(frame["residual"].std())))


def _long_predictions(frame: pd.DataFrame) -> pd.DataFrame:
    ann = frame.assign(model=t("regression.model_ann"))[["actual", "predicted", "model"]]
    linear = frame.assign(model=t("regression.model_linear"),
                          predicted=frame["linear"])[["actual", "predicted", "model"]]
    both = pd.concat([linear, ann], ignore_index=True)
    return both.assign(residual=both["actual"] - both["predicted"])


def _model_color() -> alt.Color:
    names = [t("regression.model_ann"), t("regression.model_linear")]
    return alt.Color("model:N", title=None, scale=alt.Scale(domain=names, range=["#e4572e", "#9ca3af"]),
                     legend=alt.Legend(orient="bottom"))


def _axes(settings: regression.RegressionSettings) -> tuple[str, str]:
    """The titles of the actual and predicted axes: the diabetes target's name, or an own table's plain words."""
    prefix = "regression.own_axis" if settings.own else "regression.axis"
    return t(f"{prefix}_actual"), t(f"{prefix}_predicted")


def _scatter(frame: pd.DataFrame, axes: tuple[str, str]) -> alt.LayerChart:
    """Predicted against actual for the test rows; on the diagonal a prediction is exact."""
    both = _long_predictions(frame)
    low = float(min(both["actual"].min(), both["predicted"].min()))
    high = float(max(both["actual"].max(), both["predicted"].max()))
    pad = 0.02 * (high - low) or 1.0  # the points off the frame's edge; a single value still gets a range
    domain = [low - pad, high + pad]
    axis_actual, axis_predicted = axes
    points = alt.Chart(both).mark_circle(size=45, opacity=0.75).encode(
        x=alt.X("actual:Q", title=axis_actual, scale=alt.Scale(domain=domain, nice=True)),
        y=alt.Y("predicted:Q", title=axis_predicted, scale=alt.Scale(domain=domain, nice=True)), color=_model_color(),
        tooltip=[alt.Tooltip("model:N", title=t("regression.col_model")),
                 alt.Tooltip("actual:Q", title=axis_actual, format=".0f"),
                 alt.Tooltip("predicted:Q", title=axis_predicted, format=".1f")])
    diagonal = alt.Chart(pd.DataFrame({"actual": domain, "predicted": domain})).mark_line(
        color="#111827", strokeDash=[4, 4]).encode(x="actual:Q", y="predicted:Q")
    return (diagonal + points).properties(title=t("regression.scatter_title"), height=340)


def _residuals(frame: pd.DataFrame, axes: tuple[str, str]) -> alt.LayerChart:
    """Residual (actual − predicted) against the prediction, with the zero line."""
    both = _long_predictions(frame)
    axis_predicted, axis_residual = axes[1], t("regression.axis_residual")
    points = alt.Chart(both).mark_circle(size=45, opacity=0.75).encode(
        x=alt.X("predicted:Q", title=axis_predicted, scale=alt.Scale(zero=False)),
        y=alt.Y("residual:Q", title=axis_residual), color=_model_color(),
        tooltip=[alt.Tooltip("model:N", title=t("regression.col_model")),
                 alt.Tooltip("predicted:Q", title=axis_predicted, format=".1f"),
                 alt.Tooltip("residual:Q", title=axis_residual, format=".1f")])
    zero = alt.Chart(pd.DataFrame({"y": [0]})).mark_rule(color="#111827").encode(y="y:Q")
    return (zero + points).properties(title=t("regression.residuals_title"), height=340)


def _compare(store: RunStore) -> None:
    st.subheader(t("regression.compare_header"))
    if not store.runs:
        st.caption(t("regression.compare_empty"))
        return
    chosen = st.multiselect(t("regression.compare_runs"), store.names, key="reg_compare_runs")
    metric = st.radio(t("regression.compare_curve"), ["val_rmse", "train_rmse"], horizontal=True,
                      key="reg_compare_metric", format_func=labels("regression.curve", ["val_rmse", "train_rmse"]))
    runs = [r for r in store.runs if r.name in chosen]
    curves = regression.runs_curves(runs)
    if curves.empty:
        st.info(t("regression.compare_pick"))
    else:
        names = {r.name: _run_label(r) for r in runs}
        title = t(f"regression.curve_{metric}")
        frame = curves.assign(run=curves["run"].map(names))
        st.altair_chart(alt.Chart(frame).mark_line(point=True).encode(
            x=alt.X("epoch:Q", title=t("common.axis_epoch"), axis=alt.Axis(tickMinStep=1)),
            y=alt.Y(f"{metric}:Q", title=title, scale=alt.Scale(zero=False)),
            color=alt.Color("run:N", title=t("regression.axis_run"),
                            legend=alt.Legend(orient="bottom", columns=1, labelLimit=600)),
            tooltip=[alt.Tooltip("run:N", title=t("regression.axis_run")),
                     alt.Tooltip("epoch:Q", title=t("common.axis_epoch")),
                     alt.Tooltip(f"{metric}:Q", title=title, format=".2f")]).properties(height=300), width="stretch")
        st.caption(t("regression.compare_caption"))
    table = regression.runs_table(store.runs)
    table = table.assign(hidden=[h or t("regression.hidden_none") for h in table["hidden"]],
                         data=[d or t("regression.source_diabetes") for d in table["data"]],
                         activation=table["activation"].map(activation_name),
                         outcome=[t(f"regression.outcome_{o}") for o in table["outcome"]])
    table = table.rename(columns={c: t(f"regression.col_{c}") for c in table.columns})
    st.dataframe(table, hide_index=True, width="stretch")
    st.download_button(t("regression.download_csv"), table.to_csv(index=False), file_name="regression_runs.csv",
                       mime="text/csv", key="reg_runs_csv", on_click="ignore")
    remove_row(store, "reg_remove")
    export_box(store)
