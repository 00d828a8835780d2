"""Run benchmark workloads and print one JSON line per (workload, impl)."""
import argparse
import inspect
import json
import sys

from bench import discover
from core.device import pick_device


def main(argv=None) -> int:
    workloads = discover()
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("workloads", nargs="*", metavar="WORKLOAD",
                        help=f"which to run (default: all): {', '.join(workloads)}")
    parser.add_argument("--quick", action="store_true",
                        help="a small, fast version of each workload (smoke test, not for figures)")
    parser.add_argument("--cpu", action="store_true", help="force the CPU")
    browser = parser.add_argument_group("browser workloads (classroom, pages)")
    browser.add_argument("--learners", type=int, help="classroom: learners pressing Train together")
    browser.add_argument("--url", help="a running app to drive (default: start one)")
    browser.add_argument("--replicas", type=int, default=0,
                         help="classroom: start N replicas behind HAProxy (run.py classroom)")
    args = parser.parse_args(argv)
    unknown = [w for w in args.workloads if w not in workloads]
    if unknown:
        parser.error(f"unknown workload(s) {', '.join(unknown)}; known: {', '.join(workloads)}")
    device = pick_device(force_cpu=args.cpu)
    extra = {"learners": args.learners, "url": args.url, "replicas": args.replicas}
    for name in args.workloads or [n for n, m in workloads.items() if not getattr(m, "BROWSER", False)]:
        accepted = inspect.signature(workloads[name].run).parameters
        options = {k: v for k, v in extra.items() if k in accepted}
        for line in workloads[name].run(quick=args.quick, device=device, **options):
            print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
