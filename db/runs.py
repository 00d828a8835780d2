"""A workspace's runs: a row written when training starts, replaced once when the run is kept
(never per batch), read back decoded, bounded per store and per workspace.

start_run() writes the settings with status "training" and this process as owner, so a run
killed with its server comes back "interrupted" (db.servers decides who is dead). keep_run()
encodes everything before it takes the write lock, then writes the row, drops the oldest
runs past the store's limit and the workspace's byte quota, and says what it dropped.
"""
import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import Engine, delete, func, or_, select, update
from sqlalchemy.orm import Session, defer

from db import codec, servers, settings
from db.engine import reading, writing
from db.schema import INTERRUPTED, KEPT, TRAINING, RunRow, WorkspaceRow, utcnow
from db.workspaces import Workspace, lock, workspace_id

DEFAULT_LIMIT = 20  # as ui.runs.DEFAULT_LIMIT; the caller passes its store's own limit
log = logging.getLogger(__name__)


class Started(NamedTuple):
    row_id: int   # give it to discard_run() if the run ends with nothing to keep
    run_no: int   # the number the run got: the one asked for, or the next one after the store's highest


@dataclass(frozen=True)
class Dropped:
    store: str
    run_no: int
    reason: str   # "limit" (the store's run limit) or "quota" (the workspace's bytes)


@dataclass(frozen=True)
class Kept:
    row_id: int
    run_no: int                       # may differ from the number asked for (see Started)
    size_bytes: int
    weights_stored: bool
    weights_note: str | None          # why the weights were not kept
    dropped: tuple[Dropped, ...] = ()  # older runs dropped to make room, oldest first


@dataclass(frozen=True)
class StoredRun:
    """A run as read back: ui.runs.Run's fields plus what the database knows about it."""
    row_id: int
    store: str
    run_no: int
    status: str                       # "kept", "interrupted", or "training" (still running somewhere)
    settings: Any
    history: list
    end: dict | None
    results: dict
    link: str
    state_dict: dict | None
    weights_note: str | None
    created: dt.datetime
    updated: dt.datetime
    size_bytes: int
    problems: tuple[str, ...] = field(default=())  # what could not be rebuilt (an older app's classes)

    @property
    def interrupted(self) -> bool:
        return self.status == INTERRUPTED


@dataclass(frozen=True)
class Usage:
    runs: int
    bytes: int
    quota_bytes: int


def _free_run_no(session: Session, ws_id: int, store: str) -> int:
    latest = session.scalar(select(func.max(RunRow.run_no)).where(RunRow.workspace_id == ws_id,
                                                                  RunRow.store == store))
    return (latest or 0) + 1


def next_run_no(engine: Engine, ws: Workspace | int, store: str) -> int:
    """The number after the store's highest in the database (a second tab's runs included)."""
    with reading(engine) as session:
        return _free_run_no(session, workspace_id(ws), store)


def start_run(engine: Engine, ws: Workspace | int, store: str, run_no: int, settings_value,
              link: str = "") -> Started:
    """Write a "training" row with the run's settings and link (what an interrupted run is rerun
    from), owned by this process and thread. Run numbers only grow: if `run_no` is not above the
    store's highest (a second tab's), the run gets the next."""
    link = _plain_link(link)
    arrays: dict = {}
    settings_json = codec.encode(settings_value, arrays, "settings")
    packed = codec.pack_tensors(arrays) if arrays else None
    now = utcnow()
    with writing(engine) as session:
        ws_id = lock(session, ws)
        run_no = max(run_no, _free_run_no(session, ws_id, store))  # numbers only grow: a second tab's are taken
        row = RunRow(workspace_id=ws_id, store=store, run_no=run_no, status=TRAINING, owner=servers.instance_id(),
                     settings=settings_json, history="[]", end_event="null", results="{}", link=link, arrays=packed,
                     size_bytes=len(settings_json) + len(link) + len(packed or b"") + 8, created=now, updated=now)
        session.add(row)
        session.flush()
        row_id = row.id
    servers.track(row_id)
    return Started(row_id, run_no)


def _plain_link(link: str | None) -> str:
    return (link or "").replace("\x00", "%00")  # a URL has no raw NUL; PostgreSQL text cannot hold one


def discard_run(engine: Engine, row_id: int) -> None:
    """Forget a training row whose run ended with nothing to keep (e.g. stopped before an epoch)."""
    servers.untrack(row_id)
    with writing(engine) as session:
        session.execute(delete(RunRow).where(RunRow.id == row_id, RunRow.status == TRAINING))


def keep_run(engine: Engine, ws: Workspace | int, store: str, run_no: int, settings_value, history: list,
             end: dict | None, results: dict, link: str = "", state_dict: dict | None = None, *,
             limit: int = DEFAULT_LIMIT, quota_bytes: int | None = None,
             max_weights_bytes: int | None = None) -> Kept:
    """Keep a finished or stopped run (replacing its training row), once. Weights above
    `max_weights_bytes` are not stored (the run says why); then the oldest runs past the store's
    `limit` and past the workspace's `quota_bytes` are dropped, and listed in the result."""
    quota = settings.quota_bytes() if quota_bytes is None else quota_bytes
    max_weights = settings.max_weights_bytes() if max_weights_bytes is None else max_weights_bytes
    arrays: dict = {}
    texts = {"settings": codec.encode(settings_value, arrays, "settings"),
             "history": codec.encode(history, arrays, "history"),
             "end_event": codec.encode(end, arrays, "end"),
             "results": codec.encode(results, arrays, "results")}
    packed = codec.pack_tensors(arrays) if arrays else None
    weights, note = None, None
    if state_dict is not None:
        weight_bytes = codec.tensor_bytes(state_dict)
        if weight_bytes > max_weights:
            note = (f"weights not kept: {weight_bytes / settings.MB:.1f} MB is above the "
                    f"{max_weights / settings.MB:.0f} MB limit")
        else:
            weights = codec.pack_tensors(state_dict)
    link = _plain_link(link)
    size = sum(len(t) for t in texts.values()) + len(link) + len(packed or b"") + len(weights or b"")
    now = utcnow()
    with writing(engine) as session:
        ws_id = lock(session, ws)
        row = session.scalar(select(RunRow).options(defer(RunRow.weights), defer(RunRow.arrays)).where(
            RunRow.workspace_id == ws_id, RunRow.store == store, RunRow.run_no == run_no))
        if row is None or row.status == KEPT:  # never started, or another tab kept a run with this number
            row, run_no = None, max(run_no, _free_run_no(session, ws_id, store))
        if row is None:
            row = RunRow(workspace_id=ws_id, store=store, run_no=run_no, created=now)
            session.add(row)
        row.status, row.owner, row.link, row.updated = KEPT, servers.instance_id(), link, now
        row.settings, row.history, row.end_event, row.results = (texts[k] for k in ("settings", "history",
                                                                                     "end_event", "results"))
        row.arrays, row.weights, row.weights_note, row.size_bytes = packed, weights, note, size
        session.flush()
        dropped = _bound(session, ws_id, store, row, limit, quota)
        if row.weights is None and weights is not None:
            note = row.weights_note
        session.execute(update(WorkspaceRow).where(WorkspaceRow.id == ws_id).values(last_seen=now))
        kept = Kept(row.id, run_no, row.size_bytes, row.weights is not None, note, tuple(dropped))
    servers.untrack(kept.row_id)
    return kept


def _bound(session: Session, ws_id: int, store: str, row: RunRow, limit: int, quota: int) -> list[Dropped]:
    """Drop the oldest runs past the store's limit, then past the workspace's quota (never `row`,
    never a run still training); if `row` alone is over the quota, its weights go."""
    dropped: list[Dropped] = []
    others = session.execute(select(RunRow.id, RunRow.run_no).where(
        RunRow.workspace_id == ws_id, RunRow.store == store, RunRow.status != TRAINING,
        RunRow.id != row.id).order_by(RunRow.run_no)).all()
    excess = len(others) + 1 - max(1, limit)
    doomed = {r.id for r in others[:max(0, excess)]}
    dropped += [Dropped(store, r.run_no, "limit") for r in others[:max(0, excess)]]
    rows = session.execute(select(RunRow.id, RunRow.store, RunRow.run_no, RunRow.size_bytes, RunRow.status).where(
        RunRow.workspace_id == ws_id).order_by(RunRow.updated, RunRow.id)).all()
    total = sum(r.size_bytes for r in rows if r.id not in doomed)
    for r in rows:
        if total <= quota:
            break
        if r.id in doomed or r.id == row.id or r.status == TRAINING:
            continue
        doomed.add(r.id)
        dropped.append(Dropped(r.store, r.run_no, "quota"))
        total -= r.size_bytes
    if doomed:
        session.execute(delete(RunRow).where(RunRow.id.in_(doomed)))
    if total > quota and row.weights is not None:
        total -= len(row.weights)
        row.size_bytes -= len(row.weights)
        row.weights = None
        row.weights_note = f"weights not kept: the workspace is over its {quota / settings.MB:.0f} MB quota"
        session.flush()
    return dropped


def load_runs(engine: Engine, ws: Workspace | int, store: str, *, weights: bool = True) -> list[StoredRun]:
    """The store's runs, oldest first, decoded. Training rows whose process or thread is gone
    are marked "interrupted" first. `weights=False` leaves state_dict None (see load_weights)."""
    ws_id = workspace_id(ws)
    query = select(RunRow).where(RunRow.workspace_id == ws_id, RunRow.store == store).order_by(RunRow.run_no)
    return _load(engine, query if weights else query.options(defer(RunRow.weights)), weights)


def load_all(engine: Engine, ws: Workspace | int, *, weights: bool = False) -> dict[str, list[StoredRun]]:
    """Every store's runs in the workspace (hand-in report, export, the teacher's view)."""
    query = select(RunRow).where(RunRow.workspace_id == workspace_id(ws)).order_by(RunRow.store, RunRow.run_no)
    found: dict[str, list[StoredRun]] = {}
    for run in _load(engine, query if weights else query.options(defer(RunRow.weights)), weights):
        found.setdefault(run.store, []).append(run)
    return found


def load_weights(engine: Engine, ws: Workspace | int, store: str, run_no: int) -> dict | None:
    """One run's state_dict (None when it has none)."""
    with reading(engine) as session:
        data = session.scalar(select(RunRow.weights).where(RunRow.workspace_id == workspace_id(ws),
                                                          RunRow.store == store, RunRow.run_no == run_no))
    return codec.unpack_tensors(data) if data else None


def _load(engine: Engine, query, weights: bool) -> list[StoredRun]:
    with reading(engine) as session:
        rows = session.scalars(query).all()
        stale = _stale(session, [r for r in rows if r.status == TRAINING])
    if stale:
        with writing(engine) as session:
            session.execute(update(RunRow).where(RunRow.id.in_(stale), RunRow.status == TRAINING)
                            .values(status=INTERRUPTED))
    return [_decoded(row, INTERRUPTED if row.id in stale else row.status, weights) for row in rows]


def _stale(session: Session, training: list[RunRow]) -> set[int]:
    """The ids of training rows nobody is training any more."""
    me = servers.instance_id()
    stale = {r.id for r in training if r.owner == me and not servers.training_here(r.id)}
    dead = servers.dead_owners(session, {r.owner for r in training if r.owner != me and r.owner})
    return stale | {r.id for r in training if r.owner in dead or not r.owner}


def mark_interrupted(engine: Engine) -> int:
    """Mark every training row of a dead process interrupted, in all workspaces; returns how many."""
    with reading(engine) as session:
        training = session.scalars(select(RunRow).options(defer(RunRow.weights), defer(RunRow.arrays),
                                                          defer(RunRow.history), defer(RunRow.results))
                                   .where(RunRow.status == TRAINING)).all()
        stale = _stale(session, list(training))
    if stale:
        with writing(engine) as session:
            session.execute(update(RunRow).where(RunRow.id.in_(stale), RunRow.status == TRAINING)
                            .values(status=INTERRUPTED))
    return len(stale)


def _decoded(row: RunRow, status: str, weights: bool) -> StoredRun:
    problems: list[str] = []
    arrays: dict = {}
    if row.arrays:
        try:
            arrays = codec.unpack_tensors(row.arrays)
        except Exception as error:  # a damaged blob: the JSON still reads, its large arrays are None
            problems.append(f"arrays: {error}")
    values = {}
    for name, text, empty in (("settings", row.settings, None), ("history", row.history, []),
                              ("end", row.end_event, None), ("results", row.results, {})):
        try:
            values[name] = codec.decode(text, arrays, problems)
        except Exception as error:
            problems.append(f"{name}: {error}")
            values[name] = empty
    state_dict = None
    if weights and row.weights:
        try:
            state_dict = codec.unpack_tensors(row.weights)
        except Exception as error:
            problems.append(f"weights: {error}")
    if problems:
        log.warning("run %s/%s #%s: %s", row.workspace_id, row.store, row.run_no, "; ".join(problems))
    return StoredRun(row.id, row.store, row.run_no, status, values["settings"], values["history"] or [],
                     values["end"], values["results"] if values["results"] is not None else {}, row.link,
                     state_dict, row.weights_note, row.created, row.updated, row.size_bytes, tuple(problems))


def remove_runs(engine: Engine, ws: Workspace | int, store: str, run_nos) -> int:
    """Delete the store's runs with these numbers; returns how many."""
    numbers = [int(n) for n in run_nos]
    if not numbers:
        return 0
    with writing(engine) as session:
        return session.execute(delete(RunRow).where(RunRow.workspace_id == workspace_id(ws), RunRow.store == store,
                                                    RunRow.run_no.in_(numbers))).rowcount


def clear(engine: Engine, ws: Workspace | int, store: str) -> int:
    """Delete the store's runs, except one still training in a live thread; returns how many."""
    ws_id = workspace_id(ws)
    with writing(engine) as session:
        training = session.scalars(select(RunRow.id).where(RunRow.workspace_id == ws_id, RunRow.store == store,
                                                           RunRow.status == TRAINING)).all()
        busy = [i for i in training if servers.training_here(i)] or [-1]
        return session.execute(delete(RunRow).where(
            RunRow.workspace_id == ws_id, RunRow.store == store,
            or_(RunRow.status != TRAINING, RunRow.id.not_in(busy)))).rowcount


def usage(engine: Engine, ws: Workspace | int, quota_bytes: int | None = None) -> Usage:
    """How many runs and bytes the workspace keeps, and its quota."""
    with reading(engine) as session:
        runs, used = session.execute(select(func.count(RunRow.id), func.coalesce(func.sum(RunRow.size_bytes), 0))
                                     .where(RunRow.workspace_id == workspace_id(ws))).one()
    return Usage(int(runs), int(used), settings.quota_bytes() if quota_bytes is None else quota_bytes)
