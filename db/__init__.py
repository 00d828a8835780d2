"""Every learner's work in a real database (issue 27): workspaces, their kept runs with weights,
lesson progress. SQLite by default, PostgreSQL when configured; SQLAlchemy 2 and Alembic.

    import db
    database = db.connect()                     # once per process: migrate, heartbeat
    key, ws, created = database.open_workspace(cookie_key)
    started = database.start_run(ws, "ann_runs", run_no, settings)
    kept = database.keep_run(ws, "ann_runs", started.run_no, settings, history, end, results, link,
                             state_dict, limit=20)
    runs = database.load_runs(ws, "ann_runs")
    info = database.create_class("3-A")          # a teacher's class (issue 28); learners join with info.code
    member = database.join_class(ws, info.code, "김철수")

No Streamlit and no ui/ here (as in core/): the app wires this into its pages.
"""
import datetime as dt

from sqlalchemy import Engine

from db import classes, export, grades, progress, runs, servers, settings, workspaces
from db import engine as _engine
from db.classes import Assignment, ClassInfo, JoinError, Member, UnknownClass
from db.keys import new_key, valid_key
from db.migrate import migrate as _migrate
from db.progress import Progress
from db.runs import DEFAULT_LIMIT, Dropped, Kept, Started, StoredRun, Usage
from db.schema import INTERRUPTED, KEPT, TRAINING
from db.workspaces import UnknownWorkspace, Workspace

__all__ = ["DEFAULT_LIMIT", "INTERRUPTED", "KEPT", "TRAINING", "Assignment", "ClassInfo", "Database", "Dropped",
           "JoinError", "Kept", "Member", "Progress", "Started", "StoredRun", "UnknownClass", "UnknownWorkspace",
           "Usage", "Workspace", "connect", "export_csv", "export_json", "new_key", "valid_key"]

export_csv, export_json = grades.export_csv, grades.export_json  # plain functions: no database needed


class Database:
    """One database: the functions of db.workspaces, db.runs, db.progress, db.export and db.classes
    on its engine."""

    def __init__(self, url: str):
        self.url = url
        self.engine: Engine = _engine.get_engine(url)

    @property
    def is_sqlite(self) -> bool:
        return _engine.is_sqlite(self.engine)

    # --- workspaces
    def open_workspace(self, key) -> tuple[str, Workspace, bool]:
        """(key, workspace, created): `key`'s workspace, or a fresh one (and key) if it is unknown."""
        return workspaces.open_workspace(self.engine, key)

    def find_workspace(self, key) -> Workspace | None:
        return workspaces.find_workspace(self.engine, key)

    def create_workspace(self) -> tuple[str, Workspace]:
        return workspaces.create_workspace(self.engine)

    def touch(self, ws: Workspace | int) -> Workspace:
        return workspaces.touch(self.engine, ws)

    def delete_workspace(self, key_or_ws) -> bool:
        return workspaces.delete_workspace(self.engine, key_or_ws)

    def export_workspace(self, key_or_ws) -> bytes | None:
        return export.export_workspace(self.engine, key_or_ws)

    def purge_idle(self, days: float | None = None) -> int:
        return workspaces.purge_idle(self.engine, days)

    # --- runs
    def next_run_no(self, ws: Workspace | int, store: str) -> int:
        return runs.next_run_no(self.engine, ws, store)

    def start_run(self, ws: Workspace | int, store: str, run_no: int, settings_value, link: str = "") -> Started:
        return runs.start_run(self.engine, ws, store, run_no, settings_value, link)

    def discard_run(self, row_id: int) -> None:
        runs.discard_run(self.engine, row_id)

    def keep_run(self, ws: Workspace | int, store: str, run_no: int, settings_value, history: list,
                 end: dict | None, results: dict, link: str = "", state_dict: dict | None = None, *,
                 limit: int = DEFAULT_LIMIT, quota_bytes: int | None = None,
                 max_weights_bytes: int | None = None) -> Kept:
        return runs.keep_run(self.engine, ws, store, run_no, settings_value, history, end, results, link,
                             state_dict, limit=limit, quota_bytes=quota_bytes, max_weights_bytes=max_weights_bytes)

    def load_runs(self, ws: Workspace | int, store: str, *, weights: bool = True) -> list[StoredRun]:
        return runs.load_runs(self.engine, ws, store, weights=weights)

    def load_all(self, ws: Workspace | int, *, weights: bool = False) -> dict[str, list[StoredRun]]:
        return runs.load_all(self.engine, ws, weights=weights)

    def load_weights(self, ws: Workspace | int, store: str, run_no: int) -> dict | None:
        return runs.load_weights(self.engine, ws, store, run_no)

    def remove_runs(self, ws: Workspace | int, store: str, run_nos) -> int:
        return runs.remove_runs(self.engine, ws, store, run_nos)

    def clear(self, ws: Workspace | int, store: str) -> int:
        return runs.clear(self.engine, ws, store)

    def usage(self, ws: Workspace | int) -> Usage:
        return runs.usage(self.engine, ws)

    def mark_interrupted(self) -> int:
        return runs.mark_interrupted(self.engine)

    # --- lesson progress
    def save_progress(self, ws: Workspace | int, kind: str, item: str, status: str, detail=None) -> None:
        progress.save_progress(self.engine, ws, kind, item, status, detail)

    def load_progress(self, ws: Workspace | int, kind: str | None = None) -> list[Progress]:
        return progress.load_progress(self.engine, ws, kind)

    # --- classes (issue 28): the teacher's side
    def create_class(self, name: str, closes: dt.datetime | None = None) -> ClassInfo:
        return classes.create_class(self.engine, name, closes)

    def classes(self) -> list[ClassInfo]:
        return classes.classes(self.engine)

    def get_class(self, class_id) -> ClassInfo | None:
        return classes.get_class(self.engine, class_id)

    def find_class(self, code) -> ClassInfo | None:
        return classes.find_class(self.engine, code)

    def close_class(self, class_id, closes: dt.datetime | None) -> ClassInfo | None:
        return classes.close_class(self.engine, class_id, closes)

    def delete_class(self, class_id) -> bool:
        return classes.delete_class(self.engine, class_id)

    def roster(self, class_id) -> list[Member]:
        return classes.roster(self.engine, class_id)

    def remove_member(self, class_id, workspace: Workspace | int, delete_data: bool = True) -> bool:
        return classes.remove_member(self.engine, class_id, workspace, delete_data)

    def set_assignments(self, class_id, items) -> list[Assignment]:
        return classes.set_assignments(self.engine, class_id, items)

    def assignments(self, class_id) -> list[Assignment]:
        return classes.assignments(self.engine, class_id)

    def class_progress(self, class_id, kind: str | None = None) -> dict[int, list[Progress]]:
        return classes.class_progress(self.engine, class_id, kind)

    def class_runs(self, class_id, stores=None, *, history: bool = True) -> dict[int, dict[str, list[StoredRun]]]:
        return classes.class_runs(self.engine, class_id, stores, history=history)

    def member_run(self, class_id, workspace: Workspace | int, store: str, run_no) -> StoredRun | None:
        return classes.member_run(self.engine, class_id, workspace, store, run_no)

    # --- classes: the learner's side
    def join_class(self, ws: Workspace | int, code, display_name) -> Member:
        return classes.join_class(self.engine, ws, code, display_name)

    def memberships(self, ws: Workspace | int) -> list[Member]:
        return classes.memberships(self.engine, ws)

    def is_member_anywhere(self, ws: Workspace | int) -> bool:
        return classes.is_member_anywhere(self.engine, ws)

    def assignments_for(self, ws: Workspace | int) -> list[tuple[ClassInfo, Assignment]]:
        return classes.assignments_for(self.engine, ws)

    # --- the teacher's sign-in lock, shared by every replica
    def note_sign_in_failure(self, source: str = "") -> None:
        classes.note_sign_in_failure(self.engine, source)

    def sign_in_failures_since(self, seconds: float) -> int:
        return classes.sign_in_failures_since(self.engine, seconds)

    def clear_sign_in_failures(self) -> int:
        return classes.clear_sign_in_failures(self.engine)

    def sign_in_locked(self, limit: int = 5, window_s: float = 60.0) -> float:
        return classes.sign_in_locked(self.engine, limit, window_s)

    # --- the process
    def start_heartbeat(self) -> None:
        servers.start_heartbeat(self.engine)

    def close(self) -> None:
        """Stop this process's heartbeat for this database and close its connections."""
        servers.stop_heartbeat(self.engine)
        _engine.dispose(self.url)


def connect(url: str | None = None, *, heartbeat: bool = True) -> Database:
    """The database at `url` (default: db.settings.database_url()), migrated to head (once per
    process), with this process's heartbeat running unless heartbeat=False."""
    database = Database(url or settings.database_url())
    _migrate(database.url)
    if heartbeat:
        database.start_heartbeat()
    return database
