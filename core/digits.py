"""Turn a drawing or a photo into an MNIST-style 28x28 input, and the default digit reader."""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage
from torch import nn

from core.data import CACHE_DIR, DATA_DIR, NOTEBOOK_MEAN, NOTEBOOK_STD, load_mnist, normalize
from core.device import pick_device
from core.engine import TrainConfig, build_seeded, evaluate, run_to_end, train
from core.models import make_mlp

DEFAULT_WEIGHTS = DATA_DIR / "models" / "digit_mlp.pt"  # shipped; scripts/build_default_digit_model.py
CACHED_WEIGHTS = CACHE_DIR / "digit_mlp.pt"  # where a missing shipped file is rebuilt
# The recipe of the shipped model: the course notebook's SimpleANN on all 60,000 images.
DEFAULT_RECIPE = TrainConfig(epochs=10, batch_size=64, lr=0.01, optimizer="sgd_momentum",
                             momentum=0.9, seed=0, log_every=200)

BOX = 20             # MNIST fits each digit into a 20x20 box, keeping its aspect ratio ...
SIZE = 28            # ... then pastes it in a 28x28 field ...
CENTER = 14.0        # ... so that its center of mass lands here (MNIST's own mean is 14.0)
MAX_SIDE = 1024      # larger photos are shrunk first: the digit only needs ~20 pixels anyway
MIN_CONTRAST = 0.25  # ink must stand out from the paper by this much (0..1) to count as ink
SPECK_FRACTION = 0.05  # ink blobs smaller than this share of the largest blob are dirt, dropped


@dataclass
class DigitSteps:
    """Each stage of the MNIST preprocessing, as float images in 0..1 (1 = ink)."""
    ink: np.ndarray       # (H, W) ink strength after choosing how ink is told from background
    cropped: np.ndarray   # (h, w) cut to the ink's bounding box, specks removed
    fitted: np.ndarray    # (<=20, <=20) scaled so the longer side is 20, aspect kept
    centered: np.ndarray  # (28, 28) pasted so the center of mass sits at the middle
    tensor: torch.Tensor  # (1, 1, 28, 28) normalized as the model was trained
    ink_style: str        # "transparent background", "light ink on dark", "dark ink on light"
    center_of_mass: tuple[float, float]  # (row, col) in the 28x28 field after centering


def _border(values: np.ndarray, width: int = 2) -> np.ndarray:
    return np.concatenate([values[:width].ravel(), values[-width:].ravel(),
                           values[:, :width].ravel(), values[:, -width:].ravel()])


def _ink_map(image: np.ndarray) -> tuple[np.ndarray, str]:
    """Ink strength in 0..1 for any of the three ink styles, plus which style was seen."""
    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise ValueError(f"expected an H x W (x 3 or 4) image, got shape {arr.shape}")
    arr = arr.astype(np.float32) / (255.0 if arr.dtype == np.uint8 or arr.max() > 1.0 else 1.0)
    if arr.ndim == 3 and arr.shape[2] == 4:
        alpha = arr[..., 3]
        if np.median(_border(alpha)) < 0.5:  # see-through background: the alpha *is* the ink
            return alpha, "transparent background"
        arr = arr[..., :3]
    gray = arr if arr.ndim == 2 else arr @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    border = _border(gray)
    if np.median(border) > 0.5:  # light paper around the edges: ink is the dark part
        ink, style = 1.0 - gray, "dark ink on light"
    else:
        ink, style = gray, "light ink on dark"
    # Paper is never pure white: measure it at the border and subtract it.
    return np.clip(ink - np.median(_border(ink)), 0.0, 1.0), style


def _otsu(values: np.ndarray) -> float:
    """Otsu's threshold on 0..1 values: the cut that best separates two groups."""
    hist, edges = np.histogram(values, bins=256, range=(0.0, 1.0))
    hist = hist.astype(np.float64)
    centers = (edges[:-1] + edges[1:]) / 2
    weight0 = np.cumsum(hist)
    weight1 = weight0[-1] - weight0
    mean0 = np.cumsum(hist * centers) / np.maximum(weight0, 1e-12)
    mean1 = (np.sum(hist * centers) - np.cumsum(hist * centers)) / np.maximum(weight1, 1e-12)
    between = weight0 * weight1 * (mean0 - mean1) ** 2
    return float(edges[1:][int(np.argmax(between))])


def _shrink(ink: np.ndarray) -> np.ndarray:
    scale = MAX_SIDE / max(ink.shape)
    if scale >= 1:
        return ink
    size = (max(1, round(ink.shape[0] * scale)), max(1, round(ink.shape[1] * scale)))
    t = torch.from_numpy(np.ascontiguousarray(ink))[None, None]  # (1, 1, H, W)
    return F.interpolate(t, size=size, mode="area")[0, 0].numpy()


def _clean(ink: np.ndarray) -> np.ndarray | None:
    """Soft ink with background noise and small specks zeroed, or None if there is no ink."""
    if ink.size == 0 or float(ink.max()) < MIN_CONTRAST:
        return None
    threshold = max(_otsu(ink), 0.05)
    mask = ink > threshold
    if not mask.any() or ink[mask].mean() - ink[~mask].mean() < MIN_CONTRAST:
        return None  # no group clearly darker (or lighter) than the paper: a blank page
    labels, count = ndimage.label(mask)
    sizes = ndimage.sum(mask, labels, index=np.arange(1, count + 1))
    keep = np.isin(labels, 1 + np.flatnonzero(sizes >= SPECK_FRACTION * sizes.max()))
    # Stroke edges are anti-aliased: keep the soft rim just outside the thresholded mask.
    keep = ndimage.binary_dilation(keep, iterations=1)
    low, high = threshold / 2, float(np.percentile(ink[mask], 90))
    soft = np.clip((ink - low) / max(high - low, 1e-6), 0.0, 1.0)
    return np.where(keep, soft, 0.0).astype(np.float32)


def _fit_box(cropped: np.ndarray) -> np.ndarray:
    """Scale so the longer side is BOX pixels, keeping the aspect ratio (anti-aliased)."""
    h, w = cropped.shape
    scale = BOX / max(h, w)
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    t = torch.from_numpy(np.ascontiguousarray(cropped))[None, None]  # (1, 1, h, w)
    fitted = F.interpolate(t, size=size, mode="bilinear", antialias=True, align_corners=False)
    fitted = fitted[0, 0].clamp_(0, 1).numpy()
    return fitted / max(float(fitted.max()), 1e-6)  # stroke centers at full ink, like MNIST


def _center(fitted: np.ndarray) -> tuple[np.ndarray, tuple[float, float]]:
    """Paste into 28x28 with an integer shift that brings the center of mass to CENTER."""
    h, w = fitted.shape
    cy, cx = ndimage.center_of_mass(fitted)
    top = int(np.clip(round(CENTER - cy), 0, SIZE - h))
    left = int(np.clip(round(CENTER - cx), 0, SIZE - w))
    field = np.zeros((SIZE, SIZE), dtype=np.float32)
    field[top:top + h, left:left + w] = fitted
    return field, (top + float(cy), left + float(cx))


def preprocess_digit(image: np.ndarray, mean: float = NOTEBOOK_MEAN,
                     std: float = NOTEBOOK_STD) -> DigitSteps | None:
    """MNIST's own preprocessing on a drawing or photo, keeping every step; None if blank.

    Accepts H x W x 4 RGBA (canvas output, transparent or opaque), H x W x 3 RGB or H x W
    gray, uint8 0..255 or float 0..1. The result is normalized with (mean, std) on 0..1.
    """
    ink, style = _ink_map(image)
    ink = _shrink(ink)
    clean = _clean(ink)
    if clean is None:
        return None
    rows, cols = np.flatnonzero(clean.any(axis=1)), np.flatnonzero(clean.any(axis=0))
    cropped = clean[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    fitted = _fit_box(cropped)
    centered, com = _center(fitted)
    pixels = torch.from_numpy(np.round(centered * 255).astype(np.uint8))[None]  # (1, 28, 28)
    tensor = normalize(pixels, mean, std)[None]  # (1, 1, 28, 28), same rounding as MNIST's uint8
    return DigitSteps(ink=ink, cropped=cropped, fitted=fitted, centered=centered,
                      tensor=tensor, ink_style=style, center_of_mass=com)


def load_image(file) -> np.ndarray:
    """An uploaded photo (a path or file-like object) as H x W x 4 uint8 RGBA, upright.

    Phones store a photo's rotation in its EXIF tag; it is applied, so the digit stands as
    it did in the viewfinder. PIL's errors (not an image, truncated file) pass through.
    """
    from PIL import Image, ImageOps

    with Image.open(file) as img:
        return np.asarray(ImageOps.exif_transpose(img).convert("RGBA"))


def canvas_to_mnist(rgba: np.ndarray) -> torch.Tensor | None:
    """An H x W x 4 uint8 drawing -> (1, 1, 28, 28) float tensor for default_digit_model(), or None if blank."""
    steps = preprocess_digit(rgba)
    return None if steps is None else steps.tensor


@torch.no_grad()
def digit_probabilities(model: nn.Module, tensor: torch.Tensor) -> np.ndarray:
    """Softmax over the 10 digits for one (1, 1, 28, 28) input, as a numpy (10,) array."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    probs = torch.softmax(model(tensor.to(device)), dim=1)[0].cpu().numpy()
    model.train(was_training)
    return probs


# --- The default model: shipped weights, rebuilt by scripts/build_default_digit_model.py ---

def train_default_digit_model(device: torch.device | None = None, epochs: int = DEFAULT_RECIPE.epochs,
                              n_train: int | None = None) -> tuple[nn.Module, dict]:
    """Train the notebook's SimpleANN on MNIST through the engine; returns (model on CPU, info)."""
    device = device or pick_device()
    x_train, y_train = load_mnist(train=True)
    x_test, y_test = load_mnist(train=False)
    if n_train:
        x_train, y_train = x_train[:n_train], y_train[:n_train]
    config = TrainConfig(**{**DEFAULT_RECIPE.__dict__, "epochs": epochs})
    model = build_seeded(make_mlp, config.seed)  # same seed -> same initial weights
    to_input = functools.partial(normalize, mean=NOTEBOOK_MEAN, std=NOTEBOOK_STD)
    _, end = run_to_end(train(model, (x_train, y_train), config, device, transform=to_input))
    accuracy = evaluate(model, x_test, y_test, device, transform=to_input)["accuracy"]
    info = {"hidden": [128, 64], "activation": "relu", "mean": NOTEBOOK_MEAN, "std": NOTEBOOK_STD,
            "epochs": int(end["epochs_run"]), "n_train": len(x_train),
            "test_accuracy": float(accuracy), "train_seconds": float(end["elapsed"])}
    return model.cpu().eval(), info


def save_digit_model(model: nn.Module, info: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    torch.save({"state_dict": state, "info": info}, tmp)
    os.replace(tmp, path)  # atomic: a page may be reading it


@functools.lru_cache(maxsize=1)
def _default_checkpoint() -> dict:
    for path in (DEFAULT_WEIGHTS, CACHED_WEIGHTS):
        if path.exists():
            try:
                return torch.load(path, weights_only=True)
            except Exception:  # a damaged file: try the next one, or retrain
                continue
    model, info = train_default_digit_model()
    save_digit_model(model, info, CACHED_WEIGHTS)
    return torch.load(CACHED_WEIGHTS, weights_only=True)


def default_digit_info() -> dict:
    """How the default model was trained (epochs, test accuracy, normalization...)."""
    return dict(_default_checkpoint()["info"])


def default_digit_model() -> nn.Module:
    """The notebook's SimpleANN trained on all of MNIST, on the CPU in eval mode (a fresh copy)."""
    checkpoint = _default_checkpoint()
    model = make_mlp(hidden=tuple(checkpoint["info"]["hidden"]),
                     activation=checkpoint["info"]["activation"])
    model.load_state_dict(checkpoint["state_dict"])
    return model.eval()
