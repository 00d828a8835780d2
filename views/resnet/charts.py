"""The ResNet page's pictures: the block diagram, the twins' curves and gradient maps, the
activation histograms, the stage table and the transfer-learning curves (words via t():
titles, axes, legends, tooltips and the data labels core gives as ids)."""

import altair as alt
import pandas as pd

from ui.content import say, t

COLORS = ["#d62728", "#1f77b4"]  # plain red, residual blue


def _networks(frame: pd.DataFrame) -> tuple[pd.DataFrame, alt.Color]:
    """The frame with its "network" column in the reader's words, and the twins' colours."""
    names = {m: t(f"resnet.net_{m}") for m in ("plain", "residual")}
    color = alt.Color("network:N", title=t("resnet.chart_network"),
                      scale=alt.Scale(domain=list(names.values()), range=COLORS))
    return frame.assign(network=frame["network"].map(names)), color


def _tip(field: str, key: str, fmt: str | None = None) -> alt.Tooltip:
    """A tooltip line titled in the reader's words (Altair would show the column's name)."""
    return alt.Tooltip(field, title=t(key), **({"format": fmt} if fmt else {}))


def _bn(frame: pd.DataFrame) -> pd.DataFrame:
    """core's True/False "batchnorm" and numbered layers as the reader's labels."""
    return frame.assign(batchnorm=frame["batchnorm"].map(bn_label),
                        layer=[t("resnet.act_name", index=i, total=n)
                               for i, n in zip(frame["layer_index"], frame["layers"])])


def bn_label(batchnorm: bool) -> str:
    return t("resnet.bn_with" if batchnorm else "resnet.bn_without")


def stage_name(stage: str) -> str:
    """A stage id of core.resnet.stage_table as shown: torchvision's layer1..layer4 as they are."""
    return stage if stage.startswith("layer") else t(f"resnet.stage_{stage}")


def block_dot(c_in: int, c_out: int, stride: int) -> str:
    """Graphviz DOT source of torchvision's BasicBlock (identity or 1x1-conv shortcut)."""
    size_in, size_out = 56, 56 // stride

    def conv(size: int, step: int | None = None) -> str:
        return t("resnet.dot_conv", size=size, channels=c_out) + (
            t("resnet.dot_stride", stride=step) if step is not None else "")
    shortcut = (f'short [label="{conv(1, stride)}\\n+ BatchNorm", '
                'shape=box, style="rounded,filled", fillcolor="#fde2c8"];\n'
                '  x -> short [color="#e07b00", penwidth=2];\n'
                f'  short -> add [color="#e07b00", penwidth=2, label=" {t("resnet.dot_shortcut")}"];'
                if stride != 1 or c_in != c_out else
                f'x -> add [color="#e07b00", penwidth=2, label=" {t("resnet.dot_identity")}"];')
    return f"""digraph block {{
  rankdir=TB; node [fontname="Helvetica", fontsize=11]; edge [fontname="Helvetica", fontsize=10];
  x [label="x\\n{c_in} x {size_in} x {size_in}", shape=ellipse, style=filled, fillcolor="#e8eefc"];
  conv1 [label="{conv(3, stride)}", shape=box, style="rounded,filled", fillcolor="#dbeafe"];
  bn1 [label="BatchNorm", shape=box, style=rounded];
  relu1 [label="ReLU", shape=box, style=rounded];
  conv2 [label="{conv(3)}", shape=box, style="rounded,filled", fillcolor="#dbeafe"];
  bn2 [label="BatchNorm", shape=box, style=rounded];
  add [label="+", shape=circle, style=filled, fillcolor="#fef3c7", fontsize=16];
  relu2 [label="ReLU", shape=box, style=rounded];
  out [label="H(x) = F(x) + {t("resnet.dot_shortcut")}\\n{c_out} x {size_out} x {size_out}",
       shape=ellipse, style=filled, fillcolor="#e8eefc"];
  x -> conv1 -> bn1 -> relu1 -> conv2 -> bn2;
  bn2 -> add [label=" F(x)"];
  {shortcut}
  add -> relu2 -> out;
}}"""


def loss_curves(history: list[dict]) -> alt.Chart:
    """Training loss of both twins by optimizer step (also the live view while they train)."""
    rows = [{"network": e["model"], "step": e["step"], "loss": e["loss"]}
            for e in history if e["kind"] == "batch"]
    frame, color = _networks(pd.DataFrame(rows or [{"network": "plain", "step": 0, "loss": None}]))
    return alt.Chart(frame).mark_line().encode(
        x=alt.X("step:Q", title=t("resnet.chart_step")), y=alt.Y("loss:Q", title=t("resnet.chart_loss")),
        color=color, tooltip=[_tip("network:N", "resnet.chart_network"), _tip("step:Q", "resnet.chart_step"),
                              _tip("loss:Q", "resnet.chart_loss", ".4f")],
    ).properties(title=t("resnet.chart_loss_title"), height=240)


def accuracy_curves(history: list[dict]) -> alt.Chart:
    rows = [{"network": e["model"], "epoch": e["epoch"], "accuracy": e["val_acc"]}
            for e in history if e["kind"] == "epoch" and e.get("val_acc") is not None]
    frame, color = _networks(pd.DataFrame(rows or [{"network": "plain", "epoch": 0, "accuracy": None}]))
    return alt.Chart(frame).mark_line(point=True).encode(
        x=alt.X("epoch:Q", title=t("resnet.chart_epoch"), axis=alt.Axis(tickMinStep=1)),
        y=alt.Y("accuracy:Q", title=t("resnet.chart_test_acc"), scale=alt.Scale(domain=[0, 100])),
        color=color, tooltip=[_tip("network:N", "resnet.chart_network"), _tip("epoch:Q", "resnet.chart_epoch"),
                              _tip("accuracy:Q", "resnet.chart_test_acc", ".2f")],
    ).properties(title=t("resnet.chart_acc_title"), height=240)


def gradient_heatmaps(grads: pd.DataFrame) -> list[tuple[alt.Chart, int]] | None:
    """One ‖∇W‖ map per twin (layer x logged step) on one shared log scale, with the height
    each needs; None when every recorded norm is zero (a log scale has nothing to show)."""
    positive = grads.loc[grads["grad_norm"] > 0, "grad_norm"]
    if not len(positive):
        return None
    floor = float(positive.min())
    domain = [floor, max(float(positive.max()), floor * 10)]
    maps = []
    for name in ("plain", "residual"):
        g = grads[grads["network"] == name]
        g = g.assign(shown=g["grad_norm"].clip(lower=floor))  # log scale: no zeros
        # Streamlit sizes the element; the plot gets what the title/axes/legend leave
        rows_px = min(560, max(200, 12 * g["layer"].nunique()))
        chart = alt.Chart(g).mark_rect().encode(
            x=alt.X("step:O", title=t("resnet.chart_step"), axis=alt.Axis(labelOverlap=True)),
            y=alt.Y("layer:O", title=t("resnet.heatmap_layer"), sort="ascending"),
            color=alt.Color("shown:Q", title=t("resnet.heatmap_legend"),
                            scale=alt.Scale(type="log", domain=domain, scheme="viridis"),
                            legend=alt.Legend(format=".0e", orient="bottom", gradientLength=220)),
            tooltip=[_tip("layer:O", "resnet.tip_layer"), _tip("step:O", "resnet.chart_step"),
                     _tip("grad_norm:Q", "resnet.tip_grad", ".2e")],
        ).properties(title=t("resnet.heatmap_title", network=t(f"resnet.name_{name}")))
        maps.append((chart, rows_px + 230))
    return maps


def gradient_profile(grads: pd.DataFrame) -> alt.Chart:
    """Median ‖∇W‖ per layer of each twin, input on the left."""
    profile = grads[grads["grad_norm"] > 0].groupby(["network", "layer_index"], as_index=False)["grad_norm"].median()
    frame, color = _networks(profile)
    return alt.Chart(frame).mark_line(point=True).encode(
        x=alt.X("layer_index:Q", title=t("resnet.profile_layer"), axis=alt.Axis(tickMinStep=1)),
        y=alt.Y("grad_norm:Q", title=t("resnet.profile_norm"), scale=alt.Scale(type="log")),
        color=color, tooltip=[_tip("network:N", "resnet.chart_network"), _tip("layer_index:Q", "resnet.tip_layer"),
                              _tip("grad_norm:Q", "resnet.profile_norm", ".2e")],
    ).properties(title=t("resnet.profile_title"), height=240)


def activation_histograms(hist: pd.DataFrame, activation: str) -> alt.FacetChart:
    """One small histogram per layer (rows) without and with BN (columns)."""
    columns = [bn_label(False), bn_label(True)]
    output = t("resnet.hist_output", activation=t(f"resnet.activation_{activation}"))
    return alt.Chart(_bn(hist)).mark_bar().encode(
        x=alt.X("bin_start:Q", bin="binned", title=output),
        x2="bin_end:Q",
        y=alt.Y("fraction:Q", title=t("resnet.hist_share"), axis=alt.Axis(format="%")),
        color=alt.Color("batchnorm:N", legend=None, scale=alt.Scale(domain=columns, range=["#d62728", "#2ca02c"])),
        tooltip=[alt.Tooltip("bin_start:Q", title=output, format=".2f"),
                 _tip("fraction:Q", "resnet.hist_share", ".1%")],
    ).properties(height=70, width=250).facet(
        row=alt.Row("layer:N", sort=alt.SortField("layer_index"), title=None),
        column=alt.Column("batchnorm:N", sort=columns, title=None),
    ).resolve_scale(y="independent")


def activation_table(stats: pd.DataFrame):
    """std and mean slope per layer, without and with BN side by side (a Styler for st.table)."""
    wide = _bn(stats).pivot(index=["layer_index", "layer"], columns="batchnorm", values=["std", "mean_slope"])
    wide = wide[[(s, bn_label(bn)) for s in ("std", "mean_slope") for bn in (False, True)]]
    wide.columns = [t(f"resnet.stats_{stat}", bn=bn) for stat, bn in wide.columns]
    wide = wide.reset_index(level=0, drop=True).rename_axis(t("resnet.tip_layer"))
    return wide.style.format("{:.3g}")


def stage_table(table: pd.DataFrame):
    """resnet.stage_table in the reader's words (a Styler for st.table)."""
    shown = table.assign(stage=table["stage"].map(stage_name), layers=table["layers"].map(say))
    shown = shown.rename(columns={c: t(f"resnet.col_{c.replace(' ', '_')}") for c in table.columns})
    shown = shown.set_index(t("resnet.col_stage"))
    return shown.style.format({t("resnet.col_parameters"): "{:,}",
                               t("resnet.col_blocks"): lambda b: "" if pd.isna(b) else b})


def stage_bars(table: pd.DataFrame) -> alt.Chart:
    stages = table.loc[table["stage"] != "total", ["stage", "parameters"]]
    return alt.Chart(stages.assign(stage=stages["stage"].map(stage_name))).mark_bar().encode(
        x=alt.X("parameters:Q", title=t("resnet.col_parameters")),
        y=alt.Y("stage:N", sort=None, title=None, axis=alt.Axis(labelOverlap=False)),
        tooltip=[_tip("stage:N", "resnet.col_stage"), _tip("parameters:Q", "resnet.col_parameters", ",")],
    ).properties(title=t("resnet.stage_bars_title"), height=300)


def transfer_accuracy(frame: pd.DataFrame) -> alt.Chart:
    """Test accuracy per epoch of the pretrained head and the from-scratch ResNet-18."""
    frame = frame.assign(model=frame["model"].map(lambda m: t(f"resnet.tl_model_{m}")))
    if frame.empty:
        frame = pd.DataFrame([{"model": t("resnet.tl_model_pretrained"), "epoch": 0, "accuracy": None}])
    return alt.Chart(frame).mark_line(point=True).encode(
        x=alt.X("epoch:Q", title=t("resnet.chart_epoch"), axis=alt.Axis(tickMinStep=1)),
        y=alt.Y("accuracy:Q", title=t("resnet.chart_test_acc"), scale=alt.Scale(domain=[0, 100])),
        color=alt.Color("model:N", title=t("resnet.tl_chart_model")),
        tooltip=[_tip("model:N", "resnet.tl_chart_model"), _tip("epoch:Q", "resnet.chart_epoch"),
                 _tip("accuracy:Q", "resnet.chart_test_acc", ".1f")],
    ).properties(height=240)
