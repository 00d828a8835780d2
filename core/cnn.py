"""The notes' CNNs (MNIST, CIFAR-10): training data, feature maps by hooks, and conv/pool by hand."""
import math
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch import nn

from core import shapes
from core.data import (CIFAR10_CLASSES, NOTEBOOK_MEAN, NOTEBOOK_STD, load_cifar10, load_cifar10_full,
                       load_mnist, normalize)
from core.engine import OPTIMIZER_LABELS, TrainConfig, seed_everything, train

# --- The two models ---------------------------------------------------------------------------

DATASETS = {
    "mnist": {"label": "MNIST digits", "input": (1, 28, 28), "stack": shapes.MNIST_SIMPLECNN,
              "classes": tuple(str(d) for d in range(10)), "mean": (NOTEBOOK_MEAN,),
              "std": (NOTEBOOK_STD,)},
    "cifar": {"label": "CIFAR-10 subset (10k/2k JPEG)", "input": (3, 32, 32),
              "stack": shapes.CIFAR_SIMPLECNN, "classes": CIFAR10_CLASSES,
              "mean": (NOTEBOOK_MEAN,) * 3, "std": (NOTEBOOK_STD,) * 3},
}


@dataclass
class CNNSettings:
    dataset: str = "mnist"      # "mnist" or "cifar"
    n_train: int = 10_000       # training images (a seeded, class-mixed subset)
    n_test: int = 2_000         # test images used for the per-epoch test accuracy
    epochs: int = 2             # MNIST: 2 epochs of 10k take ~20 s on a laptop CPU
    batch_size: int = 64        # the notebook's batch size
    lr: float = 0.001           # Adam's usual step size
    optimizer: str = "adam"     # one of core.engine.OPTIMIZERS
    seed: int = 0               # same seed -> same initial filters, same batch order
    full_cifar: bool = False    # the full CIFAR-10 via torchvision's download (needs the internet)


DEFAULTS = {"mnist": CNNSettings(),
            "cifar": CNNSettings(dataset="cifar", n_train=10_000, epochs=3)}  # ~1 min on a CPU


def build_cnn(dataset: str, seed: int = 0) -> nn.Sequential:
    """The notes' SimpleCNN for `dataset` as an nn.Sequential named conv1, relu1, pool1, ...

    MNIST: conv 1→6 3×3, pool, conv 6→16 3×3, pool, fc 400→120→84→10 (the notes' layers with
    the flatten size corrected for 28×28). CIFAR: conv 3→32→64 (padding 1), two pools, fc
    4096→512→10. The same seed gives the same initial weights.
    """
    spec = DATASETS[dataset]
    seed_everything(seed)
    return shapes.build_module(spec["input"], spec["stack"])


def feature_stages(model: nn.Module) -> list[str]:
    """The named conv / ReLU / pool layers before Flatten: where feature maps are taken."""
    names = []
    for name, module in model.named_children():
        if isinstance(module, nn.Flatten):
            break
        names.append(name)
    return names


def load_split(dataset: str, train: bool, n: int | None = None, seed: int = 0, full_cifar: bool = False):
    """uint8 images (N, C, H, W) and int64 labels; a seeded shuffle first (CIFAR is class-sorted).

    `full_cifar` loads the full CIFAR-10 through torchvision (raises core.data.OfflineError
    offline) instead of the embedded 10k/2k subset."""
    if dataset == "mnist":
        images, labels = load_mnist(train)
    else:
        images, labels = (load_cifar10_full if full_cifar else load_cifar10)(train)
    if images.dim() == 3:
        images = images.unsqueeze(1)  # (N, 28, 28) -> (N, 1, 28, 28)
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))
    if n is not None:
        order = order[: max(1, min(int(n), len(images)))]
    return images[order], labels[order]


def input_transform(dataset: str):
    """uint8 batch (N, C, H, W) -> the notebook's Normalize((0.5,...), (0.5,...)) floats."""
    spec = DATASETS[dataset]
    return lambda batch: normalize(batch, spec["mean"], spec["std"])


def train_events(model: nn.Module, settings: CNNSettings, device: torch.device):
    """The engine's event generator for the settings (train subset, test subset as validation)."""
    train_data = load_split(settings.dataset, True, settings.n_train, settings.seed, settings.full_cifar)
    test_data = load_split(settings.dataset, False, settings.n_test, seed=1, full_cifar=settings.full_cifar)
    config = TrainConfig(epochs=settings.epochs, batch_size=settings.batch_size, lr=settings.lr,
                         optimizer=settings.optimizer, seed=settings.seed,
                         log_every=max(1, math.ceil(settings.n_train / settings.batch_size) // 10))
    return train(model, train_data, config, device, val_data=test_data,
                 transform=input_transform(settings.dataset))


# --- Feature maps (forward hooks on the one model) --------------------------------------------

@torch.no_grad()
def feature_maps(model: nn.Module, image_uint8: torch.Tensor, dataset: str) -> tuple[dict, np.ndarray]:
    """Run one image (C, H, W) uint8 through `model`; forward hooks catch each stage's output.

    Returns ({stage name: float array (C, H, W)}, class probabilities (classes,)).
    """
    maps: dict[str, np.ndarray] = {}
    handles = []
    children = dict(model.named_children())
    for name in feature_stages(model):
        def hook(_module, _inputs, output, name=name):
            maps[name] = output[0].detach().float().cpu().numpy()  # drop the batch: (C, H, W)
        handles.append(children[name].register_forward_hook(hook))
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        x = input_transform(dataset)(image_uint8.unsqueeze(0).to(device))  # (1, C, H, W)
        probs = torch.softmax(model(x), dim=1)[0].cpu().numpy()
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return maps, probs


def feature_return_nodes(dataset: str) -> dict[str, str]:
    """create_feature_extractor's return_nodes for a plain nn.Sequential of the stack:
    {"0": "conv1", "1": "relu1", ...} (an unnamed Sequential names its layers by index)."""
    model = build_cnn(dataset)
    stages = set(feature_stages(model))
    return {str(i): name for i, (name, _) in enumerate(model.named_children()) if name in stages}


def conv_filters(model: nn.Module, name: str = "conv1") -> np.ndarray:
    """The weights of one conv layer as (out_channels, in_channels, k, k)."""
    return dict(model.named_children())[name].weight.detach().float().cpu().numpy()


# --- Image grids with one shared colour scale -------------------------------------------------

_NEG, _MID, _POS = np.array([33, 102, 172]), np.array([247, 247, 247]), np.array([178, 24, 43])


def _diverging(values: np.ndarray, vmax: float) -> np.ndarray:
    """Blue (−vmax) – white (0) – red (+vmax) as uint8 RGB; one scale for every tile."""
    t = np.clip(values / (vmax if vmax > 0 else 1.0), -1, 1)[..., None]
    rgb = np.where(t < 0, _MID + (_NEG - _MID) * (-t), _MID + (_POS - _MID) * t)
    return rgb.astype(np.uint8)


def render_grid(tiles: np.ndarray, vmax: float | None = None, cols: int | None = None,
                tile_px: int = 56, rgb: bool = False) -> tuple[Image.Image, float]:
    """Tiles (N, H, W) -> one PIL image of a grid, all tiles on the same colour scale.

    Diverging blue–white–red around 0 with the scale ±vmax (default: max |value| over all tiles).
    With rgb=True, tiles are (N, 3, H, W) colour filters shown as colours, min–max scaled together.
    Returns (image, vmax used).
    """
    tiles = np.asarray(tiles, dtype=np.float32)
    n = len(tiles)
    cols = cols or min(n, 8)
    rows = math.ceil(n / cols)
    finite = tiles[np.isfinite(tiles)]
    vmax = float(vmax if vmax is not None else (np.abs(finite).max() if finite.size else 1.0))
    h, w = tiles.shape[-2:]
    zoom = max(1, tile_px // max(h, w))
    gap = 2
    canvas = np.full((rows * (h * zoom + gap) + gap, cols * (w * zoom + gap) + gap, 3), 255, np.uint8)
    for i, tile in enumerate(np.nan_to_num(tiles)):
        if rgb:
            lo, hi = finite.min(), finite.max()
            img = ((tile - lo) / ((hi - lo) or 1.0) * 255).transpose(1, 2, 0).astype(np.uint8)
        else:
            img = _diverging(tile, vmax)
        img = img.repeat(zoom, 0).repeat(zoom, 1)  # nearest-neighbour zoom: pixels stay pixels
        r, c = divmod(i, cols)
        top, left = gap + r * (h * zoom + gap), gap + c * (w * zoom + gap)
        canvas[top:top + h * zoom, left:left + w * zoom] = img
    return Image.fromarray(canvas), vmax


def colorbar(vmax: float, width: int = 240, height: int = 14) -> Image.Image:
    """The legend strip for render_grid: −vmax (blue) … 0 (white) … +vmax (red)."""
    ramp = np.linspace(-vmax, vmax, width)[None, :].repeat(height, 0)
    return Image.fromarray(_diverging(ramp, vmax))


def image_to_pil(image_uint8: torch.Tensor, zoom: int = 6) -> Image.Image:
    """A (C, H, W) uint8 image, enlarged with nearest neighbour for display."""
    arr = image_uint8.numpy()
    arr = arr[0] if arr.shape[0] == 1 else arr.transpose(1, 2, 0)
    img = Image.fromarray(arr)
    return img.resize((img.width * zoom, img.height * zoom), Image.NEAREST)


# --- Learner images: drawn digits, uploads ----------------------------------------------------

def canvas_to_digit(rgba: np.ndarray) -> torch.Tensor | None:
    """A drawing (H, W, 4) uint8 -> an MNIST-style (1, 28, 28) uint8 digit, or None if no ink.

    Uses the ANN page's core.digits.canvas_to_mnist when present (one preprocessing for the
    whole app), else the simple version below. Both handle light ink on dark, dark ink on light
    (a photo of paper) and ink on transparent, and centre the digit as MNIST does.
    """
    try:
        from core.digits import canvas_to_mnist
    except ImportError:
        canvas_to_mnist = None
    if canvas_to_mnist is not None:
        tensor = canvas_to_mnist(np.asarray(rgba, dtype=np.uint8))
        if tensor is None:
            return None
        pixels = tensor.reshape(28, 28).float() * NOTEBOOK_STD + NOTEBOOK_MEAN  # back to 0..1
        if pixels.min() > -0.05 and pixels.max() < 1.05:  # it used the notebook normalization
            return (pixels.clamp(0, 1) * 255).round().to(torch.uint8).unsqueeze(0)
    return _simple_canvas_to_digit(rgba)


def _simple_canvas_to_digit(rgba: np.ndarray) -> torch.Tensor | None:
    """MNIST-style preprocessing: scale the ink's box to 20 px, centre of mass in the middle."""
    arr = np.asarray(rgba, dtype=np.float32)
    if arr.ndim != 3 or arr.shape[2] < 3 or arr.shape[0] < 2 or arr.shape[1] < 2:
        return None
    gray = arr[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    alpha = arr[..., 3] / 255.0 if arr.shape[2] == 4 else np.ones(gray.shape, np.float32)
    border = np.concatenate([alpha[0], alpha[-1], alpha[:, 0], alpha[:, -1]])
    if np.median(border) < 0.5:  # transparent background: the strokes are where alpha is
        ink = alpha * 255.0
    else:
        background = np.median(np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]]))
        ink = np.clip(gray - background if background < 128 else background - gray, 0, 255)
    if ink.max() < 40:
        return None
    ys, xs = np.nonzero(ink > 40)
    crop = ink[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    scale = 20.0 / max(crop.shape)
    new_h, new_w = max(1, round(crop.shape[0] * scale)), max(1, round(crop.shape[1] * scale))
    small = np.asarray(Image.fromarray(crop.astype(np.uint8)).resize((new_w, new_h), Image.LANCZOS),
                       dtype=np.float32)
    out = np.zeros((28, 28), np.float32)
    total = small.sum() or 1.0
    cy = (small.sum(1) * np.arange(new_h)).sum() / total  # centre of mass
    cx = (small.sum(0) * np.arange(new_w)).sum() / total
    top = int(np.clip(round(14 - cy), 0, 28 - new_h))
    left = int(np.clip(round(14 - cx), 0, 28 - new_w))
    out[top:top + new_h, left:left + new_w] = small
    out = out / max(out.max(), 1.0) * 255.0  # full contrast, like MNIST's strokes
    return torch.from_numpy(out.round().astype(np.uint8)).unsqueeze(0)


def upload_to_image(img: Image.Image, dataset: str) -> torch.Tensor | None:
    """An uploaded picture -> the dataset's (C, H, W) uint8 input (None: no digit found)."""
    if dataset == "mnist":
        return canvas_to_digit(np.asarray(img.convert("RGBA")))
    side = min(img.size)  # centre square crop, then 32×32 like CIFAR
    left, top = (img.width - side) // 2, (img.height - side) // 2
    img = img.convert("RGB").crop((left, top, left + side, top + side)).resize((32, 32), Image.BILINEAR)
    return torch.from_numpy(np.asarray(img, dtype=np.uint8).copy()).permute(2, 0, 1)  # (3, 32, 32)


# --- Pooling, padding and convolution by hand -------------------------------------------------

POOL_EXAMPLE = [[2, 2, 7, 3], [9, 4, 6, 1], [8, 5, 2, 4], [3, 1, 2, 6]]  # the notes' 4×4 example


def _out_size(size: int, k: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - k) // stride + 1


def pool_by_hand(x, kernel: int = 2, stride: int = 2, padding: int = 0, mode: str = "max"):
    """Max or average pooling cell by cell, as torch does (max pads with −inf; average pads with
    0 and divides by kernel², torch's count_include_pad=True). Returns (output, cells) where each
    cell has its window's rows/cols (in padded coordinates), values and the sum written out.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.size == 0:
        raise ValueError("Pooling by hand needs a non-empty 2-D grid of numbers.")
    if not np.isfinite(x).all():
        raise ValueError("Every cell needs a number (one is empty or not a number).")
    if kernel < 1 or stride < 1 or padding < 0:
        raise ValueError("Kernel and stride must be at least 1 and padding 0 or more.")
    if padding > kernel // 2:
        raise ValueError(f"Padding {padding} is more than half the kernel ({kernel}//2 = {kernel // 2}); "
                         "torch refuses it. Lower the padding.")
    oh, ow = _out_size(x.shape[0], kernel, stride, padding), _out_size(x.shape[1], kernel, stride, padding)
    if oh < 1 or ow < 1:
        raise ValueError(f"The {kernel}×{kernel} window does not fit in the {x.shape[0]}×{x.shape[1]} "
                         "grid. Use a smaller kernel or more padding.")
    fill = -np.inf if mode == "max" else 0.0
    padded = np.pad(x, padding, constant_values=fill)
    out, cells = np.zeros((oh, ow)), []
    for i in range(oh):
        for j in range(ow):
            r0, c0 = i * stride, j * stride
            window = padded[r0:r0 + kernel, c0:c0 + kernel]
            vals = [v for v in window.ravel()]
            shown = ", ".join("pad" if not np.isfinite(v) else f"{v:g}" for v in vals)
            if mode == "max":
                out[i, j] = window.max()
                text = f"max({shown}) = {out[i, j]:g}"
            else:
                out[i, j] = window.sum() / (kernel * kernel)
                text = f"({' + '.join(f'{v:g}' for v in vals)}) / {kernel * kernel} = {out[i, j]:g}"
            cells.append({"row": i, "col": j, "rows": (r0, r0 + kernel), "cols": (c0, c0 + kernel),
                          "value": float(out[i, j]), "text": text})
    return out, cells


PAD_MODES = {"zero": "constant", "reflect": "reflect", "replicate": "edge"}  # torch name -> numpy


def pad_by_hand(x, padding: int, mode: str = "zero") -> np.ndarray:
    """Zero, reflect (mirror without repeating the edge) or replicate (repeat the edge) padding."""
    x = np.asarray(x, dtype=np.float64)
    if padding < 0:
        raise ValueError("Padding must be 0 or more.")
    if mode == "reflect" and padding >= min(x.shape):
        raise ValueError(f"Reflect padding must be smaller than the image side ({min(x.shape)}): "
                         "it mirrors pixels inside the image, and there are not enough. "
                         "torch refuses it too; lower the padding or use replicate.")
    return np.pad(x, padding, mode=PAD_MODES[mode])


def conv_by_hand(x, kernel, stride: int = 1, padding: int = 0) -> np.ndarray:
    """2-D cross-correlation (what nn.Conv2d computes, no bias) with zero padding."""
    x, w = np.asarray(x, dtype=np.float64), np.asarray(kernel, dtype=np.float64)
    if stride < 1 or padding < 0:
        raise ValueError("Stride must be at least 1 and padding 0 or more.")
    padded = np.pad(x, padding)
    k = w.shape[0]
    oh, ow = _out_size(x.shape[0], k, stride, padding), _out_size(x.shape[1], k, stride, padding)
    if oh < 1 or ow < 1:
        raise ValueError(f"The {k}×{k} kernel is larger than the padded {padded.shape[0]}×"
                         f"{padded.shape[1]} input. Add padding or use a smaller kernel.")
    out = np.zeros((oh, ow))
    for i in range(oh):
        for j in range(ow):
            out[i, j] = (padded[i * stride:i * stride + k, j * stride:j * stride + k] * w).sum()
    return out


def conv_cell(x, kernel, stride: int, padding: int, row: int, col: int) -> dict:
    """The sum of products behind one output cell: its window in the padded input and the terms."""
    x, w = np.asarray(x, dtype=np.float64), np.asarray(kernel, dtype=np.float64)
    padded = np.pad(x, padding)
    k = w.shape[0]
    r0, c0 = row * stride, col * stride
    window = padded[r0:r0 + k, c0:c0 + k]
    terms = [(float(a), float(b)) for a, b in zip(window.ravel(), w.ravel())]
    total = float((window * w).sum())
    text = " + ".join(f"{a:g}×{b:g}" for a, b in terms) + f" = {total:g}"
    return {"padded": padded, "rows": (r0, r0 + k), "cols": (c0, c0 + k), "terms": terms,
            "value": total, "text": text}


# --- Code generation --------------------------------------------------------------------------

def training_code(settings: CNNSettings) -> str:
    """A runnable plain-PyTorch script: the notebook's DataLoader loop for these settings, plus
    feature maps taken with torchvision's create_feature_extractor."""
    spec = DATASETS[settings.dataset]
    model_code = shapes.sequential_code(spec["input"], spec["stack"])
    stages = feature_return_nodes(settings.dataset)
    if settings.dataset == "mnist":
        data = ("transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])\n"
                "train_set = datasets.MNIST('data', train=True, download=True, transform=transform)\n"
                "test_set = datasets.MNIST('data', train=False, download=True, transform=transform)")
    else:
        data = ("transform = transforms.Compose([transforms.ToTensor(),\n"
                "                                transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))])\n"
                "# The full CIFAR-10 (50k/10k); the playground embeds a 10k/2k JPEG subset instead.\n"
                "train_set = datasets.CIFAR10('data', train=True, download=True, transform=transform)\n"
                "test_set = datasets.CIFAR10('data', train=False, download=True, transform=transform)")
    optimizer = {
        "sgd": f"torch.optim.SGD(model.parameters(), lr={settings.lr:g})",
        "sgd_momentum": f"torch.optim.SGD(model.parameters(), lr={settings.lr:g}, momentum=0.9)",
        "adam": f"torch.optim.Adam(model.parameters(), lr={settings.lr:g})",
        "adamw": f"torch.optim.AdamW(model.parameters(), lr={settings.lr:g})",
        "rmsprop": f"torch.optim.RMSprop(model.parameters(), lr={settings.lr:g})",
    }[settings.optimizer]
    return f'''"""{spec["label"]}: the notes' CNN, {settings.epochs} epoch(s) on {settings.n_train:,} images
({OPTIMIZER_LABELS[settings.optimizer]}, lr {settings.lr:g}, batch {settings.batch_size}), then its feature maps."""
import torch
from torch import nn
from torch.utils.data import DataLoader, Subset
from torchvision import datasets, transforms
from torchvision.models.feature_extraction import create_feature_extractor

torch.manual_seed({settings.seed})
device = "cuda" if torch.cuda.is_available() else "cpu"

{data}
train_set = Subset(train_set, torch.randperm(len(train_set))[:{settings.n_train}].tolist())
train_loader = DataLoader(train_set, batch_size={settings.batch_size}, shuffle=True)
test_loader = DataLoader(test_set, batch_size=1000)

{model_code}
model = model.to(device)
criterion = nn.CrossEntropyLoss()
optimizer = {optimizer}

for epoch in range({settings.epochs}):
    model.train()
    for images, labels in train_loader:
        images, labels = images.to(device), labels.to(device)
        optimizer.zero_grad()
        loss = criterion(model(images), labels)
        loss.backward()
        optimizer.step()
    model.eval()
    correct = 0
    with torch.no_grad():
        for images, labels in test_loader:
            correct += (model(images.to(device)).argmax(1) == labels.to(device)).sum().item()
    print(f"epoch {{epoch + 1}}: loss {{loss.item():.4f}}, test accuracy {{100 * correct / len(test_set):.2f}}%")

# Feature maps of one test image, read from the same model at the layers' indices (no copy).
extractor = create_feature_extractor(model, return_nodes={stages!r})
with torch.no_grad():
    maps = extractor(test_set[0][0].unsqueeze(0).to(device))
for name, value in maps.items():
    print(name, tuple(value.shape))
'''
