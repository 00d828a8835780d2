"""Deep Learning Playground: navigation and the sidebar every page shares."""
import streamlit as st

from core.device import device_info, share_cpu_with_browser
from ui.shell import cpu_threads_label, current_device

st.set_page_config(page_title="Deep Learning Playground", page_icon="🧠", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon="🏠", default=True),
    st.Page("pages/perceptron.py", title="1 · Perceptron & activations", icon="⚡", url_path="perceptron"),
    st.Page("pages/ann.py", title="2 · ANN on MNIST", icon="✍️", url_path="ann"),
    st.Page("pages/cnn.py", title="3 · CNN shapes & filters", icon="🧩", url_path="cnn"),
    st.Page("pages/resnet.py", title="4 · ResNet", icon="🪜", url_path="resnet"),
    st.Page("pages/rnn.py", title="5 · RNN, LSTM & GRU", icon="🔁", url_path="rnn"),
    st.Page("pages/stocks.py", title="6 · Stock forecasting", icon="📈", url_path="stocks"),
]

page = st.navigation(PAGES)
share_cpu_with_browser()  # training leaves a core to the browser drawing the live charts

with st.sidebar:
    st.toggle("Force CPU", key="force_cpu",
              help="Train on the CPU even when a GPU is available, e.g. to compare speeds.")
    info = device_info(current_device())
    st.markdown(f"**Device:** `{info['device']}` — {info['name']}")
    st.caption(f"torch {info['torch']} · trains on {cpu_threads_label(info)}"
               + (" · CUDA build" if info["cuda_build"] else ""),
               help="Training leaves one CPU core to your browser and the app's server, which "
                    "draw the live charts meanwhile: on a 2-core machine that made training "
                    "several times faster (PyTorch's threads wait for each other at every step).")
    if info["device"] == "cpu" and not st.session_state.get("force_cpu"):
        st.caption("No usable GPU found: everything trains on the CPU with small defaults.")

page.run()
