"""One SQLAlchemy engine per process and database URL, and the two kinds of transaction.

SQLite is the embedded default: WAL lets readers go on while one writer writes, and every
write transaction starts with BEGIN IMMEDIATE, so a writer waits (busy_timeout) for the write
lock at its start instead of failing half-way with "database is locked" when another
session wrote first. PostgreSQL is reached through psycopg 3 whatever the URL's spelling.
"""
import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session

BUSY_TIMEOUT_S = 10.0  # a writer waits this long for another's write to finish

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def normalize_url(url: str | URL) -> URL:
    """The URL as SQLAlchemy should open it: `postgres://` and `postgresql://` go through psycopg
    3; a bare file path is an SQLite database."""
    if isinstance(url, str):
        text = url.strip()
        if "://" not in text:
            text = f"sqlite:///{Path(text).expanduser()}"
        elif text.startswith("postgres://"):
            text = "postgresql://" + text[len("postgres://"):]
        url = make_url(text)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url


def is_sqlite(engine_or_url) -> bool:
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else normalize_url(engine_or_url)
    return url.get_backend_name() == "sqlite"


def sqlite_path(url: str | URL) -> Path | None:
    """The file of an SQLite URL; None for PostgreSQL or an in-memory SQLite database."""
    url = normalize_url(url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def get_engine(url: str | URL) -> Engine:
    """The process's engine for `url` (made on first use; thread-safe)."""
    url = normalize_url(url)
    key = url.render_as_string(hide_password=False)
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _engines[key] = _create(url)
        return engine


def dispose(url: str | URL | None = None) -> None:
    """Close the pooled connections of `url`'s engine (every engine when None) and forget it."""
    keys = list(_engines) if url is None else [normalize_url(url).render_as_string(hide_password=False)]
    with _lock:
        for key in keys:
            engine = _engines.pop(key, None)
            if engine is not None:
                engine.dispose()


def _create(url: URL) -> Engine:
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False})
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None  # no implicit BEGIN: _sqlite_begin emits its own
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
    cursor.execute("PRAGMA foreign_keys=ON")  # ON DELETE CASCADE from a workspace to its runs
    cursor.execute("PRAGMA synchronous=NORMAL")  # WAL's safe setting: a power cut may lose the last commit only
    cursor.close()


def _sqlite_begin(connection) -> None:
    immediate = connection.get_execution_options().get("sqlite_immediate", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextlib.contextmanager
def reading(engine: Engine) -> Iterator[Session]:
    """A session for reads (committed at the end: it may mark stale runs interrupted)."""
    with Session(engine, expire_on_commit=False) as session:
        yield session
        session.commit()


@contextlib.contextmanager
def writing(engine: Engine) -> Iterator[Session]:
    """A session whose transaction holds SQLite's write lock from its start; committed at the
    end, rolled back on an exception."""
    with Session(engine, expire_on_commit=False) as session:
        session.connection(execution_options={"sqlite_immediate": True})
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
