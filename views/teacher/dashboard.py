"""The class's live progress: learner × assignment (refreshing by itself), one learner's run read
only, one lesson's results (a histogram, the predictions against the outcomes, the best run), and
the grades out as CSV (UTF-8 with BOM, for Excel and Hangul names) and JSON."""
import datetime as dt
import math

import altair as alt
import pandas as pd
import streamlit as st

import db
from core import lessons
from ui import classroom
from ui.charts import training_chart
from ui.content import t

REFRESH_SECONDS = 10   # the progress table redraws itself this often (st.fragment run_every)
LOWER_IS_BETTER = ("rmse", "loss", "mse", "gap")  # figure names whose best run is the smallest


def grid(database, class_id: int, now: dt.datetime | None = None) -> tuple[list, list, dict]:
    """(roster, assignments, {(workspace_id, lesson_id): core.lessons.Cell}): what the table, the
    lesson view and the grades read, in two queries."""
    roster, assignments = database.roster(class_id), database.assignments(class_id)
    progress, catalog = database.class_progress(class_id), lessons.lessons()
    cells = {(m.workspace_id, a.lesson_id): lessons.lesson_status(catalog[a.lesson_id],
                                                                  progress.get(m.workspace_id, []), a.due, now)
             for m in roster for a in assignments if a.lesson_id in catalog}
    return roster, [a for a in assignments if a.lesson_id in catalog], cells


def _figure(value) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def cell_text(cell: lessons.Cell) -> str:
    """A cell as the table shows it: status icon, figure, time, late."""
    parts = [classroom.ICONS[cell.status] + " " + t(f"teacher.status_{cell.status}")]
    if cell.figure is not None:
        parts.append(_figure(cell.figure))
    if cell.time is not None:
        parts.append(cell.time.astimezone().strftime("%m-%d %H:%M"))
    if cell.late or (cell.overdue and cell.status != "met"):
        parts.append("⏰ " + t("teacher.late"))
    return " · ".join(parts)


def grade_rows(roster, assignments, cells) -> tuple[list[dict], list[str]]:
    """One row per learner; per assignment its status, figure, time and late: the export."""
    columns = ["learner"]
    for a in assignments:
        columns += [f"{a.lesson_id}:{field}" for field in ("status", "figure", "time", "late")]
    rows = []
    for member in roster:
        row = {"learner": member.display_name}
        for a in assignments:
            cell = cells[(member.workspace_id, a.lesson_id)]
            row.update({f"{a.lesson_id}:status": cell.status, f"{a.lesson_id}:figure": cell.figure,
                        f"{a.lesson_id}:time": cell.time.isoformat(timespec="seconds") if cell.time else "",
                        f"{a.lesson_id}:late": bool(cell.late or (cell.overdue and cell.status != "met"))})
        rows.append(row)
    return rows, columns


def render(database, chosen) -> None:
    st.header(t("teacher.progress_header"))
    st.caption(t("teacher.progress_caption", seconds=REFRESH_SECONDS))
    _live(database, chosen)


@st.fragment(run_every=REFRESH_SECONDS)
def _live(database, chosen) -> None:
    """The table, the lesson view and the grades, redrawn by themselves (the rest of the page stays)."""
    roster, assignments, cells = grid(database, chosen.id)
    if not assignments:
        st.info(t("teacher.no_assignments"))
        return
    _table(database, chosen.id, roster, assignments, cells)
    if roster:
        _lesson(database, chosen.id, roster, assignments, cells)
    _export(chosen, roster, assignments, cells)


def _table(database, class_id: int, roster, assignments, cells) -> None:
    if not roster:
        st.info(t("teacher.roster_empty_short"))
        return
    titles = [t(f"lessons.{a.lesson_id}_title") for a in assignments]
    frame = pd.DataFrame([[cell_text(cells[(m.workspace_id, a.lesson_id)]) for a in assignments] for m in roster],
                         columns=titles, index=[m.display_name for m in roster])
    event = st.dataframe(frame, key=f"teacher_grid_{class_id}", on_select="rerun", selection_mode="single-cell",
                         width="stretch")
    st.caption(t("teacher.grid_caption"))
    picked = event.selection.get("cells", []) if event is not None else []
    if picked:
        row, column = picked[0]
        member, assignment = roster[row], assignments[titles.index(column)] if column in titles else None
        if assignment is not None:
            _run_view(database, class_id, member, assignment, cells[(member.workspace_id, assignment.lesson_id)])


def _run_view(database, class_id: int, member, assignment, cell: lessons.Cell) -> None:
    """The run behind a learner's cell, read only: its settings, how it ended, its chart, its link."""
    lesson = lessons.lessons()[assignment.lesson_id]
    with st.container(border=True):
        st.markdown(t("teacher.run_view", lesson=t(f"lessons.{lesson.id}_title")))
        st.text(member.display_name)  # typed by a learner: shown as text, never Markdown
        detail = next((p.detail for p in database.class_progress(class_id).get(member.workspace_id, [])
                       if p.kind == "lesson" and p.item == lesson.id and p.status == "ran"), None)
        if cell.answer is not None:
            st.caption(t("teacher.run_view_prediction", answer=_figure(cell.answer), outcome=_figure(cell.outcome)))
        if not isinstance(detail, dict) or not str(detail.get("run", "")).startswith("#"):
            st.caption(t("teacher.run_view_none"))
            return
        run = database.member_run(class_id, member.workspace_id, lesson.runs, int(detail["run"][1:]))
        if run is None:
            st.caption(t("teacher.run_view_gone"))
            return
        settings = lessons.record(lesson.runs, run)
        st.dataframe(pd.DataFrame({t("teacher.col_field"): list(settings),
                                   t("teacher.col_value"): [_figure(v) for v in settings.values()]}),
                     hide_index=True, width="stretch", height=240)
        if any(e.get("kind") == "epoch" for e in run.history):
            st.altair_chart(training_chart(run.history), width="stretch")
        if run.link:
            st.link_button(t("teacher.open_run"), run.link)


def _lesson(database, class_id: int, roster, assignments, cells) -> None:
    """One lesson's results across the class: a histogram (no names), predictions against
    outcomes, and the best run with the link that reproduces it."""
    st.subheader(t("teacher.lesson_header"))
    titles = {a.lesson_id: t(f"lessons.{a.lesson_id}_title") for a in assignments}  # in the language of now
    pick = st.selectbox(t("teacher.lesson_pick"), list(titles), key=f"teacher_lesson_{class_id}",
                        format_func=titles.get)
    lesson = lessons.lessons()[pick]
    mine = [cells[(m.workspace_id, pick)] for m in roster]
    values = [c.figure for c in mine if isinstance(c.figure, int | float) and math.isfinite(c.figure)]
    c1, c2 = st.columns(2)
    if values:
        frame = pd.DataFrame({"figure": values})
        c1.altair_chart(alt.Chart(frame).mark_bar().encode(
            x=alt.X("figure:Q", bin=alt.Bin(maxbins=15), title=lesson.figure),
            y=alt.Y("count():Q", title=t("teacher.axis_learners"))).properties(height=220), width="stretch")
        c1.caption(t("teacher.histogram_caption", count=len(values), figure=lesson.figure))
    else:
        c1.caption(t("teacher.no_results"))
    answered = [c for c in mine if c.answer is not None]
    judged = [c for c in answered if c.right is not None]
    c2.metric(t("teacher.predicted_it"), t("teacher.predicted_tally", right=sum(bool(c.right) for c in judged),
                                           total=len(judged)), help=t("teacher.predicted_help"))
    c2.caption(t("teacher.predicted_caption", answered=len(answered), learners=len(roster)))
    if values:
        lower = lesson.figure is not None and lesson.figure.lower().endswith(LOWER_IS_BETTER)
        best = (min if lower else max)((c for c in mine if c.figure in values), key=lambda c: c.figure)
        holder = next(m for m in roster if cells[(m.workspace_id, pick)] is best)
        detail = next((p.detail for p in database.class_progress(class_id).get(holder.workspace_id, [])
                       if p.kind == "lesson" and p.item == pick and p.status == "ran"), {}) or {}
        c2.markdown(t("teacher.best_run", figure=_figure(best.figure)))
        if detail.get("link"):
            c2.code(detail["link"], language=None, wrap_lines=True)


def _export(chosen, roster, assignments, cells) -> None:
    st.subheader(t("teacher.export_header"))
    rows, columns = grade_rows(roster, assignments, cells)
    stamp = dt.date.today().strftime("%Y%m%d")
    c1, c2 = st.columns(2)
    c1.download_button(t("teacher.export_csv"), db.export_csv(rows, columns), f"grades-{chosen.code}-{stamp}.csv",
                       "text/csv", key="teacher_export_csv", on_click="ignore", width="stretch")
    c2.download_button(t("teacher.export_json"), db.export_json(rows), f"grades-{chosen.code}-{stamp}.json",
                       "application/json", key="teacher_export_json", on_click="ignore", width="stretch")
    st.caption(t("teacher.export_caption"))
