"""RNN, LSTM and GRU: sine waves, long-term memory, inside the gates, equations with live shapes."""
import math

import streamlit as st

from core import rnn
from core.models import count_params
from ui.charts import show
from ui.code import show_code
from ui.content import t
from ui.export import export_box
from ui.runs import RunStore
from ui.share import setting
from ui.shell import current_device
from ui.training import announce, end_text, estimated, lever, run_training, time_check, train_button
from views.rnn import charts

st.title(t("rnn.title"))
st.markdown(t("rnn.intro"))
sine_runs, memory_runs = RunStore("rnn_runs"), RunStore("rnn_memory")
for store in (sine_runs, memory_runs):
    announce(store)
LIVE_REDRAW = 2.0  # seconds between live-chart redraws: the browser drawing them shares the cores


@st.cache_resource(show_spinner=False)
def sine_data(samples: int, seq_len: int) -> dict:
    return rnn.make_sine_data(rnn.SineSettings(samples=samples, seq_len=seq_len))


# --- 1. The sine task -------------------------------------------------------------------------
st.header(t("rnn.sine_header"))
st.markdown(t("rnn.sine_intro"))
c1, c2, c3 = st.columns(3)
seq_len = setting(c1.slider, t("rnn.label_seq_len"), 5, 200, 50, step=5, key="rnn_seq_len", help=t("rnn.help_seq_len"))
samples = setting(c1.slider, t("rnn.label_samples"), 100, 5000, 1000, step=100, key="rnn_samples",
                  help=t("rnn.help_samples"))
hidden = setting(c2.select_slider, t("rnn.label_hidden"), [4, 8, 16, 32, 64, 128], 32, key="rnn_hidden")
layers = setting(c2.slider, t("rnn.label_layers"), 1, 3, 1, key="rnn_layers", help=t("rnn.help_layers"))
lr = setting(c3.select_slider, t("rnn.label_lr"), [0.0003, 0.001, 0.003, 0.01, 0.015, 0.03, 0.1, 0.3], 0.015,
             key="rnn_lr", help=t("rnn.help_defaults"))
epochs = setting(c3.slider, t("rnn.label_epochs"), 1, 300, 60, key="rnn_epochs", help=t("rnn.help_defaults"))
batch = setting(c3.select_slider, t("rnn.label_batch"), [16, 32, 64, 128, 256, "full"], 128, key="rnn_batch",
                help=t("rnn.help_batch"),
                format_func=lambda b: t("rnn.batch_full") if b == "full" else str(b))

data = sine_data(samples, seq_len)
n_train = len(data["x_train"])
settings = rnn.SineSettings(samples=samples, seq_len=seq_len, hidden_size=hidden, num_layers=layers, lr=lr,
                            epochs=epochs, batch_size=n_train if batch == "full" else int(batch))
steps_total = epochs * math.ceil(n_train / settings.batch_size)
st.caption(t("rnn.sine_caption", n_train=n_train, n_test=len(data["x_test"]), steps=steps_total))
if lr >= 0.1:
    st.warning(t("rnn.warn_lr"))
sine_estimate = estimated(rnn.estimate_sine_seconds, settings)
allowed = time_check(sine_estimate, "rnn_train", [
    lever(t("rnn.label_epochs"), epochs, range(1, epochs), sine_estimate),
    lever(t("rnn.label_samples"), samples, range(100, samples, 100), sine_estimate)], steps=steps_total)
if train_button(sine_runs, t("rnn.train_button"), "rnn_train", type="primary", disabled=not allowed):
    trained, events = rnn.train_cells(data, settings, current_device())

    def live_curves(history: list[dict]) -> None:
        done = rnn.finished_cells(history)
        if len(done) < len(rnn.CELLS):
            st.caption(t("rnn.live_caption", label=", ".join(rnn.CELL_LABELS[c] for c in rnn.CELLS if c not in done),
                         done=len(done)))
        chart = charts.loss_curves([("", history)], by_run=False)
        if chart is not None:
            show(chart)

    run_training(events, key="rnn_live", label=t("rnn.train_label"), store=sine_runs, settings=settings,
                 results=lambda history, end: rnn.finished_cells(history), weights=trained,
                 live_view=live_curves, keep_partial=rnn.any_finished, redraw_seconds=LIVE_REDRAW, clear=True)
    st.success(t("rnn.trained"))

latest = sine_runs.latest
if latest is None:
    st.info(t("rnn.sine_empty"))
else:
    for cell, r in latest.results.items():
        if r["diverged"]:
            st.error(t("rnn.diverged", name=latest.name, label=rnn.CELL_LABELS[cell], message=end_text(r)))
    st.subheader(t("rnn.curves_header"))
    shown = st.multiselect(t("rnn.label_show_runs"), sine_runs.names, default=[latest.name], key="rnn_show_runs")
    chart = charts.loss_curves([(r.name, r.history) for r in sine_runs.runs if r.name in shown],
                                   by_run=len(shown) > 1)
    if chart is not None:
        show(chart)
        st.caption(t("rnn.curves_caption"))
    else:
        st.info(t("rnn.curves_empty"))
    st.subheader(t("rnn.table_header"))
    mse_format = st.column_config.NumberColumn(format="%.2e")
    st.dataframe(charts.runs_table(sine_runs.runs), hide_index=True, width="stretch",
                 column_config={t("rnn.col_train_mse"): mse_format, t("rnn.col_test_mse"): mse_format,
                                t("rnn.col_params"): st.column_config.NumberColumn(format="%d")})
    st.caption(t("rnn.table_caption"))
    if st.button(t("rnn.clear_runs"), key="rnn_clear_runs"):
        sine_runs.clear()
        st.rerun()

models = rnn.restore_models(latest.settings, latest.state_dict, latest.results) if latest and latest.state_dict else {}
if models:
    run_data = sine_data(latest.settings.samples, latest.settings.seq_len)
    if latest.settings != settings:
        st.caption(t("rnn.models_of_run", name=latest.name))
    x_test, y_test = run_data["x_test"], run_data["y_test"]
    labels = {cell: rnn.CELL_LABELS[cell] for cell in models}

    st.subheader(t("rnn.prediction_header"))
    index = st.slider(t("rnn.label_test_index"), 0, len(x_test) - 1, 0, key="rnn_test_index")
    predictions = rnn.predict_one(models, x_test[index:index + 1])
    show(charts.prediction(y_test[index, :, 0].numpy(), {labels[c]: p for c, p in predictions.items()}))
    st.caption(t("rnn.prediction_caption"))

    st.subheader(t("rnn.forecast_header"))
    horizon = st.slider(t("rnn.label_horizon"), 10, 400, 100, step=10, key="rnn_horizon")
    truth, forecasts, errors = rnn.forecasts(models, x_test[index], float(run_data["phases_test"][index]), horizon)
    show(charts.forecast(x_test[index, :, 0].numpy(), truth, {labels[c]: f for c, f in forecasts.items()}))
    for col, cell in zip(st.columns(len(forecasts)), forecasts):
        col.metric(t("rnn.forecast_metric", label=labels[cell]), charts.scientific(errors[cell], 2))
    st.caption(t("rnn.forecast_caption", T=x_test.shape[1]))

export_box(sine_runs)

# --- 2. Long-term memory ----------------------------------------------------------------------
st.header(t("rnn.mem_header"), anchor="memory")
st.markdown(t("rnn.mem_intro"))
m1, m2, m3 = st.columns(3)
t_max = setting(m1.select_slider, t("rnn.label_mem_T"), [8, 12, 20, 40, 60, 80, 100], 40, key="rnn_mem_T",
                help=t("rnn.help_mem_T"))
mem_epochs = setting(m2.slider, t("rnn.label_mem_epochs"), 2, 100, 30, key="rnn_mem_epochs")
mem_samples = setting(m3.select_slider, t("rnn.label_mem_samples"), [128, 256, 512, 1024, 2048], 512,
                      key="rnn_mem_samples")
t_values = tuple(sorted({max(2, round(t_max / k)) for k in (8, 4, 2, 1)}))
memory = rnn.MemorySettings(t_values=t_values, samples=mem_samples, epochs=mem_epochs)
st.caption(t("rnn.mem_caption", grid=", ".join(map(str, t_values)), lengths=len(t_values),
             jobs=3 * len(t_values)))
mem_estimate = estimated(rnn.estimate_memory_seconds, memory)
mem_allowed = time_check(mem_estimate, "rnn_mem_run", [
    lever(t("rnn.label_mem_epochs"), mem_epochs, range(2, mem_epochs), mem_estimate),
    lever(t("rnn.label_mem_samples"), mem_samples, [128, 256, 512, 1024], mem_estimate)])


def memory_live(history: list[dict]) -> None:
    if (now := rnn.memory_progress(history)) is not None:
        st.caption(t("rnn.mem_live", label=rnn.CELL_LABELS[now["cell"]], T=now["T"], epoch=now["epoch"],
                     epochs=memory.epochs, loss=now["loss"]))
    if points := rnn.memory_results(history)["points"]:
        show(charts.memory_accuracy(points))


if train_button(memory_runs, t("rnn.mem_button"), "rnn_mem_run", type="primary", disabled=not mem_allowed):
    run_training(rnn.run_memory_experiment(memory, current_device()), key="rnn_mem", label=t("rnn.mem_label"),
                 store=memory_runs, settings=memory, results=lambda history, end: rnn.memory_results(history),
                 live_view=memory_live, keep_partial=rnn.any_finished,
                 redraw_seconds=LIVE_REDRAW, clear=True)

last_memory = memory_runs.latest
if last_memory is None or not last_memory.results["points"]:
    st.info(t("rnn.mem_empty"))
else:
    if last_memory.stopped:
        st.warning(t("rnn.mem_stopped"))
    if any(p["diverged"] for p in last_memory.results["points"]):
        st.error(t("rnn.mem_diverged"))
    show(charts.memory_accuracy(last_memory.results["points"]))
    st.caption(t("rnn.mem_chart_caption"))
    chart = charts.gradients(last_memory.results["gradients"])
    if chart is not None:
        show(chart)
        st.caption(t("rnn.grad_caption", T=max(last_memory.settings.t_values)))

show_code("rnn_memory", key="rnn_mem_code", optimizer=memory.train_config(), T=max(t_values),
          SAMPLES=memory.samples, TEST_SAMPLES=memory.test_samples, HIDDEN=memory.hidden_size,
          EPOCHS=memory.epochs, BATCH_SIZE=memory.batch_size, LR=memory.lr, TOLERANCE=memory.tolerance,
          SEED=memory.seed)

# --- 3. Inside the cells ----------------------------------------------------------------------
st.header(t("rnn.gates_header"))
gate_settings = settings
if "lstm" in models and "gru" in models:
    lstm_model, gru_model, gate_settings = models["lstm"], models["gru"], latest.settings
    st.caption(t("rnn.gates_trained", name=latest.name))
else:
    st.info(t("rnn.gates_untrained"))
    lstm_model, gru_model = rnn.make_model("lstm", hidden, layers), rnn.make_model("gru", hidden, layers)
gate_data = sine_data(gate_settings.samples, gate_settings.seq_len)
g1, g2 = st.columns(2)
gate_index = setting(g1.slider, t("rnn.label_gate_index"), 0, len(gate_data["x_test"]) - 1, 0, key="rnn_gate_index")
n_layers = gate_settings.num_layers
gate_layer = min(setting(g2.slider, t("rnn.label_gate_layer"), 1, max(n_layers, 2), 1, key="rnn_gate_layer",
                         disabled=n_layers == 1, help=t("rnn.help_gate_layer")) - 1, n_layers - 1)
x_one = gate_data["x_test"][gate_index:gate_index + 1]  # (1, T, 1)
lstm_in, gru_in = rnn.inside_cell(lstm_model, x_one), rnn.inside_cell(gru_model, x_one)
st.markdown(t("rnn.input_header"))
show(charts.input_line(x_one))
tab_lstm, tab_gru = st.tabs([t("rnn.tab_lstm"), t("rnn.tab_gru")])
with tab_lstm:
    st.altair_chart(charts.lstm_gates(lstm_in["layers"][gate_layer]), width="content")
    st.metric(t("rnn.metric_lstm_diff"), charts.scientific(lstm_in["max_abs_diff"], 1),
              help=t("rnn.help_lstm_diff"))
    st.caption(t("rnn.lstm_caption"))
with tab_gru:
    st.altair_chart(charts.gru_gates(gru_in["layers"][gate_layer]), width="content")
    st.metric(t("rnn.metric_gru_diff"), charts.scientific(gru_in["max_abs_diff"], 1))
    st.caption(t("rnn.gru_caption"))
if max(lstm_in["max_abs_diff"], gru_in["max_abs_diff"]) > 1e-5:
    st.error(t("rnn.mismatch"))

# --- 4. Equations with live shapes ------------------------------------------------------------
st.header(t("rnn.equations_header"))
st.caption(t("rnn.equations_caption", hidden=hidden, batch=settings.batch_size, T=seq_len, layers=layers))
for tab, cell in zip(st.tabs(list(rnn.CELL_LABELS.values())), rnn.CELLS):
    with tab:
        for latex in rnn.equations(cell, 1, hidden):
            st.latex(latex)
        formula = rnn.param_count_formula(cell, 1, hidden, layers)
        st.markdown(t("rnn.params_line", gates=formula["gates"], head=formula["head"], total=formula["total"],
                      per_layer=" + ".join(f"{n:,}" for n in formula["layers"]),
                      actual=count_params(rnn.make_model(cell, hidden, layers))))
st.markdown(t("rnn.shape_table", **rnn.shape_table(1, hidden, layers, settings.batch_size, seq_len)))
st.caption(t("rnn.shapes_caption"))

# --- 5. Show the code -------------------------------------------------------------------------
st.header(t("rnn.code_header"))
show_code("rnn_sine", key="rnn_code", optimizer=settings.train_config(), SAMPLES=samples, SEQ_LEN=seq_len,
          SHIFT=settings.shift, HIDDEN=hidden, LAYERS=layers, LR=lr, EPOCHS=epochs,
          BATCH_SIZE=settings.batch_size, SEED=settings.seed)
