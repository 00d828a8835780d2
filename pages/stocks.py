"""Stock forecasting: LSTM vs GRU on real prices, without leaks, judged against naive baselines."""
import datetime as dt
import math

import altair as alt
import pandas as pd
import streamlit as st

from core import forecast as fc
from core.data import DATA_DIR, EMBEDDED_STOCKS
from core.models import count_params
from ui import current_device, ensure_app_shell, live_training, show_code

OTHER = "other"
NOTEBOOK_START, NOTEBOOK_SPLIT = dt.date(2020, 1, 1), dt.date(2023, 1, 1)
COLORS = {"Actual": "#111111", "LSTM": "#1f77b4", "GRU": "#ff7f0e", fc.NAIVE: "#7f7f7f",
          fc.DRIFT: "#bcbd22", "LSTM (leaky notebook version)": "#d62728"}
SPLIT_COLORS = {"train": "#1f77b4", "validation": "#ff7f0e", "test (leaky!)": "#d62728"}
DISCLAIMER = ("This page is a lesson about models and evaluation, **not financial advice**. "
              "Nothing here predicts markets well enough to trade on.")

ensure_app_shell()
st.title("📈 Stock forecasting with LSTM and GRU")
st.markdown(
    "The course notebook feeds 30 days of Samsung Electronics' Open, High, Low and Volume to an "
    "LSTM and predicts the 31st day's close. Here you rebuild it **without leaking the future**, "
    "train an LSTM and a GRU on the same windows, and judge both against the simplest forecast "
    "there is: *tomorrow's price = today's price*.")
st.caption("⚠️ " + DISCLAIMER)


def _price(value: float, currency: str) -> str:
    return fc.format_price(value, currency)


def _suggest_dates(last: dt.date) -> None:
    """Button callback: move the split a year before the data ends, the start 3 years before."""
    split = last - dt.timedelta(days=365)
    st.session_state["stocks_split"] = split
    st.session_state["stocks_start"] = split - dt.timedelta(days=3 * 365)


@st.cache_data(ttl=600, show_spinner="Loading prices…", max_entries=32)
def _load(symbol: str, start: str, end: str, online: bool):
    """(StockData, None) or (None, message); cached so an offline rerun does not retry at once."""
    try:
        return fc.load_prices(symbol, start, end, online=online, timeout=8.0), None
    except fc.StockDataError as exc:
        return None, str(exc)


# --- 1 · Data ----------------------------------------------------------------------------------
st.header("1 · Data")
# Dates live in session_state (not value=) so the "suggest dates" button can move them.
st.session_state.setdefault("stocks_start", NOTEBOOK_START)
st.session_state.setdefault("stocks_end", dt.date.today())
st.session_state.setdefault("stocks_split", NOTEBOOK_SPLIT)
left, middle, right = st.columns([1.3, 1, 1])
with left:
    choice = st.selectbox(
        "Stock", [*EMBEDDED_STOCKS, OTHER], key="stocks_symbol",
        format_func=lambda c: f"{c} · {EMBEDDED_STOCKS[c]}" if c in EMBEDDED_STOCKS else "Other symbol (download)…",
        help="The eight embedded stocks work offline. Any other symbol needs FinanceDataReader "
             "and the internet.")
    symbol = choice
    if choice == OTHER:
        symbol = st.text_input("Symbol", value="", key="stocks_other", placeholder="e.g. 035720 or MSFT",
                               help="A KRX code (6 digits) or a US ticker, as FinanceDataReader knows it.")
    online = st.toggle("Try FinanceDataReader online", value=True, key="stocks_online",
                       help="Downloads fresh prices when the internet is reachable (8 s timeout, "
                            "cached on disk); otherwise the embedded CSV is used.")
with middle:
    start = st.date_input("Data from", min_value=dt.date(1990, 1, 1),
                          max_value=dt.date.today(), key="stocks_start")
    end = st.date_input("Data until", min_value=dt.date(1990, 1, 1),
                        max_value=dt.date.today(), key="stocks_end")
with right:
    split_date = st.date_input("Test from (split date)", min_value=dt.date(1990, 1, 1),
                               max_value=dt.date.today(),
                               key="stocks_split",
                               help="Windows that predict a day on or after this date are the test set.")
    chart_kind = st.radio("Price chart", ["Line", "Candlestick"], horizontal=True, key="stocks_chart_kind")

if not str(symbol).strip():
    st.info(f"Type a symbol to download, or pick one of the embedded stocks: {fc.embedded_list()}.")
    st.stop()
if start >= end:
    st.error(f"'Data from' ({start}) must be before 'Data until' ({end}).")
    st.stop()
data, problem = _load(str(symbol), start.isoformat(), end.isoformat(), online)
if data is None:
    st.error(problem)
    st.stop()
if data.source == "embedded":
    st.info(data.note, icon="💾")
else:
    st.success(data.note, icon="🌐")
currency = data.currency
price_chart_slot = st.empty()  # filled below, once the split is known (periods are shaded)
st.caption("Daily prices with trading volume below. The shaded bands are the periods the model "
           "trains on, validates on (early stopping) and is tested on; the test period is never "
           "seen during training.")


# --- 2 · Setup ---------------------------------------------------------------------------------
st.header("2 · Setup: windows, split and scaling")
left, right = st.columns(2)
with left:
    features = st.multiselect("Input columns", list(fc.FEATURE_CHOICES),
                              default=["Open", "High", "Low", "Volume"], key="stocks_features",
                              help="Columns the network sees for each of the window's days. "
                                   "Return = the day's close-to-close change.")
    target = st.radio("Target", list(fc.TARGETS), format_func=fc.TARGETS.get, horizontal=True,
                      key="stocks_target",
                      help="Close: predict the price level (the notebook). Return: predict the "
                           "change from the last close; it is turned back into a price for the charts.")
with right:
    window = st.slider("Window (days in)", 5, 120, 30, key="stocks_window",
                       help="The notebook: 30 days in → the 31st day out.")
    val_pct = st.slider("Validation share of the training period (%)", 5, 40, 15, key="stocks_val",
                        help="The last part of the training period, held out to decide when to "
                             "stop training. The test period is not used for that.")
    st.caption("Horizon: **1 trading day** (each window predicts the day right after it).")

config = fc.ForecastConfig(features=tuple(features), target=target, window=window, horizon=1,
                           split_date=split_date.isoformat(), val_fraction=val_pct / 100)
try:
    prepared = fc.prepare(data.frame, config)
except fc.ForecastInputError as exc:
    st.error(str(exc))
    last = data.last_date.date()
    if split_date > last - dt.timedelta(days=30):
        st.button(f"Use a split a year before the data ends ({last - dt.timedelta(days=365)})",
                  key="stocks_fix_dates", on_click=_suggest_dates, args=(last,))
    st.stop()
for note in prepared.notes:
    st.warning(note)


def _period_bands(p: fc.Prepared) -> pd.DataFrame:
    dates = p.dates
    test_start = int(p.rows_test[0])
    return pd.DataFrame([
        {"period": "train", "from": dates[0], "to": dates[p.train_end - 1]},
        {"period": "validation", "from": dates[p.train_end], "to": dates[test_start - 1]},
        {"period": "test", "from": dates[test_start], "to": dates[-1]},
    ])


def _price_charts(frame: pd.DataFrame, bands: pd.DataFrame, kind: str, currency: str):
    frame = frame.assign(up=frame["Close"] >= frame["Open"])
    zoom = alt.selection_interval(encodings=["x"], bind="scales")
    x = alt.X("Date:T", title=None)
    shade = alt.Chart(bands).mark_rect(opacity=0.12).encode(
        x="from:T", x2="to:T",
        color=alt.Color("period:N", scale=alt.Scale(domain=["train", "validation", "test"],
                                                    range=["#2ca02c", "#ff7f0e", "#d62728"]),
                        title=None, legend=alt.Legend(orient="top")))
    base = alt.Chart(frame).encode(x=x)
    tooltip = [alt.Tooltip("Date:T"), "Open:Q", "High:Q", "Low:Q", "Close:Q", "Volume:Q"]
    y_title = f"price ({currency})"
    if kind == "Candlestick":
        wick = base.mark_rule().encode(y=alt.Y("Low:Q", title=y_title, scale=alt.Scale(zero=False)),
                                       y2="High:Q")
        body = base.mark_bar(width=2).encode(
            y="Open:Q", y2="Close:Q", tooltip=tooltip,
            color=alt.condition("datum.up", alt.value("#d62728"), alt.value("#1f77b4")))
        price = shade + wick + body  # Korean convention: red = up, blue = down
    else:
        price = shade + base.mark_line(color="#111111", strokeWidth=1.2).encode(
            y=alt.Y("Close:Q", title=y_title, scale=alt.Scale(zero=False)), tooltip=tooltip)
    price = price.add_params(zoom).properties(height=260, title=f"{data.name}: daily close")
    volume = base.mark_bar(color="#9a9a9a").encode(
        y=alt.Y("Volume:Q", title="volume"), tooltip=tooltip).properties(height=90)
    return price, volume  # two charts: a vconcat cannot stretch to the column width


with price_chart_slot.container():
    for chart in _price_charts(data.frame, _period_bands(prepared), chart_kind, currency):
        st.altair_chart(chart, width="stretch")

st.dataframe(fc.split_summary(prepared), hide_index=True, width="content")
st.caption(f"Each window is {window} days of {', '.join(features)}; its target is the "
           f"{'close' if target == 'close' else 'return'} of the next trading day. Validation "
           "windows still read days from the training period as *inputs* — that is known past.")

with st.container(border=True):
    st.markdown("**Scaling without peeking.** MinMax scaling maps each column to 0..1 using its "
                f"min and max. Here the scaler is fitted on the first **{prepared.fit_rows}** rows "
                "(the training period) only, then applied to validation and test.")
    leak = fc.leakage_summary(data.frame, config)

    def _range(column: str, bounds: tuple) -> str:
        if column in ("Open", "High", "Low", "Close", "target (close)"):
            return "–".join(_price(v, currency) for v in bounds)
        if column == "Volume":
            return "–".join(f"{v:,.0f}" for v in bounds)
        return "–".join(f"{100 * v:+.1f}%" for v in bounds)

    if leak["changed"]:
        moved = "; ".join(f"{col} {_range(col, new)} instead of {_range(col, old)}"
                          for col, (old, new) in leak["changed"].items())
        scaler_text = (f"so the later days' highs and lows reshape the very inputs the model trains "
                       f"on ({moved})")
    else:
        scaler_text = ("which with these dates changes nothing — the training period already holds "
                       "every column's extremes — but with other dates it would")
    st.markdown(
        f"The notebook fits `MinMaxScaler` on **all {leak['leaky_rows']}** rows, {scaler_text}. "
        "It also early-stops on the *test* loss, keeping the epoch that happens to suit the test "
        "days. Both leak the future into the model, so its test score is optimistic.")
    if leak["test_outside_training"]:
        st.caption("Here test prices go outside the training range: an honest model has to "
                   "extrapolate (scaled values above 1 or below 0), exactly as it would live.")
    leaky_demo = st.checkbox("Also train the notebook's leaky LSTM (scaler on all rows, "
                             "validation = test set) to compare", value=False, key="stocks_leaky_demo")


# --- 3 · Models --------------------------------------------------------------------------------
st.header("3 · Models: LSTM and GRU")
st.markdown("Both read the window day by day; the hidden state after the last day goes through "
            "the notebook's head **Linear(hidden→5) → ReLU → Linear(5→1)**. Same windows, same "
            "seed, Adam and MSE loss, early stopping on the validation loss.")
c1, c2, c3, c4 = st.columns(4)
with c1:
    hidden = st.slider("Hidden size", 2, 64, 10, key="stocks_hidden")
    layers = st.slider("Recurrent layers", 1, 3, 1, key="stocks_layers")
with c2:
    dropout = st.slider("Dropout", 0.0, 0.5, 0.0, 0.05, key="stocks_dropout",
                        help="Between stacked layers and on the last hidden state.")
    lr = st.select_slider("Learning rate (Adam)", [0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3],
                          value=0.01, key="stocks_lr")
with c3:
    batch_size = st.select_slider("Batch size", [8, 16, 32, 64, 128, 256], value=32, key="stocks_batch")
    epochs = st.slider("Max epochs", 1, 300, 100, key="stocks_epochs")
with c4:
    early = st.toggle("Early stopping", value=True, key="stocks_early",
                      help="Stop when the validation loss has not improved by more than 1e-6 "
                           "for `patience` epochs, and keep the best epoch's weights.")
    patience = st.slider("Patience (epochs)", 1, 20, 5, key="stocks_patience", disabled=not early)
    seed = st.number_input("Seed", 0, 10_000, 0, key="stocks_seed")

model_config = fc.ModelConfig(hidden=hidden, layers=layers, dropout=dropout)
train_config = fc.make_train_config(lr=lr, batch_size=batch_size, epochs=epochs,
                                    patience=patience if early else None, min_delta=1e-6, seed=int(seed))
signature = (data.symbol, data.source, str(data.last_date.date()), len(data.frame), start, end,
             repr(config), repr(model_config), repr(train_config), leaky_demo)
device = current_device()
st.caption(f"{prepared.x_train.shape[0]} training windows of shape ({window}, {len(features)}); "
           f"{count_params(fc.make_model('lstm', len(features), model_config)):,} "
           f"LSTM / {count_params(fc.make_model('gru', len(features), model_config)):,} "
           f"GRU parameters; device: `{device}`.")

if st.session_state.get("stocks_running"):  # a run that set it never reached the end: Stop
    st.warning("Training was stopped before it finished; the results below (if any) are from an "
               "earlier run. Press **Train** to start again.")
    st.session_state["stocks_running"] = False


def _train_all() -> dict | None:
    """Train LSTM, GRU (and optionally the leaky LSTM) with live curves; None if one diverged."""
    plans = [("LSTM", "lstm", prepared), ("GRU", "gru", prepared)]
    if leaky_demo:
        plans.append(("LSTM (leaky notebook version)", "lstm", fc.prepare(data.frame, fc.ForecastConfig(
            **{**config.__dict__, "leaky": True}))))
    runs = {}
    for name, cell, prep in plans:
        model = fc.make_model(cell, prep.n_features, model_config, seed=int(seed))
        st.markdown(f"**{name}**")
        history, end_event = live_training(fc.train_events(model, prep, train_config, device),
                                           key=f"stocks_{cell}{'_leaky' if prep.config.leaky else ''}",
                                           label=name, metric="loss")
        if end_event is None:
            return None
        runs[name] = {"model": model, "prepared": prep, "end": end_event,
                      "epochs": [e for e in history if e["kind"] == "epoch"]}
    return runs


def _summarize(runs: dict) -> dict:
    """Everything the results section shows, as plain data (kept in session_state)."""
    prices, diverged = {}, {}
    for name, run in runs.items():
        if run["end"]["reason"] == "diverged":
            diverged[name] = run["end"]["message"]
            continue
        prices[name] = fc.predict_prices(run["model"], run["prepared"], device)
    table = fc.compare(prepared, prices)
    verdicts = [fc.verdict(table, name, prepared, prices[name], currency)
                for name in ("LSTM", "GRU") if name in prices]
    next_day = {name: fc.next_day_forecast(runs[name]["model"], runs[name]["prepared"], device)
                for name in prices}
    return {"signature": signature, "currency": currency, "table": table,
            "predictions": fc.prediction_frame(prepared, prices), "verdicts": verdicts,
            "next_day": next_day, "last_close": float(prepared.close[-1]),
            "last_date": prepared.dates[-1], "diverged": diverged,
            "curves": {name: {"epochs": run["epochs"], "end": run["end"]} for name, run in runs.items()}}


if st.button("▶ Train LSTM and GRU", type="primary", key="stocks_train"):
    st.session_state["stocks_running"] = True
    live = st.empty()
    with live.container():
        runs = _train_all()
    if runs is not None:
        st.session_state["stocks_result"] = _summarize(runs)
        live.empty()
    st.session_state["stocks_running"] = False


def _loss_chart(name: str, curve: dict) -> alt.LayerChart:
    rows = []
    for e in curve["epochs"]:
        rows.append({"epoch": e["epoch"], "loss": e["train_loss"], "split": "train"})
        if e.get("val_loss") is not None:
            rows.append({"epoch": e["epoch"], "loss": e["val_loss"],
                         "split": "test (leaky!)" if "leaky" in name else "validation"})
    frame = pd.DataFrame(rows)
    splits = list(dict.fromkeys(frame["split"]))  # only the series present, in a fixed colour each
    end = curve["end"]
    lines = alt.Chart(frame).mark_line(point=True).encode(
        x=alt.X("epoch:Q", axis=alt.Axis(tickMinStep=1)),
        y=alt.Y("loss:Q", scale=alt.Scale(type="log"), title="MSE loss (scaled, log)"),
        color=alt.Color("split:N", title=None, legend=alt.Legend(orient="top"),
                        scale=alt.Scale(domain=splits, range=[SPLIT_COLORS[s] for s in splits])),
        tooltip=["epoch", "split", alt.Tooltip("loss:Q", format=".2e")])
    best = pd.DataFrame([{"epoch": end["best_epoch"], "label": f"best epoch {end['best_epoch']} (kept) "}])
    rule = alt.Chart(best).mark_rule(color="#2ca02c", strokeDash=[4, 3], size=2).encode(x="epoch:Q")
    text = alt.Chart(best).mark_text(align="right", dx=-3, color="#2ca02c").encode(
        x="epoch:Q", y=alt.value(10), text="label:N")
    title = alt.TitleParams([name, f"{end['reason'].replace('_', ' ')} after {end['epochs_run']} epochs"])
    return (lines + rule + text).properties(height=260, title=title)


result = st.session_state.get("stocks_result")
if result is None:
    st.info("Press **Train LSTM and GRU** to train both models (about 10 s on a 2-core CPU "
            "with the defaults).")
else:
    if result["signature"] != signature:
        st.info("The settings changed since the last training; the curves and results below "
                "are from the previous settings. Press **Train** to update them.")
    for name, message in result["diverged"].items():
        st.error(f"{name}: {message}")
    columns = st.columns(len(result["curves"]))
    for column, (name, curve) in zip(columns, result["curves"].items()):
        with column:
            if curve["epochs"]:
                st.altair_chart(_loss_chart(name, curve), width="stretch")
            st.caption(curve["end"]["message"])
    st.caption("Training and validation loss per epoch (log scale). The dashed green line marks "
               "the early-stopping epoch: its weights are the ones kept. Validation loss "
               "flattening or rising while training loss keeps falling is overfitting.")


# --- 4 · Results, honestly ---------------------------------------------------------------------
st.header("4 · Results, honestly")
if result is None:
    st.caption("Train the models to see test predictions against the naive baselines.")
else:
    rcur = result["currency"]
    predictions = result["predictions"]
    span = st.radio("Show", ["Whole test period", "Last 60 days"], horizontal=True, key="stocks_span",
                    help="Zoom in to see that the model's curve trails the real one by a day.")
    if span != "Whole test period":
        cutoff = predictions["Date"].drop_duplicates().sort_values().iloc[-60:].iloc[0]
        predictions = predictions[predictions["Date"] >= cutoff]
    names = list(predictions["series"].unique())
    dashed = {fc.NAIVE: [5, 3], fc.DRIFT: [2, 2]}
    chart = alt.Chart(predictions).mark_line(strokeWidth=1.4).encode(
        x=alt.X("Date:T", title=None),
        y=alt.Y("price:Q", title=f"close ({rcur})", scale=alt.Scale(zero=False)),
        color=alt.Color("series:N", title=None, legend=alt.Legend(labelLimit=320),
                        scale=alt.Scale(domain=names, range=[COLORS.get(n, "#9467bd") for n in names])),
        strokeDash=alt.StrokeDash("series:N", title=None,  # same field and title: one merged legend
                                  scale=alt.Scale(domain=names, range=[dashed.get(n, [1, 0]) for n in names])),
        tooltip=[alt.Tooltip("Date:T"), "series:N", alt.Tooltip("price:Q", format=",.2f")],
    ).properties(height=340, title="Test period: predicted vs actual close").interactive(bind_y=False)
    st.altair_chart(chart, width="stretch")
    st.caption("Black: the real close. Grey dashed: *tomorrow = today* (yesterday's close). "
               "Olive dotted: drift (yesterday + the training period's average daily change). "
               "If a model's line hugs the grey one, it has learned to copy yesterday. Zoom with "
               "the mouse wheel or pick *Last 60 days*.")

    table = result["table"].copy()
    shown = pd.DataFrame({
        "RMSE": table["RMSE"].map(lambda v: _price(v, rcur)),
        "MAE": table["MAE"].map(lambda v: _price(v, rcur)),
        "MAPE": table["MAPE %"].map(lambda v: f"{v:.2f}%"),
        "Direction right": table["Direction %"].map(
            lambda v: "— (never predicts a move)" if math.isnan(v) else f"{v:.1f}%"),
        "RMSE vs tomorrow = today": (table["RMSE"] / table.loc[fc.NAIVE, "RMSE"]).map(lambda v: f"{v:.2f}×"),
    }, index=table.index)
    st.dataframe(shown, width="stretch")
    st.caption("Errors on the test days, in prices. RMSE punishes big misses, MAE is the typical "
               "miss, MAPE is the miss as a % of the price. *Direction right* = how often the "
               "predicted move (up/down from the last close) had the right sign — 50% is a coin "
               "toss, and drift is 'always up' (or always down). Below 1.00× in the last column "
               "would mean beating *tomorrow = today*.")
    for text in result["verdicts"]:
        st.markdown(text)
    if "LSTM (leaky notebook version)" in table.index and "LSTM" in table.index:
        st.markdown(
            f"**Leaky notebook LSTM**: test RMSE {_price(table.loc['LSTM (leaky notebook version)', 'RMSE'], rcur)} "
            f"vs {_price(table.loc['LSTM', 'RMSE'], rcur)} for the honest LSTM. Its early stopping "
            "watched the test loss, and its scaler knew the test period's range, so its score is "
            "not one you could get on genuinely unseen days.")

    st.subheader("Next trading day")
    cols = st.columns(len(result["next_day"]) + 1)
    cols[0].metric(f"{fc.NAIVE} (close {result['last_date']:%Y-%m-%d})",
                   _price(result["last_close"], rcur))
    for column, (name, value) in zip(cols[1:], result["next_day"].items()):
        change = value - result["last_close"]
        column.metric(name, _price(value, rcur),
                      delta=f"{change:+,.0f}" if rcur == "₩" else f"{change:+,.2f}",
                      delta_color="off")
    st.caption(f"Each model's forecast for the trading day after {result['last_date']:%Y-%m-%d}, "
               "from the latest window of the data. Given the table above, read the difference "
               "from the last close as noise, not a signal.")
    st.warning(DISCLAIMER, icon="⚠️")


# --- 5 · Show the code -------------------------------------------------------------------------
csv_path = str(DATA_DIR / "stocks" / f"{data.symbol}.csv") if data.source == "embedded" else None
show_code(fc.make_code(data.symbol, start.isoformat(), end.isoformat(), config, model_config,
                       train_config, csv_path=csv_path), "stock_forecast.py", key="stocks_code")
