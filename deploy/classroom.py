"""N app processes on this machine behind HAProxy with sticky sessions: one URL for a class.

    python3 run.py classroom --replicas 2 [--port 8500] [--host 0.0.0.0]

Streamlit keeps a learner's session (its state, runs and uploads) in one process and talks
to the browser over a WebSocket, so a learner must stay on one replica: HAProxy inserts a
cookie naming the replica on the first response and routes every later request (the
WebSocket included) by it. New learners go to the replica with the fewest connections.
Health checks use Streamlit's /_stcore/health. Each replica's sidebar names it.
"""
import argparse
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

HAPROXY_TEMPLATE = """\
global
    maxconn 4096

defaults
    mode http
    timeout connect 5s
    timeout client 1h
    timeout server 1h
    timeout tunnel 1h          # a learner's WebSocket stays open while the tab is open
    option forwardfor

frontend playground
    bind {host}:{port}
    default_backend replicas

backend replicas
    balance leastconn          # a new learner goes to the least busy replica
    cookie PLAYGROUND_REPLICA insert indirect nocache httponly
    option httpchk GET /_stcore/health
    http-check expect status 200
    http-response set-header X-Playground-Replica %[srv_name]
{servers}
"""


def haproxy_config(replica_ports: list[int], port: int, host: str = "0.0.0.0") -> str:
    """HAProxy's configuration for replicas r1, r2, … on 127.0.0.1:<replica_ports>."""
    servers = "\n".join(f"    server r{i} 127.0.0.1:{p} check inter 2s cookie r{i}"
                        for i, p in enumerate(replica_ports, start=1))
    return HAPROXY_TEMPLATE.format(host=host, port=port, servers=servers)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def replica_env(name: str, replicas: int, cpu_cores: int | None = None) -> dict:
    """A replica's environment: its name for the sidebar, and its share of the cores.

    The replicas split the cores but one (left to HAProxy, the servers and the browsers):
    each trains on its share of threads, one training at a time unless set otherwise.
    """
    cores = cpu_cores or os.cpu_count() or 1
    share = max(1, (cores - 1) // replicas)
    env = {**os.environ, "PLAYGROUND_REPLICA": name}
    env.setdefault("OMP_NUM_THREADS", str(share))
    env.setdefault("PLAYGROUND_TRAINING_SLOTS", "1")
    return env


def start_app(port: int, env: dict | None = None, python: str = sys.executable) -> subprocess.Popen:
    """`streamlit run app.py` on 127.0.0.1:<port>, headless."""
    return subprocess.Popen(
        [python, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true",
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_healthy(url: str, timeout: float = 90) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.5)
    return False


class Classroom:
    """Replicas plus HAProxy, started together and stopped together (a context manager)."""

    def __init__(self, replicas: int, port: int | None = None, host: str = "127.0.0.1"):
        if shutil.which("haproxy") is None:
            raise RuntimeError("HAProxy is not installed. On Debian or Ubuntu: "
                               "sudo apt-get install -y haproxy")
        self.replicas, self.host = replicas, host
        self.port = port or free_port()
        self.processes: list[subprocess.Popen] = []
        self.workdir = Path(tempfile.mkdtemp(prefix="playground-classroom-"))

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}"

    def __enter__(self) -> "Classroom":
        ports = [free_port() for _ in range(self.replicas)]
        try:
            for i, port in enumerate(ports, start=1):
                self.processes.append(start_app(port, replica_env(f"r{i}", self.replicas)))
            for port in ports:
                if not wait_healthy(f"http://127.0.0.1:{port}"):
                    raise RuntimeError(f"a replica on port {port} did not start within 90 s")
            config = self.workdir / "haproxy.cfg"
            config.write_text(haproxy_config(ports, self.port, self.host))
            self.processes.append(subprocess.Popen(["haproxy", "-f", str(config)],
                                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
            if not wait_healthy(self.url, timeout=30):
                haproxy = self.processes[-1]
                why = haproxy.stderr.read(2000).decode(errors="replace") if haproxy.poll() is not None else ""
                raise RuntimeError(f"HAProxy did not answer within 30 s. {why}")
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
    parser.add_argument("--host", default="0.0.0.0", help="the address HAProxy listens on")
    args = parser.parse_args(argv)
    if args.replicas < 1:
        parser.error("--replicas must be at least 1")
    try:
        with Classroom(args.replicas, args.port, args.host) as classroom:
            print(f"{args.replicas} replica(s) behind HAProxy. Hand out: "
                  f"http://{socket.gethostname()}:{args.port} (or this machine's address) "
                  f"(on this machine: {classroom.url}). Ctrl+C stops everything.", flush=True)
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
            while all(p.poll() is None for p in classroom.processes):
                time.sleep(1)
            print("A replica or HAProxy stopped; shutting down.", file=sys.stderr)
            return 1
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
