"""Turn a drawing or a photo into an MNIST-style 28x28 input, and the two shipped digit readers.

The default reader is a small CNN trained with augmentation that imitates drawing (shifts,
rotation, scale, slant, stroke thickness, blur); the course's MLP is kept beside it as the
reader that shows why: every pixel has its own weight, so a digit that moves reads differently.
"""
from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage
from torch import nn

from core.data import CACHE_DIR, DATA_DIR, NOTEBOOK_MEAN, NOTEBOOK_STD, DataError, load_mnist, normalize
from core.device import pick_device
from core.engine import TrainConfig, build_seeded, evaluate, run_to_end, train
from core.models import make_mlp

MLP_WEIGHTS = DATA_DIR / "models" / "digit_mlp.pt"  # shipped; scripts/build_default_digit_model.py --model mlp
CNN_WEIGHTS = DATA_DIR / "models" / "digit_cnn.pt"  # shipped; scripts/build_default_digit_model.py (--model cnn)
DEFAULT_WEIGHTS = CNN_WEIGHTS  # the canvas's default reader is the CNN
# The recipe of the shipped MLP: the course notebook's SimpleANN on all 60,000 images.
MLP_RECIPE = TrainConfig(epochs=10, batch_size=64, lr=0.01, optimizer="sgd_momentum",
                         momentum=0.9, seed=0, log_every=200)
# The recipe of the shipped CNN: Adam on all 60,000 images, each batch freshly augmented.
CNN_RECIPE = TrainConfig(epochs=6, batch_size=128, lr=0.002, optimizer="adam", seed=0, log_every=100)

BOX = 20             # MNIST fits each digit into a 20x20 box, keeping its aspect ratio ...
SIZE = 28            # ... then pastes it in a 28x28 field ...
CENTER = 14.0        # ... so that its center of mass lands here (MNIST's own mean is 14.0)
MAX_SIDE = 1024      # larger photos are shrunk first: the digit only needs ~20 pixels anyway
MIN_CONTRAST = 0.15  # ink must stand out from the paper by this much (0..1); a dim photo of dark ink stands out by 0.2
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
    tensor = pixels_to_input(centered, mean, std)  # (1, 1, 28, 28)
    return DigitSteps(ink=ink, cropped=cropped, fitted=fitted, centered=centered,
                      tensor=tensor, ink_style=style, center_of_mass=com)


def _to_8bit(img):
    """Any mode Pillow opens -> an 8-bit RGBA image (16-bit and float gray scaled, not clipped)."""
    from PIL import Image

    if img.mode in ("I", "I;16", "I;16L", "I;16B", "I;16N", "F"):
        # Pillow's convert("RGBA") clips these to 0..255: a 16-bit digit would read as blank.
        values = np.asarray(img, dtype=np.float64)
        top = float(values.max()) if values.size else 0.0
        if img.mode == "F" and top <= 1.0:
            scale = 255.0  # float images in 0..1
        elif top <= 255:
            scale = 1.0  # 8-bit values stored in a wider mode
        elif top <= 65535:
            scale = 255.0 / 65535.0  # 16-bit values
        else:
            scale = 255.0 / top
        gray = np.clip(np.round(values * scale), 0, 255).astype(np.uint8)
        img = Image.fromarray(gray)  # 2-D uint8: mode "L"
    elif img.mode == "CMYK" or img.mode not in ("1", "L", "LA", "La", "P", "PA", "RGB", "RGBA", "RGBa", "RGBX"):
        img = img.convert("RGB")  # CMYK, YCbCr, LAB, HSV: through RGB first
    return img.convert("RGBA")  # palette transparency becomes alpha here


def load_image(file) -> np.ndarray:
    """An uploaded picture (a path or file-like object) as H x W x 4 uint8 RGBA, upright.

    The one image loader of every page. Every mode Pillow opens is brought to 8 bits first
    (16-bit gray, palette, CMYK, float), and a phone photo's EXIF rotation is applied so the
    digit stands as it did in the viewfinder. A file that is not a picture, is empty or is
    damaged raises core.data.DataError with a message for the learner (never Pillow's words:
    they name internals such as the upload's file id).
    """
    from PIL import Image, ImageOps

    try:
        with Image.open(file) as img:
            img.load()
            return np.asarray(_to_8bit(ImageOps.exif_transpose(img))).copy()
    except Exception as exc:  # not an image, empty, truncated, a decompression bomb...: one learner message
        raise DataError("digits.image_unreadable") from exc


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


def shift_pixels(centered: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """The 28x28 ink picture moved dx pixels right and dy down; what leaves the field is lost.

    The preprocessing re-centers every drawing, so moving the ink on the canvas changes
    nothing; moving it after the preprocessing is what shows how each reader copes with a
    digit that is not where the training digits were.
    """
    shifted = np.zeros_like(centered)
    h, w = centered.shape
    src_r, dst_r = slice(max(0, -dy), min(h, h - dy)), slice(max(0, dy), min(h, h + dy))
    src_c, dst_c = slice(max(0, -dx), min(w, w - dx)), slice(max(0, dx), min(w, w + dx))
    shifted[dst_r, dst_c] = centered[src_r, src_c]
    return shifted


def pixels_to_input(centered: np.ndarray, mean: float = NOTEBOOK_MEAN, std: float = NOTEBOOK_STD) -> torch.Tensor:
    """A 28x28 ink picture in 0..1 -> the (1, 1, 28, 28) input a reader trained with (mean, std) expects."""
    pixels = torch.from_numpy(np.round(np.clip(centered, 0, 1) * 255).astype(np.uint8))[None]  # (1, 28, 28)
    return normalize(pixels, mean, std)[None]  # same rounding as MNIST's uint8


# --- The CNN reader and its drawing-like augmentation ---

def make_digit_cnn() -> nn.Sequential:
    """LeNet-sized: two 5x5 convolutions with max-pooling, then two linear layers (~100k weights)."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),   # (N, 16, 14, 14)
        nn.Conv2d(16, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),  # (N, 32, 7, 7)
        nn.Flatten(), nn.Linear(32 * 7 * 7, 64), nn.ReLU(), nn.Linear(64, 10))


@dataclass
class Augment:
    """How far each training batch is pushed toward the way people draw (all drawn per sample)."""
    max_shift: float = 4.0      # pixels either way: the shift control moves the ink up to this far
    max_rotation: float = 15.0  # degrees either way: hand-drawn digits lean
    scale: tuple = (0.8, 1.15)  # digit size relative to MNIST's 20-pixel box
    max_shear: float = 0.3      # slant, as the horizontal shift per row (italics)
    p_dilate: float = 0.3       # share of thicker strokes (mouse and finger strokes are wide)
    p_erode: float = 0.2        # share of thinner strokes (a thin pen on a large drawing)
    p_blur: float = 0.3         # share slightly blurred (photos, anti-aliased canvases)


def augment_drawing(images: torch.Tensor, aug: Augment = Augment(), mean: float = NOTEBOOK_MEAN,
                    std: float = NOTEBOOK_STD) -> torch.Tensor:
    """(N, 28, 28) uint8 MNIST images -> (N, 1, 28, 28) normalized inputs, each one redrawn:
    thicker or thinner strokes (max-pooling as dilation, its negative as erosion), a slight
    blur, then one random affine map (shift, rotation, scale, slant) for the whole batch in
    one grid_sample. Uses torch's global RNG, which core.engine.train seeds."""
    from torchvision.transforms.functional import gaussian_blur

    x = images.float().div(255.0).unsqueeze(1)  # (N, 1, 28, 28) in 0..1
    n, dev = len(x), x.device
    pick = torch.rand(n, 1, 1, 1, device=dev)
    dilated = F.max_pool2d(x, 3, stride=1, padding=1)
    eroded = -F.max_pool2d(-x, 3, stride=1, padding=1)
    # Erosion wipes out a thin digit: keep it only where at least a third of the ink survives.
    kept = eroded.sum(dim=(1, 2, 3), keepdim=True) >= x.sum(dim=(1, 2, 3), keepdim=True) / 3
    x = torch.where(pick < aug.p_dilate, dilated, x)
    x = torch.where((pick >= 1 - aug.p_erode) & kept, eroded, x)
    blurred = gaussian_blur(x, kernel_size=3, sigma=0.8)
    x = torch.where(torch.rand(n, 1, 1, 1, device=dev) < aug.p_blur, blurred, x)

    angle = (torch.rand(n, device=dev) * 2 - 1) * math.radians(aug.max_rotation)
    scale = aug.scale[0] + torch.rand(n, device=dev) * (aug.scale[1] - aug.scale[0])
    shear = (torch.rand(n, device=dev) * 2 - 1) * aug.max_shear
    shift = (torch.rand(n, 2, device=dev) * 2 - 1) * aug.max_shift * 2 / 28  # grid units: 2 = 28 pixels
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    # theta maps output coordinates to input ones: the inverse of rotate, scale, slant, shift.
    theta = torch.stack([torch.stack([cos, -sin + shear * cos, -shift[:, 0]], 1),
                         torch.stack([sin, cos + shear * sin, -shift[:, 1]], 1)], 1)  # (N, 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return (x - mean) / std


# Seconds per training sample, augmentation included, calibrated on the 2-core development VM
# while other work shared it: the shipped CNN's train_seconds over its 6 x 60,000 samples, and one
# epoch of MLP_RECIPE on 12,000 images through the engine. A free machine is faster.
SECONDS_PER_SAMPLE = {"cnn": 1.2e-3, "mlp": 7e-4}


def estimate_seconds(config: TrainConfig = CNN_RECIPE, n_train: int = 60_000, kind: str = "cnn") -> float:
    """Rough training time of a digit reader on this kind of CPU: samples x epochs x cost per sample."""
    return n_train * config.epochs * SECONDS_PER_SAMPLE[kind]


# --- The shipped readers: weights in data/models/, rebuilt by scripts/build_default_digit_model.py ---

def _mnist(n_train: int | None):
    x_train, y_train = load_mnist(train=True)
    if n_train:
        x_train, y_train = x_train[:n_train], y_train[:n_train]
    return (x_train, y_train), load_mnist(train=False)


def mnist_test_accuracy(model: nn.Module, mean: float = NOTEBOOK_MEAN, std: float = NOTEBOOK_STD,
                        device: torch.device | None = None, n: int | None = None) -> float:
    """Percent of MNIST's official test images (the first n) a reader gets right, as (N, 1, 28, 28) inputs."""
    x_test, y_test = load_mnist(train=False)
    if n:
        x_test, y_test = x_test[:n], y_test[:n]
    to_input = functools.partial(normalize, mean=mean, std=std)
    return evaluate(model, x_test, y_test, device or torch.device("cpu"),
                    transform=lambda images: to_input(images).unsqueeze(1))["accuracy"]


def train_digit_cnn(device: torch.device | None = None, epochs: int = CNN_RECIPE.epochs,
                    n_train: int | None = None) -> tuple[nn.Module, dict]:
    """Train make_digit_cnn on MNIST with augment_drawing through the engine; (model on CPU, info)."""
    device = device or pick_device()
    (x_train, y_train), _ = _mnist(n_train)
    config = TrainConfig(**{**CNN_RECIPE.__dict__, "epochs": epochs})
    model = build_seeded(make_digit_cnn, config.seed)
    _, end = run_to_end(train(model, (x_train, y_train), config, device, transform=augment_drawing))
    accuracy = mnist_test_accuracy(model, device=device)
    info = {"kind": "cnn", "mean": NOTEBOOK_MEAN, "std": NOTEBOOK_STD, "epochs": int(end["epochs_run"]),
            "n_train": len(x_train), "test_accuracy": float(accuracy), "train_seconds": float(end["elapsed"]),
            "augment": dict(Augment().__dict__)}
    return model.cpu().eval(), info


def train_default_digit_model(device: torch.device | None = None, epochs: int = MLP_RECIPE.epochs,
                              n_train: int | None = None) -> tuple[nn.Module, dict]:
    """Train the notebook's SimpleANN on MNIST through the engine; returns (model on CPU, info)."""
    device = device or pick_device()
    (x_train, y_train), (x_test, y_test) = _mnist(n_train)
    config = TrainConfig(**{**MLP_RECIPE.__dict__, "epochs": epochs})
    model = build_seeded(make_mlp, config.seed)  # same seed -> same initial weights
    to_input = functools.partial(normalize, mean=NOTEBOOK_MEAN, std=NOTEBOOK_STD)
    _, end = run_to_end(train(model, (x_train, y_train), config, device, transform=to_input))
    accuracy = evaluate(model, x_test, y_test, device, transform=to_input)["accuracy"]
    info = {"kind": "mlp", "hidden": [128, 64], "activation": "relu", "mean": NOTEBOOK_MEAN, "std": NOTEBOOK_STD,
            "epochs": int(end["epochs_run"]), "n_train": len(x_train),
            "test_accuracy": float(accuracy), "train_seconds": float(end["elapsed"])}
    return model.cpu().eval(), info



_READERS = {  # kind -> (shipped file, where a missing one is rebuilt, trainer)
    "cnn": (CNN_WEIGHTS, CACHE_DIR / "digit_cnn.pt", train_digit_cnn),
    "mlp": (MLP_WEIGHTS, CACHE_DIR / "digit_mlp.pt", train_default_digit_model),
}


def save_digit_model(model: nn.Module, info: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    torch.save({"state_dict": state, "info": info}, tmp)
    os.replace(tmp, path)  # atomic: a page may be reading it


@functools.lru_cache(maxsize=2)
def _checkpoint(kind: str) -> dict:
    shipped, cached, trainer = _READERS[kind]
    for path in (shipped, cached):
        if path.exists():
            try:
                return torch.load(path, weights_only=True)
            except Exception:  # a damaged file: try the next one, or retrain
                continue
    model, info = trainer()
    save_digit_model(model, info, cached)
    return torch.load(cached, weights_only=True)


def digit_model_info(kind: str = "cnn") -> dict:
    """How a shipped reader ("cnn" or "mlp") was trained (epochs, test accuracy, normalization...)."""
    return dict(_checkpoint(kind)["info"])



def digit_model(kind: str = "cnn") -> nn.Module:
    """A shipped reader on the CPU in eval mode (a fresh copy): "cnn" or "mlp"."""
    checkpoint = _checkpoint(kind)
    if kind == "cnn":
        model = make_digit_cnn()
    else:
        model = make_mlp(hidden=tuple(checkpoint["info"]["hidden"]), activation=checkpoint["info"]["activation"])
    model.load_state_dict(checkpoint["state_dict"])
    return model.eval()


def default_digit_model() -> nn.Module:
    """The default reader of canvas_to_mnist's input: the CNN trained on augmented MNIST."""
    return digit_model("cnn")
