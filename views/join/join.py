"""A closed class server's door: join a class with its code, or the teacher signs in (Teacher page)."""
import streamlit as st

from ui.classroom import join_form
from ui.content import t

st.title(t("classroom.closed_title"))
st.markdown(t("classroom.closed_intro"))
with st.container(border=True):
    join_form("classroom_door")
