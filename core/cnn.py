"""The notes' CNNs (MNIST, CIFAR-10): the shape calculator's report, conv/pool by hand,
training settings and data, feature maps by hooks, and the pictures of filters and maps."""
import functools
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from core import augment, shapes
from core.augment import Augment
from core.data import (
    CIFAR10_CLASSES,
    NOTEBOOK_MEAN,
    NOTEBOOK_STD,
    DataError,
    OfflineError,
    load_cifar10,
    load_cifar10_full,
    load_mnist,
    normalize,
)
from core.digits import canvas_to_mnist
from core.engine import WIDE_STEP_SECONDS, Costs, TrainConfig, build_seeded, combined, evaluate, measure_costs, train
from core.models import with_weights
from core.words import Words, words

# --- The shape calculator ---------------------------------------------------------------------


@dataclass
class StackReport:
    """What the shape calculator shows for the stack typed into its editor."""
    layers: list[dict]                      # the editor's rows as layer dicts (not yet checked)
    rows: list[dict]                        # the trace; with an error, of the layers before it
    error: shapes.StackError | None = None  # where and why torch would refuse the stack
    check: dict | None = None               # shapes.check_against_torch, when there is a stack to run

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.rows)

    def metrics(self, input_shape) -> dict[str, str]:
        """The totals under the table: parameters, output shape, Flatten size, last receptive field."""
        spatial = [r["receptive_field"] for r in self.rows if r["receptive_field"] is not None]
        flat = next((r["output_shape"][0] for r in self.rows if r["type"] == "flatten"), None)
        total = shapes.summary(input_shape, self.rows)
        return {"params": f"{total['params']:,}", "output": "×".join(str(d) for d in total["output_shape"]),
                "flatten": f"{flat:,}" if flat is not None else "—",
                "rf": f"{spatial[-1]}×{spatial[-1]}" if spatial else "—"}

    @property
    def verdict(self) -> str | None:
        """The torch cross-check: "ok" (same shapes and parameters), "refused" (torch refuses the
        stack, as trace did), "failed" (trace and torch disagree), None (not run)."""
        if self.check is None:
            return None
        return ("ok" if self.ok else "refused") if self.check["matches"] else "failed"


def stack_table(layers: list[dict]) -> pd.DataFrame:
    """The layer editor's rows: type, out, kernel, stride, padding (whole numbers or blank)."""
    return pd.DataFrame(shapes.layers_to_table(layers), columns=["type", "out", "kernel", "stride", "padding"]
                        ).astype({"out": "Int64", "kernel": "Int64", "stride": "Int64", "padding": "Int64"})


def calculate(input_shape, records: list[dict]) -> StackReport:
    """Trace the editor's rows; on a refused stack, the layers before the failing one still trace.

    Torch runs the stack too (a real forward pass, or the meta device for huge stacks), unless
    the input itself is refused.
    """
    records = [{k: (None if pd.isna(v) else v) for k, v in row.items()} for row in records]  # pd.NA -> None
    layers = shapes.layers_from_table(records)
    if not layers:
        return StackReport(layers, [])
    try:
        rows = shapes.trace(input_shape, layers)
        return StackReport(layers, rows, None, shapes.check_against_torch(input_shape, layers))
    except shapes.StackError as exc:
        error = exc
    rows = []
    if error.layer and error.layer > 1:
        try:
            rows = shapes.trace(input_shape, layers[:error.layer - 1])
        except shapes.StackError:
            rows = []
    check = shapes.check_against_torch(input_shape, layers) if error.layer is not None else None
    return StackReport(layers, rows, error, check)


# --- The two models ---------------------------------------------------------------------------

DATASETS = {  # their names on the page are content sections dataset_<key>
    "mnist": {"input": (1, 28, 28), "stack": shapes.MNIST_SIMPLECNN,
              "classes": tuple(str(d) for d in range(10)), "mean": (NOTEBOOK_MEAN,),
              "std": (NOTEBOOK_STD,)},
    "cifar": {"input": (3, 32, 32), "stack": shapes.CIFAR_SIMPLECNN, "classes": CIFAR10_CLASSES,
              "mean": (NOTEBOOK_MEAN,) * 3, "std": (NOTEBOOK_STD,) * 3},
}
TEST_SEED = 1  # the seeded shuffle that picks the test subset (the recipe uses the same)


@dataclass
class CNNSettings:
    dataset: str = "mnist"      # "mnist" or "cifar"
    n_train: int = 10_000       # training images (a seeded, class-mixed subset)
    n_test: int = 2_000         # test images used for the per-epoch test accuracy
    epochs: int = 2             # passes over the training images
    batch_size: int = 64        # the notebook's batch size
    lr: float = 0.001           # Adam's usual step size
    optimizer: str = "adam"     # one of core.engine.OPTIMIZERS
    seed: int = 0               # same seed -> same initial filters, same batch order
    full_cifar: bool = False    # the full CIFAR-10 via torchvision's download (needs the internet)
    augment: Augment = Augment()  # none: the augmentation section switches it on

    def train_config(self) -> TrainConfig:
        """The engine's settings: about ten batch points per epoch on the live chart."""
        return TrainConfig(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
                           optimizer=self.optimizer, seed=self.seed,
                           log_every=max(1, math.ceil(self.n_train / self.batch_size) // 10))


LR_CHOICES = (0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 1.0)  # the learning-rate slider's stops
BATCH_CHOICES = (16, 32, 64, 128, 256)  # the batch-size slider's stops


def image_counts(dataset: str, full_cifar: bool = False) -> list[int]:
    """Training-set sizes offered: up to all of MNIST, the embedded CIFAR subset, or the full CIFAR-10."""
    more = {"mnist": [20_000, 60_000], "cifar": [20_000, 50_000] if full_cifar else []}[dataset]
    return [1_000, 2_000, 5_000, 10_000] + more


DEFAULTS = {"mnist": CNNSettings(),  # the page's starting settings per dataset
            "cifar": CNNSettings(dataset="cifar", n_train=10_000, epochs=3)}


def build_cnn(dataset: str, seed: int = 0) -> nn.Sequential:
    """The notes' SimpleCNN for `dataset` as an nn.Sequential named conv1, relu1, pool1, ...

    MNIST: conv 1→6 3×3, pool, conv 6→16 3×3, pool, fc 400→120→84→10 (the notes' layers with
    the flatten size corrected for 28×28). CIFAR: conv 3→32→64 (padding 1), two pools, fc
    4096→512→10. The same seed gives the same initial weights.
    """
    spec = DATASETS[dataset]
    return build_seeded(lambda: shapes.build_module(spec["input"], spec["stack"]), seed)


def model_from(settings: CNNSettings, state_dict: dict | None = None) -> nn.Sequential:
    """The model of a run, rebuilt in eval mode: its seeded start, or its weights from `state_dict`."""
    model = build_cnn(settings.dataset, settings.seed)
    return model.eval() if state_dict is None else with_weights(model, state_dict)


def feature_stages(model: nn.Module) -> list[str]:
    """The named conv / ReLU / pool layers before Flatten: where feature maps are taken."""
    names = []
    for name, module in model.named_children():
        if isinstance(module, nn.Flatten):
            break
        names.append(name)
    return names


def stage_shapes(dataset: str) -> dict[str, tuple]:
    """Each feature stage's output shape as the shape calculator's trace predicts it, by layer name."""
    spec = DATASETS[dataset]
    model = shapes.build_module(spec["input"], spec["stack"], device="meta")  # names only, no weights
    predicted = dict(zip([name for name, _ in model.named_children()],
                         [r["output_shape"] for r in shapes.trace(spec["input"], spec["stack"])]))
    return {name: predicted[name] for name in feature_stages(model)}


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


def full_cifar_problem() -> Words | None:
    """Load the full CIFAR-10 (downloaded once); None when it is there, else why not (offline)."""
    try:
        load_cifar10_full(True)
    except OfflineError as exc:
        if exc.words is not None:
            return exc.words
        if exc.__cause__ is not None:  # the download started and broke: the library's own reason
            return words("cnn.full_cifar_download_failed", error=str(exc.__cause__))
        return words("cnn.full_cifar_no_internet")
    return None


def input_transform(dataset: str):
    """uint8 batch (N, C, H, W) -> the notebook's Normalize((0.5,...), (0.5,...)) floats."""
    spec = DATASETS[dataset]
    return lambda batch: normalize(batch, spec["mean"], spec["std"])


def train_events(model: nn.Module, settings: CNNSettings, device: torch.device):
    """The engine's event generator for the settings (train subset, test subset as validation)."""
    train_data = load_split(settings.dataset, True, settings.n_train, settings.seed, settings.full_cifar)
    test_data = load_split(settings.dataset, False, settings.n_test, TEST_SEED, settings.full_cifar)
    return train(model, train_data, settings.train_config(), device, val_data=test_data,
                 transform=train_transform(model, settings))


def train_transform(model: nn.Module, settings: CNNSettings):
    """The engine's batch transform: the settings' augmentation on training batches (its own
    generator, seeded with the settings' seed), then the notebook's Normalize.

    engine.evaluate puts the model in eval mode before it transforms a batch: test images (and
    the clean training accuracy) are never augmented."""
    normal = input_transform(settings.dataset)
    if not settings.augment.active:
        return normal
    gen = augment.generator(settings.seed)

    def transform(batch: torch.Tensor) -> torch.Tensor:
        if model.training:
            batch = augment.augment_batch(batch, settings.augment, gen)
        return normal(batch)
    return transform


# --- With and without augmentation ------------------------------------------------------------

ARMS = ("plain", "augmented")  # the comparison's two trainings; their names are content sections
def estimate_seconds(settings: CNNSettings, device: torch.device) -> float:
    """Seconds one training with these settings takes here: a few real steps of the model,
    with its augmentation and normalization, timed once per model, batch size and augmentation
    (core.engine.measure_costs), scaled to every image and epoch, plus the test pass; a batch
    past the rows timed at no less than their average cost per row (its feature maps outgrow the
    caches: `Costs.at_least_average`)."""
    costs = _costs(settings.dataset, settings.batch_size, settings.optimizer, settings.augment, str(device))
    return costs.at_least_average().seconds(settings.n_train, settings.train_config(), settings.n_test)


@functools.lru_cache(maxsize=32)
def _costs(dataset: str, batch_size: int, optimizer: str, augmentation: Augment, device: str) -> Costs:
    if augmentation.active:  # the same steps, every batch augmented first: that part timed alone, per image
        plain = _costs(dataset, batch_size, optimizer, Augment(), device)
        per_image = _augment_seconds(dataset, augmentation)
        return replace(plain, step=plain.step + per_image * plain.batch, step_row=plain.step_row + per_image)
    settings = CNNSettings(dataset=dataset, n_train=8 * batch_size, n_test=640, batch_size=batch_size,
                           optimizer=optimizer, augment=augmentation)
    model = build_cnn(dataset, settings.seed)
    train_data = load_split(dataset, True, settings.n_train, settings.seed)
    test_data = load_split(dataset, False, settings.n_test, TEST_SEED)
    return measure_costs(model, train_data, settings.train_config(), torch.device(device), val_data=test_data,
                         transform=train_transform(model, settings), step_seconds=WIDE_STEP_SECONDS)


@functools.lru_cache(maxsize=32)
def _augment_seconds(dataset: str, augmentation: Augment, images: int = 64) -> float:
    """Seconds augmenting one training image takes here (a batch of `images`, the fastest of three)."""
    batch, _ = load_split(dataset, True, images, 0)
    gen, fastest = augment.generator(0), math.inf
    for _ in range(3):
        started = time.perf_counter()
        augment.augment_batch(batch, augmentation, gen)
        fastest = min(fastest, time.perf_counter() - started)
    return fastest / len(batch)


def compare_estimate(settings: CNNSettings, device: torch.device) -> float:
    """Both trainings of the comparison, each with its clean training accuracy after every epoch."""
    plain = replace(settings, augment=Augment())
    check = estimate_seconds(replace(plain, n_train=0, epochs=settings.epochs), device)  # the clean-accuracy passes
    return estimate_seconds(plain, device) + estimate_seconds(settings, device) + 2 * check


def compare_events(models: dict[str, nn.Module], settings: CNNSettings, device: torch.device) -> Iterator[dict]:
    """Train models["plain"] without augmentation, then models["augmented"] with
    `settings.augment`: the same seed, data, batch order and initial weights (build both with
    build_cnn(dataset, seed)). One run's events, each tagged "model" with its arm.

    Every epoch event also gets "clean_train_acc": the accuracy on the first n_test training
    images as they are, measured like the test accuracy. The engine's own train_acc is taken
    on the batches as trained (augmented ones, for the augmented arm), so the overfitting gap
    clean_train_acc − val_acc compares like with like.
    """
    train_x, train_y = load_split(settings.dataset, True, settings.n_train, settings.seed, settings.full_cifar)
    seen = (train_x[:settings.n_test], train_y[:settings.n_test])
    arms = {"plain": replace(settings, augment=Augment()), "augmented": settings}

    def phase(arm: str):
        def events():
            model = models[arm]
            for event in train_events(model, arms[arm], device):
                if event["kind"] == "epoch":
                    clean = evaluate(model, *seen, device, transform=input_transform(settings.dataset))
                    event = {**event, "clean_train_acc": clean["accuracy"]}
                yield event
        return events
    return combined([(arm, 1.0, phase(arm)) for arm in ARMS])  # the arms cost about the same (augmenting is cheap)


def comparison(history: list[dict]) -> dict[str, dict | None]:
    """Per arm, its last epoch's figures: train (clean), test, gap = train − test, epochs;
    None for an arm that finished no epoch."""
    result = {}
    for arm in ARMS:
        last = [e for e in history if e["kind"] == "epoch" and e.get("model") == arm]
        result[arm] = None if not last else {
            "train": last[-1]["clean_train_acc"], "test": last[-1]["val_acc"],
            "gap": last[-1]["clean_train_acc"] - last[-1]["val_acc"], "epochs": len(last)}
    return result


SMALL_GAP = 2.0  # percentage points: below this the plain model hardly overfits (one seed moves figures this much)
SAME_TEST = 1.0  # percentage points: test accuracies closer than this count as about the same


def comparison_verdict(figures: dict[str, dict | None]) -> Words | None:
    """What happened on this run, as it happened: did the plain model overfit at all, did
    augmentation narrow the train–test gap, and did it raise, keep or cost test accuracy? None
    until both arms finished an epoch."""
    plain, aug = figures["plain"], figures["augmented"]
    if plain is None or aug is None:
        return None
    change = aug["test"] - plain["test"]
    values = {"gap_plain": plain["gap"], "gap_aug": aug["gap"], "test_plain": plain["test"], "test_aug": aug["test"],
              "delta": abs(change), "change": change, "epochs": aug["epochs"]}
    if plain["gap"] < SMALL_GAP:
        key = "no_overfitting"
    elif aug["gap"] >= plain["gap"]:
        key = "not_narrowed"
    else:
        key = "narrowed_" + ("same" if abs(change) < SAME_TEST else "better" if change > 0 else "worse")
    return words(f"augment.verdict_{key}", **values)


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


def conv_filters(model: nn.Module, name: str = "conv1") -> np.ndarray:
    """The weights of one conv layer as (out_channels, in_channels, k, k)."""
    return dict(model.named_children())[name].weight.detach().float().cpu().numpy()


def filter_tiles(model: nn.Module, dataset: str) -> dict[str, np.ndarray]:
    """The filters the page draws: conv1 whole in colour (CIFAR) or its one input channel (MNIST),
    and the first input channel of conv2's first 8 (CIFAR) or 16 (MNIST) filters."""
    conv1, conv2 = conv_filters(model, "conv1"), conv_filters(model, "conv2")
    return {"conv1": conv1 if dataset == "cifar" else conv1[:, 0],
            "conv2": conv2[:8 if dataset == "cifar" else 16, 0]}


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


def tile_px(tiles: np.ndarray) -> int:
    """How large one tile is drawn: small maps and filters larger, many big maps smaller."""
    return 56 if tiles.shape[-1] <= 16 else (84 if len(tiles) <= 8 else 64)


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

def mnist_pixels(tensor: torch.Tensor | None) -> torch.Tensor | None:
    """core.digits.canvas_to_mnist's (1, 1, 28, 28) input back to (1, 28, 28) uint8 pixels.

    It normalizes with the notebook's (0.5, 0.5) from whole gray levels, so this is exact.
    """
    if tensor is None:
        return None
    pixels = tensor.reshape(1, 28, 28).float() * NOTEBOOK_STD + NOTEBOOK_MEAN
    return (pixels.clamp(0, 1) * 255).round().to(torch.uint8)


def upload_to_image(picture, dataset: str) -> torch.Tensor | None:
    """An uploaded picture (a file or a PIL image) -> the dataset's (C, H, W) uint8 input
    (None: no digit found). A file PIL cannot read raises PIL's error."""
    img = picture if isinstance(picture, Image.Image) else Image.open(picture)
    if dataset == "mnist":
        return mnist_pixels(canvas_to_mnist(np.asarray(img.convert("RGBA"))))
    side = min(img.size)  # centre square crop, then 32×32 like CIFAR
    left, top = (img.width - side) // 2, (img.height - side) // 2
    img = img.convert("RGB").crop((left, top, left + side, top + side)).resize((32, 32), Image.BILINEAR)
    return torch.from_numpy(np.asarray(img, dtype=np.uint8).copy()).permute(2, 0, 1)  # (3, 32, 32)


# --- Pooling, padding and convolution by hand -------------------------------------------------

POOL_EXAMPLE = [[2, 2, 7, 3], [9, 4, 6, 1], [8, 5, 2, 4], [3, 1, 2, 6]]  # the notes' 4×4 example
PAD_EXAMPLE = np.arange(1, 17).reshape(4, 4)  # the padding tab's 4×4 image, 1..16
CONV_EXAMPLE = np.array([[0, 0, 1, 2, 2], [0, 1, 2, 2, 1], [1, 2, 3, 1, 0], [2, 2, 1, 0, 0],
                         [2, 1, 0, 0, 0]])  # the convolution tab's 5×5 image: a bright diagonal ridge
KERNELS = {  # the convolution tab's 3×3 kernels; their names are content sections kernel_<key>
    "vertical": [[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]],
    "horizontal": [[-1, -1, -1], [0, 0, 0], [1, 1, 1]],
    "blur": [[1, 1, 1], [1, 1, 1], [1, 1, 1]],
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
}


def _out_size(size: int, k: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - k) // stride + 1


def pool_by_hand(x, kernel: int = 2, stride: int = 2, padding: int = 0, mode: str = "max"):
    """Max or average pooling cell by cell, as torch does (max pads with −inf; average pads with
    0 and divides by kernel², torch's count_include_pad=True). Returns (output, cells) where each
    cell has its window's rows/cols (in padded coordinates), values and the sum written out
    (numbers and symbols only: the same in every language).
    Settings torch refuses raise core.data.DataError, whose `words` name the content section.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.size == 0:
        raise DataError("cnn.hand_grid")
    if not np.isfinite(x).all():
        raise DataError("cnn.hand_number")
    if kernel < 1 or stride < 1 or padding < 0:
        raise DataError("cnn.hand_pool_sizes")
    if padding > kernel // 2:  # torch refuses it too
        raise DataError("cnn.hand_pool_padding", padding=padding, kernel=kernel, half=kernel // 2)
    oh, ow = _out_size(x.shape[0], kernel, stride, padding), _out_size(x.shape[1], kernel, stride, padding)
    if oh < 1 or ow < 1:
        raise DataError("cnn.hand_pool_fit", kernel=kernel, rows=x.shape[0], cols=x.shape[1])
    fill = -np.inf if mode == "max" else 0.0
    padded = np.pad(x, padding, constant_values=fill)
    out, cells = np.zeros((oh, ow)), []
    for i in range(oh):
        for j in range(ow):
            r0, c0 = i * stride, j * stride
            window = padded[r0:r0 + kernel, c0:c0 + kernel]
            vals = list(window.ravel())
            shown = ", ".join(f"{v:g}".replace("-inf", "−∞") for v in vals)  # max pads with −∞
            if mode == "max":
                out[i, j] = window.max()
                text = f"max({shown}) = {out[i, j]:g}"
            else:
                out[i, j] = window.sum() / (kernel * kernel)
                text = f"({' + '.join(f'{v:g}' for v in vals)}) / {kernel * kernel} = {out[i, j]:g}"
            cells.append({"row": i, "col": j, "rows": (r0, r0 + kernel), "cols": (c0, c0 + kernel),
                          "value": float(out[i, j]), "text": text})
    return out, cells


def pool_both(x, kernel: int, stride: int, padding: int) -> dict:
    """Max and average pooling by hand, and whether torch's max_pool2d / avg_pool2d agree."""
    max_out, max_cells = pool_by_hand(x, kernel, stride, padding, "max")
    avg_out, avg_cells = pool_by_hand(x, kernel, stride, padding, "avg")
    t = torch.tensor(np.asarray(x, dtype=np.float64))[None, None]
    same = (np.allclose(F.max_pool2d(t, kernel, stride, padding)[0, 0].numpy(), max_out)
            and np.allclose(F.avg_pool2d(t, kernel, stride, padding)[0, 0].numpy(), avg_out))
    return {"max": max_out, "max_cells": max_cells, "avg": avg_out, "avg_cells": avg_cells,
            "matches_torch": same}


PAD_MODES = {"zero": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}  # -> numpy
TORCH_PAD = {"zero": ("constant", "zeros"), "reflect": ("reflect", "reflect"),  # F.pad's mode, Conv2d's
             "replicate": ("replicate", "replicate"), "circular": ("circular", "circular")}


def pad_by_hand(x, padding: int, mode: str = "zero") -> np.ndarray:
    """Zero, reflect (mirror without repeating the edge), replicate (repeat the edge) or circular
    (wrap around: the opposite edge continues) padding."""
    x = np.asarray(x, dtype=np.float64)
    if padding < 0:
        raise DataError("cnn.hand_pad_negative")
    if mode == "reflect" and padding >= min(x.shape):  # torch refuses it too
        raise DataError("cnn.hand_reflect", side=min(x.shape))
    if mode == "circular" and padding > min(x.shape):  # torch refuses it too
        raise DataError("cnn.hand_circular", side=min(x.shape))
    return np.pad(x, padding, mode=PAD_MODES[mode])


def padding_modes(x, padding: int, kernel) -> dict[str, dict]:
    """Each padding mode on the image `x` with a convolution of `kernel` (stride 1, no bias):
    the padded image and the output by hand, and whether torch agrees on both, F.pad(mode=...)
    and nn.Conv2d(padding_mode=...). `touched` marks the output cells whose window reaches into
    the padding: only they differ between the modes. A mode torch refuses for this padding
    gives {"error": Words} instead."""
    x, w = np.asarray(x, dtype=np.float64), np.asarray(kernel, dtype=np.float64)
    t = torch.tensor(x)[None, None]
    k = w.shape[0]
    results = {}
    for mode, (pad_mode, conv_mode) in TORCH_PAD.items():
        try:
            padded = pad_by_hand(x, padding, mode)
        except DataError as exc:
            results[mode] = {"error": exc.words}
            continue
        out = conv_by_hand(padded, w)
        conv = nn.Conv2d(1, 1, k, padding=padding, padding_mode=conv_mode, bias=False, dtype=torch.float64)
        with torch.no_grad():
            conv.weight.copy_(torch.tensor(w)[None, None])
            ref_out = conv(t)[0, 0].numpy()
        ref_pad = F.pad(t, (padding,) * 4, mode=pad_mode)[0, 0].numpy()
        rows, cols = np.arange(out.shape[0]), np.arange(out.shape[1])
        inside = ((rows >= padding) & (rows + k <= padding + x.shape[0]))[:, None] & \
                 ((cols >= padding) & (cols + k <= padding + x.shape[1]))[None, :]
        results[mode] = {"padded": padded, "out": out, "touched": ~inside,
                         "matches_torch": bool(np.array_equal(ref_pad, padded) and np.allclose(ref_out, out))}
    return results


def conv_by_hand(x, kernel, stride: int = 1, padding: int = 0) -> np.ndarray:
    """2-D cross-correlation (what nn.Conv2d computes, no bias) with zero padding."""
    x, w = np.asarray(x, dtype=np.float64), np.asarray(kernel, dtype=np.float64)
    if stride < 1 or padding < 0:
        raise DataError("cnn.hand_conv_sizes")
    padded = np.pad(x, padding)
    k = w.shape[0]
    oh, ow = _out_size(x.shape[0], k, stride, padding), _out_size(x.shape[1], k, stride, padding)
    if oh < 1 or ow < 1:
        raise DataError("cnn.hand_conv_fit", kernel=k, rows=padded.shape[0], cols=padded.shape[1])
    out = np.zeros((oh, ow))
    for i in range(oh):
        for j in range(ow):
            out[i, j] = (padded[i * stride:i * stride + k, j * stride:j * stride + k] * w).sum()
    return out


def conv_both(x, kernel, stride: int, padding: int) -> dict:
    """The convolution by hand, whether torch's conv2d agrees, and whether the size was floored."""
    out = conv_by_hand(x, kernel, stride, padding)
    ref = F.conv2d(torch.tensor(np.asarray(x), dtype=torch.float64)[None, None],
                   torch.tensor(np.asarray(kernel), dtype=torch.float64)[None, None],
                   stride=stride, padding=padding)[0, 0].numpy()
    return {"out": out, "matches_torch": bool(np.allclose(ref, out)),
            "floored": (len(x) + 2 * padding - len(kernel)) % stride != 0}


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


# --- Figures: what a section shows, by name (core.lessons reads them) -------------------------

@dataclass(frozen=True)
class ShapeSettings:
    """The shape calculator's preset, as the page's widget holds it (keys in FIGURES below)."""
    preset: str = "worked_example"  # a key of core.shapes.PRESETS: the page's first


@dataclass(frozen=True)
class ConvSettings:
    """The convolution tab's settings, as the page's widgets hold them."""
    kernel: str = "vertical"  # a key of KERNELS: the page's first
    stride: int = 1
    padding: int = 0


def shape_figures(s: ShapeSettings) -> dict:
    """flatten: the numbers per sample Flatten passes on (None without a Flatten), parameters."""
    input_shape, layers = shapes.preset(s.preset)
    rows = shapes.trace(input_shape, layers)
    flatten = next((r["output_shape"][0] for r in rows if r["type"] == "flatten"), None)
    return {"flatten": flatten, "parameters": shapes.summary(input_shape, rows)["params"]}


def conv_figures(s: ConvSettings) -> dict:
    """output_size: the rows (= columns) of the convolution of the 5×5 CONV_EXAMPLE."""
    return {"output_size": int(conv_by_hand(CONV_EXAMPLE, np.array(KERNELS[s.kernel]), s.stride, s.padding).shape[0])}


FIGURES = {  # computed sections: their settings dataclass, figures, reader, and page widget -> settings field
    "cnn_shapes": {"settings": ShapeSettings, "figures": ("flatten", "parameters"), "read": shape_figures,
                   "keys": {"cnn_preset": "preset"}},
    "cnn_conv": {"settings": ConvSettings, "figures": ("output_size",), "read": conv_figures,
                 "keys": {"cnn_conv_kernel": "kernel", "cnn_conv_stride": "stride", "cnn_conv_padding": "padding"}},
}
