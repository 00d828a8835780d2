"""Which app processes are alive, so that a run whose process died reads as *interrupted*.

Each process has an instance id and, once the app calls start_heartbeat(), a daemon thread
that writes "still here" to the servers table every HEARTBEAT_S seconds. A training row
belongs to its process (runs.owner): it is interrupted when that process is this one but its
training thread has ended without keeping it, or when that process's heartbeat is older
than STALE_S seconds, or gone, or names a process on this host that no longer runs (or whose
process id is now this process's: a restarted container).
"""
import atexit
import datetime as dt
import logging
import os
import secrets
import socket
import threading

from sqlalchemy import Engine, delete, select

from db.engine import writing
from db.schema import ServerRow, utcnow

HEARTBEAT_S = 30.0
STALE_S = 90.0  # three missed heartbeats: the process is gone (or hung, which the learner cannot tell apart)
log = logging.getLogger(__name__)


def _host() -> str:
    """This machine, as far as process ids go: the host name and the PID namespace (two
    containers may share a host name, never a PID namespace)."""
    try:
        namespace = os.readlink("/proc/self/ns/pid")  # e.g. "pid:[4026531836]" on Linux
    except OSError:
        namespace = ""
    return f"{socket.gethostname()} {namespace}".strip()[:255]


HOST = _host()
_instance = f"{socket.gethostname()[:40]}-{os.getpid()}-{secrets.token_hex(4)}"
_live: dict[int, threading.Thread] = {}  # run row id -> the thread training it, in this process
_live_lock = threading.Lock()
_beats: dict[str, "_Heartbeat"] = {}     # engine URL -> its heartbeat thread


def instance_id() -> str:
    """This process's id in the servers table and in runs.owner."""
    return _instance


def _new_instance_after_fork() -> None:
    global _instance
    _instance = f"{socket.gethostname()[:40]}-{os.getpid()}-{secrets.token_hex(4)}"
    _live.clear()
    _beats.clear()


os.register_at_fork(after_in_child=_new_instance_after_fork)


def track(row_id: int) -> None:
    """The run `row_id` is training in this thread (start_run)."""
    with _live_lock:
        _live[row_id] = threading.current_thread()


def untrack(row_id: int) -> None:
    with _live_lock:
        _live.pop(row_id, None)


def training_here(row_id: int) -> bool:
    """Whether a thread of this process is still training the run `row_id`."""
    with _live_lock:
        thread = _live.get(row_id)
    return thread is not None and thread.is_alive()


def beat(engine: Engine) -> None:
    """Write this process's heartbeat now (made on the first call)."""
    now = utcnow()
    with writing(engine) as session:
        row = session.get(ServerRow, _instance)
        if row is None:
            session.add(ServerRow(instance=_instance, host=HOST, pid=os.getpid(), started=now, heartbeat=now))
        else:
            row.heartbeat = now


def forget(engine: Engine) -> None:
    """Remove this process's heartbeat (a clean shutdown): its training rows read as interrupted at once."""
    with writing(engine) as session:
        session.execute(delete(ServerRow).where(ServerRow.instance == _instance))


def dead_owners(session, owners: set[str], stale_s: float = STALE_S) -> set[str]:
    """Which of `owners` (other processes' instance ids) are no longer alive."""
    if not owners:
        return set()
    cutoff = utcnow() - dt.timedelta(seconds=stale_s)
    alive = set()
    for row in session.scalars(select(ServerRow).where(ServerRow.instance.in_(owners))):
        here = row.host == HOST  # then its pid tells: gone, or (a restarted container's pid 1) reused by us
        if row.heartbeat >= cutoff and not (here and (row.pid == os.getpid() or not _pid_running(row.pid))):
            alive.add(row.instance)
    return owners - alive


def _pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # someone else's process, or a platform without signals: assume alive
    return True


class _Heartbeat(threading.Thread):
    def __init__(self, engine: Engine, interval: float):
        super().__init__(name="playground-db-heartbeat", daemon=True)
        self.engine, self.interval, self.stopped = engine, interval, threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                beat(self.engine)
            except Exception:  # a database hiccup must not end the thread: next beat tries again
                log.warning("database heartbeat failed", exc_info=True)
            self.stopped.wait(self.interval)


def start_heartbeat(engine: Engine, interval: float = HEARTBEAT_S) -> None:
    """Beat now, then every `interval` seconds in a daemon thread (once per process and database);
    the heartbeat is removed when the process exits normally."""
    key = engine.url.render_as_string(hide_password=False)
    with _live_lock:
        if key in _beats and _beats[key].is_alive():
            return
        beat(engine)
        thread = _beats[key] = _Heartbeat(engine, interval)
        thread.start()
    atexit.register(_stop, key)


def stop_heartbeat(engine: Engine) -> None:
    """Stop this process's heartbeat thread and remove its row (tests; a clean shutdown)."""
    _stop(engine.url.render_as_string(hide_password=False))


def _stop(key: str) -> None:
    thread = _beats.pop(key, None)
    if thread is None:
        return
    thread.stopped.set()
    thread.join(timeout=5)
    try:
        forget(thread.engine)
    except Exception:
        log.warning("could not remove this server's heartbeat", exc_info=True)
