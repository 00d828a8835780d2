"""The teacher's classes: make one (its join code), pick one, its assignments with due dates, its
roster (a learner removed with their data)."""
import datetime as dt

import pandas as pd
import streamlit as st

from core import lessons
from ui.content import escape, t


def render(database):
    """The class section; returns the class picked (db ClassInfo), or None before there is one."""
    st.header(t("teacher.classes_header"))
    with st.expander(t("teacher.new_class"), expanded=not database.classes()), st.form("teacher_new_class",
                                                                                         border=False):
            name = st.text_input(t("teacher.class_name"), max_chars=80)
            closes = st.date_input(t("teacher.class_closes"), value=None, help=t("teacher.class_closes_help"))
            if st.form_submit_button(t("teacher.create"), type="primary"):
                if not name.strip():
                    st.error(t("teacher.class_name_empty"))
                else:
                    made = database.create_class(name, _end_of(closes))
                    st.session_state["teacher_class"] = made.id
                    st.rerun()
    found = {c.id: c for c in database.classes()}
    if not found:
        st.info(t("teacher.no_class"))
        return None
    if st.session_state.get("teacher_class") not in found:
        st.session_state["teacher_class"] = next(iter(found))
    names = {i: t("teacher.class_option", name=c.name, code=c.code) for i, c in found.items()}
    chosen = found[st.selectbox(t("teacher.class_pick"), list(found), key="teacher_class", format_func=names.get)]
    c1, c2 = st.columns([2, 3])
    c1.metric(t("teacher.join_code"), chosen.code, help=t("teacher.join_code_help"))
    c2.caption(t("teacher.class_caption", created=_day(chosen.created),
                 closes=_day(chosen.closes) if chosen.closes else t("teacher.never")))
    _assignments(database, chosen)
    _roster(database, chosen)
    return chosen


def _end_of(day: dt.date | None) -> dt.datetime | None:
    return None if day is None else dt.datetime.combine(day, dt.time(23, 59, 59)).astimezone()


def _day(moment: dt.datetime | None) -> str:
    return "" if moment is None else moment.astimezone().strftime("%Y-%m-%d")


def lesson_title(lesson_id: str) -> str:
    return t(f"lessons.{lesson_id}_title")


def _assignments(database, chosen) -> None:
    st.subheader(t("teacher.assignments_header"))
    catalog = lessons.lessons()
    current = database.assignments(chosen.id)
    table = pd.DataFrame({"lesson": [a.lesson_id for a in current],
                          "due": [a.due.astimezone().replace(tzinfo=None) if a.due else None for a in current]})
    if table.empty:
        table = pd.DataFrame({"lesson": pd.Series(dtype="object"), "due": pd.Series(dtype="datetime64[ns]")})
    edited = st.data_editor(
        table, key=f"teacher_assignments_{chosen.id}", num_rows="dynamic", hide_index=True, width="stretch",
        column_config={"lesson": st.column_config.SelectboxColumn(t("teacher.col_lesson"), options=list(catalog),
                                                                  format_func={i: lesson_title(i) for i in catalog}.get,
                                                                  required=True),
                       "due": st.column_config.DatetimeColumn(t("teacher.col_due"), format="YYYY-MM-DD HH:mm")})
    st.caption(t("teacher.assignments_caption"))
    if st.button(t("teacher.save_assignments"), key=f"teacher_save_assignments_{chosen.id}", type="primary"):
        items, seen = [], set()
        for row in edited.itertuples():
            if row.lesson in catalog and row.lesson not in seen:
                seen.add(row.lesson)
                due = None if pd.isna(row.due) else pd.Timestamp(row.due).to_pydatetime().astimezone()
                items.append((row.lesson, due))
        database.set_assignments(chosen.id, items)
        st.toast(t("teacher.assignments_saved", count=len(items)))
        st.rerun()


def _roster(database, chosen) -> None:
    st.subheader(t("teacher.roster_header"))
    members = database.roster(chosen.id)
    if not members:
        st.caption(t("teacher.roster_empty", code=chosen.code))
        return
    st.dataframe(pd.DataFrame({t("teacher.col_name"): [m.display_name for m in members],
                               t("teacher.col_joined"): [_day(m.joined) for m in members],
                               t("teacher.col_seen"): [m.last_seen.astimezone().strftime("%Y-%m-%d %H:%M")
                                                       for m in members]}),
                 hide_index=True, width="stretch")
    names = {m.workspace_id: m.display_name for m in members}
    c1, c2, c3 = st.columns([3, 2, 2], vertical_alignment="bottom")
    who = c1.selectbox(t("teacher.remove_pick"), list(names), format_func=names.get, index=None,
                       key=f"teacher_remove_{chosen.id}", placeholder=t("teacher.remove_placeholder"))
    sure = c2.checkbox(t("teacher.remove_sure"), key=f"teacher_remove_sure_{chosen.id}")
    if c3.button(t("teacher.remove"), disabled=who is None or not sure, key=f"teacher_remove_button_{chosen.id}"):
        database.remove_member(chosen.id, who, delete_data=True)
        st.toast(t("teacher.removed", name=escape(names[who])))
        st.rerun()
