"""Lesson progress and challenge verdicts per workspace: what the teacher's view reads.

One row per (workspace, kind, item): kind "lesson" (item = the lesson's id, status e.g.
"opened" or "dismissed"), "challenge" (item = the challenge's id, status "met" or "open",
detail = the verdict: the run that met it, or the closest try) or "prediction" (item = the
lesson's id, detail = the learner's answer, asked before the lesson's first run). Written when
it changes.
"""
import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select

from db import codec
from db.engine import reading, writing
from db.schema import ProgressRow, utcnow
from db.workspaces import Workspace, lock, workspace_id

KINDS = ("lesson", "challenge", "prediction")


@dataclass(frozen=True)
class Progress:
    kind: str
    item: str
    status: str
    detail: Any
    updated: dt.datetime


def save_progress(engine: Engine, ws: Workspace | int, kind: str, item: str, status: str, detail=None) -> None:
    """Record the status (and detail: any value db.codec encodes) of one lesson or challenge."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    arrays: dict = {}
    text = codec.encode(detail, arrays, "detail")
    if arrays:
        raise TypeError("cannot store detail: its arrays are too large for lesson progress (keep figures only)")
    with writing(engine) as session:
        ws_id = lock(session, ws)
        row = session.scalar(select(ProgressRow).where(ProgressRow.workspace_id == ws_id, ProgressRow.kind == kind,
                                                       ProgressRow.item == item))
        if row is None:
            row = ProgressRow(workspace_id=ws_id, kind=kind, item=item)
            session.add(row)
        row.status, row.detail, row.updated = status, text, utcnow()


def load_progress(engine: Engine, ws: Workspace | int, kind: str | None = None) -> list[Progress]:
    """The workspace's progress rows (of one kind, or all), in kind and item order."""
    query = select(ProgressRow).where(ProgressRow.workspace_id == workspace_id(ws))
    if kind is not None:
        query = query.where(ProgressRow.kind == kind)
    with reading(engine) as session:
        rows = session.scalars(query.order_by(ProgressRow.kind, ProgressRow.item)).all()
    return [Progress(r.kind, r.item, r.status, codec.decode(r.detail), r.updated) for r in rows]
