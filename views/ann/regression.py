"""The ANN page's regression section: the diabetes table, an honest split and scaling, an MLP
trained with MSE and early stopping, the test figures next to the mean and linear baselines,
runs kept and compared, and the code."""
import altair as alt
import numpy as np
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
from views.ann import widgets

COLUMNS = (*regression.FEATURES, regression.TARGET)
_split = st.cache_resource(show_spinner=False, max_entries=16)(regression.split)


def render(device: torch.device) -> None:
    """The whole section, drawn where the page calls it."""
    store = RunStore("ann_reg_runs")
    st.header(t("regression.header"))
    st.markdown(t("regression.intro"))
    st.info(t("regression.why_not_boston"), icon="⚖️")
    _data()
    split, split_seed = _preparation()
    settings = _model_and_training(split, split_seed)
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
    else:
        show_code("ann_regression", key="reg", optimizer=settings.train_config(), **settings.recipe_values())


def _name(column: str) -> str:
    return t(f"regression.feature_{column}")


def _rows_height(rows: int) -> int:
    """A dataframe's height in pixels that shows all its rows without scrolling."""
    return 35 * (rows + 1) + 3


def _data() -> None:
    st.subheader(t("regression.data_header"))
    table = regression.load_table()
    st.markdown(t("regression.data_intro", rows=len(table), features=len(regression.FEATURES)))
    st.dataframe(table.head(6), hide_index=True, width="stretch",
                 column_config={c: st.column_config.NumberColumn(c, help=_name(c)) for c in COLUMNS})
    summary = regression.feature_summary(table)
    st.dataframe(pd.DataFrame({t("regression.col_column"): summary["name"],
                               t("regression.col_meaning"): [_name(c) for c in summary["name"]],
                               t("regression.col_mean"): summary["mean"].round(2),
                               t("regression.col_std"): summary["std"].round(2),
                               t("regression.col_min"): summary["min"], t("regression.col_max"): summary["max"]}),
                 hide_index=True, width="stretch", height=_rows_height(len(summary)))
    st.altair_chart(_distributions(table), width="content")
    st.caption(t("regression.distributions_caption"))


def _distributions(table: pd.DataFrame) -> alt.ConcatChart:
    """A histogram per column, each binned on its own range (ages and blood sugar share no axis)."""
    charts = []
    for column in COLUMNS:
        title = _name(column) if column == regression.TARGET else f"{column} · {_name(column)}"
        charts.append(alt.Chart(table[[column]]).mark_bar(color="#e4572e" if column == regression.TARGET else "#4c78a8")
                      .encode(x=alt.X(f"{column}:Q", bin=alt.Bin(maxbins=20), title=None),
                              y=alt.Y("count():Q", title=t("regression.axis_rows")),
                              tooltip=[alt.Tooltip(f"{column}:Q", bin=alt.Bin(maxbins=20),
                                                   title=t("regression.axis_value")),
                                       alt.Tooltip("count():Q", title=t("regression.axis_rows"))])
                      .properties(title=alt.TitleParams(title, fontSize=11, limit=170), width=150, height=90))
    return alt.concat(*charts, columns=4)


def _preparation() -> tuple[regression.Split, int]:
    st.subheader(t("regression.prep_header"))
    defaults = regression.RegressionSettings()
    col_seed, col_counts = st.columns([1, 2])
    split_seed = int(setting(col_seed.number_input, t("regression.split_seed"), 0, 99_999, defaults.split_seed, step=1,
                             key="reg_split_seed", help=t("regression.split_seed_help")))
    split = _split(split_seed, defaults.val_share, defaults.test_share)
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
                 hide_index=True, width="stretch", height=_rows_height(len(scaler)))
    st.caption(t("regression.scaler_caption"))
    raw, scaled = regression.scaled_preview(split)
    st.markdown(t("regression.preview_raw"))
    st.dataframe(raw, hide_index=True, width="stretch")
    st.markdown(t("regression.preview_scaled"))
    st.dataframe(scaled.round(2), hide_index=True, width="stretch")
    st.caption(t("regression.target_caption", mean=float(split.y_scaler.mean_[0]),
                 std=float(split.y_scaler.scale_[0])))
    return split, split_seed


def _model_and_training(split: regression.Split, split_seed: int) -> regression.RegressionSettings | None:
    st.subheader(t("regression.model_header"))
    d = regression.RegressionSettings()
    hidden, activation, dropout = widgets.layers("regression", "reg", ", ".join(map(str, d.hidden)), d.dropout)
    if hidden is not None:
        shape = regression.RegressionSettings(hidden=hidden, activation=activation, dropout=dropout)
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
        epochs=epochs, patience=patience, seed=seed, split_seed=split_seed)


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
             dropout=s.dropout, seed=s.seed, split_seed=s.split_seed)


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
    col_scatter, col_residuals = st.columns(2)
    col_scatter.altair_chart(_scatter(frame), width="stretch")
    col_scatter.caption(t("regression.scatter_caption"))
    col_residuals.altair_chart(_residuals(frame), width="stretch")
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


def _scatter(frame: pd.DataFrame) -> alt.LayerChart:
    """Predicted against actual for the test rows; on the diagonal a prediction is exact."""
    both = _long_predictions(frame)
    low = float(min(both["actual"].min(), both["predicted"].min()))
    high = float(max(both["actual"].max(), both["predicted"].max()))
    domain = [np.floor(low / 10) * 10, np.ceil(high / 10) * 10]
    axis_actual, axis_predicted = t("regression.axis_actual"), t("regression.axis_predicted")
    points = alt.Chart(both).mark_circle(size=45, opacity=0.75).encode(
        x=alt.X("actual:Q", title=axis_actual, scale=alt.Scale(domain=domain)),
        y=alt.Y("predicted:Q", title=axis_predicted, scale=alt.Scale(domain=domain)), color=_model_color(),
        tooltip=[alt.Tooltip("model:N", title=t("regression.col_model")),
                 alt.Tooltip("actual:Q", title=axis_actual, format=".0f"),
                 alt.Tooltip("predicted:Q", title=axis_predicted, format=".1f")])
    diagonal = alt.Chart(pd.DataFrame({"actual": domain, "predicted": domain})).mark_line(
        color="#111827", strokeDash=[4, 4]).encode(x="actual:Q", y="predicted:Q")
    return (diagonal + points).properties(title=t("regression.scatter_title"), height=340)


def _residuals(frame: pd.DataFrame) -> alt.LayerChart:
    """Residual (actual − predicted) against the prediction, with the zero line."""
    both = _long_predictions(frame)
    axis_predicted, axis_residual = t("regression.axis_predicted"), t("regression.axis_residual")
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
                         activation=table["activation"].map(activation_name),
                         outcome=[t(f"regression.outcome_{o}") for o in table["outcome"]])
    table = table.rename(columns={c: t(f"regression.col_{c}") for c in table.columns})
    st.dataframe(table, hide_index=True, width="stretch")
    st.download_button(t("regression.download_csv"), table.to_csv(index=False), file_name="regression_runs.csv",
                       mime="text/csv", key="reg_runs_csv", on_click="ignore")
    remove_row(store, "reg_remove")
    export_box(store)
