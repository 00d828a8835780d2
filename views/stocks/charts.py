"""The stocks page's charts and the sentences it builds from numbers (words from content/<lang>/stocks.md)."""
import math

import altair as alt
import pandas as pd

from core import stocks
from core.data import EMBEDDED_STOCKS, StockData
from ui.content import say, t

SERIES_COLORS = {"actual": "#111111", "lstm": "#1f77b4", "gru": "#ff7f0e", stocks.NAIVE: "#7f7f7f",
                 stocks.DRIFT: "#bcbd22", "lstm_leaky": "#d62728"}
SERIES_DASH = {stocks.NAIVE: [5, 3], stocks.DRIFT: [2, 2]}
CURVE_COLORS = {"train": "#1f77b4", "val": "#ff7f0e", "val_leaky": "#d62728"}
PERIOD_COLORS = {"train": "#2ca02c", "val": "#ff7f0e", "test": "#d62728"}


def worded(name: str, own: bool, **values) -> str:
    """The section `name` of the page's words, or for the learner's own series (`own`: the data is an
    upload, a run's settings.upload is set) its variant `own_<name>`: the same sentence about values,
    rows and steps, since a temperature or a sales figure has no price, close or trading day."""
    return t(f"stocks.{'own_' if own else ''}{name}", **values)


def series(name: str) -> str:
    """"lstm" -> "LSTM", "naive" -> "Tomorrow = today"."""
    return t(f"stocks.series_{name}")


def stock_name(symbol: str, name: str | None = None) -> str:
    """An embedded stock's name in the learner's language ("005930" -> "Samsung Electronics (KRX)");
    any other symbol keeps `name` (else the symbol itself)."""
    return t(f"stocks.name_{symbol}") if symbol in EMBEDDED_STOCKS else name or symbol


def feature(column: str) -> str:
    """A price column's name in the learner's language ("Open" -> "Open" / "시가(Open)"); an
    uploaded file's column keeps its own name."""
    return t(f"stocks.feature_{column}") if column in stocks.FEATURE_CHOICES else column


def source_note(data: StockData) -> str:
    """One sentence: where the prices (or an own series' values) came from, and which dates."""
    span = worded("span", data.source == "upload", **data.span.values)  # an own series counts rows, not trading days
    return t(f"stocks.source_{data.source}", symbol=data.symbol, span=span, file=data.cache_file,
             why=say(data.why) if data.why else "", origin=t(f"stocks.origin_{data.origin}"),
             covers=say(data.covers) if data.covers else "")


def price_charts(frame: pd.DataFrame, prepared: stocks.Prepared, kind: str, currency: str, name: str):
    """The daily prices (line or candlesticks) over shaded train/validation/test periods, and the volume."""
    dates, test_start = prepared.dates, int(prepared.rows_test[0])
    bands = pd.DataFrame([
        {"period": t("stocks.period_train"), "from": dates[0], "to": dates[prepared.train_end - 1]},
        {"period": t("stocks.period_val"), "from": dates[prepared.train_end], "to": dates[test_start - 1]},
        {"period": t("stocks.period_test"), "from": dates[test_start], "to": dates[-1]}])
    zoom = alt.selection_interval(encodings=["x"], bind="scales")
    shade = alt.Chart(bands).mark_rect(opacity=0.12).encode(
        x="from:T", x2="to:T",
        color=alt.Color("period:N", scale=alt.Scale(domain=list(bands["period"]), range=list(PERIOD_COLORS.values())),
                        title=None, legend=alt.Legend(orient="top")))
    if prepared.settings.upload:  # an own series: its value column alone, no candles and no volume
        value = prepared.settings.value
        line = alt.Chart(pd.DataFrame({"Date": frame["Date"], "value": frame[value]})).mark_line(
            color="#111111", strokeWidth=1.2).encode(
            x=alt.X("Date:T", title=None), y=alt.Y("value:Q", title=value, scale=alt.Scale(zero=False)),
            tooltip=[alt.Tooltip("Date:T", title=t("stocks.field_date")), alt.Tooltip("value:Q", title=value)])
        return ((shade + line).add_params(zoom).properties(height=260, title=name),)
    frame = frame.assign(up=frame["Close"] >= frame["Open"])
    base = alt.Chart(frame).encode(x=alt.X("Date:T", title=None))
    tooltip = [alt.Tooltip("Date:T", title=t("stocks.field_date")),
               *(alt.Tooltip(f"{c}:Q", title=feature(c)) for c in ("Open", "High", "Low", "Close", "Volume"))]
    y_title = t("stocks.price_axis", currency=currency)
    if kind == "candlestick":
        wick = base.mark_rule().encode(y=alt.Y("Low:Q", title=y_title, scale=alt.Scale(zero=False)), y2="High:Q")
        body = base.mark_bar(width=2).encode(
            y="Open:Q", y2="Close:Q", tooltip=tooltip,
            color=alt.condition("datum.up", alt.value("#d62728"), alt.value("#1f77b4")))
        price = shade + wick + body  # Korean convention: red = up, blue = down
    else:
        price = shade + base.mark_line(color="#111111", strokeWidth=1.2).encode(
            y=alt.Y("Close:Q", title=y_title, scale=alt.Scale(zero=False)), tooltip=tooltip)
    price = price.add_params(zoom).properties(height=260, title=t("stocks.price_title", name=name))
    volume = base.mark_bar(color="#9a9a9a").encode(
        y=alt.Y("Volume:Q", title=t("stocks.volume_axis")), tooltip=tooltip).properties(height=90)
    return price, volume  # two charts: a vconcat cannot stretch to the column width


def split_table(prepared: stocks.Prepared) -> pd.DataFrame:
    leaky = prepared.settings.leaky
    return pd.DataFrame([{
        t("stocks.split_part"): t(f"stocks.part_{row['part']}{'_leaky' if leaky and row['part'] == 'val' else ''}"),
        t("stocks.split_windows"): row["windows"], t("stocks.split_first"): row["first"],
        t("stocks.split_last"): row["last"]} for row in stocks.split_summary(prepared)])


def leak_text(leak: dict, settings: stocks.StockSettings, currency: str) -> str:
    """What the notebook's scaler, fitted on every row, learns from the future."""
    def bounds(column: str, values: tuple) -> str:
        if settings.upload:
            return "–".join(stocks.format_price(v, "") for v in values)
        if column in ("Open", "High", "Low", "Close") or (column == "target" and settings.target == "close"):
            return "–".join(stocks.format_price(v, currency) for v in values)
        if column == "Volume":
            return "–".join(f"{v:,.0f}" for v in values)
        return "–".join(f"{100 * v:+.1f}%" for v in values)

    def label(column: str) -> str:
        target = settings.value if settings.upload else t(f"stocks.target_word_{settings.target}")
        return t("stocks.leak_target", target=target) if column == "target" else feature(column)

    if leak["changed"]:
        moved = "; ".join(t("stocks.leak_moved", column=label(col), new=bounds(col, new), old=bounds(col, old))
                          for col, (old, new) in leak["changed"].items())
        scaler = worded("leak_changed", bool(settings.upload), moved=moved)
    else:
        scaler = t("stocks.leak_unchanged")
    return t("stocks.leak", rows=leak["leaky_rows"], scaler=scaler)


def loss_chart(name: str, epochs: list[dict], end: dict | None, early: bool, live: bool = False):
    """Training and validation loss per epoch (log scale); with early stopping (`early`), the kept
    epoch is marked once training ended. `end` is None while training (`live`) or after Stop."""
    held_out = "val_leaky" if name.endswith("leaky") else "val"
    rows = []
    for e in epochs:
        rows.append({"epoch": e["epoch"], "loss": e["train_loss"], "split": t("stocks.curve_train")})
        if e.get("val_loss") is not None:
            rows.append({"epoch": e["epoch"], "loss": e["val_loss"], "split": t(f"stocks.curve_{held_out}")})
    present = [k for k in ("train", held_out) if t(f"stocks.curve_{k}") in {r["split"] for r in rows}]
    lines = alt.Chart(pd.DataFrame(rows)).mark_line(point=True).encode(
        x=alt.X("epoch:Q", axis=alt.Axis(tickMinStep=1), title=t("stocks.field_epoch")),
        y=alt.Y("loss:Q", scale=alt.Scale(type="log"), title=t("stocks.loss_axis")),
        color=alt.Color("split:N", title=None, legend=alt.Legend(orient="top"),
                        scale=alt.Scale(domain=[t(f"stocks.curve_{k}") for k in present],
                                        range=[CURVE_COLORS[k] for k in present])),
        tooltip=[alt.Tooltip("epoch:Q", title=t("stocks.field_epoch")),
                 alt.Tooltip("split:N", title=t("stocks.field_split")),
                 alt.Tooltip("loss:Q", format=".2e", title=t("stocks.field_loss"))])
    if end is None:
        status = t("stocks.loss_running") if live else t("stocks.loss_stopped", epochs=len(epochs))
        return lines.properties(height=260, title=alt.TitleParams([series(name), status]))
    subtitle = t("stocks.loss_subtitle", reason=t(f"stocks.reason_{end['reason']}"), epochs=end["epochs_run"])
    if not early:  # without early stopping the last epoch's weights are kept
        return lines.properties(height=260, title=alt.TitleParams([series(name), subtitle]))
    best = pd.DataFrame([{"epoch": end["best_epoch"], "label": t("stocks.loss_best", epoch=end["best_epoch"])}])
    rule = alt.Chart(best).mark_rule(color="#2ca02c", strokeDash=[4, 3], size=2).encode(x="epoch:Q")
    text = alt.Chart(best).mark_text(align="right", dx=-3, color="#2ca02c").encode(
        x="epoch:Q", y=alt.value(10), text="label:N")
    return (lines + rule + text).properties(height=260, title=alt.TitleParams([series(name), subtitle]))


def prediction_chart(predictions: pd.DataFrame, currency: str, value: str = ""):
    """The test period: the real close (or an own series' `value` column), each model and the two baselines."""
    ids = list(predictions["series"].unique())
    frame = predictions.assign(series=predictions["series"].map(series))
    return alt.Chart(frame).mark_line(strokeWidth=1.4).encode(
        x=alt.X("Date:T", title=None),
        y=alt.Y("price:Q", title=value or t("stocks.close_axis", currency=currency), scale=alt.Scale(zero=False)),
        color=alt.Color("series:N", title=None, legend=alt.Legend(labelLimit=320),
                        scale=alt.Scale(domain=[series(i) for i in ids],
                                        range=[SERIES_COLORS.get(i, "#9467bd") for i in ids])),
        strokeDash=alt.StrokeDash("series:N", title=None,  # same field and title: one merged legend
                                  scale=alt.Scale(domain=[series(i) for i in ids],
                                                  range=[SERIES_DASH.get(i, [1, 0]) for i in ids])),
        tooltip=[alt.Tooltip("Date:T", title=t("stocks.field_date")),
                 alt.Tooltip("series:N", title=t("stocks.field_series")),
                 alt.Tooltip("price:Q", format=",.2f", title=value or t("stocks.field_price"))],
    ).properties(height=340, title=worded("prediction_title", bool(value), value=value)).interactive(bind_y=False)


def metrics_table(table: pd.DataFrame, currency: str) -> pd.DataFrame:
    """The metrics on the test days, formatted, one row per method."""
    frame = pd.DataFrame({
        t("stocks.col_rmse"): table["RMSE"].map(lambda v: stocks.format_price(v, currency)),
        t("stocks.col_mae"): table["MAE"].map(lambda v: stocks.format_price(v, currency)),
        t("stocks.col_mape"): table["MAPE %"].map(lambda v: f"{v:.2f}%"),
        t("stocks.col_direction"): table["Direction %"].map(
            lambda v: t("stocks.never_moves") if math.isnan(v) else f"{v:.1f}%"),
        t("stocks.col_ratio"): (table["RMSE"] / table.loc[stocks.NAIVE, "RMSE"]).map(lambda v: f"{v:.2f}×"),
    })
    return frame.set_axis([series(name) for name in table.index])


def verdict_text(v: dict, currency: str, value: str = "") -> str:
    """One plain paragraph: does the model beat tomorrow = today, and why (not); for an own series
    (its `value` column) in words of values and rows."""
    own = bool(value)
    head = t("stocks.verdict_head", model=series(v["model"]), rmse=stocks.format_price(v["rmse"], currency),
             naive=stocks.format_price(v["naive"], currency))
    why = worded(f"verdict_why_{v['target']}", own, value=value)
    percent = 100 * abs(1 - v["ratio"])
    main = worded(f"verdict_{v['case']}", own, head=head, percent=percent, direction=v["direction"],
                  up_days=v["up_days"], why=why)
    related = t(f"stocks.related_{v['related']}", corr=v["corr_change"])
    return main + " " + worded("verdict_moves", own, move_model=stocks.format_price(v["move_model"], currency),
                               move_actual=stocks.format_price(v["move_actual"], currency), related=related)
