"""Charts more than one page draws."""
import altair as alt
import pandas as pd
import streamlit as st

from ui.content import t


def training_chart(history: list[dict], metric: str = "accuracy") -> alt.LayerChart | alt.Chart:
    """Loss over epochs on the left axis (every logged batch, and per epoch on held-out data),
    accuracy on the right axis (per epoch). One layered chart, so it fits any column's width."""
    names = {k: t(f"common.series_{k}") for k in ("batch_loss", "val_loss", "train_acc", "val_acc")}
    loss_rows = [{"epoch": e["epoch_float"], "value": e["loss"], "series": names["batch_loss"]}
                 for e in history if e["kind"] == "batch"]
    acc_rows = []
    for e in history:
        if e["kind"] != "epoch":
            continue
        if e.get("val_loss") is not None:
            loss_rows.append({"epoch": e["epoch"], "value": e["val_loss"], "series": names["val_loss"]})
        if metric == "accuracy":
            if e.get("train_acc") is not None:
                acc_rows.append({"epoch": e["epoch"], "value": e["train_acc"], "series": names["train_acc"]})
            if e.get("val_acc") is not None:
                acc_rows.append({"epoch": e["epoch"], "value": e["val_acc"], "series": names["val_acc"]})
    series_order = list(names.values())
    color = alt.Color("series:N", title=None, scale=alt.Scale(
        domain=series_order, range=["#4f46e5", "#f59e0b", "#10b981", "#dc2626"]),
        legend=alt.Legend(orient="bottom"))
    base_x = alt.X("epoch:Q", title=t("common.axis_epoch"), axis=alt.Axis(tickMinStep=1, format=".2~f"))
    loss_frame = pd.DataFrame(loss_rows or [{"epoch": 0, "value": None, "series": series_order[0]}])
    loss_chart = alt.Chart(loss_frame).mark_line(point=alt.OverlayMarkDef(size=12)).encode(
        x=base_x, color=color,
        y=alt.Y("value:Q", title=t("common.axis_loss"), scale=alt.Scale(zero=False),
                axis=alt.Axis(format=".3~g")),
        tooltip=[alt.Tooltip("epoch:Q", format=".2f"), "series:N",
                 alt.Tooltip("value:Q", title=t("common.axis_loss"), format=".4f")])
    if not acc_rows:
        return loss_chart.properties(height=260)
    acc_chart = alt.Chart(pd.DataFrame(acc_rows)).mark_line(point=True, strokeDash=[5, 3]).encode(
        x=base_x, y=alt.Y("value:Q", title=t("common.axis_accuracy"), scale=alt.Scale(zero=False)),
        color=color,
        tooltip=["epoch:Q", "series:N",
                 alt.Tooltip("value:Q", title=t("common.axis_accuracy"), format=".2f")])
    return alt.layer(loss_chart, acc_chart).resolve_scale(y="independent").properties(height=260)


def show(chart: alt.TopLevelMixin | None, caption: str | None = None, where=st) -> None:
    """A chart at the column's width with its explanation under it (either may be None)."""
    if chart is not None:
        where.altair_chart(chart, width="stretch")
    if caption:
        where.caption(caption)
