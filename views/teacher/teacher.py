"""The teacher's page: sign in, classes and their assignments, the class's live progress, grades out."""
import math

import streamlit as st

from core import teacher
from ui import classroom, workspace
from ui.content import t
from ui.shell import stop_page
from views.teacher import classes, dashboard

st.title(t("teacher.title"))
database = workspace.database()
if database is None:
    st.warning(t("workspace.no_database"))
    stop_page()
if not classroom.signed_in() and classroom.single_sign_on():  # optional: st.login (OIDC), see README
    if st.user.is_logged_in and str(st.user.get("email", "")).lower() in teacher.teacher_emails():
        st.session_state[classroom.TEACHER] = True
    elif st.user.is_logged_in:
        st.warning(t("teacher.sso_not_teacher"))
    else:
        st.button(t("teacher.sso_sign_in"), key="teacher_sso", on_click=st.login)
if not teacher.password_hash() and not classroom.signed_in():
    st.info(t("teacher.no_password"), icon="🔑")
    stop_page()

if not classroom.signed_in():
    st.markdown(t("teacher.sign_in_intro"))
    locked = database.sign_in_locked(teacher.LOCK_FAILURES, teacher.LOCK_SECONDS)
    if locked:
        st.error(t("teacher.locked", seconds=math.ceil(locked)), icon="⏳")
    with st.form("teacher_sign_in"):
        password = st.text_input(t("teacher.password"), type="password", max_chars=200, key="teacher_password")
        if st.form_submit_button(t("teacher.sign_in"), type="primary", disabled=bool(locked)) and not locked:
            if teacher.verify(password):
                database.clear_sign_in_failures()
                st.session_state[classroom.TEACHER] = True
                st.rerun()
            database.note_sign_in_failure()
            locked = database.sign_in_locked(teacher.LOCK_FAILURES, teacher.LOCK_SECONDS)
            st.error(t("teacher.locked", seconds=math.ceil(locked)) if locked else t("teacher.wrong"))
    stop_page()

if st.sidebar.button(t("teacher.sign_out"), key="teacher_sign_out", width="stretch"):
    st.session_state.pop(classroom.TEACHER, None)
    st.rerun()
chosen = classes.render(database)
if chosen is not None:
    dashboard.render(database, chosen)
