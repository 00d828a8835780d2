"""Home: what the playground teaches, the learning path, device and data status."""
import streamlit as st

from core.data import DATA_DIR, EMBEDDED_STOCKS
from core.device import device_info
from ui.shell import cpu_threads_label, current_device

st.title("🧠 Deep Learning Playground")
st.markdown(
    "Move a slider, retrain a small PyTorch model right here, and watch what changes — "
    "with the real numbers and the code that produced them. Every page trains on "
    "embedded data, so it works offline."
)

# --- The learning path -------------------------------------------------------------------
st.header("The learning path")
STEPS = [
    ("pages/perceptron.py", "1 · Perceptron & activations",
     "What one neuron computes, activations and their derivatives, losses, gradient descent, XOR."),
    ("pages/ann.py", "2 · ANN on MNIST",
     "The notebook's 784-128-64-10 network: tune, retrain, compare runs, draw a digit."),
    ("pages/cnn.py", "3 · CNN shapes & filters",
     "Shape calculator, pooling and padding by hand, filters and feature maps."),
    ("pages/resnet.py", "4 · ResNet",
     "Why skip connections let deep networks train: plain vs residual, BatchNorm."),
    ("pages/rnn.py", "5 · RNN, LSTM & GRU",
     "Sequences and memory: sine waves, long-term recall, inside the gates."),
    ("pages/stocks.py", "6 · Stock forecasting",
     "LSTM vs GRU on real prices — and honest baselines."),
]
columns = st.columns(3)
for index, (page_file, title, blurb) in enumerate(STEPS):
    with columns[index % 3].container(border=True):
        st.page_link(page_file, label=title)
        st.caption(blurb)

st.markdown(
    "**How each page works:** change the settings, press **Train**, watch the live curves "
    "(press **Stop** at any time), then read the explanation under each chart. "
    "**Show the code** gives the plain PyTorch script for exactly those settings. "
    "Reference points from the course notebooks: the MNIST MLP reached **96.83%** after "
    "10 epochs, the CIFAR-10 CNN **72.47%**."
)

# --- Device and data status ----------------------------------------------------------------
st.header("Status")
left, right = st.columns(2)
with left:
    info = device_info(current_device())
    st.metric("Training device", info["device"].upper(), help=info["name"])
    st.caption(f"{info['name']} · torch {info['torch']} · training uses {cpu_threads_label(info)}"
               + (" (one core is left to your browser, which draws the live charts). "
                  if info["cpu_threads"] < info["cpu_threads_default"] else ". ") +
               "Switch to the CPU with **Force CPU** in the sidebar.")
with right:
    files = {
        "MNIST (60,000 train / 10,000 test, official IDX)": DATA_DIR / "mnist" / "t10k-images-idx3-ubyte.gz",
        "CIFAR-10 subset (10,000 / 2,000 JPEG)": DATA_DIR / "cifar10" / "train.zip",
        f"Stock prices ({len(EMBEDDED_STOCKS)} symbols, daily CSV)": DATA_DIR / "stocks" / "005930.csv",
    }
    for label, path in files.items():
        st.markdown(("✅ " if path.exists() else "❌ missing: ") + label)
    st.caption("Embedded in `data/`; see its README for sources. Online extras (full CIFAR-10, "
               "FinanceDataReader, pretrained weights) are used only when the internet is reachable.")
