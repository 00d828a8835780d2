"""Run benchmark workloads and print one JSON line per (workload, impl)."""
import argparse
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
    args = parser.parse_args(argv)
    unknown = [w for w in args.workloads if w not in workloads]
    if unknown:
        parser.error(f"unknown workload(s) {', '.join(unknown)}; known: {', '.join(workloads)}")
    device = pick_device(force_cpu=args.cpu)
    for name in args.workloads or list(workloads):
        for line in workloads[name].run(quick=args.quick, device=device):
            print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
