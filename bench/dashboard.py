"""dashboard: seconds to read what a teacher's dashboard draws from (issue 28) and to write the
grade export, p50 and p95 over REPETITIONS, on SQLite and on a throwaway PostgreSQL.

    python -m bench dashboard [--quick] [--learners N]

A seeded class of LEARNERS learners (display names in Hangul and Latin) × every lesson of
content/lessons.toml as an assignment (16), with realistic progress: most lessons opened, most
predictions answered and compared, most lessons run (one small kept run per learner and lesson, in
the lesson's store: bench.store.page_runs, real runs made with core's own code, so the JSON has
the pages' shapes), challenges met or tried; the progress rows as core/lessons.py describes them.
Measured:

  dashboard_read_seconds   class_progress + class_runs(the lessons' stores, history=False: what the
                           histograms and tallies need) + roster + assignments
  dashboard_read_with_history_seconds   the same with class_runs' histories decoded too
  export_csv_seconds       db.export_csv of one row per learner, status/figure/time/late per assignment
  export_json_seconds      db.export_json of the same rows

The rows are made here by a stand-in for the page's status logic (not timed: the lead's). The
page's own drawing time is not in these figures.
"""
import contextlib
import datetime as dt
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
WORKLOAD = "dashboard"
LEARNERS = 40
REPETITIONS = 10
PAGE_STORE = {"perceptron": "perceptron_mlp_runs", "ann": "ann_runs", "cnn": "cnn_runs", "resnet": "resnet_runs",
              "rnn": "rnn_runs", "stocks": "stocks_runs"}  # a lesson without a challenge: its page's main store
FAMILY = ["김", "이", "박", "최", "정", "강", "조", "윤", "장", "임"]
GIVEN = ["민준", "서연", "도윤", "지우", "하준", "서윤", "Alex", "Sam", "Noor", "Mia"]


def lesson_store(lesson, known) -> str | None:
    """The RunStore a lesson's runs are kept in (None: a computed lesson, nothing is trained)."""
    runs = getattr(lesson, "runs", None)  # the catalog names it (issue 28); else the page's main store
    if runs is None and lesson.challenge:
        from core import lessons

        runs = lessons.challenges()[lesson.challenge].runs
    runs = runs or PAGE_STORE[lesson.page]
    return runs if runs in known else None


@contextlib.contextmanager
def _backends():
    """(name, URL or None, why not) for SQLite and PostgreSQL (deploy/postgres.py's throwaway)."""
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as folder:
        found = [("sqlite", f"sqlite:///{Path(folder) / 'playground.db'}", None)]
        try:
            from deploy.postgres import throwaway_postgres, unavailable
        except ImportError as error:
            yield [*found, ("postgresql", None, f"deploy/postgres.py is not importable: {error}")]
            return
        reason = unavailable()
        if reason:
            yield [*found, ("postgresql", None, reason)]
            return
        with throwaway_postgres() as server:
            yield [*found, ("postgresql", server.create_database("bench_dashboard"), None)]


def seed(database, learners: int, runs: dict, rng: np.random.Generator):
    """A class with every lesson assigned, `learners` members, and their progress rows (as
    core.lessons describes them) and runs; returns (class, its lesson ids, counts)."""
    from core import lessons

    catalog = list(lessons.lessons().values())
    now = dt.datetime.now(dt.UTC)
    info = database.create_class("Bench 3-A 월요일")
    database.set_assignments(info.id, [(lesson.id, now + dt.timedelta(days=7 * (i // 4)) if i % 3 else None)
                                       for i, lesson in enumerate(catalog)])
    counts = {"runs": 0, "progress_rows": 0}
    for n in range(learners):
        _, ws = database.create_workspace()
        name = f"{FAMILY[n % len(FAMILY)]}{GIVEN[(n // len(FAMILY)) % len(GIVEN)]} {n}"
        database.join_class(ws, info.code, name)
        numbers: dict[str, int] = {}
        for lesson in catalog:
            if rng.random() < 0.1:  # not opened yet
                continue
            figure = round(float(rng.uniform(50, 99)), 2)
            answer = str(rng.choice(["a", "b"])) if rng.random() < 0.5 else round(float(rng.uniform(0, 100)), 1)
            predicted, ran = rng.random() < 0.85, rng.random() < 0.8
            if predicted:
                detail = {"answer": answer, "outcome": figure, "right": bool(rng.random() < 0.5)} if ran else \
                    {"answer": answer}
                database.save_progress(ws, "prediction", lesson.id, "compared" if ran else "answered", detail)
                counts["progress_rows"] += 1
            store = lesson_store(lesson, runs)
            run_detail = {}
            if ran and store is not None:
                numbers[store] = numbers.get(store, 0) + 1
                run = runs[store]
                database.keep_run(ws, store, numbers[store], run["settings"], run["history"], run["end"],
                                  run["results"], run["link"], run["state_dict"], limit=100)
                counts["runs"] += 1
                run_detail = {"run": numbers[store], "link": run["link"], "figure": figure}
            database.save_progress(ws, "lesson", lesson.id, "ran" if ran else "opened", run_detail)
            counts["progress_rows"] += 1
            if lesson.challenge and ran:
                database.save_progress(ws, "challenge", lesson.challenge, "met" if figure > 90 else "tried",
                                       run_detail)
                counts["progress_rows"] += 1
    return info, [lesson.id for lesson in catalog], counts


def grade_rows(roster, lesson_ids, progress, found) -> tuple[list[dict], list[str]]:
    """A stand-in for the page's rows: per learner and assignment its status, figure, time, late."""
    columns = ["name"] + [f"{lesson} {part}" for lesson in lesson_ids for part in ("status", "figure", "time",
                                                                                   "late")]
    rows = []
    for member in roster:
        seen = {(p.kind, p.item): p for p in progress.get(member.workspace_id, [])}
        row = {"name": member.display_name}
        for lesson in lesson_ids:
            opened, predicted = seen.get(("lesson", lesson)), seen.get(("prediction", lesson))
            status = opened.status if opened else "not opened"
            if status == "opened" and predicted:
                status = "predicted"
            row[f"{lesson} status"] = status
            row[f"{lesson} figure"] = (opened.detail or {}).get("figure") if opened else None
            row[f"{lesson} time"] = opened.updated if opened else None
            row[f"{lesson} late"] = False
        rows.append(row)
    return rows, columns


def _draw_times(url: str, class_id: int, repetitions: int) -> list[float]:
    """The Teacher page drawn for this class, signed in, through app.py under Streamlit's AppTest:
    every read, the table's cells, the lesson view and the grades (what a teacher waits for)."""
    from streamlit.testing.v1 import AppTest

    before = os.environ.get("PLAYGROUND_DATABASE_URL")
    os.environ["PLAYGROUND_DATABASE_URL"] = url
    try:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
        at.session_state["_teacher_signed_in"] = True
        at.session_state["teacher_class"] = class_id
        at.switch_page("views/teacher/teacher.py")
        at.run()  # the first run imports and connects: not counted
        if at.exception:
            raise RuntimeError(at.exception[0].message)
        if len(at.dataframe) < 2:  # the roster and the progress table: the dashboard itself was drawn
            raise RuntimeError("the Teacher page did not draw the class's dashboard")
        times = []
        for _ in range(repetitions):
            start = time.perf_counter()
            at.run()
            times.append(time.perf_counter() - start)
        return times
    finally:
        if before is None:
            os.environ.pop("PLAYGROUND_DATABASE_URL", None)
        else:
            os.environ["PLAYGROUND_DATABASE_URL"] = before


def _line(common: dict, metric: str, times: list[float], **extra) -> dict:
    return {**common, "metric": metric, "value": round(float(np.percentile(times, 50)), 4),
            "p50": round(float(np.percentile(times, 50)), 4), "p95": round(float(np.percentile(times, 95)), 4),
            "repetitions": len(times), **extra}


def run(quick: bool = False, device=None, learners: int | None = None):
    """Yield per backend: the dashboard's read seconds and the CSV and JSON export seconds."""
    import db
    from bench.store import page_runs
    from core import lessons

    torch.set_num_threads(1)
    learners = learners or (8 if quick else LEARNERS)
    repetitions = 3 if quick else REPETITIONS
    runs = page_runs()
    with _backends() as backends:
        for backend, url, why_not in backends:
            common = {"workload": WORKLOAD, "impl": backend, "device": "cpu"}
            if url is None:
                yield {**common, "metric": "skipped", "value": 0.0, "reason": why_not}
                continue
            database = db.connect(url, heartbeat=False)
            try:
                start = time.perf_counter()
                info, lesson_ids, counts = seed(database, learners, runs, np.random.default_rng(0))
                seeded = time.perf_counter() - start
                stores = sorted({lesson_store(lesson, runs) for lesson in lessons.lessons().values()} - {None})
                reads: dict[str, list[float]] = {"class_progress": [], "class_runs": [], "class_runs_with_history": [],
                                                 "roster": [], "assignments": []}
                light, whole, csv_times, json_times = [], [], [], []
                for _ in range(repetitions):
                    start = time.perf_counter()
                    progress = database.class_progress(info.id)
                    reads["class_progress"].append(time.perf_counter() - start)
                    start = time.perf_counter()
                    roster = database.roster(info.id)
                    reads["roster"].append(time.perf_counter() - start)
                    start = time.perf_counter()
                    database.assignments(info.id)
                    reads["assignments"].append(time.perf_counter() - start)
                    start = time.perf_counter()
                    found = database.class_runs(info.id, stores, history=False)
                    reads["class_runs"].append(time.perf_counter() - start)
                    start = time.perf_counter()
                    database.class_runs(info.id, stores)
                    reads["class_runs_with_history"].append(time.perf_counter() - start)
                    rest = reads["class_progress"][-1] + reads["roster"][-1] + reads["assignments"][-1]
                    light.append(rest + reads["class_runs"][-1])
                    whole.append(rest + reads["class_runs_with_history"][-1])
                    rows, columns = grade_rows(roster, lesson_ids, progress, found)
                    start = time.perf_counter()
                    data = db.export_csv(rows, columns)
                    csv_times.append(time.perf_counter() - start)
                    start = time.perf_counter()
                    db.export_json(rows)
                    json_times.append(time.perf_counter() - start)
                size = {"learners": learners, "assignments": len(lesson_ids), **counts}
                parts = {f"{k}_p50": round(float(np.percentile(v, 50)), 4) for k, v in reads.items()}
                yield _line(common, "dashboard_read_seconds", light, **size, seed_seconds=round(seeded, 1), **parts)
                yield _line(common, "dashboard_read_with_history_seconds", whole, **size)
                yield _line(common, "export_csv_seconds", csv_times, cells=len(rows) * len(lesson_ids),
                            bytes=len(data))
                yield _line(common, "export_json_seconds", json_times, cells=len(rows) * len(lesson_ids))
                yield _line(common, "dashboard_draw_seconds", _draw_times(url, info.id, repetitions), **size)
            finally:
                database.close()
