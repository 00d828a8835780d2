"""Home: what the playground teaches, the learning path, device and data status."""
import streamlit as st

from core.data import DATA_DIR, EMBEDDED_STOCKS
from core.device import device_info
from ui.content import t
from ui.shell import cpu_threads_label, current_device, page_file

st.title(t("home.title"))
st.markdown(t("home.intro"))

st.header(t("home.path_header"))
columns = st.columns(3)
for index, name in enumerate(["perceptron", "ann", "cnn", "resnet", "rnn", "stocks"]):
    with columns[index % 3].container(border=True):
        st.page_link(page_file(name), label=t(f"app.nav_{name}"))
        st.caption(t(f"home.step_{name}"))
st.markdown(t("home.how"))
st.page_link(page_file("lessons"), label=t("app.nav_lessons"), icon="🎓")
st.caption(t("home.lessons"))

st.header(t("home.status_header"))
left, right = st.columns(2)
with left:
    info = device_info(current_device())
    st.metric(t("home.device_metric"), info["device"].upper(), help=info["name"])
    shared = info["cpu_threads"] < info["cpu_threads_default"]
    st.caption(t("home.device_caption_shared" if shared else "home.device_caption",
                 name=info["name"], torch=info["torch"], threads=cpu_threads_label(info)))
with right:
    files = {
        t("home.data_mnist"): DATA_DIR / "mnist" / "t10k-images-idx3-ubyte.gz",
        t("home.data_cifar"): DATA_DIR / "cifar10" / "train.zip",
        t("home.data_stocks", count=len(EMBEDDED_STOCKS)): DATA_DIR / "stocks" / "005930.csv",
    }
    for label, path in files.items():
        st.markdown(t("home.data_present" if path.exists() else "home.data_missing", label=label))
    st.caption(t("home.data_caption"))
