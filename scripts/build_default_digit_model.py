"""Rebuild the shipped digit readers of the ANN page's canvas: data/models/digit_cnn.pt (the default) or digit_mlp.pt.

Usage: python scripts/build_default_digit_model.py [--model cnn|mlp] [--epochs N] [--cpu]
cnn (default): core.digits.make_digit_cnn (LeNet-sized, two 5x5 convolutions) trained with Adam
on all 60,000 MNIST training images, each batch redrawn by core.digits.augment_drawing (shifts,
rotation, scale, slant, thicker/thinner strokes, blur) so that it reads digits drawn on the canvas.
mlp: the course notebook's SimpleANN (784-128-64-10, Normalize((0.5,), (0.5,)), SGD with momentum
0.9, lr 0.01, batch 64, seed 0) on the plain images. Both train through core.engine, report their
accuracy on the official 10,000 test images and on core.drawn_digits' drawn set, and save the weights.
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

from core import digits, drawn_digits  # noqa: E402
from core.device import pick_device  # noqa: E402

RECIPES = {"cnn": (digits.CNN_RECIPE, digits.CNN_WEIGHTS, digits.train_digit_cnn),
           "mlp": (digits.MLP_RECIPE, digits.MLP_WEIGHTS, digits.train_default_digit_model)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=list(RECIPES), default="cnn")
    parser.add_argument("--epochs", type=int, help="default: the model's recipe")
    parser.add_argument("--cpu", action="store_true", help="train on the CPU even if a GPU exists")
    parser.add_argument("--out", type=Path, help="default: the shipped file in data/models/")
    args = parser.parse_args(argv)
    recipe, shipped, trainer = RECIPES[args.model]
    epochs, out = args.epochs or recipe.epochs, args.out or shipped
    device = pick_device(force_cpu=args.cpu)
    estimate = digits.estimate_seconds(recipe.__class__(**{**recipe.__dict__, "epochs": epochs}), kind=args.model)
    print(f"Training the {args.model} on {device} for {epochs} epochs (about {estimate:.0f} s on a 2-core CPU) ...",
          flush=True)
    model, info = trainer(device, epochs=epochs)
    info["drawn_accuracy"] = drawn_digits.accuracy(model, info["mean"], info["std"])
    digits.save_digit_model(model, info, out)
    size_kb = out.stat().st_size / 1024
    print(f"MNIST test accuracy {info['test_accuracy']:.2f}%, drawn digits {info['drawn_accuracy']:.2f}% "
          f"after {info['train_seconds']:.1f} s; wrote {out} ({size_kb:.0f} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
