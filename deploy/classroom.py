"""N app processes on this machine behind HAProxy with sticky sessions: one URL for a class.

    python3 run.py classroom --replicas 2 [--port 8500] [--host 0.0.0.0] [--database URL]

Streamlit keeps a learner's session (its state, runs and uploads) in one process and talks
to the browser over a WebSocket, so a learner must stay on one replica: HAProxy inserts a
cookie naming the replica on the first response and routes every later request (the
WebSocket included) by it. New learners go to the replica with the fewest connections.
Each replica warms up at start (deploy/serve.py) and HAProxy sends learners only to a replica
whose /ready says so. Each replica's sidebar names it.

Logs: logs/classroom/haproxy.log (one line per request) and logs/classroom/r1.log, r2.log, …
(each replica's output); a new start keeps the previous run's files as *.log.1.
Anyone who can reach this machine's address and port can open the app: it listens on
every network interface unless --host says otherwise.
"""
import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOG_DIR = ROOT / "logs" / "classroom"
SERVE = ROOT / "deploy" / "serve.py"  # app.py with a warm-up at start and a /ready route
HAPROXY_MISSING = "HAProxy is not installed. On Debian or Ubuntu: sudo apt-get install -y haproxy"

HAPROXY_TEMPLATE = """\
global
    maxconn 4096
    log stdout format raw local0     # to haproxy.log: run.py classroom collects HAProxy's output

defaults
    mode http
    log global
    option httplog
    timeout connect 5s
    timeout http-request 10s   # a client must send its request headers within 10 s (slow-request attacks)
    timeout client 1h
    timeout server 1h
    timeout tunnel 1h          # a learner's WebSocket stays open while the tab is open
    option forwardfor
    option redispatch          # a learner whose replica died goes to another one (their work is in the database)
    retries 2

frontend playground
    bind {host}:{port}
    default_backend replicas

backend replicas
    balance leastconn          # a new learner goes to the least busy replica
    cookie PLAYGROUND_REPLICA insert indirect nocache httponly
    option httpchk GET /ready  # 200 once the replica has warmed up (deploy/serve.py)
    http-check expect status 200
    http-response set-header X-Playground-Replica %[srv_name]
{servers}
"""


def haproxy_config(replica_ports: list[int], port: int, host: str = "0.0.0.0") -> str:
    """HAProxy's configuration for replicas r1, r2, … on 127.0.0.1:<replica_ports>."""
    servers = "\n".join(f"    server r{i} 127.0.0.1:{p} check inter 2s cookie r{i}"
                        for i, p in enumerate(replica_ports, start=1))
    return HAPROXY_TEMPLATE.format(host=host, port=port, servers=servers)


LOCAL_POSTGRES = "local-postgres"  # --database: start a throwaway PostgreSQL for a trial class


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def replica_env(name: str, replicas: int, cpu_cores: int | None = None, database: str | None = None,
                closed: bool = False) -> dict:
    """A replica's environment: its name for the sidebar, its share of the cores, the database.

    The replicas split the cores but one (left to HAProxy, the servers and the browsers):
    each trains on its share of threads, one training at a time unless set otherwise.
    """
    cores = cpu_cores or os.cpu_count() or 1
    share = max(1, (cores - 1) // replicas)
    env = {**os.environ, "PLAYGROUND_REPLICA": name}
    env.setdefault("OMP_NUM_THREADS", str(share))
    env.setdefault("PLAYGROUND_TRAINING_SLOTS", "1")
    if database:
        env["PLAYGROUND_DATABASE_URL"] = database
    if closed:  # only learners who joined a class (and the teacher) reach the pages that train
        env["PLAYGROUND_CLOSED"] = "1"
    return env


def start_app(port: int, env: dict | None = None, python: str = sys.executable, warm: bool = True,
              log: Path | None = None) -> subprocess.Popen:
    """The app on 127.0.0.1:<port>, headless: deploy/serve.py (warms up at start, GET /ready), or
    plain `streamlit run app.py` with `warm=False`. Its output goes to `log` (else nowhere)."""
    output = subprocess.DEVNULL
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        output = open(log, "ab")  # noqa: SIM115  (the child holds it; closed here once started)
    try:
        return subprocess.Popen(
            [python, "-m", "streamlit", "run", str(SERVE if warm else ROOT / "app.py"), "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true",
             "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    finally:
        if log is not None:
            output.close()


def wait_healthy(url: str, timeout: float = 90, path: str = "/_stcore/health",
                 process: subprocess.Popen | None = None) -> bool:
    """Whether GET url+path answered 200 within `timeout` seconds (False at once if `process` ended)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process is not None and process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url + path, timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:  # not listening yet, or 503 while warming (HTTPError is an OSError)
            time.sleep(0.5)
    return False


def wait_ready(url: str, timeout: float = 240, process: subprocess.Popen | None = None) -> bool:
    """Whether a deploy/serve.py server at `url` finished its warm-up within `timeout` seconds."""
    return wait_healthy(url, timeout, "/ready", process)


def keep_previous(log: Path) -> Path:
    """Move last run's `log` to `log`.1 (one run kept) so this run starts a fresh file; returns `log`."""
    if log.exists():
        os.replace(log, log.with_name(log.name + ".1"))
    return log


class Classroom:
    """Replicas plus HAProxy, started together and stopped together (a context manager)."""

    def __init__(self, replicas: int, port: int | None = None, host: str = "127.0.0.1",
                 database: str | None = None, log_dir: Path = LOG_DIR, closed: bool = False):
        if shutil.which("haproxy") is None:
            raise RuntimeError(HAPROXY_MISSING)
        self.replicas, self.host, self.database, self.closed = replicas, host, database, closed
        self.port = port or free_port()
        self.processes: list[subprocess.Popen] = []
        self.workdir = Path(tempfile.mkdtemp(prefix="playground-classroom-"))
        self.log_dir = Path(log_dir)

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}"

    def __enter__(self) -> "Classroom":
        ports = [free_port() for _ in range(self.replicas)]
        try:
            for i, port in enumerate(ports, start=1):
                env = replica_env(f"r{i}", self.replicas, database=self.database, closed=self.closed)
                self.processes.append(start_app(port, env, log=keep_previous(self.log_dir / f"r{i}.log")))
            for i, (port, process) in enumerate(zip(ports, self.processes), start=1):
                if not wait_ready(f"http://127.0.0.1:{port}", process=process):
                    raise RuntimeError(f"replica r{i} (port {port}) did not start and warm up within 240 s; "
                                       f"its log: {self.log_dir / f'r{i}.log'}")
            config = self.workdir / "haproxy.cfg"
            config.write_text(haproxy_config(ports, self.port, self.host))
            log = keep_previous(self.log_dir / "haproxy.log")
            with open(log, "ab") as output:
                self.processes.append(subprocess.Popen(["haproxy", "-f", str(config)],
                                                       stdout=output, stderr=subprocess.STDOUT))
            if not wait_healthy(self.url, timeout=30, process=self.processes[-1]):
                why = log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"HAProxy did not answer within 30 s ({log}): {why}")
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(self.workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 run.py classroom", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replicas", type=int, default=max(1, (os.cpu_count() or 2) // 2),
                        help="app processes to start (default: half the CPU cores)")
    parser.add_argument("--port", type=int, default=8500, help="the port to hand out (default 8500)")
    parser.add_argument("--host", default="0.0.0.0",
                        help="the address HAProxy listens on (default: every interface, anyone on the network)")
    parser.add_argument("--database", metavar="URL", default=os.environ.get("PLAYGROUND_DATABASE_URL"),
                        help="the database every replica uses, as PLAYGROUND_DATABASE_URL (default: that "
                             f"variable, else the SQLite file in data/.workspaces); {LOCAL_POSTGRES!r}: "
                             "a throwaway PostgreSQL started for this class")
    parser.add_argument("--closed", action="store_true",
                        help="a closed class server: only learners who joined a class with its code, and the "
                             "teacher, reach the pages that train")
    args = parser.parse_args(argv)
    if args.replicas < 1:
        parser.error("--replicas must be at least 1")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # from the start: stops the replicas too
    try:
        print(f"Starting {args.replicas} replica(s); each warms up first (up to a minute) …", flush=True)
        with contextlib.ExitStack() as stack:
            database = args.database
            if database == LOCAL_POSTGRES:  # a trial: a throwaway cluster, gone (with the work) at the end
                from deploy.postgres import throwaway_postgres

                database = stack.enter_context(throwaway_postgres()).create_database("playground")
                print(f"A throwaway PostgreSQL for this class: {database} (deleted when the class stops).",
                      flush=True)
            classroom = stack.enter_context(Classroom(args.replicas, args.port, args.host, database,
                                                      closed=args.closed))
            print(f"{args.replicas} replica(s) behind HAProxy. Hand out: "
                  f"http://{socket.gethostname()}:{args.port} (or this machine's address) "
                  f"(on this machine: {classroom.url}). Anyone who can reach this address can use it. "
                  f"Logs: {classroom.log_dir}. Ctrl+C stops everything.", flush=True)
            replicas, proxy, gone = classroom.processes[:-1], classroom.processes[-1], set()
            while proxy.poll() is None and any(p.poll() is None for p in replicas):
                for i, process in enumerate(replicas, start=1):
                    if process.poll() is not None and i not in gone:  # its learners move on, with their work
                        gone.add(i)
                        print(f"Replica r{i} stopped (exit {process.returncode}); HAProxy sends its learners to "
                              f"the others and their kept runs are in the database. Its log: "
                              f"{classroom.log_dir / f'r{i}.log'}", file=sys.stderr, flush=True)
                time.sleep(1)
            print("HAProxy or every replica stopped; shutting down.", file=sys.stderr)
            return 1
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
