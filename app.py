"""Deep Learning Playground: navigation and the sidebar every page shares."""
import os

import streamlit as st

from core.device import device_info, share_cpu_with_browser
from ui import classroom, workspace
from ui.content import language_switch, t
from ui.lessons import run_page
from ui.shell import cpu_threads_label, current_device, page_file

language_switch()  # first: every word below is in the chosen language
st.set_page_config(page_title=t("app.page_title"), page_icon="🧠", layout="wide")

PAGES = [  # (page file, icon, URL path); the title is the content section nav_<name>
    ("home", "🏠", None),
    ("lessons", "🎓", "lessons"),
    ("perceptron", "⚡", "perceptron"),
    ("ann", "✍️", "ann"),
    ("cnn", "🧩", "cnn"),
    ("resnet", "🪜", "resnet"),
    ("rnn", "🔁", "rnn"),
    ("stocks", "📈", "stocks"),
    ("glossary", "📖", "glossary"),
    ("teacher", "🧑‍🏫", "teacher"),
]
DOOR = [("join", "🎓", None), ("teacher", "🧑‍🏫", "teacher")]  # a closed class server, before joining
page = st.navigation([
    st.Page(page_file(name), title=t(f"app.nav_{name}"), icon=icon, default=url is None,
            **({"url_path": url} if url else {}))
    for name, icon, url in (PAGES if classroom.admitted() else DOOR)])
share_cpu_with_browser()  # training leaves a core to the browser drawing the live charts
workspace.current()  # before the URL's setup is read: a personal link's key leaves the URL at once

with st.sidebar:
    workspace.sidebar()
    classroom.sidebar()
    st.toggle(t("app.force_cpu"), key="force_cpu", help=t("app.force_cpu_help"))
    info = device_info(current_device())
    st.markdown(t("app.device", device=info["device"], name=info["name"]))
    st.caption(t("app.threads_cuda" if info["cuda_build"] else "app.threads", torch=info["torch"],
                 threads=cpu_threads_label(info)),
               help=t("app.threads_help"))
    if info["device"] == "cpu" and not st.session_state.get("force_cpu"):
        st.caption(t("app.no_gpu"))
    if os.environ.get("PLAYGROUND_REPLICA"):  # set by `run.py classroom`: which server you are on
        st.caption(t("app.replica", name=os.environ["PLAYGROUND_REPLICA"]))

run_page(page)  # the URL's setup in, the page, then the URL, lesson and 🔗 Share box out
