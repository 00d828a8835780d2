"""Around every page: the URL's setup applied and written back, a lesson's question above the
controls, teacher focus mode, the 🔗 Share box with the hand-in report; and the Lessons page."""
import contextlib
import datetime as dt
import json
import logging

import streamlit as st

from core import lessons
from ui import share, workspace
from ui.content import labels, language, t
from ui.runs import Run
from ui.shell import PageStop, page_file

DISMISSED = "_lessons_dismissed"  # session_state: lessons whose question the learner closed
log = logging.getLogger("playground.lessons")


def run_page(page) -> None:
    """Run the chosen page between reading the URL's setup and writing it back (app.py)."""
    share.start(page.url_path)
    top = st.container()
    with st.sidebar:
        box = st.container()
    with contextlib.suppress(PageStop):  # a page that stops early (no data) still gets its URL and Share box
        page.run()
    _after(page, top, box)


def _after(page, top, box) -> None:
    lesson = current_lesson(page.url_path)
    if lesson is not None:
        _note_lesson(lesson)
    share.finish()
    with top:
        if notice := share.shown_notice():
            st.warning(notice, icon="🔗")
        if lesson is not None:
            _banner(lesson)
    with box, st.popover(t("share.button"), width="stretch"):
        st.caption(t("share.explain"))
        st.code(share.link(page.url_path, share.query()), language=None, wrap_lines=True)
        hand_in("share")


def hand_in(key: str) -> None:
    """The hand-in report of this session, to download as Markdown or JSON."""
    st.caption(t("share.report_explain"))
    c1, c2 = st.columns(2)
    data = report(stores())
    c1.download_button(t("share.report_md"), report_markdown(data), "hand-in.md", "text/markdown",
                       key=f"{key}_report_md", on_click="ignore")
    c2.download_button(t("share.report_json"), report_json(data), "hand-in.json", "application/json",
                       key=f"{key}_report_json", on_click="ignore")


PROGRESS = "_progress"  # session_state: this workspace's progress, {(kind, item): (status, detail)}


def progress() -> dict:
    """This workspace's progress rows (read once per session, then kept in step with what is saved)."""
    if PROGRESS not in st.session_state:
        database, ws = workspace.database(), workspace.current()
        rows = []
        if database is not None and ws is not None:
            try:
                rows = database.load_progress(ws)
            except Exception as exc:
                log.error("reading progress failed (%s)", type(exc).__name__)
        st.session_state[PROGRESS] = {(r.kind, r.item): (r.status, r.detail) for r in rows}
    return st.session_state[PROGRESS]


def _note_lesson(lesson: lessons.Lesson) -> None:
    """A lesson opened (written once: never over "ran"); a computed lesson's figure, shown now,
    counts as its run (core.lessons' table of progress rows)."""
    if ("lesson", lesson.id) not in progress():
        _save_progress("lesson", lesson.id, "opened", {})
    spec = lessons.stores().get(lesson.runs)
    answered = lesson.predict is None or ("prediction", lesson.id) in progress()
    if spec is not None and spec.computed and answered:  # its figure counts once the prediction is locked
        values = {key: st.session_state[key] for key in spec.keys if key in st.session_state}
        _ran(lesson, lessons.computed_record(lesson, values))


def note_run(store: str) -> None:
    """After a run was kept in `store`: the verdict of each challenge that reads it ("met" is never
    rewritten), and for the lesson open on this page, its "ran" row and the prediction compared."""
    kept = records(store)
    for challenge in lessons.challenges().values():
        if challenge.runs == store and progress().get(("challenge", challenge.id), ("",))[0] != "met":
            result = lessons.verdict(challenge, kept)
            _save_progress("challenge", challenge.id, "met" if result.met else "tried",
                           lessons.run_detail(lessons.lesson_of(challenge.id), result.record or {}))
    lesson = lessons.lessons().get(st.query_params.get("lesson", ""))
    if lesson is not None and lesson.runs == store and kept and lesson.id not in st.session_state.get(DISMISSED, ()):
        _ran(lesson, kept[-1])


def _ran(lesson: lessons.Lesson, record: dict) -> None:
    if progress().get(("lesson", lesson.id)) != ("ran", lessons.run_detail(lesson, record)):
        _save_progress("lesson", lesson.id, "ran", lessons.run_detail(lesson, record))
    status, detail = progress().get(("prediction", lesson.id), ("", None))
    if lesson.predict is not None and status == "answered":
        compared = lessons.compare(lesson.predict, detail["answer"], record)
        if compared["outcome"] is not None:
            _save_progress("prediction", lesson.id, "compared", compared)


def _save_progress(kind: str, item: str, status: str, detail=None) -> None:
    progress()[(kind, item)] = (status, detail)
    database, ws = workspace.database(), workspace.current()
    if database is not None and ws is not None:
        try:
            database.save_progress(ws, kind, item, status, detail)
        except Exception as exc:  # progress is a record for the teacher: never a reason to break a page
            log.error("saving %s progress failed (%s)", kind, type(exc).__name__)


def _predict(lesson: lessons.Lesson) -> None:
    """The lesson's prediction: asked before its first run and locked once answered; after the run,
    what was predicted beside what the run gave."""
    guess = lesson.predict
    status, detail = progress().get(("prediction", lesson.id), ("", None))
    words = f"lessons.{lesson.id}_predict"
    if not status:
        with st.container(border=True, key="lesson_predict"):
            st.markdown("🤔 **" + t("classroom.predict_first") + "** " + t(words))
            if guess.kind == "choice":
                answer = st.radio(t("classroom.predict_label"), guess.options, index=None, key="lesson_predict_answer",
                                  format_func=labels(words, guess.options), horizontal=True)
            else:
                answer = st.number_input(t("classroom.predict_number", unit=guess.unit), min_value=guess.min,
                                         max_value=guess.max, step=guess.step, value=None,
                                         key="lesson_predict_answer")
            st.button(t("classroom.predict_lock"), key="lesson_predict_lock", disabled=answer is None,
                      on_click=_save_progress, args=("prediction", lesson.id, "answered", {"answer": answer}))
        return
    said = _answer_text(lesson, detail.get("answer"))
    if status == "compared" and detail.get("outcome") is not None:
        getattr(st, "success" if detail.get("right") else "info")(t(
            "classroom.predict_compared", answer=said, outcome=_answer_text(lesson, detail["outcome"])), icon="🤔")
    else:
        st.caption(t("classroom.predict_locked", answer=said))


def _answer_text(lesson: lessons.Lesson, value) -> str:
    if lesson.predict.kind == "choice":
        return t(f"lessons.{lesson.id}_predict_{value}") if value in lesson.predict.options else str(value)
    return f"{value:g}{lesson.predict.unit}" if isinstance(value, int | float) else str(value)


def current_lesson(page_path: str) -> lessons.Lesson | None:
    """The lesson the URL names, if it belongs to this page and was not dismissed."""
    lesson_id = st.query_params.get("lesson")
    if lesson_id is None:
        return None
    lesson = lessons.lessons().get(lesson_id)
    if lesson is None or lesson.page != page_path:
        share.note("lesson", lesson_id, "share.problem_lesson")
        del st.query_params["lesson"]
        return None
    return None if lesson.id in st.session_state.get(DISMISSED, set()) else lesson


def _dismiss(lesson_id: str) -> None:
    st.session_state.setdefault(DISMISSED, set()).add(lesson_id)
    for name in ("lesson", "focus"):
        if name in st.query_params:
            del st.query_params[name]


def _show_all() -> None:
    if "focus" in st.query_params:
        del st.query_params["focus"]


def _banner(lesson: lessons.Lesson) -> None:
    """The lesson's question above the page's controls, its challenge's verdict, and focus mode."""
    with st.container(border=True, key="lesson_banner"):
        st.markdown(t("lessons.banner", title=t(f"lessons.{lesson.id}_title")))
        st.markdown(t(f"lessons.{lesson.id}_question")
                    + (" " + t("lessons.go_to", anchor=lesson.section) if lesson.section else ""))
        with st.expander(t("lessons.look_label")):
            st.markdown(t(f"lessons.{lesson.id}_look"))
        with st.expander(t("lessons.why_label")):
            st.markdown(t(f"lessons.{lesson.id}_why"))
        if lesson.predict is not None:
            _predict(lesson)
        if lesson.challenge:
            _challenge(lessons.challenges()[lesson.challenge])
        c1, c2 = st.columns(2)
        c1.button(t("lessons.dismiss"), key="lesson_dismiss", on_click=_dismiss, args=(lesson.id,))
        if st.query_params.get("focus") == "1":
            hidden = [k for k in share.drawn_keys() if k not in lesson.settings and k not in lesson.focus]
            with c2.container(key="lesson_focus_on"):  # the style below applies while this box is on the page
                st.button(t("lessons.show_all", count=len(hidden)), key="lesson_show_all", on_click=_show_all)
            if hidden:  # Streamlit gives each keyed widget's box the class st-key-<key>
                st.html("<style>" + ", ".join(f"body:has(.st-key-lesson_focus_on) .st-key-{k}" for k in hidden)
                        + " {display: none !important;}</style>")


def _challenge(challenge: lessons.Challenge) -> None:
    result = lessons.verdict(challenge, records(challenge.runs))
    goal = t(f"lessons.challenge_{challenge.id}")
    if result.met:
        st.success(t("lessons.challenge_met", goal=goal, run=result.record["run"]))
    else:
        st.info(t("lessons.challenge_open", goal=goal) + " " + t(f"lessons.challenge_{challenge.id}_reach")
                + (" " + t("lessons.challenge_closest", run=result.record["run"],
                           missing=", ".join(_condition(c, result.record) for c in result.unmet))
                   if result.record else ""), icon="🎯")


def _condition(c: lessons.Condition, record: dict) -> str:
    want = record.get(c.than) if c.than else c.value
    return f"{c.field} {c.op} {_plain(want)} ({t('lessons.got')} {_plain(record.get(c.field))})"


def _plain(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


# --- Run records: what challenges check and the hand-in lists -----------------------------------

def record(store: str, run: Run) -> dict:
    """A run as one flat record (core.lessons.record): its settings' fields, the figures its page
    declares for `store` (core/<page>.py FIGURES), and `ok` (it finished and did not fail)."""
    return lessons.record(store, run)


def stores() -> dict[str, list[Run]]:
    """Every page's runs kept in this session (ui.runs.RunStore's state), by store."""
    return {key: value["runs"] for key, value in st.session_state.items()
            if isinstance(value, dict) and isinstance(value.get("runs"), list) and value["runs"]
            and all(isinstance(r, Run) for r in value["runs"])}


def records(store: str, runs: dict | None = None) -> list[dict]:
    return [record(store, run) for run in (stores() if runs is None else runs).get(store, [])]


# --- The hand-in report -------------------------------------------------------------------------

def report(runs: dict[str, list[Run]]) -> dict:
    """The session's `runs` (stores()) as plain data: every run (settings, results, link) and
    every challenge, met or not."""
    verdicts = []
    for challenge in lessons.challenges().values():
        result = lessons.verdict(challenge, records(challenge.runs, runs))
        verdicts.append({"challenge": challenge.id, "goal": t(f"lessons.challenge_{challenge.id}"),
                         "met": result.met, "run": result.record["run"] if result.met else None,
                         "link": result.record["link"] if result.met else None})
    return {"app": "Deep Learning Playground", "created": dt.datetime.now().isoformat(timespec="seconds"),
            "language": language(), "challenges": verdicts,
            "runs": [record(store, run) for store, kept in runs.items() for run in kept]}


def report_json(data: dict) -> str:
    """report() as JSON text."""
    return json.dumps(data, ensure_ascii=False, indent=2)


def report_markdown(data: dict) -> str:
    """report() as a Markdown page: the challenges, then each run with its link and fields."""
    lines = [f"# {t('share.report_title')}", "", t("share.report_created", created=data["created"]), "",
             f"## {t('share.report_challenges')}", ""]
    for v in data["challenges"]:
        mark = "✓" if v["met"] else "·"
        lines.append(f"- {mark} {v['goal']}" + (f" — {v['run']} ({v['link']})" if v["met"] else ""))
    lines += ["", f"## {t('share.report_runs')}", ""]
    if not data["runs"]:
        lines.append(t("share.report_no_runs"))
    for rec in data["runs"]:
        shown = {k: v for k, v in rec.items() if k not in ("store", "run", "link")}
        lines += [f"### {rec['store']} {rec['run']}", "", f"- {t('share.report_link')}: {rec['link']}",
                  *(f"- `{k}`: {v}" for k, v in shown.items()), ""]
    return "\n".join(lines) + "\n"


# --- The Lessons page ---------------------------------------------------------------------------

def open_lesson(lesson: lessons.Lesson) -> None:
    """Open the lesson's page in this session (runs kept) with its settings and question."""
    st.switch_page(page_file(lesson.page), query_params={"lang": language(), **lesson.settings,
                                                             "lesson": lesson.id})


def lesson_link(lesson: lessons.Lesson, focus: bool = False) -> str:
    """The lesson's link for a class (focus: teacher mode, unused settings hidden)."""
    return share.link(lesson.page, {"lang": language(), **lesson.settings, "lesson": lesson.id,
                                    **({"focus": "1"} if focus else {})})
