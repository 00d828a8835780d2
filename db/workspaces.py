"""A workspace per learner: made on the first visit, found again by its key, touched on use,
deleted on request, and purged after `retention_days` unused.

Only the key's hash is looked up, and only after valid_key() said it has a key's form.
"""
import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, delete, select, update

from db import keys, settings
from db.engine import reading, writing
from db.schema import ProgressRow, RunRow, ServerRow, WorkspaceRow, utcnow


class UnknownWorkspace(LookupError):
    """The workspace is gone (deleted or purged since the page opened it)."""


@dataclass(frozen=True)
class Workspace:
    id: int
    created: dt.datetime
    last_seen: dt.datetime


def _public(row: WorkspaceRow) -> Workspace:
    return Workspace(row.id, row.created, row.last_seen)


def workspace_id(ws: "Workspace | int") -> int:
    return ws.id if isinstance(ws, Workspace) else int(ws)


def lock(session, ws: "Workspace | int") -> int:
    """Serialize the writers of one workspace inside `session`'s transaction (PostgreSQL: a row
    lock; SQLite: the transaction's BEGIN IMMEDIATE already did); its id, or UnknownWorkspace."""
    ws_id = workspace_id(ws)
    if session.scalar(select(WorkspaceRow.id).where(WorkspaceRow.id == ws_id).with_for_update()) is None:
        raise UnknownWorkspace(ws_id)
    return ws_id


def create_workspace(engine: Engine) -> tuple[str, Workspace]:
    """A fresh workspace and its key (the only time the key exists on the server's side)."""
    key, now = keys.new_key(), utcnow()
    with writing(engine) as session:
        row = WorkspaceRow(key_hash=keys.key_hash(key), created=now, last_seen=now)
        session.add(row)
        session.flush()
        return key, _public(row)


def find_workspace(engine: Engine, key) -> Workspace | None:
    """The workspace of `key`, or None when the key is malformed or unknown (nothing is made)."""
    if not keys.valid_key(key):
        return None
    with reading(engine) as session:
        row = session.scalar(select(WorkspaceRow).where(WorkspaceRow.key_hash == keys.key_hash(key)))
        return None if row is None else _public(row)


def open_workspace(engine: Engine, key) -> tuple[str, Workspace, bool]:
    """(key, workspace, created): the workspace of `key`, touched; a fresh one with a new key when
    `key` is None, malformed, forged or purged (created=True: tell the learner if they brought a key)."""
    found = find_workspace(engine, key)
    if found is not None:
        return key, touch(engine, found), False
    new_key, workspace = create_workspace(engine)
    return new_key, workspace, True


def touch(engine: Engine, ws: "Workspace | int") -> Workspace:
    """Mark the workspace used now (the retention clock starts again)."""
    now = utcnow()
    with writing(engine) as session:
        session.execute(update(WorkspaceRow).where(WorkspaceRow.id == workspace_id(ws)).values(last_seen=now))
        row = session.get(WorkspaceRow, workspace_id(ws))
        if row is None:
            raise UnknownWorkspace(workspace_id(ws))
        return _public(row)


def delete_workspace(engine: Engine, key_or_ws) -> bool:
    """Delete a workspace and all its data (runs, weights, lesson progress); False if there was none."""
    ws = key_or_ws if isinstance(key_or_ws, (Workspace, int)) else find_workspace(engine, key_or_ws)
    if ws is None:
        return False
    with writing(engine) as session:
        return _delete(session, [workspace_id(ws)]) > 0


def _delete(session, ids: list[int]) -> int:
    """Delete workspaces by id with their rows (explicitly, besides ON DELETE CASCADE)."""
    if not ids:
        return 0
    session.execute(delete(RunRow).where(RunRow.workspace_id.in_(ids)))
    session.execute(delete(ProgressRow).where(ProgressRow.workspace_id.in_(ids)))
    return session.execute(delete(WorkspaceRow).where(WorkspaceRow.id.in_(ids))).rowcount


def purge_idle(engine: Engine, days: float | None = None, batch: int = 500) -> int:
    """Delete the workspaces unused for more than `days` (default: settings.retention_days());
    returns how many. Also forgets servers silent for as long. Run at start and by a command."""
    days = settings.retention_days() if days is None else days
    cutoff = utcnow() - dt.timedelta(days=days)
    purged = 0
    while True:  # in batches: one short write lock at a time, however many there are
        with writing(engine) as session:
            ids = list(session.scalars(select(WorkspaceRow.id).where(WorkspaceRow.last_seen < cutoff).limit(batch)))
            purged += _delete(session, ids)
        if len(ids) < batch:
            break
    with writing(engine) as session:
        session.execute(delete(ServerRow).where(ServerRow.heartbeat < cutoff))
    return purged
