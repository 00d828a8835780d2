"""Kubernetes' preStop hook: let this pod's trainings finish before the pod stops.

    python -m deploy.drain [--url http://127.0.0.1:8501] [--max-seconds 540]

A pod being stopped (rollout, scale-down, node drain) is first taken out of the Service, so no new
learner reaches it, but the learners already on it keep their WebSocket until the process ends.
This waits until no training runs or waits in the app's queue (deploy/serve.py's /ready), twice in
a row 5 s apart, or --max-seconds at most (keep it under terminationGracePeriodSeconds), and then
returns: Kubernetes then sends SIGTERM. Standard library only.
"""
import argparse
import json
import sys
import time
import urllib.request


def busy(url: str) -> bool:
    """Whether a training runs or waits on the server at `url` (False when it cannot be asked)."""
    try:
        with urllib.request.urlopen(url + "/ready", timeout=3) as response:
            state = json.load(response)
    except (OSError, ValueError):  # not answering (or warming: 503): nothing to wait for
        return False
    trainings = state.get("trainings", {})
    return bool(trainings.get("running") or trainings.get("waiting"))


def drain(url: str, max_seconds: float, poll: float = 5.0) -> float:
    """Wait until `url` is idle twice in a row; the seconds waited."""
    started, idle = time.monotonic(), 0
    while time.monotonic() - started < max_seconds and idle < 2:
        idle = 0 if busy(url) else idle + 1
        if idle < 2:
            time.sleep(poll)
    return time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.drain", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8501")
    parser.add_argument("--max-seconds", type=float, default=540)
    args = parser.parse_args(argv)
    seconds = drain(args.url.rstrip("/"), args.max_seconds)
    print(f"drained after {seconds:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
