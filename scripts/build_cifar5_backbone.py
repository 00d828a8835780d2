"""Rebuild data/models/cifar5_backbone.pt, the ResNet page's offline transfer-learning backbone.

Usage: python scripts/build_cifar5_backbone.py [--epochs 20] [--cpu]
Trains core.transfer.Backbone (stride-2 stem + three BasicBlocks of 16/32/64 channels, 78k parameters)
with a 5-class head on the five source classes of the embedded CIFAR-10 subset (airplane,
automobile, bird, cat, deer: 5,000 training images), random left-right flips, AdamW lr 3e-3,
weight decay 5e-4, batch 64, seed 0, through core.engine; reports the accuracy on those
classes' 1,000 test images and saves backbone + head with the figures.
"""
import argparse
import sys
import time
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

import torch  # noqa: E402

from core import data, transfer  # noqa: E402
from core.device import pick_device  # noqa: E402


def main(argv=None) -> int:
    defaults = transfer.PretrainSettings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--cpu", action="store_true", help="train on the CPU even if a GPU exists")
    parser.add_argument("--out", type=Path, default=transfer.BACKBONE_PATH)
    args = parser.parse_args(argv)
    device = pick_device(force_cpu=args.cpu)
    # one CPU thread, as the app trains on a 2-core machine (core.device.share_cpu_with_browser):
    # OpenMP threads that wait for each other at every operation lose on a busy machine
    torch.set_num_threads(1)
    settings = transfer.PretrainSettings(epochs=args.epochs)
    print(f"Training on {device} for {settings.epochs} epochs ...", flush=True)
    started = time.perf_counter()
    for event in transfer.pretrain(settings, device):
        if event["kind"] == "epoch":
            print(f"  epoch {event['epoch']}: train loss {event['train_loss']:.3f}, "
                  f"test accuracy {event['val_acc']:.2f}%", flush=True)
    seconds = time.perf_counter() - started
    model = event["model"]
    info = {**asdict(settings), "classes": [data.CIFAR10_CLASSES[c] for c in transfer.SOURCE_CLASSES],
            "widths": list(transfer.WIDTHS), "parameters": sum(p.numel() for p in model.backbone.parameters()),
            "n_train": 5000, "n_test": 1000, "test_accuracy": round(event["test_accuracy"], 2),
            "train_seconds": round(seconds, 1), "device": device.type}
    transfer.save_backbone(model, info, args.out)
    size_kb = args.out.stat().st_size / 1024
    print(f"test accuracy {info['test_accuracy']:.2f}% on the five classes after {seconds:.1f} s; "
          f"wrote {args.out} ({size_kb:.0f} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
