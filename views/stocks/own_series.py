"""The stock page's "your own series": upload a CSV with a date column and value columns, pick the
value to forecast and the inputs; the page then runs the same leak-free LSTM/GRU comparison.

The file is read once per upload (core.own_data.read_csv, kept in this session's state by the
uploader's file id) and made a series once per choice of columns (core.stocks.own_series): a rerun
for any other widget reads them back. The file stays in this session; a kept run names it (file
name, digest, columns) but never holds it.
"""
import datetime as dt
from dataclasses import dataclass

import streamlit as st

from core import own_data, stocks
from core.data import DataError, StockData
from ui.content import say, t
from ui.own_upload import uploaded_table

MEMO = "stocks_own"  # session_state: the upload as read, and the series made from it
SPLIT_AT = 0.8       # a new file's first test day: the date 80 % of the way through its rows


@dataclass(frozen=True)
class Series:
    """An uploaded series, ready: the data as the page's price tables come, and what a run names."""
    data: StockData       # frame: Date, the value column and the inputs; currency "" (no currency)
    settings: dict        # StockSettings fields: upload, upload_hash, value, features, target, start, end
    numeric: list         # the file's numeric columns (the inputs offered)


def choose() -> Series | None:
    """The uploader and the date and value pickers; None (after a message in place) when there is no series."""
    found = uploaded_table("stocks", "stocks_own_file", MEMO,
                           ("stocks_own_date", "stocks_own_value", "stocks_own_inputs", "stocks_own_split"))
    if found is None:
        return None
    memo, own = found
    if "dates" not in memo:  # once per file: the memo is new with each upload
        memo["dates"] = own_data.date_columns(own)
    numeric, dated = own.numeric_columns(), memo["dates"]
    if not dated:
        st.error(t("stocks.own_no_date_column", columns=", ".join(map(str, own.frame.columns[:20]))))
        return None
    date = st.selectbox(t("stocks.own_date"), dated, key="stocks_own_date")
    values = [c for c in numeric if c != date]
    if not values:
        st.error(t("stocks.own_no_value_column"))
        return None
    value = st.selectbox(t("stocks.own_value"), values, key="stocks_own_value", help=t("stocks.own_value_help"))
    return _series(own, memo, date, value, values)


def inputs(series: Series) -> list[str]:
    """The input columns (the value itself by default: its own past), from the file's numeric columns."""
    return st.multiselect(t("stocks.features"), series.numeric, default=[series.settings["value"]],
                          key="stocks_own_inputs", help=t("stocks.own_inputs_help"))


def split_date(series: Series) -> dt.date:
    """The first test day, within the series' dates; a new file starts at SPLIT_AT of its rows."""
    dates = series.data.frame["Date"]
    first, last = dates.iloc[0].date(), dates.iloc[-1].date()
    if not first <= st.session_state.get("stocks_own_split", first) <= last:
        st.session_state.pop("stocks_own_split")
    default = dates.iloc[min(len(dates) - 1, int(SPLIT_AT * len(dates)))].date()
    return st.date_input(t("stocks.split"), value=default, min_value=first, max_value=last, key="stocks_own_split",
                         help=t("stocks.split_help"))


def _series(own: own_data.OwnTable, memo: dict, date: str, value: str, values: list[str]) -> Series | None:
    columns = tuple(values)  # every numeric column comes along: the inputs are picked later, from these
    if memo.get("picked") != (date, value):
        try:
            memo["made"], memo["made_problem"] = stocks.own_series(own, date, value, columns), None
        except DataError as exc:
            memo["made"], memo["made_problem"] = None, exc.words
        memo["picked"] = (date, value)
    if memo["made_problem"] is not None:
        st.error(say(memo["made_problem"]))
        return None
    frame, notes = memo["made"]
    for note in notes:
        st.warning(say(note))
    if len(frame) < 2:
        st.error(t("stocks.own_one_row", rows=len(frame)))
        return None
    data = StockData(frame, own.name, own.name, "upload", "")
    settings = {"upload": own.name, "upload_hash": own.digest, "value": value, "target": "close",
                "start": f"{frame['Date'].iloc[0]:%Y-%m-%d}", "end": f"{frame['Date'].iloc[-1]:%Y-%m-%d}"}
    return Series(data, settings, list(values))

