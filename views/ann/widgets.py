"""The settings both MLPs of the ANN page share (the MNIST classifier and the regression section):
the layers, then the optimizer, learning rate and batch size. `words` is the content file the
labels come from ("ann", "regression"), `key` the prefix of the widget keys ("ann", "reg")."""
import streamlit as st

from core.ann import parse_hidden
from core.engine import OPTIMIZER_LABELS, OPTIMIZERS
from core.models import ACTIVATIONS, activation_name
from core.words import LearnerError
from ui.content import say, t
from ui.share import setting


def layers(words: str, key: str, hidden: str, dropout: float) -> tuple[tuple[int, ...] | None, str, float]:
    """Hidden layer sizes (typed, e.g. "128, 64"), activation and dropout, in three columns:
    (hidden sizes, or None after an error shown in place; activation key; dropout)."""
    col_hidden, col_act, col_drop = st.columns(3)
    hidden_text = setting(col_hidden.text_input, t(f"{words}.hidden"), hidden, key=f"{key}_hidden", max_chars=80,
                          help=t(f"{words}.hidden_help"))
    activation = setting(col_act.selectbox, t(f"{words}.activation"), list(ACTIVATIONS), key=f"{key}_activation",
                         format_func=activation_name)
    dropout = setting(col_drop.slider, t(f"{words}.dropout"), 0.0, 0.8, dropout, step=0.05, key=f"{key}_dropout",
                      help=t(f"{words}.dropout_help"))
    try:
        return parse_hidden(hidden_text), activation, dropout
    except LearnerError as exc:
        st.error(say(exc.words))
        return None, activation, dropout


def optimization(words: str, key: str, optimizer: str, rates: list[float], lr: float, batch_sizes: list[int],
                 batch_size: int) -> tuple[str, float, int]:
    """Optimizer, learning rate (one of `rates`) and batch size (one of `batch_sizes`), in three columns."""
    col_opt, col_lr, col_bs = st.columns(3)
    optimizer = setting(col_opt.selectbox, t(f"{words}.optimizer"), OPTIMIZERS, index=OPTIMIZERS.index(optimizer),
                        format_func=OPTIMIZER_LABELS.get, key=f"{key}_optimizer")
    lr = setting(col_lr.select_slider, t(f"{words}.lr"), rates, value=lr, key=f"{key}_lr",
                 format_func=lambda v: f"{v:g}")
    batch_size = setting(col_bs.select_slider, t(f"{words}.batch_size"), batch_sizes, value=batch_size,
                         key=f"{key}_batch_size")
    return optimizer, lr, batch_size


def seed(words: str, key: str, default: int, where=st) -> int:
    """The seed of the model's first weights and the batches' order."""
    return int(setting(where.number_input, t(f"{words}.seed"), 0, 99_999, default, step=1, key=f"{key}_seed",
                       help=t(f"{words}.seed_help")))
