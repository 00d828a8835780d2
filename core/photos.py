"""The learner's own photos: 2-5 classes they name, a few photos each, learned by the shipped
CIFAR-5 backbone (core.transfer) two ways, frozen + a new head and full fine-tuning.

Photos are decoded once with Pillow (upright, RGB, centre-cropped to a square, shrunk to the
backbone's 32x32 input) under hard limits: bytes, pixels (a decompression bomb is refused
before it is decoded), photos per class and classes. A stratified held-out split keeps a few
photos of every class out of training; the results read that split only. Plain PyTorch; the
ResNet page's section (views/resnet/photos.py) draws what these return and keeps the photos in
the session only: nothing here writes them anywhere.
"""
import functools
import hashlib
import io
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageOps
from sklearn.metrics import confusion_matrix
from sklearn.model_selection import train_test_split
from torch import nn

from core import data, engine, transfer
from core.engine import TrainConfig, build_seeded, combined
from core.models import with_weights
from core.words import LearnerError, Words, words

SIZE = 32                    # the backbone's input: it was pretrained on 32x32 CIFAR images
THUMB = 64                   # the square the page shows a photo in (kept beside the 32x32 input)
MAX_MB = 10                  # bytes per photo, as .streamlit/config.toml's maxUploadSize refuses them
MAX_BYTES = MAX_MB * 2**20
MAX_PIXELS = 40_000_000      # width x height read from the header before decoding: a 40-megapixel
                             # camera passes, a decompression bomb (a tiny file of huge pixels) does not
MIN_PER_CLASS = 5            # photos a class needs: a few to learn from and one or more held out
MAX_PER_CLASS = 100          # photos a class may hold: the rest are left out, and the page says so
MIN_CLASSES, MAX_CLASSES = 2, 5
MAX_NAME = 40                # characters of a class name: longer ones are cut (and the page says so)
MODES = ("frozen", "finetune")  # the two ways the backbone learns the photos, in the order they train
FORMATS = "JPEG, PNG, WebP, GIF, BMP, TIFF"  # what the learner is told Pillow reads (it reads more)


@dataclass
class Photo:
    """One decoded photo: the model's input and the picture the page shows."""
    pixels: np.ndarray   # (32, 32, 3) uint8, the backbone's input before normalizing
    thumb: np.ndarray    # (64, 64, 3) uint8, the same square for the eye
    name: str            # the file name as uploaded (the learner's text: escape it in Markdown)
    digest: str          # SHA-256 of the file's bytes: the same photo twice is one photo


def digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def decode(raw: bytes, name: str = "") -> Photo:
    """An uploaded or camera photo as a Photo, or LearnerError with words for the learner.

    Pillow reads only the header before the size checks; a JPEG is then decoded at a reduced
    scale (draft), so a phone's 12-megapixel photo costs a fraction of a full decode."""
    if len(raw) > MAX_BYTES:
        raise LearnerError("photos.too_large", name=name, mb=len(raw) / 2**20, limit=MAX_MB)
    if not raw:
        raise LearnerError("photos.empty", name=name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)  # Pillow's own bomb check, as an error
            with Image.open(io.BytesIO(raw)) as img:
                if img.width * img.height > MAX_PIXELS:
                    raise LearnerError("photos.too_many_pixels", name=name, width=img.width, height=img.height,
                                       limit=MAX_PIXELS / 1e6)
                img.draft("RGB", (2 * THUMB, 2 * THUMB))  # JPEG only: decode at 1/2..1/8 scale, never below this
                upright = ImageOps.exif_transpose(img).convert("RGB")
    except LearnerError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:  # past Pillow's own limit
        raise LearnerError("photos.bomb", name=name, limit=MAX_PIXELS / 1e6) from exc
    except Exception as exc:  # HEIC, not a picture, truncated, a bomb: one message, never Pillow's words
        raise LearnerError("photos.unreadable", name=name, formats=FORMATS) from exc
    square = ImageOps.fit(upright, (THUMB, THUMB), Image.Resampling.LANCZOS)  # centre crop: no squashing
    small = square.resize((SIZE, SIZE), Image.Resampling.LANCZOS)
    return Photo(np.asarray(small).copy(), np.asarray(square).copy(), name, digest(raw))


def clean_name(text: str) -> str:
    """A class name as typed, spaces collapsed, cut to MAX_NAME characters."""
    return " ".join(str(text).split())[:MAX_NAME]


def check(names: list[str], counts: list[int]) -> list[Words]:
    """What stops training on these classes (each a message); [] when they can train.

    `names` and `counts` are the classes the learner filled in (a name or photos), names cleaned."""
    problems = []
    if len(names) < MIN_CLASSES:
        problems.append(words("photos.too_few_classes", least=MIN_CLASSES, found=len(names)))
    if len(names) > MAX_CLASSES:
        problems.append(words("photos.too_many_classes", most=MAX_CLASSES, found=len(names)))
    for i, (name, count) in enumerate(zip(names, counts), start=1):
        if not name:
            problems.append(words("photos.no_name", number=i))
        if count < MIN_PER_CLASS:
            problems.append(words("photos.too_few_photos", number=i, name=name, count=count, least=MIN_PER_CLASS))
    seen = {}  # a name as compared (letter case aside) -> the first class that has it
    for i, name in enumerate(names, start=1):
        if name and name.casefold() in seen:
            first = seen[name.casefold()]
            problems.append(words("photos.same_name", name=names[first - 1], first=first, number=i))
        seen.setdefault(name.casefold(), i)
    return problems


# --- Settings and data ---------------------------------------------------------------------

@dataclass
class PhotoSettings:
    """What a run of the section depends on; the photos themselves stay out (only their counts)."""
    classes: tuple[str, ...] = ()  # the learner's class names, in the order the page shows them
    counts: tuple[int, ...] = ()   # photos of each class (after the limits)
    epochs: int = 20               # passes over the training photos, the same for both models
    batch_size: int = 16           # photos per optimizer step (fewer when there are fewer photos)
    lr: float = 3e-3               # Adam's learning rate for the new head (both models): a few dozen
                                   # photos give few steps, so larger than the CIFAR section's 1e-3
    backbone_lr: float = 1e-3      # fine-tuning: the pretrained layers learn 3x slower than the head; photos
                                   # unlike CIFAR's (shapes, faces) need their features moved, not kept
    test_share: float = 0.25       # photos of every class held out for the results, never trained on
    seed: int = 0                  # same split, same new head, same batch order for both models

    @property
    def n_test(self) -> int:
        return math.ceil(self.test_share * sum(self.counts))  # as scikit-learn's train_test_split counts it

    @property
    def n_train(self) -> int:
        return sum(self.counts) - self.n_test

    def train_config(self) -> TrainConfig:
        batch = max(1, min(self.batch_size, self.n_train))
        steps = self.epochs * math.ceil(max(self.n_train, 1) / batch)
        return TrainConfig(epochs=self.epochs, batch_size=batch, lr=self.lr, optimizer="adam", seed=self.seed,
                           log_every=max(1, steps // 40))


def prepare(settings: PhotoSettings, photos: list[list[Photo]]) -> dict:
    """The photos of each class as normalized tensors, split into training and held-out photos
    stratified by class (every class keeps at least one photo out). "test_digests" names the
    held-out photos in the order of x_test, so the page can show them from the session."""
    if len(photos) != len(settings.classes) or [len(p) for p in photos] != list(settings.counts):
        raise ValueError("the photos do not match the settings' classes and counts")
    flat = [p for group in photos for p in group]
    labels = np.array([c for c, group in enumerate(photos) for _ in group])
    train_idx, test_idx = train_test_split(np.arange(len(flat)), test_size=settings.test_share,
                                           stratify=labels, random_state=settings.seed)
    pixels = torch.from_numpy(np.stack([p.pixels for p in flat])).permute(0, 3, 1, 2)
    x = data.normalize(pixels, data.CIFAR10_MEAN, data.CIFAR10_STD)
    y = torch.from_numpy(labels)
    train_idx, test_idx = torch.from_numpy(np.sort(train_idx)), torch.from_numpy(np.sort(test_idx))
    return {"x_train": x[train_idx], "y_train": y[train_idx], "x_test": x[test_idx], "y_test": y[test_idx],
            "test_digests": [flat[i].digest for i in test_idx.tolist()]}


def as_input(photo: Photo) -> torch.Tensor:
    """One photo as the backbone's (1, 3, 32, 32) normalized input."""
    pixels = torch.from_numpy(photo.pixels).permute(2, 0, 1).unsqueeze(0)
    return data.normalize(pixels, data.CIFAR10_MEAN, data.CIFAR10_STD)


# --- Models and training -------------------------------------------------------------------

def build_model(classes: int, mode: str, backbone: transfer.Backbone | None = None,
                seed: int = 0) -> transfer.TransferNet:
    """The shipped backbone (a fresh copy) and a new seeded head of `classes` outputs; frozen or not."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    body = transfer.Backbone()
    body.load_state_dict((backbone if backbone is not None else transfer.load_backbone()).state_dict())
    head = build_seeded(lambda: transfer.new_head(classes), seed)
    return transfer.TransferNet(body, head, frozen=mode == "frozen")


def build_models(settings: PhotoSettings, backbone: transfer.Backbone | None = None) -> dict[str, transfer.TransferNet]:
    """Both models, each with the same new head's starting weights."""
    backbone = backbone if backbone is not None else transfer.load_backbone()
    return {mode: build_model(len(settings.classes), mode, backbone, settings.seed) for mode in MODES}


def restore(state_dict: dict, classes: int, mode: str) -> transfer.TransferNet:
    """A kept run's model, in eval mode."""
    return with_weights(transfer.TransferNet(transfer.Backbone(), transfer.new_head(classes), frozen=mode == "frozen"),
                        state_dict)


def train_events(settings: PhotoSettings, models: dict[str, transfer.TransferNet], task: dict,
                 device: torch.device) -> Iterator[dict]:
    """Both models trained one after the other on the same training photos, scored on the held-out
    ones after every epoch: the engine's events, tagged "model". The frozen model trains its head
    on features computed once (its backbone gives the same features every epoch)."""
    config = settings.train_config()

    def frozen() -> Iterator[dict]:
        return transfer.train_frozen(models["frozen"], task, config, device)

    def finetune() -> Iterator[dict]:
        return transfer.train_finetuned(models["finetune"], task, config, device, settings)

    costs = work(settings, device)
    return combined([(mode, costs[mode], factory) for mode, factory in zip(MODES, (frozen, finetune))])


# --- Time estimate -------------------------------------------------------------------------

@functools.lru_cache(maxsize=8)
def _costs(batch_size: int, device: str) -> engine.Costs:
    """The whole network (backbone + a two-class head) on random 32x32 images: steps and scoring."""
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(8 * batch_size, 3, SIZE, SIZE, generator=generator)
    y = torch.randint(0, MIN_CLASSES, (8 * batch_size,), generator=generator)
    model = transfer.TransferNet(transfer.Backbone(), transfer.new_head(MIN_CLASSES))
    return engine.measure_costs(model, (x, y), TrainConfig(batch_size=batch_size, optimizer="adam"),
                                torch.device(device), val_data=(x, y))


@functools.lru_cache(maxsize=8)
def _head_costs(batch_size: int, device: str) -> engine.Costs:
    """The frozen model's head alone on random features (its training, once features are made)."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(8 * batch_size, transfer.FEATURES, generator=generator)
    y = torch.randint(0, MIN_CLASSES, (8 * batch_size,), generator=generator)
    return engine.measure_costs(transfer.new_head(MIN_CLASSES), (x, y),
                                TrainConfig(batch_size=batch_size, optimizer="adam"), torch.device(device),
                                val_data=(x, y))


def work(settings: PhotoSettings, device: torch.device) -> dict[str, float]:
    """Seconds each model needs here, from a few real steps timed once per batch size."""
    config = settings.train_config()
    timed = engine.timed_batch(config.batch_size)
    costs = _costs(timed, str(device)).at_batch(config.batch_size)
    head = _head_costs(timed, str(device)).at_batch(config.batch_size)
    n_train, n_test = settings.n_train, settings.n_test
    features = 2 * costs.eval_fixed + costs.eval_row * (n_train + n_test)  # one pass over each split
    return {"frozen": features + head.seconds(n_train, config, n_test),
            "finetune": costs.seconds(n_train, config, n_test)}


def estimate_seconds(settings: PhotoSettings, device: torch.device) -> float:
    """Both models' training on this machine, now."""
    return sum(work(settings, device).values())


# --- Results -------------------------------------------------------------------------------

@torch.no_grad()
def results(settings: PhotoSettings, models: dict[str, nn.Module], task: dict) -> dict:
    """Each model on the held-out photos: accuracy, per-class accuracy (%), the confusion matrix
    (rows: the true class, columns: the answer) and the photos it got wrong, as positions in the
    held-out set with the true class, the answer and how sure it was."""
    classes = len(settings.classes)
    truth = task["y_test"].numpy()
    found = {}
    for mode, model in models.items():
        probs = engine.predict(model.cpu(), task["x_test"], torch.device("cpu"), softmax=True).numpy()
        answer = probs.argmax(axis=1)
        matrix = confusion_matrix(truth, answer, labels=list(range(classes)))
        per_class = [100.0 * matrix[c, c] / matrix[c].sum() if matrix[c].sum() else None for c in range(classes)]
        wrong = [{"position": int(i), "truth": int(truth[i]), "answer": int(answer[i]),
                  "confidence": float(probs[i, answer[i]])} for i in np.flatnonzero(answer != truth)]
        found[mode] = {"accuracy": 100.0 * float((answer == truth).mean()), "per_class": per_class,
                       "confusion": matrix.tolist(), "wrong": wrong}
    return {"models": found, "test_digests": list(task["test_digests"]), "truth": truth.tolist(),
            "n_train": len(task["y_train"]),
            "n_test": len(truth), "chance": 100.0 * np.bincount(truth, minlength=classes).max() / max(len(truth), 1)}


@torch.no_grad()
def probabilities(model: nn.Module, photo: Photo) -> np.ndarray:
    """The model's softmax over the learner's classes for one photo."""
    return engine.predict(model.cpu(), as_input(photo), torch.device("cpu"), softmax=True)[0].numpy()


@torch.no_grad()
def feature_maps(model: transfer.TransferNet, photo: Photo, channels: int = 8,
                 size: int = 48) -> list[tuple[str, np.ndarray]]:
    """What the backbone sees in one photo: the first `channels` maps after the stem and after
    each residual stage, as (layer, (channels, size, size) in 0..1, each map scaled on its own
    and enlarged without smoothing, so a 4x4 map shows its 16 cells)."""
    backbone = model.backbone.cpu().eval()
    layers = [("stem", backbone.stem)] + [(f"stage{i + 1}", stage) for i, stage in enumerate(backbone.stages)]
    found = {}
    hooks = [layer.register_forward_hook(lambda _m, _i, out, name=name: found.__setitem__(name, out[0]))
             for name, layer in layers]
    try:
        backbone(as_input(photo))
    finally:
        for hook in hooks:
            hook.remove()
    maps = []
    for name, _ in layers:
        fmap = found[name][:channels]
        low = fmap.amin(dim=(1, 2), keepdim=True)
        span = (fmap.amax(dim=(1, 2), keepdim=True) - low).clamp_min(1e-8)
        scaled = (fmap - low) / span
        maps.append((name, nn.functional.interpolate(scaled[None], size=(size, size), mode="nearest")[0].numpy()))
    return maps
