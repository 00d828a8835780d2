"""Deep Learning Playground: navigation and the sidebar every page shares."""
import streamlit as st

from core.device import device_info
from ui import current_device

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

with st.sidebar:
    st.toggle("Force CPU", key="force_cpu",
              help="Train on the CPU even when a GPU is available, e.g. to compare speeds.")
    info = device_info(current_device())
    st.markdown(f"**Device:** `{info['device']}` — {info['name']}")
    st.caption(f"torch {info['torch']} · {info['cpu_threads']} CPU threads"
               + (" · CUDA build" if info["cuda_build"] else ""))
    if info["device"] == "cpu" and not st.session_state.get("force_cpu"):
        st.caption("No usable GPU found: everything trains on the CPU with small defaults.")

page.run()
