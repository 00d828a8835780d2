"""A throwaway PostgreSQL server for a trial class, the tests and the benchmarks: a fresh
cluster in a temporary folder, on a free localhost port, removed afterwards (with its data).

    python3 run.py classroom --replicas 2 --database local-postgres    # a trial class on it
    with throwaway_postgres() as server:      # or the pytest fixture `postgres_url` (tests/postgres.py)
        url = server.create_database("t1")    # postgresql+psycopg://postgres@127.0.0.1:PORT/t1

Debian's `postgresql` package puts initdb and pg_ctl in /usr/lib/postgresql/<version>/bin
(not on PATH); PostgreSQL refuses to run as root, so as root the cluster runs as the
`postgres` user (runuser).
"""
import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

SUPERUSER = "postgres"


def find_binaries() -> Path | None:
    """The folder holding initdb and pg_ctl: PATH first, then the newest /usr/lib/postgresql/*/bin."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).resolve().parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                   key=lambda p: [int(x) if x.isdigit() else 0 for x in Path(p).parts[-3].split(".")])
    return Path(found[-1]).parent if found else None


def unavailable() -> str | None:
    """Why a throwaway server cannot start here, or None if it can."""
    if find_binaries() is None:
        return "PostgreSQL is not installed (apt-get install -y postgresql)"
    if os.geteuid() == 0:
        try:
            import pwd

            pwd.getpwnam(SUPERUSER)
        except KeyError:
            return f"running as root and there is no {SUPERUSER!r} user to run PostgreSQL as"
        if shutil.which("runuser") is None:
            return "running as root and runuser is missing"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "the psycopg package is not installed (pip install -r requirements.txt)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A running throwaway cluster."""

    def __init__(self, folder: Path, port: int):
        self.folder, self.port = folder, port

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new empty database; its URL."""
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname=postgres",
                             autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", SUPERUSER, "--", *command] if os.geteuid() == 0 else command


@contextlib.contextmanager
def throwaway_postgres():
    """Start a fresh cluster; yield its Server; stop it and delete its folder at the end."""
    reason = unavailable()
    if reason:
        raise RuntimeError(reason)
    binaries = find_binaries()
    folder = Path(tempfile.mkdtemp(prefix="playground-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, SUPERUSER, SUPERUSER)
    data, port = folder / "data", free_port()
    try:
        try:
            subprocess.run(_as_postgres([str(binaries / "initdb"), "-D", str(data), "-U", SUPERUSER, "-A", "trust",
                                         "-E", "UTF8", "--no-locale", "--no-sync"]),
                           check=True, capture_output=True, text=True)
            options = (f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off "
                       "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100")
            subprocess.run(_as_postgres([str(binaries / "pg_ctl"), "-D", str(data), "-o", options,
                                         "-l", str(folder / "server.log"), "-w", "-t", "60", "start"]),
                           check=True, capture_output=True, text=True)
        except subprocess.CalledProcessError as error:
            log = folder / "server.log"
            raise RuntimeError(f"PostgreSQL did not start: {error.stderr or error.stdout}"
                               + (log.read_text()[-2000:] if log.exists() else "")) from error
        try:
            yield Server(folder, port)
        finally:
            subprocess.run(_as_postgres([str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w",
                                         "stop"]), capture_output=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
