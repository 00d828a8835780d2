"""Lessons: the course's guided experiments by topic; each opens its page with its settings."""
import streamlit as st

from core import lessons
from ui import classroom
from ui.content import escape, t
from ui.lessons import hand_in, lesson_link, open_lesson, progress, records

st.title(t("lessons.title"))
st.markdown(t("lessons.intro"))

if assigned := classroom.assignments():  # a class's assignments first, with where this learner stands
    st.header(t("classroom.my_assignments"))
    mine = [{"kind": kind, "item": item, "status": status, "detail": detail, "updated": None}
            for (kind, item), (status, detail) in progress().items()]
    catalog = lessons.lessons()
    for class_info, assignment in assigned:
        lesson = catalog.get(assignment.lesson_id)
        if lesson is None:
            continue
        cell = lessons.lesson_status(lesson, mine, assignment.due)
        with st.container(border=True):
            text, state, button = st.columns([4, 2, 1], vertical_alignment="center")
            due = (t("classroom.assignment_due", due=assignment.due.astimezone().strftime("%Y-%m-%d %H:%M"))
                   if assignment.due else "")
            text.markdown(t("classroom.assignment_line", title=t(f"lessons.{lesson.id}_title"),
                            class_name=escape(class_info.name), due=due))
            state.markdown(t("classroom.assignment_status", icon=classroom.ICONS[cell.status],
                             status=t(f"teacher.status_{cell.status}")))
            if button.button(t("lessons.open"), key=f"assignment_open_{class_info.id}_{lesson.id}", width="stretch"):
                open_lesson(lesson)

for topic, topic_lessons in lessons.by_topic().items():
    if not topic_lessons:
        continue
    st.header(t(f"app.nav_{topic}"))
    for lesson in topic_lessons:
        with st.container(border=True):
            text, button = st.columns([5, 1], vertical_alignment="center")
            text.markdown(f"**{t(f'lessons.{lesson.id}_title')}**  \n{t(f'lessons.{lesson.id}_question')}")
            if lesson.challenge:
                challenge = lessons.challenges()[lesson.challenge]
                result = lessons.verdict(challenge, records(challenge.runs))
                text.markdown(t("lessons.challenge_met" if result.met else "lessons.challenge_listed",
                                goal=t(f"lessons.challenge_{challenge.id}"),
                                run=result.record["run"] if result.met else ""))
            if button.button(t("lessons.open"), key=f"lesson_open_{lesson.id}", type="primary", width="stretch"):
                open_lesson(lesson)
    with st.expander(t("lessons.teacher_links")):
        st.caption(t("lessons.teacher_links_help"))
        st.code("\n".join(f"# {t(f'lessons.{lesson.id}_title')}\n{lesson_link(lesson, focus=True)}"
                          for lesson in topic_lessons), language=None, wrap_lines=True)

st.header(t("lessons.hand_in_header"))
hand_in("lessons")
