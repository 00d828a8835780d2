"""The tables, as SQLAlchemy 2 typed mappings; db/migrations creates the same schema (a test
compares them). Values a page keeps are JSON text made by db.codec, weights are torch.save bytes.

workspaces       one per learner; only the SHA-256 of its key is stored, never the key
runs             every kept run of every page (store = the RunStore key), and the training ones
lesson_progress  lessons opened and challenge verdicts, for the teacher's view
servers          a heartbeat per app process, so a run of a dead process reads as interrupted
classes          a teacher's classes (issue 28): a name, the join code, an optional closing time
members          who joined which class: a workspace and its display name (unique per class, in any case)
assignments      the lessons of a class, in order, each with an optional due time
sign_in_failures wrong teacher passwords, so every replica sees the same sign-in lock
"""
import datetime as dt

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

TRAINING, KEPT, INTERRUPTED = "training", "kept", "interrupted"
STATUSES = (TRAINING, KEPT, INTERRUPTED)

NAMING = {  # named constraints: Alembic's batch mode (SQLite) can then drop or alter them
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator):
    """An aware UTC datetime on every backend (SQLite keeps no time zone: it is UTC by rule)."""
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class WorkspaceRow(Base):
    __tablename__ = "workspaces"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)  # hex SHA-256 of the key
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)  # purge_idle


class RunRow(Base):
    __tablename__ = "runs"
    __table_args__ = (
        UniqueConstraint("workspace_id", "store", "run_no"),  # also the index of load_runs
        Index("ix_runs_status_owner", "status", "owner"),  # the training rows, for interrupted detection
        CheckConstraint(f"status IN {STATUSES}", name="status"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    store: Mapped[str] = mapped_column(String(64))         # the page's RunStore key, e.g. "ann_runs"
    run_no: Mapped[int] = mapped_column(Integer)           # the run's number within its store (Run.id)
    status: Mapped[str] = mapped_column(String(16))        # training | kept | interrupted
    owner: Mapped[str | None] = mapped_column(String(64))  # servers.instance that trained it
    settings: Mapped[str] = mapped_column(Text)            # db.codec JSON of the settings dataclass
    history: Mapped[str] = mapped_column(Text)             # … of the events the live chart saw
    end_event: Mapped[str] = mapped_column(Text)           # … of the end event ("null": stopped)
    results: Mapped[str] = mapped_column(Text)             # … of the page's results
    link: Mapped[str] = mapped_column(Text)                # the page with this run's settings
    arrays: Mapped[bytes | None] = mapped_column(LargeBinary)   # torch.save of the large arrays the JSON names
    weights: Mapped[bytes | None] = mapped_column(LargeBinary)  # torch.save of the state_dict
    weights_note: Mapped[str | None] = mapped_column(Text)      # why there are no weights (too big, quota)
    size_bytes: Mapped[int] = mapped_column(Integer)       # what the row counts against the quota
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProgressRow(Base):
    __tablename__ = "lesson_progress"
    __table_args__ = (UniqueConstraint("workspace_id", "kind", "item"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))    # "lesson", "challenge" or "prediction"
    item: Mapped[str] = mapped_column(String(64))    # the lesson's or the challenge's id
    status: Mapped[str] = mapped_column(String(32))  # e.g. "opened", "dismissed", "met", "open"
    detail: Mapped[str] = mapped_column(Text)        # db.codec JSON: the verdict, the run that met it…
    updated: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ServerRow(Base):
    __tablename__ = "servers"
    instance: Mapped[str] = mapped_column(String(64), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    heartbeat: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class ClassRow(Base):
    __tablename__ = "classes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    code: Mapped[str] = mapped_column(String(16), unique=True)     # the join code, canonical: upper case, no dash
    closes_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # no one joins after this (None: open)
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class MemberRow(Base):
    __tablename__ = "members"
    __table_args__ = (
        UniqueConstraint("class_id", "workspace_id"),  # also the index of roster()
        UniqueConstraint("class_id", "name_key"),      # display names unique in a class, in any case
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id", ondelete="CASCADE"))
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    display_name: Mapped[str] = mapped_column(String(40))  # as the learner typed it (stripped, NFC)
    name_key: Mapped[str] = mapped_column(String(160))     # db.classes.name_key(display_name): what must be unique
    joined: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class AssignmentRow(Base):
    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("class_id", "lesson_id"),)  # also the index of assignments()
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id", ondelete="CASCADE"))
    lesson_id: Mapped[str] = mapped_column(String(64))  # an id of content/lessons.toml
    position: Mapped[int] = mapped_column(Integer)      # the order the teacher gave, from 0
    due: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class SignInFailureRow(Base):
    __tablename__ = "sign_in_failures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    source: Mapped[str] = mapped_column(Text)  # what the caller knows of who tried (may be empty)
