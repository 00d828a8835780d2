"""The schema's version: Alembic migrations in db/migrations, run from Python (no alembic.ini).

The app calls migrate() on start. Replicas start together, so the upgrade runs under a lock:
a file lock next to an SQLite database, pg_advisory_lock on PostgreSQL. The second process
waits, then finds the schema at head and does nothing.
"""
import threading
import zlib
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from filelock import FileLock  # comes with torch
from sqlalchemy import Connection, text

from db.engine import get_engine, is_sqlite, normalize_url, sqlite_path

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
LOCK_KEY = zlib.crc32(b"deep-learning-playground schema")  # the advisory lock's number
LOCK_TIMEOUT_S = 300

_done: set[str] = set()  # URLs this process already brought to head
_done_lock = threading.Lock()


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Config:
    """Alembic's configuration for db/migrations, on an open connection (or a URL for --sql)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        config.set_main_option("sqlalchemy.url", normalize_url(url).render_as_string(hide_password=False))
    config.attributes["connection"] = connection
    return config


def head() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current(url: str) -> str | None:
    """The revision the database at `url` is at (None: no schema yet)."""
    with get_engine(url).connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def migrate(url: str, revision: str = "head") -> None:
    """Upgrade the database at `url` to `revision` (default: head) under the migration lock.
    Once per process and URL for head; safe when several processes start at once."""
    key = normalize_url(url).render_as_string(hide_password=False)
    if revision == "head" and key in _done:
        return
    with _done_lock:
        if revision == "head" and key in _done:
            return
        _under_lock(url, lambda config: command.upgrade(config, revision))
        if revision == "head":
            _done.add(key)


def downgrade(url: str, revision: str) -> None:
    """Downgrade the database at `url` to `revision` (e.g. "-1", "base"), under the same lock."""
    _done.discard(normalize_url(url).render_as_string(hide_password=False))
    _under_lock(url, lambda config: command.downgrade(config, revision))


def _under_lock(url: str, action) -> None:
    engine = get_engine(url)
    if is_sqlite(engine):
        path = sqlite_path(url)
        lock = FileLock(f"{path}.migrate-lock", timeout=LOCK_TIMEOUT_S) if path else None
        if lock is not None:
            lock.acquire()
        try:
            with engine.connect() as connection:
                action(alembic_config(connection.execution_options(sqlite_immediate=True)))
                connection.commit()
        finally:
            if lock is not None:
                lock.release()
        return
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": LOCK_KEY})
        connection.commit()  # the lock belongs to the session; Alembic runs its own transactions
        try:
            action(alembic_config(connection))
            connection.commit()
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
            connection.commit()
