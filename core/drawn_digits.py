"""A drawn-digit test set: digits rendered the way a canvas or a phone photo gives them, not MNIST.

Each digit is a few pen strokes (polylines and arcs in a unit box, several ways of writing most
digits), then drawn by a hand that wobbles, slants, leans, writes small or large, off-centre, with
a thin or thick pen, in the three ink styles core.digits tells apart: the canvas's own
(transparent background, ink in the alpha), light ink on a dark canvas, and dark ink on a photo of
paper (uneven light, noise, blur, JPEG). The set is balanced over the ten digits and the same for
the same seed. Every drawing goes through core.digits.preprocess_digit, as a learner's would.
"""
from __future__ import annotations

import functools
import io
import math

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter

from core.digits import pixels_to_input, preprocess_digit, shift_pixels

STYLES = ("transparent", "light_on_dark", "dark_on_light")  # the canvas's own, a dark canvas, a photo of paper
N_PER_CLASS = 30  # drawings per digit in the shared set: 300 in all, 100 per ink style
SEED = 0          # the shared set's seed


def _arc(cx, cy, rx, ry, a0, a1, n=28):
    """Points along an ellipse from angle a0 to a1 (degrees; 0 = right, 90 = down, as on screen)."""
    angles = np.radians(np.linspace(a0, a1, n))
    return [(cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in angles]


# Each digit: ways of writing it; each way: strokes; each stroke: points in a unit box (x right, y down).
SHAPES = {
    0: [[_arc(0.5, 0.5, 0.45, 0.5, -90, 270)],
        [_arc(0.5, 0.5, 0.42, 0.5, -70, 300)]],
    1: [[[(0.5, 0.0), (0.5, 1.0)]],
        [[(0.33, 0.16), (0.55, 0.0), (0.55, 1.0)]],
        [[(0.33, 0.16), (0.55, 0.0), (0.55, 1.0)], [(0.2, 1.0), (0.9, 1.0)]]],
    2: [[_arc(0.5, 0.28, 0.42, 0.28, 200, 400) + [(0.05, 1.0), (0.95, 1.0)]],
        [_arc(0.5, 0.3, 0.45, 0.3, 190, 380) + [(0.1, 0.95), (0.3, 0.93), (0.95, 1.0)]]],
    3: [[_arc(0.5, 0.26, 0.42, 0.26, 200, 450), _arc(0.5, 0.74, 0.45, 0.26, 270, 520)],
        [[(0.08, 0.0), (0.9, 0.0), (0.4, 0.4)] + _arc(0.5, 0.7, 0.45, 0.3, 250, 520)]],
    4: [[[(0.65, 0.0), (0.05, 0.66), (0.95, 0.66)], [(0.7, 0.3), (0.7, 1.0)]],
        [[(0.15, 0.0), (0.1, 0.6), (0.92, 0.6)], [(0.72, 0.0), (0.72, 1.0)]],
        [[(0.95, 0.66), (0.05, 0.66), (0.62, 0.0), (0.62, 1.0)]]],
    5: [[[(0.88, 0.0), (0.22, 0.0), (0.18, 0.44)] + _arc(0.48, 0.68, 0.44, 0.32, 230, 520)],
        [[(0.2, 0.0), (0.15, 0.44)] + _arc(0.48, 0.68, 0.44, 0.32, 230, 510), [(0.2, 0.0), (0.9, 0.0)]]],
    6: [[_arc(0.62, 0.62, 0.52, 0.62, 285, 180) + _arc(0.5, 0.73, 0.4, 0.27, 180, 540)],
        [[(0.7, 0.0), (0.18, 0.65)] + _arc(0.5, 0.73, 0.38, 0.27, 160, 520)]],
    7: [[[(0.05, 0.0), (0.95, 0.0), (0.4, 1.0)]],
        [[(0.05, 0.0), (0.95, 0.0), (0.45, 1.0)], [(0.3, 0.5), (0.85, 0.5)]],
        [[(0.05, 0.18), (0.05, 0.0), (0.95, 0.0), (0.5, 1.0)]]],
    8: [[_arc(0.5, 0.25, 0.34, 0.25, 0, 360), _arc(0.5, 0.73, 0.44, 0.27, 0, 360)],
        [_arc(0.5, 0.25, 0.36, 0.25, 90, -180) + _arc(0.5, 0.73, 0.42, 0.27, -90, 270)
         + _arc(0.5, 0.25, 0.36, 0.25, 180, 90)]],
    9: [[_arc(0.45, 0.3, 0.4, 0.3, 0, 360), [(0.85, 0.3), (0.8, 1.0)]],
        [_arc(0.45, 0.3, 0.4, 0.3, 0, 360), [(0.85, 0.3), (0.78, 0.78), (0.45, 1.0)]]],
}


def _pen_path(points, rng: np.random.Generator, look: dict) -> list[tuple[float, float]]:
    """Unit-box points -> canvas pixels: the hand's wobble, the digit's width, slant, lean, size, place."""
    p = np.asarray(points, dtype=np.float64)
    x, y = p[:, 0], p[:, 1]
    x = x + look["wobble"] * np.sin(2 * np.pi * look["freq"][0] * y + look["phase"][0])
    y = y + look["wobble"] * np.sin(2 * np.pi * look["freq"][1] * x + look["phase"][1])
    x, y = (x - 0.5) * look["aspect"], y - 0.5  # centred, height 1
    x = x - look["slant"] * y  # italics: the top leans right
    cos, sin = math.cos(look["angle"]), math.sin(look["angle"])
    x, y = cos * x - sin * y, sin * x + cos * y
    scale = look["height"]
    return list(zip(look["center"][0] + scale * x, look["center"][1] + scale * y))


def _ink(digit: int, rng: np.random.Generator, size: tuple[int, int], style: str) -> np.ndarray:
    """The ink of one drawing as an H x W float mask in 0..1, anti-aliased (drawn at 2x, shrunk)."""
    w, h = size
    canvas = style != "dark_on_light"
    # On a canvas the pen has a fixed width in pixels (the ANN page's is 20), so a small digit
    # gets strokes as thick as a quarter of its height; on paper the pen is thin next to the digit.
    height = rng.uniform(0.25, 0.9 if canvas else 0.8) * min(w, h)  # small or large
    width = rng.uniform(8, 30) if canvas else height * rng.uniform(0.025, 0.1)
    aspect = rng.uniform(0.45, 0.95) if digit != 1 else 1.0
    half_w, half_h = height * aspect / 2 + height * 0.25 + width, height / 2 + width
    look = {"wobble": rng.uniform(0.0, 0.05), "freq": rng.uniform(0.3, 1.5, 2), "phase": rng.uniform(0, 6.3, 2),
            "aspect": aspect, "slant": rng.uniform(-0.25, 0.5), "angle": math.radians(rng.uniform(-18, 18)),
            "height": height * 2,  # drawn at twice the size
            "center": (2 * rng.uniform(half_w, max(half_w, w - half_w)),
                       2 * rng.uniform(half_h, max(half_h, h - half_h)))}
    mask = Image.new("L", (2 * w, 2 * h), 0)
    pen = ImageDraw.Draw(mask)
    shapes = SHAPES[digit]
    for stroke in shapes[int(rng.integers(len(shapes)))]:
        path = _pen_path(stroke, rng, look)
        pen.line(path, fill=255, width=int(round(2 * width)), joint="curve")
        r = width
        for px, py in (path[0], path[-1]):  # round caps, like a brush
            pen.ellipse((px - r, py - r, px + r, py + r), fill=255)
    return np.asarray(mask.resize((w, h), Image.LANCZOS), dtype=np.float32) / 255.0


def render(digit: int, style: str, rng: np.random.Generator) -> np.ndarray:
    """One drawing of `digit` in an ink style of STYLES, as H x W x 4 uint8 RGBA."""
    if style == "dark_on_light":  # a phone photo: landscape or portrait, larger than the canvas
        size = (int(rng.integers(240, 480)), int(rng.integers(240, 480)))
    else:
        size = (280, 280)  # the ANN page's canvas
    ink = _ink(digit, rng, size, style)
    rgba = np.zeros((size[1], size[0], 4), dtype=np.uint8)
    if style == "transparent":  # st_canvas with no background: the stroke color, alpha = ink
        rgba[..., :3] = rng.integers(0, 256, 3)
        rgba[..., 3] = np.round(ink * 255)
    elif style == "light_on_dark":  # white (or colored) strokes on an opaque dark canvas
        color = rng.uniform(0.7, 1.0, 3)
        rgba[..., :3] = np.round(ink[..., None] * color * 255)
        rgba[..., 3] = 255
    elif style == "dark_on_light":  # dark ink on paper: uneven light, grain, a little blur, JPEG
        yy, xx = np.mgrid[0:size[1], 0:size[0]] / max(size)
        light = rng.uniform(0.72, 0.95) + rng.uniform(-0.1, 0.1) * xx + rng.uniform(-0.1, 0.1) * yy
        paper = light + rng.normal(0, rng.uniform(0.005, 0.03), light.shape)
        strength = rng.uniform(0.6, 0.92)
        ink_color = rng.uniform(0.0, 0.35, 3)
        rgb = (paper[..., None] * (1 - strength * ink[..., None])
               + strength * ink[..., None] * ink_color * paper[..., None])
        photo = Image.fromarray(np.clip(np.round(rgb * 255), 0, 255).astype(np.uint8), "RGB")
        photo = photo.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2)))
        buffer = io.BytesIO()
        photo.save(buffer, "JPEG", quality=int(rng.integers(60, 92)))
        rgba[..., :3] = np.asarray(Image.open(buffer).convert("RGB"))
        rgba[..., 3] = 255
    else:
        raise ValueError(f"unknown ink style {style!r}; one of {STYLES}")
    return rgba


def drawings(n_per_class: int = N_PER_CLASS, seed: int = SEED):
    """Yield (rgba, digit, style): n_per_class drawings of each digit, the ink styles in turn."""
    rng = np.random.default_rng(seed)
    for i in range(n_per_class):
        for digit in range(10):
            style = STYLES[(i + digit) % len(STYLES)]
            yield render(digit, style, rng), digit, style


@functools.lru_cache(maxsize=4)
def drawn_set(n_per_class: int = N_PER_CLASS, seed: int = SEED) -> tuple[np.ndarray, np.ndarray, tuple]:
    """The set after MNIST's preprocessing: (N, 28, 28) float ink pictures in 0..1, labels, ink styles.

    A drawing the preprocessing finds blank (none should be) stays an empty picture, so it
    counts against every reader."""
    pictures, labels, styles = [], [], []
    for rgba, digit, style in drawings(n_per_class, seed):
        steps = preprocess_digit(rgba)
        pictures.append(np.zeros((28, 28), np.float32) if steps is None else steps.centered)
        labels.append(digit)
        styles.append(style)
    return np.stack(pictures), np.asarray(labels), tuple(styles)


def inputs(pictures: np.ndarray, mean: float, std: float) -> torch.Tensor:
    """(N, 28, 28) ink pictures -> (N, 1, 28, 28) inputs normalized as a reader was trained."""
    return torch.cat([pixels_to_input(p, mean, std) for p in pictures])


@torch.no_grad()
def predictions(model: torch.nn.Module, pictures: np.ndarray, mean: float, std: float) -> np.ndarray:
    """Each picture's predicted digit."""
    model.eval()
    device = next(model.parameters()).device
    return model(inputs(pictures, mean, std).to(device)).argmax(dim=1).cpu().numpy()


def accuracy(model: torch.nn.Module, mean: float, std: float, n_per_class: int = N_PER_CLASS,
             seed: int = SEED) -> float:
    """Percent of the drawn set that `model` reads right."""
    pictures, labels, _ = drawn_set(n_per_class, seed)
    return float(100.0 * (predictions(model, pictures, mean, std) == labels).mean())


def shift_holds(model: torch.nn.Module, pictures: np.ndarray, mean: float, std: float, dx: int, dy: int) -> float:
    """Percent of pictures whose predicted digit stays the same when the ink moves (dx, dy) pixels."""
    before = predictions(model, pictures, mean, std)
    moved = np.stack([shift_pixels(p, dx, dy) for p in pictures])
    return float(100.0 * (predictions(model, moved, mean, std) == before).mean())
