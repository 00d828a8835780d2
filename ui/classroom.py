"""A class around the learner: joining one with its code (the sidebar, or the join page of a
closed class server), the teacher's signed-in state, and who is admitted to the training pages.

A learner's display name is always shown as text (never as Markdown or HTML): it is the one
thing another person typed that a teacher reads.
"""
import logging

import streamlit as st

import db
from core import teacher
from ui import workspace
from ui.content import escape, t

TEACHER = "_teacher_signed_in"   # session_state: the teacher signed in, in this session only
ICONS = {"not_opened": "·", "opened": "👀", "predicted": "🤔", "ran": "▶️", "met": "✅"}  # a lesson's status
log = logging.getLogger("playground.classroom")


def signed_in() -> bool:
    return bool(st.session_state.get(TEACHER))


def single_sign_on() -> bool:
    """Whether `.streamlit/secrets.toml` has an `[auth]` section for st.login (optional, OIDC)."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file: Streamlit raises on the first look
        return False


def memberships() -> list:
    """This learner's classes (db.classes Member records); [] without a database."""
    database, ws = workspace.database(), workspace.current()
    if database is None or ws is None:
        return []
    try:
        return database.memberships(ws)
    except Exception as exc:
        log.error("reading classes failed (%s)", type(exc).__name__)
        return []


def admitted() -> bool:
    """Whether this session may reach the pages that train: always on an open server; on a closed
    one (core.teacher.closed) the teacher and learners who joined a class."""
    return not teacher.closed() or signed_in() or bool(memberships())


def join_form(key: str) -> None:
    """Join a class: its code and the name the teacher will see."""
    with st.form(key=f"{key}_form", border=False):
        code = st.text_input(t("classroom.code"), max_chars=20, key=f"{key}_code", help=t("classroom.code_help"))
        name = st.text_input(t("classroom.name"), max_chars=40, key=f"{key}_name", help=t("classroom.name_help"))
        if st.form_submit_button(t("classroom.join"), type="primary", width="stretch"):
            _join(code, name)


def _join(code: str, name: str) -> None:
    database, ws = workspace.database(), workspace.current()
    if database is None or ws is None:
        st.error(t("workspace.no_database"))
        return
    try:
        member = database.join_class(ws, code, name)
    except db.JoinError as exc:
        st.error(t(f"classroom.join_{exc.reason}"))
        return
    st.session_state["_classroom_joined"] = t("classroom.joined", name=escape(member.display_name),
                                              class_name=escape(member.class_name))
    st.rerun()


def sidebar() -> None:
    """The sidebar's class box: the classes this learner is in, and the join form."""
    if notice := st.session_state.pop("_classroom_joined", None):
        st.toast(notice, icon="🎓")
    joined = memberships()
    label = t("classroom.button_in", count=len(joined)) if joined else t("classroom.button")
    with st.popover(label, width="stretch"):
        for member in joined:
            st.text(t("classroom.member", class_name=member.class_name, name=member.display_name))
        st.caption(t("classroom.join_intro"))
        join_form("classroom_sidebar")


def assignments() -> list:
    """This learner's assignments in every class they joined: [(db ClassInfo, db Assignment)]."""
    database, ws = workspace.database(), workspace.current()
    if database is None or ws is None:
        return []
    try:
        return database.assignments_for(ws)
    except Exception as exc:
        log.error("reading assignments failed (%s)", type(exc).__name__)
        return []
