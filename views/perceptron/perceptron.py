"""Page 1: what one neuron computes, activations and their gradients, losses, gradient descent."""
import streamlit as st

from core import models, perceptron
from core.engine import OPTIMIZER_LABELS, OPTIMIZERS
from core.words import LearnerError
from ui.charts import show
from ui.code import show_code
from ui.content import labels, say, show_messages, t
from ui.runs import RunStore
from ui.share import section, setting
from ui.shell import current_device
from ui.training import announce, estimated, lever, run_training, time_check, train_button
from views.perceptron import backprop, charts


def side_by_side(charts: list, captions: list | None = None, widths=(1, 1)) -> list:
    columns = st.columns(widths)
    for column, altair_chart, caption in zip(columns, charts, captions or [None] * len(charts)):
        show(altair_chart, caption, column)
    return columns


def train(events, store: RunStore, key: str, settings, live_view, replay_key=None, results=None, **options) -> None:
    """run_training, its panel cleared at the end (the run shows below, its replay on the last frame)."""
    run_training(events, key=key, label=t(f"perceptron.{key}_label"), store=store, live_view=live_view,
                 settings=settings, results=lambda history, end: results or {},
                 clear=True, **options)
    st.session_state.pop(replay_key, None)


def replay(label: str, key: str, frames: int, help: str) -> int:
    """A slider over `frames` frames that starts on the last one (drop `key` to jump there again)."""
    st.session_state[key] = min(st.session_state.get(key, frames - 1), frames - 1)
    return min(frames - 1, st.slider(label, 0, max(1, frames - 1), key=key, disabled=frames < 2, help=help))


st.title(t("perceptron.title"))
st.markdown(t("perceptron.intro", formula=perceptron.FORMULAS["neuron"]))

# --- 1. Activation functions, softmax ------------------------------------------------------------
st.header(t("perceptron.act_header"), anchor="activations")
st.markdown(t("perceptron.act_intro"))
c1, c2, c3 = st.columns(3)
x_range = setting(c1.slider, t("perceptron.act_range"), -10.0, 10.0, (-5.0, 5.0), 0.5, key="perceptron_act_range")
leaky_slope = setting(c2.slider, t("perceptron.leaky_slope"), 0.0, 1.0, 0.1, 0.01, key="perceptron_leaky_slope",
                      help=t("perceptron.leaky_slope_help"))
elu_alpha = setting(c3.slider, t("perceptron.elu_alpha"), 0.1, 3.0, 1.0, 0.1, key="perceptron_elu_alpha")
x_range, message = charts.usable_range(x_range)
show_messages(message)
curves = perceptron.activation_curves(x_range[0], x_range[1], slope=leaky_slope, alpha=elu_alpha)
side_by_side([charts.activations(curves, "f(x)"), charts.activations(curves, "f'(x)")])
st.caption(t("perceptron.act_caption"))
for column, name in zip(st.columns(3) * 2, perceptron.ACTIVATIONS):  # each formula, two rows of three
    column.latex(perceptron.ACTIVATION_FORMULAS[name])

st.markdown(t("perceptron.softmax_intro", formula=perceptron.FORMULAS["softmax"]))  # subheading and formula
c1, c2 = st.columns([2, 1])
logit_text = setting(c1.text_input, t("perceptron.logits"), "2.0, 1.0, 0.1, -1.0", key="perceptron_logits",
                     max_chars=120)
temperature = setting(c2.slider, t("perceptron.temperature"), 0.05, 10.0, 1.0, 0.05, key="perceptron_temperature")
try:
    logits = perceptron.parse_logits(logit_text)
    side_by_side(*charts.softmax(logits, temperature))
except LearnerError as error:
    st.error(say(error.words))

# --- 2. Vanishing gradient -------------------------------------------------------------------------
st.header(t("perceptron.vanish_header"), anchor="vanishing")
st.markdown(t("perceptron.vanish_intro"))
c1, c2 = st.columns(2)
depth = setting(c1.slider, t("perceptron.depth"), 1, 50, 10, key="perceptron_depth")
z_value = setting(c2.slider, t("perceptron.vanish_z"), -3.0, 3.0, 1.0, 0.1, key="perceptron_vanish_z")
vanish = perceptron.gradient_through_layers(depth, z_value, slope=leaky_slope)
show(charts.vanishing(vanish, depth))
for column, (label, value) in zip(st.columns(3), charts.vanishing_metrics(vanish, depth, z_value)):
    column.metric(label, value)
st.caption(charts.vanishing_caption(vanish, depth))

# --- 3. The perceptron ----------------------------------------------------------------------------
st.header(t("perceptron.rule_header"), anchor="perceptron")
st.markdown(t("perceptron.rule_intro"))
c1, c2, c3, c4 = st.columns([1.2, 1, 1, 0.8], vertical_alignment="bottom")
dataset = setting(c1.selectbox, t("perceptron.dataset"), perceptron.DATASETS, index=perceptron.DATASETS.index("AND"),
                  key="perceptron_dataset", help=t("perceptron.dataset_help"),
                  format_func=labels("perceptron.dataset", perceptron.DATASETS))
noise = setting(c2.slider, t("perceptron.noise"), 0.0, 1.0, 0.1, 0.05, key="perceptron_noise")
n_points = setting(c3.slider, t("perceptron.points"), 20, 1000, 200, 20, key="perceptron_points")
if c4.button(t("perceptron.regenerate"), key="perceptron_regenerate", help=t("perceptron.regenerate_help")):
    st.session_state["perceptron_data_seed"] = st.session_state.get("perceptron_data_seed", 0) + 1
data = perceptron.ToyData(dataset, n_points, noise, st.session_state.get("perceptron_data_seed", 0))
X, y = data.make()
bounds = perceptron.plot_bounds(X)
show_messages(charts.data_warning(data))

st.subheader(t("perceptron.manual_header"))
c1, c2 = st.columns([1, 2])
activation = setting(c1.radio, t("perceptron.activation"), ["step", "sigmoid"], horizontal=True,
                     key="perceptron_activation", format_func=labels("perceptron.activation", ["step", "sigmoid"]),
                     help=t("perceptron.activation_help"))
w1 = setting(c1.slider, "w₁", -5.0, 5.0, 1.0, 0.1, key="perceptron_w1")
w2 = setting(c1.slider, "w₂", -5.0, 5.0, 1.0, 0.1, key="perceptron_w2")
b = setting(c1.slider, "b", -5.0, 5.0, -1.5, 0.1, key="perceptron_b")
c1.metric(t("perceptron.accuracy"), f"{perceptron.perceptron_accuracy(X, y, w1, w2, b):.1f}%")
show_messages(charts.no_line_warning(w1, w2), where=c1)
c1.latex(rf"y = f({w1:g}\,x_1 {w2:+g}\,x_2 {b:+g})")
show(charts.neuron_regions(X, y, bounds, w1, w2, b, activation, t("perceptron.manual_title")),
      t("perceptron.manual_caption"), c2)
if not perceptron.LINEARLY_SEPARABLE[dataset]:
    st.container(border=True).markdown(t("perceptron.xor_proof" if dataset == "XOR" else "perceptron.not_separable",
                                         dataset=t(f"perceptron.dataset_{dataset}"),
                                         proof=perceptron.FORMULAS["xor_proof"]))

st.markdown(t("perceptron.rule_train_intro", formula=perceptron.FORMULAS["rule"]))  # subheading, rule, caption
c1, c2, c3, c4 = st.columns(4, vertical_alignment="bottom")
rule_lr = setting(c1.slider, t("perceptron.rule_lr"), 0.001, 2.0, 0.1, 0.001, format="%.3f", key="perceptron_rule_lr")
rule_epochs = setting(c2.slider, t("perceptron.rule_epochs"), 1, 200, 20, key="perceptron_rule_epochs")
rule_start = setting(c3.radio, t("perceptron.rule_start"), ["zero", "sliders"], key="perceptron_rule_start",
                     format_func=labels("perceptron.rule_start", ["zero", "sliders"]),
                     help=t("perceptron.rule_start_help"))
announce(rule_store := RunStore("perceptron_rule_runs", limit=5))
train_rule = train_button(rule_store, t("perceptron.rule_train"), "perceptron_rule_train", where=c4, type="primary",
                          help=t("perceptron.rule_train_help"))
rule_config = perceptron.PerceptronConfig(lr=rule_lr, epochs=rule_epochs, activation=activation, seed=data.seed,
                                          **({"w1": w1, "w2": w2, "b": b} if rule_start == "sliders" else {}))
time_check(estimated(lambda k, d: perceptron.estimate_rule_seconds(X, y, rule_config), (data, rule_config)),
           "rule", where=c4)
if train_rule:  # the first frames are paced so that each update can be seen; the rule takes no time
    train(perceptron.paced(perceptron.train_perceptron(X, y, rule_config)), rule_store, "perceptron_rule",
          rule_config, lambda history: show(charts.rule_frame(history[-1], X, y, bounds, activation)),
          "perceptron_rule_frame", {"data": data}, redraw_seconds=0.1, queue=False)
if (run := rule_store.latest) and run.results["data"] != data:
    st.info(t("perceptron.rule_data_changed"))
elif run and run.history:
    show_messages(charts.rule_outcome(run.end, dataset))
    frame = run.history[replay(t("perceptron.replay"), "perceptron_rule_frame", len(run.history),
                               t("perceptron.replay_help"))]
    c1, c2 = side_by_side(*charts.rule_replay(run, frame, X, y, bounds), (2, 1))
    c2.metric(*charts.frame_accuracy(frame, X, y))

# --- 4. From perceptron to MLP ---------------------------------------------------------------------
st.header(t("perceptron.mlp_header"), anchor="mlp")
st.markdown(t("perceptron.mlp_intro", dataset=t(f"perceptron.dataset_{dataset}")))
c1, c2, c3 = st.columns(3)
mlp_config = perceptron.MLPConfig(
    hidden=setting(c1.slider, t("perceptron.hidden"), 1, 32, 4, key="perceptron_mlp_hidden"),
    activation=setting(c1.selectbox, t("perceptron.mlp_activation"), list(models.ACTIVATIONS),
                       key="perceptron_mlp_activation",
                       index=list(models.ACTIVATIONS).index("tanh"), format_func=perceptron.ACTIVATION_LABELS.get),
    optimizer=setting(c2.selectbox, t("perceptron.optimizer"), OPTIMIZERS, index=OPTIMIZERS.index("adam"),
                      format_func=OPTIMIZER_LABELS.get, key="perceptron_mlp_optimizer"),
    lr=setting(c2.select_slider, t("perceptron.lr"), perceptron.MLP_LEARNING_RATES, value=0.03,
               key="perceptron_mlp_lr"),
    epochs=setting(c3.slider, t("perceptron.epochs"), 10, 2000, 200, 10, key="perceptron_mlp_epochs"),
    batch_size=setting(c3.selectbox, t("perceptron.batch_size"), [0, 64, 16], key="perceptron_mlp_batch",
                       format_func={0: t("perceptron.full_batch"), 64: "64", 16: "16"}.get))
show_messages(charts.lr_warning(mlp_config.lr))
announce(mlp_store := RunStore("perceptron_mlp_runs", limit=5))
mlp_seconds = estimated(lambda k, d: perceptron.estimate_mlp_seconds(X, y, mlp_config, d, bounds), (data, mlp_config))
mlp_ok = time_check(mlp_seconds, "perceptron_mlp",
                    [lever(t("perceptron.epochs"), mlp_config.epochs, range(10, 2000, 10), mlp_seconds)])
if train_button(mlp_store, t("perceptron.mlp_train"), "perceptron_mlp_train", type="primary", disabled=not mlp_ok):
    train(perceptron.train_mlp(X, y, mlp_config, current_device(), bounds), mlp_store, "perceptron_mlp", mlp_config,
          lambda history: side_by_side(*charts.mlp_pair(history, X, y, bounds, mlp_config.resolution),
                                       (3, 2)),
          "perceptron_mlp_snapshot", {"data": data}, redraw_seconds=0.4)  # the heatmap is the costliest chart
if (run := mlp_store.latest) is None:
    st.info(t("perceptron.mlp_press"))
elif run.results["data"] != data:
    st.info(t("perceptron.mlp_data_changed"))
elif grids := sum(e["kind"] == "grid" for e in run.history):
    show_messages(charts.mlp_status(run.end))
    shown = replay(t("perceptron.snapshot"), "perceptron_mlp_snapshot", grids, t("perceptron.snapshot_help"))
    show_hidden = st.toggle(t("perceptron.show_hidden"), key="perceptron_mlp_show_hidden")
    side_by_side(*charts.mlp_pair(run.history, X, y, bounds, run.settings.resolution, show_hidden, shown,
                                             captions=True), (3, 2))
    for column, (label, value) in zip(st.columns(3), charts.mlp_metrics(run)):
        column.metric(label, value)
    show_messages(charts.mlp_verdict(run, dataset))

# --- 5. Loss functions -----------------------------------------------------------------------------
st.header(t("perceptron.loss_header"))
st.markdown(t("perceptron.loss_intro"))
# Only the open tab is drawn (a click on another reruns the page): the page's first view draws one
# of the section's four charts, and the browser draws every chart of a first view at once.
tab_reg, tab_bce, tab_ce = st.tabs([t("perceptron.tab_regression"), t("perceptron.tab_bce"), t("perceptron.tab_ce")],
                                   key="perceptron_loss_tab", on_change="rerun")
if tab_reg.open:
    tab_reg.latex(perceptron.FORMULAS["mse_mae"])
    c1, c2 = tab_reg.columns([1, 2])
    table = c1.data_editor(**charts.regression_table(), num_rows="dynamic", key="perceptron_reg_table",
                           width="stretch")
    reg = charts.regression_view(table, setting(c1.slider, t("perceptron.outlier"), -10.0, 10.0, 0.0, 0.5,
                                                key="perceptron_reg_outlier"))
    show_messages(*reg["messages"], where=tab_reg)
    for column, (label, value) in zip(c1.columns(2), reg["metrics"]):
        column.metric(label, value)
    show(reg["chart"], t("perceptron.regression_caption") if reg["chart"] else None, c2)
if tab_bce.open:
    tab_bce.latex(perceptron.FORMULAS["bce"])
    c1, c2 = tab_bce.columns([1, 2])
    bce = charts.bce_view(
        setting(c1.slider, t("perceptron.bce_p"), 0.0, 1.0, 0.8, 0.001, format="%.3f", key="perceptron_bce_p"),
        setting(c1.radio, t("perceptron.bce_label"), [1, 0], horizontal=True, key="perceptron_bce_label"))
    c1.metric(**bce["metric"])
    show_messages(bce["warning"], where=c1)
    show(bce["chart"], t("perceptron.bce_caption"), c2)
if tab_ce.open:
    tab_ce.markdown(charts.ce_intro())
    c1, c2 = tab_ce.columns([1, 2])
    ce = charts.ce_view(setting(c1.slider, t("perceptron.ce_p"), 0.0, 1.0, 0.90, 0.005, format="%.3f",
                                key="perceptron_ce_p"))
    c1.metric(**ce["metric"], delta_color="inverse")
    show_messages(ce["warning"], where=c1)
    show(ce["bars"], t("perceptron.ce_bars_caption"), c1)
    show(ce["curve"], t("perceptron.ce_curve_caption"), c2)
    tab_ce.caption(t("perceptron.ce_pytorch"))

# --- 6. Gradient descent on sin(x) -------------------------------------------------------------------
st.header(t("perceptron.sine_header"))
st.markdown(t("perceptron.sine_intro"))
sine_config = perceptron.CubicFitConfig()  # what the code below shows while the section is closed
sine_store = RunStore("perceptron_sine_runs", limit=6)
if section(t("perceptron.sine_open"), "perceptron_sine_open", "perceptron_sine_", help=t("common.section_help"),
           kept=bool(sine_store.runs or sine_store.interrupted)):
    problem = perceptron.cubic_problem(1000, seed=0)
    c1, c2, c3 = st.columns(3)
    method = setting(c1.radio, t("perceptron.update_rule"), perceptron.CUBIC_METHODS, key="perceptron_sine_method",
                     format_func=labels("perceptron.method", perceptron.CUBIC_METHODS))
    sine_config = perceptron.CubicFitConfig(
        method=method, lr=setting(c2.select_slider, t("perceptron.lr"), perceptron.CUBIC_LEARNING_RATES,
                                  format_func=charts.scientific,
                                  value=perceptron.CUBIC_DEFAULT_LR[method], key=f"perceptron_sine_lr_{method}",
                                  help=t("perceptron.sine_lr_help")),
        steps=setting(c3.slider, t("perceptron.steps"), 100, 10000, 2000, 100, key="perceptron_sine_steps"),
        seed=int(setting(c3.number_input, t("perceptron.sine_seed"), 0, 9999, 0, key="perceptron_sine_seed")))
    st.caption(t("perceptron.sine_lr_caption", stable_lr=problem["stable_lr"]))
    show_messages(charts.lr_warning(sine_config.lr, method))
    announce(sine_store)
    time_check(estimated(lambda k, d: perceptron.estimate_cubic_seconds(sine_config), sine_config), "perceptron_sine")
    if train_button(sine_store, t("perceptron.sine_run"), "perceptron_sine_run", type="primary"):
        train(perceptron.fit_cubic(sine_config), sine_store, "perceptron_sine", sine_config,
              lambda history: show(charts.cubic_losses([(t("perceptron.sine_live"), history)])),
              keep_partial=bool)  # every logged step counts: a stopped fit is still worth seeing
    sine = charts.sine_view(sine_store.runs, method, problem, sine_config.seed)
    show_messages(sine["message"])
    side_by_side(sine["charts"], sine["captions"])
    if sine["table"] is not None:
        c1, c2 = side_by_side([sine["coefficients"]], [t("perceptron.coefficients_caption")], (3, 2))
        c2.dataframe(sine["table"], hide_index=True, width="stretch")
        c2.caption(t("perceptron.coefficients_table_caption"))

# --- 7. Show the code -----------------------------------------------------------------------------
st.header(t("perceptron.code_header"))
st.markdown(t("perceptron.code_intro"))
show_code("perceptron_mlp", key="perceptron", optimizer=mlp_config.train_config(len(X)),
          **mlp_config.recipe_values(data))
show_code("perceptron_cubic", key="perceptron_cubic", optimizer=sine_config.train_config(),
          **sine_config.recipe_values())

# --- 8. Backpropagation, step by step (ui/backprop.py) -----------------------------------
backprop.render()
