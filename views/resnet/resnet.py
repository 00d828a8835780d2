"""ResNet: why skip connections let deep networks train."""
import inspect
import math
from dataclasses import asdict

import streamlit as st

from core import data, resnet
from core.engine import FAILED, OPTIMIZER_LABELS, OPTIMIZERS
from core.models import count_params
from ui.code import show_code
from ui.content import labels, say, t
from ui.export import export_box
from ui.runs import RunStore
from ui.share import setting
from ui.shell import current_device, format_seconds, stop_page
from ui.training import announce, end_text, estimated, lever, run_training, time_check, train_button, warn_lr
from views.resnet import charts, photos, transfer

st.title(t("resnet.title"))
st.markdown(t("resnet.intro"))

# --- 1. The residual block ---------------------------------------------------------------------
st.header(t("resnet.block_header"))
block_col, code_col = st.columns([2, 3])
with block_col:
    projection = setting(st.radio, t("resnet.block_label"), [False, True], key="resnet_block_kind",
                         format_func={False: t("resnet.block_same"), True: t("resnet.block_projection")}.get,
                         help=t("resnet.block_help"))
    c_in, c_out, stride = (64, 128, 2) if projection else (64, 64, 1)
    st.graphviz_chart(charts.block_dot(c_in, c_out, stride))
    demo = resnet.block_demo(c_in, c_out, stride)
    st.caption(t("resnet.block_caption", c_in=c_in, c_out=c_out, stride=stride, params=demo["params"],
                 shape=" x ".join(map(str, demo["shape"])),
                 extra=t("resnet.block_caption_projection", params=demo["shortcut_params"])
                 if demo["shortcut_params"] else t("resnet.block_caption_identity")))
with code_col:
    st.code(inspect.getsource(resnet.BasicBlock), language="python")

st.subheader(t("resnet.bn_header"))
st.markdown(t("resnet.bn_text"))
st.latex(r"\hat{x} = \frac{x - \mu_B}{\sqrt{\sigma_B^2 + \epsilon}}, \qquad y = \gamma\,\hat{x} + \beta")
st.markdown(t("resnet.bn_text_after"))

# --- 2. Experiment: plain vs residual ------------------------------------------------------------
st.header(t("resnet.exp_header"), anchor="plain-vs-residual")
st.markdown(t("resnet.exp_intro"))


@st.cache_resource(max_entries=4, show_spinner=t("resnet.loading_data"))
def _experiment_data(dataset: str, n_train: int) -> dict:
    return resnet.experiment_data(dataset, n_train=n_train)  # n_test, seed: as ExperimentSettings


c1, c2, c3, c4 = st.columns(4)
depth = setting(c1.slider, t("resnet.depth_label"), 8, 50, 20, step=2, key="resnet_depth", help=t("resnet.depth_help"))
kind = setting(c1.radio, t("resnet.kind_label"), resnet.NET_KINDS, key="resnet_kind", horizontal=True,
               format_func=labels("resnet.kind", resnet.NET_KINDS), help=t("resnet.kind_help"))
activation = setting(c2.radio, t("resnet.activation_label"), resnet.EXPERIMENT_ACTIVATIONS,
                     key="resnet_activation", index=1,
                     format_func=labels("resnet.activation", resnet.EXPERIMENT_ACTIVATIONS), horizontal=True)
batchnorm = setting(c2.toggle, t("resnet.bn_label"), value=False, key="resnet_bn", help=t("resnet.bn_help"))
dataset = setting(c3.radio, t("resnet.dataset_label"), resnet.DATASETS, key="resnet_dataset", horizontal=True,
                  format_func=labels("resnet.dataset", resnet.DATASETS))
width = (setting(c3.select_slider, t("resnet.channels_label"), [4, 8, 16, 32], 8, key="resnet_channels")
         if kind == "conv"
         else setting(c3.select_slider, t("resnet.width_label"), [16, 32, 64, 128, 256], 64, key="resnet_width"))
n_train = setting(c4.select_slider, t("resnet.n_train_label"), [500, 1000, 2000, 3000, 5000, 10000, 20000, 60000],
                  5000, key="resnet_n_train")
epochs = setting(c4.slider, t("resnet.epochs_label"), 1, 10, 3, key="resnet_epochs")
c5, c6, c7, _ = st.columns(4)
optimizer = setting(c5.selectbox, t("resnet.optimizer_label"), OPTIMIZERS, index=OPTIMIZERS.index("sgd_momentum"),
                    format_func=OPTIMIZER_LABELS.get, key="resnet_optimizer")
lr = setting(c6.select_slider, t("resnet.lr_label"), [0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0],
             0.01, key="resnet_lr")
batch_size = setting(c7.select_slider, t("resnet.batch_label"), [16, 32, 64, 128, 256], 64, key="resnet_batch")

n_max = resnet.TRAIN_SIZES[dataset]
if n_train > n_max:
    st.warning(t("resnet.n_max_warning", dataset=t(f"resnet.dataset_{dataset}"), n_max=n_max))
    n_train = n_max

settings = resnet.ExperimentSettings(depth=depth, width=width, activation=activation, batchnorm=batchnorm,
                                     kind=kind, dataset=dataset, n_train=n_train, epochs=epochs,
                                     optimizer=optimizer, lr=lr, batch_size=batch_size)
device = current_device()
exp = _experiment_data(dataset, n_train)
net_cfg = settings.net_config()
n_plain, n_residual = map(count_params, resnet.build_pair(net_cfg))
estimate = estimated(resnet.estimate_seconds, settings)
st.caption(t("resnet.estimate_caption", depth=depth, blocks=resnet.blocks_for_depth(depth), plain=n_plain,
             residual=n_residual, steps=settings.steps, device=device.type, estimate=format_seconds(estimate),
             extra=t("resnet.estimate_projection" if n_residual != n_plain else "resnet.estimate_identity")))
warn_lr(optimizer, lr)
allowed = time_check(estimate, "resnet_train",
                     [lever(t("resnet.epochs_label"), epochs, range(1, epochs), estimate),
                      lever(t("resnet.n_train_label"), n_train, [500, 1000, 2000, 3000, 5000, 10000, 20000],
                            estimate, "{:,}".format)])
announce(store := RunStore("resnet_runs"))
if train_button(store, t("resnet.train_button"), "resnet_train", type="primary", disabled=not allowed):
    store.clear()  # the page compares the twins of the latest run only
    plain, residual = resnet.build_pair(net_cfg, settings.seed)
    run_training(resnet.plain_vs_residual(plain, residual, settings, exp, device), key="resnet_run",
                 label=t("resnet.train_label"), store=store,
                 settings=settings, results=lambda history, end: resnet.comparison(history),
                 weights={"plain": plain, "residual": residual},
                 live_view=lambda history: st.altair_chart(charts.loss_curves(history), width="stretch"))
    st.rerun()  # the live panel gives way to the side-by-side results below

run = store.latest
if run:
    res = run.results
    if run.settings != settings:
        st.info(t("resnet.other_settings"))
    for name, end in res["ends"].items():
        if end is not None and end["reason"] in FAILED:
            st.warning(t("resnet.diverged", network=t(f"resnet.name_{name}"), message=end_text(end)))
if run and not res["done"]:
    st.warning(t("resnet.stopped_before_both"))
elif run:
    acc, first = res["accuracy"], res["first_grad"]
    m1, m2, m3, m4 = st.columns(4)
    m1.metric(t("resnet.metric_acc_plain"), f"{acc['plain']:.1f} %" if acc["plain"] is not None else "—")
    m2.metric(t("resnet.metric_acc_residual"),
              f"{acc['residual']:.1f} %" if acc["residual"] is not None else "—",
              delta=(t("resnet.delta_points", delta=acc["residual"] - acc["plain"])
                     if None not in acc.values() else None))
    m3.metric(t("resnet.metric_grad_plain"), f"{first['plain']:.1e}")
    m4.metric(t("resnet.metric_grad_residual"), f"{first['residual']:.1e}", delta_color="off",
              delta=t("resnet.delta_ratio", ratio=res["ratio"]) if math.isfinite(res["ratio"])
              else t("resnet.delta_ratio_zero"))
    st.caption(t("resnet.grad_caption"))

    left, right = st.columns(2)
    left.altair_chart(charts.loss_curves(run.history), width="stretch")
    right.altair_chart(charts.accuracy_curves(run.history), width="stretch")
    st.caption(t("resnet.curves_caption"))

    grads = resnet.gradient_frame(run.history)
    maps = charts.gradient_heatmaps(grads)
    if maps is None:
        st.warning(t("resnet.no_gradients"))
    else:
        for col, (chart, height) in zip(st.columns(2), maps):
            col.altair_chart(chart, width="stretch", height=height)
        st.caption(t("resnet.heatmap_caption"))
        st.altair_chart(charts.gradient_profile(grads), width="stretch")
        st.caption(t("resnet.profile_caption"))

export_box(store)
show_code("resnet", key="resnet_code", optimizer=settings.train_config(), **settings.recipe_values())

# --- 3. BatchNorm effect ------------------------------------------------------------------------
st.header(t("resnet.hist_header"))


@st.cache_data(max_entries=8, show_spinner=t("resnet.hist_spinner"))
def _histograms(net: dict, dataset: str):
    batch = _experiment_data(dataset, 5000)["x_train"][:256]
    return resnet.activation_histograms(resnet.NetConfig(**net), batch)


hist, stats = _histograms(asdict(net_cfg), dataset)
st.altair_chart(charts.activation_histograms(hist, activation))
first_std, last_std = (stats.groupby("batchnorm")["std"].first(), stats.groupby("batchnorm")["std"].last())
st.caption(t("resnet.hist_caption", depth=depth, first_without=first_std[False], last_without=last_std[False],
             first_with=first_std[True], last_with=last_std[True], detail=t(f"resnet.hist_caption_{activation}")))
st.table(charts.activation_table(stats))
st.caption(t("resnet.stats_caption", detail=t(f"resnet.stats_caption_{activation}")))

# --- 4. Real architectures ----------------------------------------------------------------------
st.header(t("resnet.arch_header"))


@st.cache_data(show_spinner=t("resnet.arch_spinner"))
def _stage_table(name: str):
    return resnet.stage_table(name, 224)


arch = setting(st.radio, t("resnet.arch_label"), resnet.TORCHVISION_RESNETS, key="resnet_arch", horizontal=True,
               format_func=labels("resnet.arch", resnet.TORCHVISION_RESNETS))
table = _stage_table(arch)
total, biggest = table.iloc[-1], table.iloc[:-1].sort_values("parameters").iloc[-1]
left, right = st.columns([3, 2])
left.table(charts.stage_table(table))
right.altair_chart(charts.stage_bars(table), width="stretch")
st.caption(t("resnet.stage_caption", arch=arch, millions=total["parameters"] / 1e6, layers=total["weight layers"],
             biggest=biggest["stage"], share=biggest["parameters"] / total["parameters"],
             extra=" " + t("resnet.stage_caption_bottleneck") if arch == "resnet50" else ""))

# --- 5. Transfer learning -----------------------------------------------------------------------
st.header(t("resnet.tl_header"))
photos.render(device)  # the learner's own photos on the shipped backbone (decoded once, kept in the session only)
transfer.render(device)  # offline: the shipped CIFAR-5 backbone; then ImageNet online
st.markdown(t("resnet.tl_intro"))
if "resnet_online" not in st.session_state:
    st.session_state["resnet_online"] = resnet.pretrained_available()
if not st.session_state["resnet_online"]:
    st.warning(t("resnet.tl_offline", size=resnet.PRETRAINED_SIZE_MB, cache=data.CACHE_DIR))
    if st.button(t("resnet.tl_check_again"), key="resnet_check_online"):
        st.session_state.pop("resnet_online")
        st.rerun()
    stop_page()  # the last section: everything above works offline

t1, t2, t3, t4 = st.columns(4)
tl_cfg = resnet.TransferConfig(
    n_train=setting(t1.select_slider, t("resnet.tl_n_label"), [200, 500, 1000, 2000, 5000, 10000], 2000,
                    key="resnet_tl_n"),
    image_size=setting(t2.select_slider, t("resnet.tl_size_label"), [32, 64, 96, 128, 224], 64, key="resnet_tl_size",
                       help=t("resnet.tl_size_help")),
    head_epochs=setting(t3.slider, t("resnet.tl_head_epochs_label"), 1, 30, 15, key="resnet_tl_head_epochs"),
    scratch_epochs=setting(t4.slider, t("resnet.tl_scratch_epochs_label"), 1, 10, 3, key="resnet_tl_scratch_epochs"))
st.caption(t("resnet.tl_cost", size=tl_cfg.image_size, gflops=1.82 * (tl_cfg.image_size / 224) ** 2))
tl_store = RunStore("resnet_tl_runs")
announce(tl_store)
if train_button(tl_store, t("resnet.tl_button"), "resnet_tl_train", type="primary"):
    tl_store.clear()  # the page shows the latest run only
    try:
        with st.spinner(t("resnet.tl_loading")):
            pretrained = resnet.load_pretrained_resnet18()
    except data.OfflineError as exc:  # core's words when it gave them, else the page's own
        st.error(say(exc.words) if exc.words is not None else t("resnet.tl_failed"))
    else:
        head, scratch = resnet.new_head(tl_cfg.seed), resnet.scratch_resnet18(tl_cfg.seed)
        run_training(
            resnet.transfer_events(tl_cfg, pretrained, head, scratch, device), key="resnet_tl_run",
            label=t("resnet.tl_label"), store=tl_store,
            settings=tl_cfg, weights={"pretrained": head, "scratch": scratch},
            live_view=lambda history: st.altair_chart(
                charts.transfer_accuracy(resnet.transfer_frame(history)), width="stretch"))

export_box(tl_store)
tl_run = tl_store.latest
if tl_run:
    for name, end in resnet.model_ends(tl_run.history, ("pretrained", "scratch")).items():
        if end is None:
            st.warning(t("resnet.tl_stopped", label=t(f"resnet.tl_model_{name}")))
    frame = resnet.transfer_frame(tl_run.history)
    if len(frame):
        finals = frame.groupby("model").last()
        for col, (name, row) in zip(st.columns(len(finals)), finals.iterrows()):
            col.metric(t(f"resnet.tl_model_{name}"), f"{row['accuracy']:.1f} %",
                       help=t("resnet.tl_metric_help", epochs=int(row["epoch"]), time=format_seconds(row["seconds"])))
        st.altair_chart(charts.transfer_accuracy(frame), width="stretch")
        st.caption(t("resnet.tl_caption", n=tl_run.settings.n_train, size=tl_run.settings.image_size,
                     n_test=tl_run.settings.n_test))
