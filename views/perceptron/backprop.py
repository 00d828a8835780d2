"""Perceptron page, last section: backpropagation step by step for one example through a tiny
network (core.backprop.walkthrough), every number written into its formula."""
import math

import pandas as pd
import streamlit as st

from core import backprop
from core.words import LearnerError
from ui.code import show_code
from ui.content import labels, say, show_messages, t
from ui.share import section, setting

KEY = "perceptron_bp"
LEARNING_RATES = [0.01, 0.03, 0.1, 0.3, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0]
SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
LAYER = {"W1": "⁽¹⁾", "b1": "⁽¹⁾", "W2": "⁽²⁾", "b2": "⁽²⁾"}
OUTPUT_FORMULAS = {"identity": r"\hat y = z^{(2)}", "sigmoid": r"\hat y = \sigma(z^{(2)})",
                   "softmax": r"\hat y = \operatorname{softmax}(z^{(2)})"}
ACTIVATION_NAMES = {"sigmoid": r"\sigma", "tanh": r"\tanh", "relu": r"\operatorname{ReLU}"}
DERIVATIVES = {"sigmoid": r"f'(z) = \sigma(z)\,(1-\sigma(z)) = a\,(1-a)", "tanh": r"f'(z) = 1-\tanh^2 z = 1-a^2",
               "relu": r"f'(z) = \begin{cases}1 & z>0\\ 0 & z\le 0\end{cases}"}
DELTA2 = {"mse": r"\tfrac{2}{M}(\hat y - y)", "bce": r"\tfrac{1}{M}(\hat y - y)", "ce": r"\hat y - y"}


def _n(value: float) -> str:
    """A number for a formula: four decimals without trailing zeros, or ×10ⁿ when tiny or huge."""
    if value == 0 or not math.isfinite(value) or 1e-3 <= abs(value) < 1e5:
        text = f"{value:.4f}".rstrip("0").rstrip(".") if math.isfinite(value) else rf"{value}"
        return "0" if text in ("-0", "") else text
    mantissa, exponent = f"{value:.3e}".split("e")
    return rf"{mantissa}\times 10^{{{int(exponent)}}}"


def _p(value: float) -> str:
    return f"({_n(value)})" if value < 0 else _n(value)


def _col(tensor) -> str:
    return r"\begin{bmatrix}" + r"\\".join(_n(v) for v in tensor.tolist()) + r"\end{bmatrix}"


def _mat(tensor) -> str:
    rows = tensor.tolist() if tensor.dim() == 2 else [tensor.tolist()]
    return r"\begin{bmatrix}" + r"\\".join("&".join(_n(v) for v in row) for row in rows) + r"\end{bmatrix}"


def _label(name: str, row: int, col: int = 0) -> str:
    """w⁽¹⁾₁₂ for W1[0, 1]; b⁽²⁾₁ for b2[0] (1-based, as the formulas write them)."""
    if name.startswith("W"):
        return f"w{LAYER[name]}{str(row + 1).translate(SUB)}{str(col + 1).translate(SUB)}"
    return f"b{LAYER[name]}{str(row + 1).translate(SUB)}"


def _entries(hidden: int, outputs: int) -> list[tuple[str, int, int]]:
    shapes = {"W1": (hidden, 2), "b1": (hidden, 1), "W2": (outputs, hidden), "b2": (outputs, 1)}
    return [(name, r, c) for name, (rows, cols) in shapes.items() for r in range(rows) for c in range(cols)]


def _next_seed() -> None:
    st.session_state[f"{KEY}_seed"] = (st.session_state.get(f"{KEY}_seed", 0) + 1) % 10_000


def _editor(where, weights: list[list[float]], biases: list[float], inputs: list[str], units: list[str], key: str):
    """One layer's weights (a row per unit, a column per input) and biases, editable; returns (W, b)."""
    columns = [f"in{i}" for i in range(len(inputs))]
    table = pd.DataFrame([[*w, b] for w, b in zip(weights, biases)], columns=[*columns, "b"], index=units)
    config = {c: st.column_config.NumberColumn(t("backprop.col_from", name=name), min_value=-10.0, max_value=10.0,
                                               step=0.01, format="%.2f") for c, name in zip(columns, inputs)}
    config["b"] = st.column_config.NumberColumn("b", min_value=-10.0, max_value=10.0, step=0.01, format="%.2f")
    edited = where.data_editor(table, column_config=config, key=key, width="stretch")
    numbers = edited.apply(pd.to_numeric, errors="coerce")  # an emptied cell is NaN: check_inputs says so
    return numbers[columns].to_numpy().tolist(), numbers["b"].tolist()


def _target(where, loss: str, outputs: int) -> tuple[float, ...]:
    if loss == "ce":
        classes = list(range(outputs))
        true = setting(where.selectbox, t("backprop.true_class"), classes, key=f"{KEY}_class_{outputs}",
                       format_func={k: t("backprop.class_name", index=k + 1) for k in classes}.get)
        return tuple(float(k == true) for k in classes)
    low, high = (0.0, 1.0) if loss == "bce" else (-5.0, 5.0)  # BCE's target is a probability
    return tuple(setting(where.number_input, t("backprop.target", index=f"{k + 1}".translate(SUB)), low, high,
                         1.0 if k == 0 else 0.0, 0.1, key=f"{KEY}_y{k}_{loss}",
                         help=t(f"backprop.target_help_{loss}")) for k in range(outputs))


def _settings() -> tuple[backprop.WalkSettings, backprop.TinyNet]:
    c1, c2, c3, c4 = st.columns(4)
    hidden = setting(c1.radio, t("backprop.hidden"), [2, 3], horizontal=True, key=f"{KEY}_hidden")
    outputs = setting(c1.radio, t("backprop.outputs"), [1, 2], horizontal=True, key=f"{KEY}_outputs")
    activation = setting(c2.selectbox, t("backprop.activation"), backprop.WALK_ACTIVATIONS, key=f"{KEY}_activation",
                         format_func=labels("backprop.act", backprop.WALK_ACTIVATIONS))
    loss = setting(c2.selectbox, t("backprop.loss_label"), backprop.WALK_LOSSES, key=f"{KEY}_loss",
                   format_func=labels("backprop.loss", backprop.WALK_LOSSES), help=t("backprop.loss_help"))
    x = (setting(c3.number_input, "x₁", -5.0, 5.0, 1.0, 0.1, key=f"{KEY}_x1"),
         setting(c3.number_input, "x₂", -5.0, 5.0, 0.5, 0.1, key=f"{KEY}_x2"))
    target = _target(c4, loss, outputs)
    c1, c2, c3 = st.columns([2, 1, 1], vertical_alignment="bottom")
    lr = setting(c1.select_slider, t("backprop.lr"), LEARNING_RATES, value=0.5, key=f"{KEY}_lr",
                 help=t("backprop.lr_help"))
    seed = int(setting(c2.number_input, t("backprop.seed"), 0, 9999, 0, key=f"{KEY}_seed",
                       help=t("backprop.seed_help")))
    c3.button(t("backprop.new_weights"), key=f"{KEY}_reseed", on_click=_next_seed)
    settings = backprop.WalkSettings(hidden, outputs, activation, loss, x, target, lr, seed)
    start = backprop.random_net(hidden, outputs, seed)
    st.markdown(t("backprop.weights_intro"))
    c1, c2 = st.columns(2)
    c1.caption(t("backprop.layer1_caption"))
    c2.caption(t("backprop.layer2_caption"))
    hidden_units = [f"h{str(j + 1).translate(SUB)}" for j in range(hidden)]
    w1, b1 = _editor(c1, start.W1, start.b1, ["x₁", "x₂"], hidden_units, f"{KEY}_w1_{hidden}_{seed}")
    w2, b2 = _editor(c2, start.W2, start.b2, hidden_units, [f"ŷ{str(k + 1).translate(SUB)}" for k in range(outputs)],
                     f"{KEY}_w2_{hidden}_{outputs}_{seed}")
    return settings, backprop.TinyNet(w1, b1, w2, b2)


def _forward(walk: backprop.Walkthrough, settings: backprop.WalkSettings) -> None:
    f, act = walk.forward, ACTIVATION_NAMES[settings.activation]
    st.subheader(t("backprop.forward_header"))
    st.markdown(t("backprop.forward_intro"))
    st.latex(rf"z^{{(1)}} = W^{{(1)}}x + b^{{(1)}} = {_mat(f['W1'])}{_col(f['x'])} + {_col(f['b1'])} = {_col(f['z1'])}")
    st.latex(rf"a^{{(1)}} = {act}(z^{{(1)}}) = {act}\left({_col(f['z1'])}\right) = {_col(f['a1'])}")
    st.latex(rf"z^{{(2)}} = W^{{(2)}}a^{{(1)}} + b^{{(2)}} = {_mat(f['W2'])}{_col(f['a1'])} + {_col(f['b2'])}"
             rf" = {_col(f['z2'])}")
    output = backprop.OUTPUT_ACTIVATIONS[settings.loss]
    st.latex(rf"{OUTPUT_FORMULAS[output]} = {_col(f['y_hat'])}, \qquad y = {_col(f['y'])}")
    y, y_hat, m = f["y"].tolist(), f["y_hat"].tolist(), len(f["y"])
    if settings.loss == "mse":
        terms = " + ".join(rf"({_n(p)} - {_p(q)})^2" for p, q in zip(y_hat, y))
        formula = rf"L = \tfrac{{1}}{{M}}\textstyle\sum_k (\hat y_k - y_k)^2 = \tfrac{{1}}{{{m}}}\left[{terms}\right]"
    elif settings.loss == "bce":
        terms = " + ".join(rf"{_n(q)}\ln {_n(p)} + {_n(1 - q)}\ln {_n(1 - p)}" for p, q in zip(y_hat, y))
        formula = (r"L = -\tfrac{1}{M}\textstyle\sum_k \left[y_k \ln \hat y_k + (1-y_k)\ln(1-\hat y_k)\right]"
                   rf" = -\tfrac{{1}}{{{m}}}\left[{terms}\right]")
    else:
        c = y.index(1.0)
        formula = rf"L = -\ln \hat y_c = -\ln {_n(y_hat[c])} \quad (c = {c + 1})"
    st.latex(rf"{formula} = {_n(walk.loss)}")
    st.caption(t(f"backprop.loss_caption_{settings.loss}"))


def _backward(walk: backprop.Walkthrough, settings: backprop.WalkSettings) -> None:
    f, g = walk.forward, walk.grads
    st.subheader(t("backprop.backward_header"))
    st.markdown(t(f"backprop.backward_intro_{settings.loss}"))
    scale = {"mse": rf"\tfrac{{2}}{{{len(f['y'])}}}", "bce": rf"\tfrac{{1}}{{{len(f['y'])}}}", "ce": ""}[settings.loss]
    st.latex(rf"\delta^{{(2)}} = \frac{{\partial L}}{{\partial z^{{(2)}}}} = {DELTA2[settings.loss]} = {scale}"
             rf"\left({_col(f['y_hat'])} - {_col(f['y'])}\right) = {_col(g['delta2'])}")
    st.latex(rf"\frac{{\partial L}}{{\partial W^{{(2)}}}} = \delta^{{(2)}} a^{{(1)\top}} = {_col(g['delta2'])}"
             rf"{_mat(f['a1'])} = {_mat(g['W2'])}, \qquad \frac{{\partial L}}{{\partial b^{{(2)}}}} = \delta^{{(2)}}"
             rf" = {_col(g['b2'])}")
    st.markdown(t("backprop.backward_hidden"))
    st.latex(DERIVATIVES[settings.activation])
    st.latex(rf"\delta^{{(1)}} = \left(W^{{(2)\top}}\delta^{{(2)}}\right) \odot f'(z^{{(1)}}) = "
             rf"\left({_mat(f['W2'].t())}{_col(g['delta2'])}\right) \odot {_col(g['derivative1'])} = "
             rf"{_col(g['back1'])} \odot {_col(g['derivative1'])} = {_col(g['delta1'])}")
    st.latex(rf"\frac{{\partial L}}{{\partial W^{{(1)}}}} = \delta^{{(1)}} x^\top = {_col(g['delta1'])}{_mat(f['x'])}"
             rf" = {_mat(g['W1'])}, \qquad \frac{{\partial L}}{{\partial b^{{(1)}}}} = \delta^{{(1)}}"
             rf" = {_col(g['b1'])}")


def _chain(walk: backprop.Walkthrough, settings: backprop.WalkSettings) -> None:
    st.subheader(t("backprop.chain_header"))
    entries = _entries(settings.hidden, settings.outputs)
    name, row, col = st.selectbox(t("backprop.chain_weight"), entries, key=f"{KEY}_weight_{settings.hidden}_"
                                  f"{settings.outputs}", format_func={e: _label(*e) for e in entries}.get)
    paths = backprop.chain_rule(walk.forward, walk.grads, name, row, col)
    value = sum(math.prod(path) for path in paths)
    j, i = row + 1, col + 1
    if name in ("W2", "b2"):
        symbol = rf"w^{{(2)}}_{{{j}{i}}}" if name == "W2" else rf"b^{{(2)}}_{{{j}}}"
        last = rf"a^{{(1)}}_{{{i}}}" if name == "W2" else "1"
        lines = [rf"\frac{{\partial L}}{{\partial z^{{(2)}}_{{{j}}}}}\cdot\frac{{\partial z^{{(2)}}_{{{j}}}}}"
                 rf"{{\partial {symbol}}}", rf"\delta^{{(2)}}_{{{j}}}\cdot {last}"]
    else:
        symbol = rf"w^{{(1)}}_{{{j}{i}}}" if name == "W1" else rf"b^{{(1)}}_{{{j}}}"
        last = rf"x_{{{i}}}" if name == "W1" else "1"
        outs = range(1, len(paths) + 1)
        lines = [" + ".join(rf"\frac{{\partial L}}{{\partial z^{{(2)}}_{{{k}}}}}\frac{{\partial z^{{(2)}}_{{{k}}}}}"
                            rf"{{\partial a^{{(1)}}_{{{j}}}}}\frac{{\partial a^{{(1)}}_{{{j}}}}}"
                            rf"{{\partial z^{{(1)}}_{{{j}}}}}"
                            rf"\frac{{\partial z^{{(1)}}_{{{j}}}}}{{\partial {symbol}}}" for k in outs),
                 " + ".join(rf"\delta^{{(2)}}_{{{k}}}\cdot w^{{(2)}}_{{{k}{j}}}\cdot f'(z^{{(1)}}_{{{j}}})\cdot {last}"
                            for k in outs)]
    lines.append(" + ".join(r"\cdot ".join(_p(v) for v in path) for path in paths))
    body = r"\\ &= ".join(lines)
    st.latex(rf"\begin{{aligned}}\frac{{\partial L}}{{\partial {symbol}}} &= {body}\\ &= {_n(value)}\end{{aligned}}")
    st.caption(t("backprop.chain_caption_2" if name in ("W2", "b2") else "backprop.chain_caption_1",
                 outputs=settings.outputs))


def _check(walk: backprop.Walkthrough, settings: backprop.WalkSettings) -> None:
    st.subheader(t("backprop.check_header"))
    st.markdown(t("backprop.check_intro"))
    rows = [(_label(name, r, c), walk.grads[name][r, c].item() if name[0] == "W" else walk.grads[name][r].item(),
             walk.autograd[name][r, c].item() if name[0] == "W" else walk.autograd[name][r].item())
            for name, r, c in _entries(settings.hidden, settings.outputs)]
    table = pd.DataFrame(rows, columns=["parameter", "hand", "autograd"])
    table["difference"] = (table["hand"] - table["autograd"]).abs()
    c1, c2 = st.columns([3, 1])
    c1.dataframe(table, hide_index=True, width="stretch", column_config={
        "parameter": t("backprop.col_parameter"),
        "hand": st.column_config.NumberColumn(t("backprop.col_hand"), format="%.12f"),
        "autograd": st.column_config.NumberColumn(t("backprop.col_autograd"), format="%.12f"),
        "difference": st.column_config.NumberColumn(t("backprop.col_difference"), format="%.1e")})
    c2.metric(t("backprop.max_diff"), f"{walk.max_diff:.1e}")
    c2.caption(t("backprop.max_diff_caption"))


def _update(walk: backprop.Walkthrough, settings: backprop.WalkSettings) -> None:
    st.subheader(t("backprop.update_header"))
    st.markdown(t("backprop.update_intro", lr=settings.lr))
    old, new = walk.forward, walk.new_net.tensors()
    for name, symbol in (("W1", "W^{(1)}"), ("b1", "b^{(1)}"), ("W2", "W^{(2)}"), ("b2", "b^{(2)}")):
        show = _mat if name[0] == "W" else _col
        st.latex(rf"{symbol} \leftarrow {symbol} - \eta\,\frac{{\partial L}}{{\partial {symbol}}} = {show(old[name])}"
                 rf" - {_n(settings.lr)}\,{show(walk.grads[name])} = {show(new[name])}")
    c1, c2, c3 = st.columns([1, 1, 2])
    c1.metric(t("backprop.loss_before"), f"{walk.loss:.6f}")
    c2.metric(t("backprop.loss_after"), f"{walk.new_loss:.6f}", delta=f"{walk.new_loss - walk.loss:+.6f}",
              delta_color="inverse")
    level = {"down": "success", "up": "warning"}.get(walk.outcome, "info")
    show_messages((level, t(f"backprop.outcome_{walk.outcome}", before=walk.loss, after=walk.new_loss,
                            lr=settings.lr)), where=c3)


STEPS = {"forward": _forward, "backward": _backward, "chain": _chain, "check": _check, "update": _update}


def render() -> None:
    """The whole section: settings and weights, then one tab per step (forward, backward, chain
    rule, check, update), then the code."""
    st.header(t("backprop.header"))
    st.markdown(t("backprop.intro"))
    if not section(t("backprop.open"), f"{KEY}_open", f"{KEY}_", help=t("common.section_help")):
        return
    settings, net = _settings()
    try:
        walk = backprop.walkthrough(net, settings)
    except LearnerError as error:
        st.error(say(error.words))
        return
    # One step per tab, and only the open one is drawn (a click on another reruns the page): the
    # five steps together are dozens of typeset matrices, most of what the page's first view
    # would otherwise cost the browser.
    tabs = st.tabs([t(f"backprop.step_{step}") for step in STEPS], key=f"{KEY}_step", on_change="rerun")
    for tab, step in zip(tabs, STEPS):
        if tab.open:
            with tab:
                STEPS[step](walk, settings)
    st.markdown(t("backprop.engine_note"))
    show_code("backprop", key=KEY, **backprop.recipe_values(net, settings))
