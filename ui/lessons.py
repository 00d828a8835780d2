"""Around every page: the URL's setup applied and written back, a lesson's question above the
controls, teacher focus mode, the 🔗 Share box with the hand-in report; and the Lessons page."""
import contextlib
import datetime as dt
import json
import logging
import math
from dataclasses import asdict, is_dataclass

import streamlit as st

from core import lessons
from core.engine import FAILED
from core.stocks import NAIVE
from ui import share, workspace
from ui.content import language, t
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


def _note_lesson(lesson: lessons.Lesson) -> None:
    """A lesson opened: kept in the workspace's progress once per session (the teacher's view reads it)."""
    noted = st.session_state.setdefault("_lessons_noted", set())
    if lesson.id not in noted:
        noted.add(lesson.id)
        _save_progress("lesson", lesson.id, "opened")


def note_run(store: str) -> None:
    """After a run was kept in `store`: the verdict of each challenge that reads it, into the
    workspace's progress ("met" with the run and its link, else "tried")."""
    for challenge in lessons.challenges().values():
        if challenge.runs == store:
            result = lessons.verdict(challenge, records(store))
            run = result.record or {}
            _save_progress("challenge", challenge.id, "met" if result.met else "tried",
                           {"run": run.get("run"), "link": run.get("link")})


def _save_progress(kind: str, item: str, status: str, detail=None) -> None:
    database, ws = workspace.database(), workspace.current()
    if database is not None and ws is not None:
        try:
            database.save_progress(ws, kind, item, status, detail)
        except Exception as exc:  # progress is a record for the teacher: never a reason to break a page
            log.error("saving %s progress failed (%s)", kind, type(exc).__name__)


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

def _last_grid_accuracy(run: Run):
    grids = [e for e in run.history if e["kind"] == "grid"]
    return float(grids[-1]["accuracy"]) if grids else None


def _stock_figures(run: Run) -> dict:
    table = run.results.get("table")
    if table is None:
        return {}
    rmse = {name: float(table.loc[name, "RMSE"]) for name in table.index}
    models = [rmse[m] for m in ("lstm", "gru") if m in rmse]
    return {"lstm_rmse": rmse.get("lstm"), "gru_rmse": rmse.get("gru"), "naive_rmse": rmse.get(NAIVE),
            "best_model_rmse": min(models) if models else None}


def _memory_figures(run: Run) -> dict:
    points = run.results.get("points", [])
    if not points:
        return {}
    longest = max(p["T"] for p in points)
    return {"longest_T": longest, **{f"{p['cell']}_accuracy": float(p["accuracy"]) for p in points
                                     if p["T"] == longest}}


FIGURES = {  # a store's figures a challenge or the hand-in reads, beyond the run's settings
    "perceptron_mlp_runs": lambda run: {"dataset": run.results["data"].name, "accuracy": _last_grid_accuracy(run)},
    "ann_runs": lambda run: {"accuracy": run.results.get("accuracy"),
                             "parameters": sum(v.numel() for v in (run.state_dict or {}).values())},
    "resnet_runs": lambda run: {f"{name}_accuracy": value for name, value in run.results["accuracy"].items()},
    "stocks_runs": _stock_figures,
    "rnn_memory": _memory_figures,
}


def record(store: str, run: Run) -> dict:
    """A run as one flat record: its settings' plain fields, then its page's figures, and
    `ok` (it finished and did not fail)."""
    fields = asdict(run.settings) if is_dataclass(run.settings) else {}
    rec = {"store": store, "run": run.name, "link": getattr(run, "link", ""),
           "ok": run.end is not None and run.end["reason"] not in FAILED,
           "end": run.end["reason"] if run.end else "stopped",
           **{k: _jsonable(v) for k, v in fields.items()}}
    with contextlib.suppress(KeyError, IndexError, TypeError):  # a stopped run may lack its figures
        rec.update({k: _jsonable(v) for k, v in FIGURES.get(store, lambda r: {})(run).items()})
    return rec


def _jsonable(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)


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
