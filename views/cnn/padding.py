"""The CNN page's padding tab: zero, reflect, replicate and circular padding of a small image,
the numbers at the border, and a convolution's output with each mode, checked against torch's
F.pad and nn.Conv2d(padding_mode=...)."""
import numpy as np
import streamlit as st

from core import cnn
from ui.content import labels, say, t
from ui.share import setting
from views.cnn.charts import grid_frame, pad_table

DEFAULT_KERNEL = "blur"  # sums the 3×3 window: at the border each mode's numbers show in the output


def render() -> None:
    """The padding tab's contents (inside the tab the page opened)."""
    st.markdown(t("cnn.pad_intro"))
    pc = st.columns(2)
    padding = setting(pc[0].slider, t("cnn.pad_slider"), 1, 3, 1, key="cnn_pad_p")
    kernel_name = setting(pc[1].selectbox, t("cnn.pad_kernel"), list(cnn.KERNELS),
                          index=list(cnn.KERNELS).index(DEFAULT_KERNEL),
                          key="cnn_pad_kernel", format_func=labels("cnn.kernel", cnn.KERNELS))
    kernel = np.array(cnn.KERNELS[kernel_name])
    st.caption(t("cnn.pad_image", image=cnn.PAD_EXAMPLE.tolist()))
    results = cnn.padding_modes(cnn.PAD_EXAMPLE, padding, kernel)
    modes = list(cnn.PAD_MODES)
    for pair in (modes[:2], modes[2:]):
        for col, mode in zip(st.columns(2), pair):
            col.markdown(t(f"cnn.pad_title_{mode}"))
            found = results[mode]
            if "error" in found:
                col.warning(say(found["error"]))
                continue
            padded, out = found["padded"], found["out"]
            col.table(pad_table(padded, padding))  # a static table: every column shows, no scrolling
            col.markdown(t("cnn.pad_output_header", rows=out.shape[0], cols=out.shape[1]))
            col.table(output_table(out, found["touched"]))
            col.caption(t("cnn.pad_caption", explain=t(f"cnn.pad_{mode}"), top=_numbers(padded[0]),
                          check=t("cnn.pad_matches_torch" if found["matches_torch"] else "cnn.differs_from_torch",
                                  mode=cnn.TORCH_PAD[mode][1])))
    st.caption(t("cnn.pad_output_caption", padding=padding))


def output_table(out: np.ndarray, touched: np.ndarray):
    """The convolution's output with the cells whose window reaches into the padding in yellow."""
    frame = grid_frame(np.round(out, 2))
    styles = np.where(touched, "background-color: #ffe08a", "")
    return frame.style.apply(lambda _: styles, axis=None).format(precision=0)


def _numbers(row: np.ndarray) -> str:
    return " ".join(f"{v:g}" for v in row)

