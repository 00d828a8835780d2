"""Stock forecasting: LSTM vs GRU on real prices, without leaks, judged against naive baselines."""
import dataclasses
import datetime as dt

import streamlit as st

from core import stocks
from core.data import EMBEDDED_STOCKS, DataError, OfflineError, embedded_words, load_prices
from core.models import count_params
from ui.code import show_code
from ui.content import labels, say, t
from ui.export import export_box
from ui.runs import RunStore
from ui.share import setting
from ui.shell import current_device, stop_page
from ui.training import announce, estimated, lever, run_training, time_check, train_button
from views.stocks import charts, own_series

OTHER, UPLOAD = "other", "upload"  # a typed symbol (downloaded), the learner's own CSV
FIRST_DAY, NOTEBOOK_START, NOTEBOOK_SPLIT = dt.date(1990, 1, 1), dt.date(2020, 1, 1), dt.date(2023, 1, 1)

store = RunStore("stocks_runs")
announce(store)
head = st.container()  # the title and intro, worded once the data is known: a stock, or the learner's own series


def _suggest_dates(last: dt.date) -> None:
    """Button callback: move the split a year before the data ends, the start 3 years before."""
    split = last - dt.timedelta(days=365)
    st.session_state["stocks_split"] = split
    st.session_state["stocks_start"] = split - dt.timedelta(days=3 * 365)


@st.cache_data(ttl=600, show_spinner=t("stocks.loading"), max_entries=32)
def _load(symbol: str, start: str, end: str, online: bool):
    """(StockData, None) or (None, Words); cached so an offline rerun does not retry at once."""
    try:
        return load_prices(symbol, start, end, online=online, timeout=8.0), None
    except (DataError, OfflineError) as exc:
        return None, exc.words


# --- 1 · Data ----------------------------------------------------------------------------------
st.header(t("stocks.h_data"))
# Dates live in session_state (not value=) so the "suggest dates" button can move them.
st.session_state.setdefault("stocks_start", NOTEBOOK_START)
st.session_state.setdefault("stocks_end", dt.date.today())
st.session_state.setdefault("stocks_split", NOTEBOOK_SPLIT)
left, middle, right = st.columns([1.3, 1, 1])
with left:
    symbol = setting(st.selectbox, t("stocks.stock"), [*EMBEDDED_STOCKS, OTHER, UPLOAD], key="stocks_symbol",
                     help=t("stocks.stock_help"),
                     format_func=labels("stocks.stock", [*EMBEDDED_STOCKS, OTHER, UPLOAD], lambda c: t(
                              "stocks.stock_option", code=c, name=charts.stock_name(c))
                              if c in EMBEDDED_STOCKS else t(f"stocks.stock_{c}")))
    head.title(charts.worded("title", symbol == UPLOAD))
    head.markdown(charts.worded("intro", symbol == UPLOAD))
    head.caption("⚠️ " + t("stocks.disclaimer"))
    if symbol == OTHER:
        symbol = setting(st.text_input, t("stocks.symbol"), value="", key="stocks_other", max_chars=20,
                         placeholder=t("stocks.symbol_placeholder"), help=t("stocks.symbol_help"))
    own = own_series.choose() if symbol == UPLOAD else None
    if symbol != UPLOAD:
        online = setting(st.toggle, t("stocks.online"), value=True, key="stocks_online", help=t("stocks.online_help"))
if symbol == UPLOAD:  # the learner's own series: its file, its columns, its dates
    if own is None:
        stop_page()
    with right:
        split_date = own_series.split_date(own)
    start, end = (dt.date.fromisoformat(own.settings[k]) for k in ("start", "end"))
    data, chart_kind = own.data, "line"
else:
    with middle:
        start = setting(st.date_input, t("stocks.start"), min_value=FIRST_DAY, max_value=dt.date.today(),
                        key="stocks_start", url_default=NOTEBOOK_START)
        end = setting(st.date_input, t("stocks.end"), min_value=FIRST_DAY, max_value=dt.date.today(),
                      key="stocks_end")
    with right:
        split_date = setting(st.date_input, t("stocks.split"), min_value=FIRST_DAY, max_value=dt.date.today(),
                             key="stocks_split", help=t("stocks.split_help"), url_default=NOTEBOOK_SPLIT)
        chart_kind = setting(st.radio, t("stocks.chart_kind"), ["line", "candlestick"], horizontal=True,
                             key="stocks_chart_kind", format_func=labels("stocks.chart", ["line", "candlestick"]))
    if not str(symbol).strip():
        st.info(t("stocks.type_symbol", embedded=say(embedded_words())))
        stop_page()
    if start >= end:
        st.error(t("stocks.dates_order", start=start, end=end))
        stop_page()
    data, problem = _load(str(symbol), start.isoformat(), end.isoformat(), online)
    if data is None:
        st.error(say(problem))
        stop_page()
icons = {"embedded": "💾", "upload": "📄"}
(st.info if data.source == "embedded" else st.success)(charts.source_note(data), icon=icons.get(data.source, "🌐"))
price_chart_slot = st.empty()  # filled below, once the split is known (periods are shaded)
st.caption(charts.worded("price_caption", own is not None))

# --- 2 · Setup ---------------------------------------------------------------------------------
st.header(t("stocks.h_setup"), anchor="setup")
left, right = st.columns(2)
with left:
    if own is not None:  # its numeric columns; its level is forecast (a series may be zero or negative: no return)
        features, target = own_series.inputs(own), "close"
    else:
        features = setting(st.multiselect, t("stocks.features"), list(stocks.FEATURE_CHOICES), key="stocks_features",
                           format_func=labels("stocks.feature", stocks.FEATURE_CHOICES, charts.feature),
                           default=["Open", "High", "Low", "Volume"], help=t("stocks.features_help"))
        target = setting(st.radio, t("stocks.target"), list(stocks.TARGETS),
                         format_func=labels("stocks.target", stocks.TARGETS),
                         horizontal=True, key="stocks_target", help=t("stocks.target_help"))
with right:
    window = setting(st.slider, t("stocks.window"), 5, 120, 30, key="stocks_window", help=t("stocks.window_help"))
    val_pct = setting(st.slider, t("stocks.val"), 5, 40, 15, key="stocks_val", help=t("stocks.val_help"))
    st.caption(charts.worded("horizon", own is not None))

settings = stocks.StockSettings(symbol=data.symbol, start=start.isoformat(), end=end.isoformat(),
                                features=tuple(features), target=target, window=window,
                                split_date=split_date.isoformat(), val_fraction=val_pct / 100,
                                **({k: own.settings[k] for k in ("upload", "upload_hash", "value")} if own else {}))
try:
    prepared = stocks.prepare(data.frame, settings)
except DataError as exc:
    st.error(say(exc.words))
    last = data.last_date.date()
    if own is None and split_date > last - dt.timedelta(days=30):
        st.button(t("stocks.fix_dates", date=last - dt.timedelta(days=365)), key="stocks_fix_dates",
                  on_click=_suggest_dates, args=(last,))
    stop_page()
for note in prepared.notes:
    st.warning(say(note))

with price_chart_slot.container():
    for chart in charts.price_charts(data.frame, prepared, chart_kind, data.currency,
                                            charts.stock_name(data.symbol, data.name)):
        st.altair_chart(chart, width="stretch")
st.dataframe(charts.split_table(prepared), hide_index=True, width="content")
st.caption(charts.worded("windows_caption", own is not None, window=window,
                         features=", ".join(map(charts.feature, features)),
                         target=own.settings["value"] if own else t(f"stocks.target_word_{target}")))

with st.container(border=True):
    st.markdown(t("stocks.scaling", rows=prepared.fit_rows))
    leak = stocks.leakage_summary(data.frame, settings)
    st.markdown(charts.leak_text(leak, settings, data.currency))
    if leak["test_outside_training"]:
        st.caption(charts.worded("leak_outside", own is not None))
    with_leaky = setting(st.checkbox, t("stocks.leaky_demo"), value=False, key="stocks_leaky_demo")

# --- 3 · Models --------------------------------------------------------------------------------
st.header(t("stocks.h_models"), anchor="models")
st.markdown(t("stocks.models_intro"))
c1, c2, c3, c4 = st.columns(4)
with c1:
    hidden = setting(st.slider, t("stocks.hidden"), 2, 64, 10, key="stocks_hidden")
    layers = setting(st.slider, t("stocks.layers"), 1, 3, 1, key="stocks_layers")
with c2:
    dropout = setting(st.slider, t("stocks.dropout"), 0.0, 0.5, 0.0, 0.05, key="stocks_dropout",
                      help=t("stocks.dropout_help"))
    lr = setting(st.select_slider, t("stocks.lr"), [0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3], value=0.01,
                 key="stocks_lr")
with c3:
    batch_size = setting(st.select_slider, t("stocks.batch"), [8, 16, 32, 64, 128, 256], value=32, key="stocks_batch")
    epochs = setting(st.slider, t("stocks.epochs"), 1, 300, 100, key="stocks_epochs")
with c4:
    early = setting(st.toggle, t("stocks.early"), value=True, key="stocks_early", help=t("stocks.early_help"))
    patience = setting(st.slider, t("stocks.patience"), 1, 20, 5, key="stocks_patience", disabled=not early)
    seed = setting(st.number_input, t("stocks.seed"), 0, 10_000, 0, key="stocks_seed")

settings = dataclasses.replace(settings, hidden=hidden, layers=layers, dropout=dropout, lr=lr, batch_size=batch_size,
                               epochs=epochs, patience=patience if early else None, seed=int(seed),
                               with_leaky=with_leaky)
prepared = dataclasses.replace(prepared, settings=settings)  # same windows, the training settings added
data_id = (data.source, str(data.last_date.date()), len(data.frame))
device = current_device()
st.caption(t("stocks.model_caption", windows=prepared.x_train.shape[0], window=window, features=len(features),
             lstm=count_params(stocks.RecurrentForecaster("lstm", len(features), settings)),
             gru=count_params(stocks.RecurrentForecaster("gru", len(features), settings)), device=device))


def _curves(curves: dict, early: bool, live: bool = False) -> None:
    """Each model's loss per epoch, side by side."""
    for column, (name, curve) in zip(st.columns(max(len(curves), 1)), curves.items()):
        column.altair_chart(charts.loss_chart(name, curve["epochs"], curve["end"], early, live), width="stretch")


stock_estimate = estimated(lambda key, dev: stocks.estimate_seconds(stocks.plans(data.frame, prepared), dev),
                           (data_id, settings))  # the data and settings decide the plan
allowed = time_check(stock_estimate, "stocks_train",
                     [lever(t("stocks.epochs"), epochs, range(5, epochs, 5), stock_estimate),
                      lever(t("stocks.window"), window, range(5, window, 5), stock_estimate)],
                     at_most=early)
trained_now = train_button(store, t("stocks.train"), "stocks_train", type="primary", disabled=not allowed)
if trained_now:
    st.session_state.pop("stocks_pick", None)  # the picker below shows the new run, even a stopped one
    plan, models = stocks.plans(data.frame, prepared), {}

    run_training(stocks.train_models(plan, device, models, message=t("stocks.trained")), key="stocks_run",
                 label=t("stocks.training_label"), store=store, settings=settings, weights=models,  # one per model
                 results=lambda history, end: {**stocks.summarize(models, plan, history, device), "data": data_id,
                                               "currency": data.currency},
                 live_view=lambda history: _curves(stocks.curves(history), early, live=True))

run = store.latest
if len(store.runs) > 1:
    picked = st.selectbox(t("stocks.pick_run"), store.names[::-1], key="stocks_pick", format_func=labels(
        "stocks.run", store.names, lambda n: t("stocks.run_option", name=n, symbol=store.get(n).settings.symbol,
                                 window=store.get(n).settings.window,
                                 stopped=t("stocks.run_stopped" if store.get(n).stopped else "stocks.run_complete"))))
    run = store.get(picked)
if run is None:
    st.info(t("stocks.press_train"))
else:
    result = run.results
    if run.settings != settings or result["data"] != data_id:
        st.info(t("stocks.settings_changed"))
    for name, epoch in result["diverged"].items():
        st.error(t("stocks.diverged", name=charts.series(name), epoch=epoch))
    if not trained_now:  # the training panel above already shows this run's curves
        _curves(result["curves"], run.settings.patience is not None)
    st.caption(t("stocks.curves_caption"))

# --- 4 · Results, honestly ---------------------------------------------------------------------
st.header(t("stocks.h_results"))
if run is None:
    st.caption(t("stocks.results_pending"))
else:
    currency, predictions = result["currency"], result["predictions"]
    span = st.radio(t("stocks.span_choice"), ["all", "last60"], horizontal=True, key="stocks_span",
                    format_func=labels("stocks.span", ["all", "last60"]), help=t("stocks.span_help"))
    if span == "last60":
        cutoff = predictions["Date"].drop_duplicates().sort_values().iloc[-60:].iloc[0]
        predictions = predictions[predictions["Date"] >= cutoff]
    value = run.settings.value if run.settings.upload else ""
    st.altair_chart(charts.prediction_chart(predictions, currency, value), width="stretch")
    st.caption(charts.worded("prediction_caption", bool(value)))

    table = result["table"]
    st.dataframe(charts.metrics_table(table, currency), width="stretch")
    st.caption(charts.worded("metrics_caption", bool(value), value=value))
    for verdict in result["verdicts"]:
        st.markdown(charts.verdict_text(verdict, currency, value))
    if "lstm_leaky" in table.index and "lstm" in table.index:
        st.markdown(t("stocks.leaky_result", leaky=stocks.format_price(table.loc["lstm_leaky", "RMSE"], currency),
                      honest=stocks.format_price(table.loc["lstm", "RMSE"], currency)))

    st.subheader(charts.worded("h_next_day", bool(value)))
    cols = st.columns(len(result["next_day"]) + 1)
    cols[0].metric(charts.worded("next_naive", bool(value), date=result["last_date"], value=value),
                   stocks.format_price(result["last_close"], currency))
    for column, (name, forecast) in zip(cols[1:], result["next_day"].items()):
        change = forecast - result["last_close"]
        column.metric(charts.series(name), stocks.format_price(forecast, currency),
                      delta=f"{change:+,.0f}" if currency == "₩" else f"{change:+,.2f}", delta_color="off")
    st.caption(charts.worded("next_caption", bool(value), date=result["last_date"], value=value))
    st.warning(t("stocks.disclaimer"), icon="⚠️")

export_box(store)

# --- 5 · Show the code -------------------------------------------------------------------------
if own is not None:  # the recipe downloads a symbol's prices: it is not this run's code
    st.caption(t("stocks.own_code"))
else:
    show_code("stocks", key="stocks_code", optimizer=settings.train_config(),
              SYMBOL=data.symbol,
              START=settings.start, END=settings.end, SPLIT=settings.split_date, FEATURES=list(settings.features),
              TARGET=settings.target, WINDOW=settings.window, VAL_FRACTION=settings.val_fraction,
              HIDDEN=settings.hidden, LAYERS=settings.layers, DROPOUT=settings.dropout, LR=settings.lr,
              BATCH=settings.batch_size, EPOCHS=settings.epochs, PATIENCE=settings.patience,
              MIN_DELTA=settings.min_delta, SEED=settings.seed)
