"""CNN page: a shape calculator, convolution and pooling by hand, filters and feature maps."""
import numpy as np
import pandas as pd
import streamlit as st
from streamlit_drawable_canvas import st_canvas

from core import cnn, shapes
from core.data import DataError
from core.digits import canvas_to_mnist
from core.engine import OPTIMIZER_LABELS, OPTIMIZERS
from ui import digit_reader, share
from ui.charts import training_chart
from ui.code import show_code
from ui.content import labels, say, show_messages, t
from ui.export import export_box
from ui.runs import RunStore
from ui.share import setting
from ui.shell import current_device
from ui.training import announce, estimated, lever, run_training, time_check, train_button, warn_lr
from views.cnn import augment, charts, padding

st.title(t("cnn.title"))
st.caption(t("cnn.intro"))

# --- 1. Shape calculator ------------------------------------------------------------------------
st.header(t("cnn.calc_header"), anchor="shapes")


def _load(preset_id: str, net: tuple | None = None) -> None:
    """Put a preset (or a link's own input and layers) into the input boxes and a fresh editor."""
    (c, h, w), layers = net or shapes.preset(preset_id)
    st.session_state.update(cnn_in_c=c, cnn_in_h=h, cnn_in_w=w, cnn_loaded=preset_id, cnn_layers=layers)
    st.session_state["cnn_editor_version"] = st.session_state.get("cnn_editor_version", 0) + 1


net_text = share.pending("cnn_net")  # a shared link's own stack, applied once
preset_id = setting(st.selectbox, t("cnn.preset"), list(shapes.PRESETS), key="cnn_preset",
                    format_func=labels("cnn.preset", shapes.PRESETS))
if net_text is not None:
    _load(preset_id, charts.shared_net(net_text))
elif share.new_link() or st.session_state.get("cnn_loaded") != preset_id:
    _load(preset_id)
st.info(t(f"cnn.preset_{preset_id}_note"), icon="📝")
input_shape = tuple(int(col.number_input(t(f"cnn.in_{d}"), 1, 512 if d == "c" else 1024, step=1,
                                         key=f"cnn_in_{d}")) for col, d in zip(st.columns(3), "chw"))

st.caption(t("cnn.editor_caption"))
edited = st.data_editor(cnn.stack_table(st.session_state["cnn_layers"]), num_rows="dynamic", hide_index=True,
                        key=f"cnn_stack_{st.session_state['cnn_editor_version']}", width="stretch",
                        column_config=charts.stack_columns())
report = cnn.calculate(input_shape, edited.to_dict("records"))
share.keep("cnn_net", charts.net_text(preset_id, input_shape, report.layers))  # None: the preset as it is

if (problem := charts.stack_problem(report)) is not None:
    st.error(problem, icon="🚫")
if report.error is not None and report.rows:  # still show what works up to there
    st.caption(t("cnn.layers_before_work", layer=report.error.layer))
if report.rows:
    st.table(charts.trace_frame(report.rows).style.hide(axis="index"))  # formulas wrap
    st.caption(t("cnn.trace_caption"))
if report.ok:
    for col, (name, value) in zip(st.columns(4), report.metrics(input_shape).items()):
        col.metric(t(f"cnn.metric_{name}"), value, help=t("cnn.metric_flatten_help") if name == "flatten" else None)
show_messages(charts.check_text(report))  # the real torch module ran the stack, trace refused it or not
if report.ok:
    st.markdown(t("cnn.as_pytorch"))
    st.code(shapes.sequential_code(input_shape, report.layers, input_word=t("cnn.code_input")), language="python")

# --- 2. Arithmetic by hand ----------------------------------------------------------------------
st.header(t("cnn.hand_header"), anchor="by-hand")
pool_tab, pad_tab, conv_tab = st.tabs([t("cnn.tab_pool"), t("cnn.tab_pad"), t("cnn.tab_conv")])
with pool_tab:
    st.markdown(t("cnn.pool_intro"))
    pool_input = st.data_editor(pd.DataFrame(cnn.POOL_EXAMPLE, columns=[f"c{j}" for j in range(4)]),
                                key="cnn_pool_grid", hide_index=True, column_config=charts.pool_grid_columns(4))
    pc = st.columns(3)
    pool_k = setting(pc[0].number_input, t("cnn.pool_window"), 1, 4, 2, key="cnn_pool_k")
    pool_s = setting(pc[1].number_input, t("cnn.stride"), 1, 4, 2, key="cnn_pool_s")
    pool_p = setting(pc[2].number_input, t("cnn.padding"), 0, 2, 0, key="cnn_pool_p")
    try:
        values = pool_input.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
        pool = cnn.pool_both(values, pool_k, pool_s, pool_p)
    except DataError as exc:
        st.error(say(exc.words))
    else:
        cells = [f"({c['row']}, {c['col']})" for c in pool["max_cells"]]
        cell = cells.index(setting(st.selectbox, t("cnn.pool_cell"), cells, key="cnn_pool_cell"))
        for col, (header, table) in zip(st.columns(3), charts.pool_tables(values, pool, cell, pool_p)):
            col.markdown(header)
            col.dataframe(table)
        st.markdown(t("cnn.pool_sums", max=pool["max_cells"][cell]["text"], avg=pool["avg_cells"][cell]["text"]))
        st.caption(t("cnn.pool_caption", check=t("cnn.matches_torch_pool" if pool["matches_torch"]
                                                 else "cnn.differs_from_torch")))

with pad_tab:
    padding.render()  # zero, reflect, replicate, circular: padded image and a convolution with each

with conv_tab:
    st.markdown(t("cnn.conv_intro"))
    cc = st.columns(3)
    kernel_name = setting(cc[0].selectbox, t("cnn.conv_kernel"), list(cnn.KERNELS), key="cnn_conv_kernel",
                          format_func=labels("cnn.kernel", cnn.KERNELS))
    conv_s = setting(cc[1].number_input, t("cnn.stride"), 1, 3, 1, key="cnn_conv_stride")
    conv_p = setting(cc[2].number_input, t("cnn.conv_padding"), 0, 2, 0, key="cnn_conv_padding")
    image5, kernel = cnn.CONV_EXAMPLE, np.array(cnn.KERNELS[kernel_name])
    try:
        conv = cnn.conv_both(image5, kernel, conv_s, conv_p)
    except DataError as exc:
        st.error(say(exc.words))
    else:
        oh, ow = conv["out"].shape
        rc = st.columns(2)
        out_r = setting(rc[0].slider, t("cnn.conv_row"), 0, oh - 1, 0, key="cnn_conv_row") if oh > 1 else 0
        out_c = setting(rc[1].slider, t("cnn.conv_col"), 0, ow - 1, 0, key="cnn_conv_col") if ow > 1 else 0
        cell = cnn.conv_cell(image5, kernel, conv_s, conv_p, out_r, out_c)
        tables = charts.conv_tables(cell, kernel, conv["out"], out_r, out_c, conv_p)
        for col, (header, table) in zip(st.columns([3, 2, 2]), tables):
            col.markdown(header)
            col.dataframe(table)
        st.markdown(t("cnn.conv_sum", row=out_r, col=out_c, text=cell["text"]))
        st.caption(t("cnn.conv_caption", padding=conv_p, stride=conv_s, rows=oh,
                     floored=" " + t("cnn.conv_floored") if conv["floored"] else "",
                     check=t("cnn.matches_torch_conv" if conv["matches_torch"] else "cnn.differs_from_torch")))

# --- 3. Filters and feature maps ----------------------------------------------------------------
st.header(t("cnn.maps_header"))
announce(store := RunStore("cnn_runs"))  # a run Stop cut short says so here
dataset = setting(st.radio, t("cnn.dataset"), list(cnn.DATASETS), key="cnn_dataset", horizontal=True,
                  format_func=labels("cnn.dataset", cnn.DATASETS))
defaults = cnn.DEFAULTS[dataset]
if dataset == "cifar":
    st.info(t("cnn.cifar_subset_note"), icon="ℹ️")
st.caption(t(f"cnn.model_{dataset}"))
full_cifar = False
if dataset == "cifar" and st.checkbox(t("cnn.full_cifar"), key="cnn_full_cifar"):
    with st.spinner(t("cnn.full_cifar_loading")):
        problem = cnn.full_cifar_problem()
    if full_cifar := problem is None:
        st.success(t("cnn.full_cifar_loaded"))
    else:
        st.warning(t("cnn.full_cifar_offline", error=say(problem)), icon="📡")

sc = st.columns(5)
settings = cnn.CNNSettings(
    dataset=dataset, full_cifar=full_cifar,
    n_train=setting(sc[0].select_slider, t("cnn.n_train"), cnn.image_counts(dataset, full_cifar),
                    value=defaults.n_train, key=f"cnn_{dataset}_n_train"),
    epochs=setting(sc[1].slider, t("cnn.epochs"), 1, 10, defaults.epochs, key=f"cnn_{dataset}_epochs"),
    lr=setting(sc[2].select_slider, t("cnn.lr"), cnn.LR_CHOICES, value=defaults.lr, key=f"cnn_{dataset}_lr"),
    optimizer=setting(sc[3].selectbox, t("cnn.optimizer"), OPTIMIZERS, index=OPTIMIZERS.index(defaults.optimizer),
                      format_func=OPTIMIZER_LABELS.get, key=f"cnn_{dataset}_opt"),
    batch_size=setting(sc[4].select_slider, t("cnn.batch_size"), cnn.BATCH_CHOICES, value=defaults.batch_size,
                       key=f"cnn_{dataset}_batch"))
warn_lr(settings.optimizer, settings.lr)

just_trained = None  # the live panel already drew this run's curves
cnn_estimate = estimated(cnn.estimate_seconds, settings)
allowed = time_check(cnn_estimate, "cnn_train",
                     [lever(t("cnn.epochs"), settings.epochs, range(1, settings.epochs), cnn_estimate),
                      lever(t("cnn.n_train"), settings.n_train, cnn.image_counts(dataset, full_cifar),
                            cnn_estimate, "{:,}".format)])
if train_button(store, t("cnn.train"), "cnn_train", type="primary", disabled=not allowed):
    model = cnn.build_cnn(dataset, settings.seed)
    just_trained = run_training(
        cnn.train_events(model, settings, current_device()), key="cnn_run", store=store,
        label=t("cnn.training_on", dataset=t(f"cnn.dataset_{dataset}")),
        settings=settings, weights=model).name

runs = {r.name: r for r in reversed(store.runs) if r.settings.dataset == dataset}  # newest first: a new run is picked
run = (runs[st.selectbox(t("cnn.run_pick"), list(runs), format_func=charts.run_labels(runs.values()))]
       if len(runs) > 1 else next(iter(runs.values()), None))
if run is not None:
    show_messages(charts.run_outcome(run))
    if run.epochs:
        for col, (label, value, tip) in zip(st.columns(3), charts.run_metrics(run)):
            col.metric(label, value, help=tip)
        if run.name != just_trained:
            st.altair_chart(training_chart(run.history), width="stretch")
        st.caption(t("cnn.chart_caption"))

export_box(store)
sources = ["test", "upload"] + (["draw"] if dataset == "mnist" else [])
source = setting(st.radio, t("cnn.image"), sources, key=f"cnn_{dataset}_source", horizontal=True,
                 format_func=labels("cnn.source", sources))
test_x, test_y = cnn.load_split(dataset, False, 2000, seed=cnn.TEST_SEED)
classes = charts.class_names(dataset)
image = image_label = None
if source == "upload" and (upload := st.file_uploader(t(f"cnn.upload_{dataset}"), type=["png", "jpg", "jpeg"],
                                                      key=f"cnn_{dataset}_upload")) is not None:
    image, image_label = digit_reader.cnn_upload(upload, dataset), t("cnn.your_upload")  # says why when None
elif source == "draw":
    drawn = st_canvas(stroke_width=18, stroke_color="#ffffff", background_color="#000000", height=224, width=224,
                      drawing_mode="freedraw", return_image_data=True, key="cnn_canvas").image_data
    image, image_label = cnn.mnist_pixels(canvas_to_mnist(drawn) if drawn is not None else None), t("cnn.your_drawing")
    if image is None:
        st.warning(t("cnn.draw_hint"))
digit_reader.default_reading(image, dataset, source)  # the ANN page's default reader, on the learner's digit
if image is None:
    index = int(setting(st.number_input, t("cnn.test_index", last=len(test_x) - 1), 0, len(test_x) - 1, 0,
                        key=f"cnn_{dataset}_index"))
    image, image_label = test_x[index], t("cnn.test_image_label", label=classes[int(test_y[index])])

before_model = cnn.model_from(run.settings if run is not None else defaults)  # seeded: the untrained model
after_model = cnn.model_from(run.settings, run.state_dict) if run is not None else None
maps_before, probs_before = cnn.feature_maps(before_model, image, dataset)
maps_after, probs_after = cnn.feature_maps(after_model, image, dataset) if after_model is not None else (None, None)

ic = st.columns([1, 3])
ic[0].image(cnn.image_to_pil(image, zoom=4 if dataset == "mnist" else 3), caption=image_label)
ic[1].altair_chart(charts.probability_chart(classes, probs_before, probs_after), width="stretch")
ic[1].caption(t("cnn.probs_trained" if after_model is not None else "cnn.probs_untrained"))
if after_model is None:
    st.info(t("cnn.not_trained"), icon="👆")
shared = setting(st.toggle, t("cnn.shared_scale"), value=True, key="cnn_shared_scale", help=t("cnn.shared_scale_help"))


def _pair(pictures: list) -> None:
    """One layer's grids: before | after training."""
    for col, (img, caption) in zip(st.columns(2), pictures):
        if img is None:
            col.caption(caption)
        else:
            col.image(img, caption=caption)


st.subheader(t("cnn.filters_header"))
st.image(cnn.colorbar(1.0), caption=t("cnn.colorbar"))
for pictures in charts.filter_pairs(before_model, after_model, dataset, shared):
    _pair(pictures)
st.caption(t("cnn.filters_caption"))

st.subheader(t("cnn.feature_maps_header"))
for header, pictures in charts.map_pairs(maps_before, maps_after, dataset, shared):
    st.markdown(header)
    _pair(pictures)
st.caption(t("cnn.maps_caption"))

# --- 4. Data augmentation (ui/augment.py): toggles, grid, without vs with --------------------
settings = augment.render(settings)
# --- 5. Show the code ---------------------------------------------------------------------------
st.header(t("cnn.code_header"))
show_code("cnn", key="cnn_code", optimizer=settings.train_config(), DATASET=dataset, N_TRAIN=settings.n_train,
          N_TEST=settings.n_test, EPOCHS=settings.epochs, BATCH_SIZE=settings.batch_size, LR=settings.lr,
          SEED=settings.seed, CALCULATOR_INPUT=input_shape,
          CALCULATOR_LAYERS=[row["spec"] for row in report.rows] if report.ok else [],
          **augment.code_values(settings.augment))
st.caption(t("cnn.code_caption"))
