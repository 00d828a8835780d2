"""Rebuild data/models/digit_mlp.pt, the default digit reader of the ANN page's canvas.

Usage: python scripts/build_default_digit_model.py [--epochs 10] [--cpu]
Trains the course notebook's SimpleANN (784-128-64-10, Normalize((0.5,), (0.5,)), SGD with
momentum 0.9, lr 0.01, batch 64, seed 0) on all 60,000 MNIST training images through
core.engine, reports its accuracy on the official 10,000 test images and saves the weights.
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

from core.device import pick_device  # noqa: E402
from core.digits import DEFAULT_RECIPE, DEFAULT_WEIGHTS, save_digit_model, train_default_digit_model  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=DEFAULT_RECIPE.epochs)
    parser.add_argument("--cpu", action="store_true", help="train on the CPU even if a GPU exists")
    parser.add_argument("--out", type=Path, default=DEFAULT_WEIGHTS)
    args = parser.parse_args(argv)
    device = pick_device(force_cpu=args.cpu)
    print(f"Training on {device} for {args.epochs} epochs ...", flush=True)
    model, info = train_default_digit_model(device, epochs=args.epochs)
    save_digit_model(model, info, args.out)
    size_kb = args.out.stat().st_size / 1024
    print(f"test accuracy {info['test_accuracy']:.2f}% after {info['train_seconds']:.1f} s; "
          f"wrote {args.out} ({size_kb:.0f} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
