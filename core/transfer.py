"""Transfer learning offline: a small residual backbone pretrained on five CIFAR-10 classes of
the embedded subset (data/models/cifar5_backbone.pt, rebuilt by
scripts/build_cifar5_backbone.py) and reused on the other five with few labels.

Three ways to learn the new classes from the same images and the same seed:
  scratch   the same network with random weights, every layer learns;
  frozen    the pretrained backbone with requires_grad = False, only a new head learns
            (feature extraction: the backbone's features are computed once);
  finetune  the pretrained backbone and a new head both learn, the backbone with a smaller
            learning rate so the features it brings are adjusted, not overwritten.
Plain PyTorch; the page (views/resnet/transfer.py) draws what these return.
"""
import functools
import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import torch
from torch import nn

from core import data, engine
from core.engine import TrainConfig, build_seeded, combined, evaluate, train
from core.resnet import BasicBlock

SOURCE_CLASSES = (0, 1, 2, 3, 4)  # airplane, automobile, bird, cat, deer: the backbone learns these
TARGET_CLASSES = (5, 6, 7, 8, 9)  # dog, frog, horse, ship, truck: the learner's new task
WIDTHS = (16, 32, 64)             # channels of the three residual stages (16x16, 8x8, 4x4)
FEATURES = WIDTHS[-1]             # what the backbone hands the head, per image
BACKBONE_PATH = data.DATA_DIR / "models" / "cifar5_backbone.pt"
MODES = ("scratch", "frozen", "finetune")  # the order they train and are shown in
PER_CLASS_CHOICES = (10, 20, 50, 100, 200, 500)  # labelled training images per new class
SWEEP_SIZES = (10, 50, 200, 500)  # the accuracy-vs-labels chart's data sizes


class Backbone(nn.Module):
    """stem conv3x3 with stride 2 -> three torchvision-style BasicBlocks (16, 32, 64 channels;
    the last two halve the image again) -> global average pool: (N, 3, 32, 32) -> (N, 64).

    The stride-2 stem (32 -> 16) makes every later layer four times cheaper, so fine-tuning
    several models stays quick on a laptop CPU; 16 -> 8 -> 4 pixels still leave the last stage
    a 4x4 grid of 64 features to pool."""

    def __init__(self, widths: tuple[int, ...] = WIDTHS):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, widths[0], 3, stride=2, padding=1, bias=False),
                                  nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True))
        blocks, channels = [], widths[0]
        for i, width in enumerate(widths):
            blocks.append(BasicBlock(channels, width, stride=1 if i == 0 else 2))
            channels = width
        self.stages = nn.Sequential(*blocks)
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())  # (N, C, h, w) -> (N, C)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.stages(self.stem(x)))


class TransferNet(nn.Module):
    """backbone -> new head. With `frozen`, the backbone stays in eval mode even while the
    model trains: requires_grad = False stops its weights, eval() stops BatchNorm's running
    averages (buffers, not parameters, which requires_grad does not touch)."""

    def __init__(self, backbone: Backbone, head: nn.Module, frozen: bool = False):
        super().__init__()
        self.backbone, self.head, self.frozen = backbone, head, frozen
        if frozen:
            for p in backbone.parameters():
                p.requires_grad = False  # no gradient is computed or stored for these weights

    def train(self, mode: bool = True) -> "TransferNet":
        super().train(mode)
        if self.frozen:
            self.backbone.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))


def new_head(classes: int = len(TARGET_CLASSES)) -> nn.Linear:
    return nn.Linear(FEATURES, classes)  # (N, 64) -> (N, 5)


def parameter_counts(model: nn.Module) -> dict:
    """{"trainable": ..., "frozen": ...}: parameters that do / do not get gradients."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"trainable": trainable, "frozen": sum(p.numel() for p in model.parameters()) - trainable}


# --- Data: the embedded subset, split into the backbone's classes and the new ones ---------

def relabel(y: torch.Tensor, classes: tuple[int, ...]) -> torch.Tensor:
    """CIFAR-10 labels of `classes` -> 0..len(classes)-1 in that order."""
    lookup = torch.full((10,), -1, dtype=torch.int64)
    lookup[list(classes)] = torch.arange(len(classes))
    return lookup[y]


def class_split(classes: tuple[int, ...], train: bool, per_class: int | None = None,
                seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalized images (N, 3, 32, 32) and labels 0..4 of `classes` from the embedded subset.

    `per_class` keeps that many images of each class, drawn at random with `seed` (the same
    seed picks the same images for every model); None keeps all (1,000 per class in training,
    200 in test), in a seeded shuffled order.
    """
    x, y = data.load_cifar10(train)
    gen = torch.Generator().manual_seed(seed)
    chosen = []
    for c in classes:
        idx = torch.nonzero(y == c).flatten()
        idx = idx[torch.randperm(len(idx), generator=gen)]
        chosen.append(idx if per_class is None else idx[:per_class])
    index = torch.cat(chosen)
    index = index[torch.randperm(len(index), generator=gen)]
    return data.normalize(x[index], data.CIFAR10_MEAN, data.CIFAR10_STD), relabel(y[index], classes)


def random_flip(x: torch.Tensor) -> torch.Tensor:
    """Each image of a batch mirrored left-right with probability 1/2 (drawn from torch's
    seeded generator): a CIFAR photo mirrored is still the same class."""
    flip = torch.rand(len(x), device=x.device) < 0.5
    return torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)


# --- The shipped backbone ------------------------------------------------------------------

@dataclass
class PretrainSettings:
    """How scripts/build_cifar5_backbone.py trains the shipped backbone."""
    epochs: int = 20              # passes over the 5,000 training images of the five source classes
    batch_size: int = 64          # images per optimizer step
    lr: float = 3e-3              # Adam's learning rate
    weight_decay: float = 5e-4    # AdamW's decoupled decay: keeps the small net from memorizing
    seed: int = 0                 # same seed, same weights, bit for bit on the same machine

    def train_config(self) -> TrainConfig:
        return TrainConfig(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
                           optimizer="adamw", weight_decay=self.weight_decay, seed=self.seed,
                           log_every=20)


def pretrain(settings: PretrainSettings, device: torch.device) -> Iterator[dict]:
    """Train Backbone + a 5-class head on the source classes; engine events. The last event
    ("end") carries "model": the trained TransferNet and "test_accuracy" on the 1,000 test images."""
    x_train, y_train = class_split(SOURCE_CLASSES, True, seed=settings.seed)
    x_test, y_test = class_split(SOURCE_CLASSES, False, seed=settings.seed)
    model = build_seeded(lambda: TransferNet(Backbone(), new_head(len(SOURCE_CLASSES))), settings.seed)
    end = {}
    for event in train(model, (x_train, y_train), settings.train_config(), device,
                       val_data=(x_test, y_test), transform=random_flip):
        if event["kind"] == "end":
            end = event
            break
        yield event
    accuracy = evaluate(model, x_test, y_test, device)["accuracy"]
    yield {**end, "model": model.cpu(), "test_accuracy": accuracy}


def save_backbone(model: TransferNet, info: dict, path: Path | None = None) -> None:
    path = path or BACKBONE_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    state = {k: v.detach().cpu().clone() for k, v in model.backbone.state_dict().items()}
    head = {k: v.detach().cpu().clone() for k, v in model.head.state_dict().items()}
    torch.save({"backbone": state, "source_head": head, "info": info}, tmp)
    os.replace(tmp, path)  # atomic: a page may be reading it


@functools.lru_cache(maxsize=1)
def _checkpoint(path: str) -> dict:
    return torch.load(path, weights_only=True)


def backbone_info(path: Path | None = None) -> dict:
    """How the shipped backbone was trained: classes, epochs, test accuracy, size..."""
    return dict(_checkpoint(str(path or BACKBONE_PATH))["info"])


def load_backbone(path: Path | None = None) -> Backbone:
    """A fresh copy of the pretrained backbone, on the CPU."""
    model = Backbone()
    model.load_state_dict(_checkpoint(str(path or BACKBONE_PATH))["backbone"])
    return model


def load_source_model(path: Path | None = None) -> TransferNet:
    """Backbone + the head it was trained with: classifies the five source classes."""
    head = new_head(len(SOURCE_CLASSES))
    head.load_state_dict(_checkpoint(str(path or BACKBONE_PATH))["source_head"])
    return TransferNet(load_backbone(path), head).eval()


# --- The learner's comparison --------------------------------------------------------------

@dataclass
class TransferSettings:
    """Everything the three-way comparison depends on (the page's widgets)."""
    per_class: int = 50           # labelled training images of each new class (the slider)
    epochs: int = 15              # passes over those images, the same for all three models
    batch_size: int = 32          # images per optimizer step
    lr: float = 1e-3              # Adam's learning rate for every new or from-scratch weight
    backbone_lr: float = 1e-4     # fine-tuning: the pretrained layers learn 10x slower
    seed: int = 0                 # same images, same new head, same batch order for all three

    def train_config(self) -> TrainConfig:
        steps = self.epochs * math.ceil(self.n_train / self.batch_size)
        return TrainConfig(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
                           optimizer="adam", seed=self.seed, log_every=max(1, steps // 40))

    @property
    def n_train(self) -> int:
        return self.per_class * len(TARGET_CLASSES)

    def recipe_values(self) -> dict:
        """The settings block of core/recipes/transfer.py for these settings."""
        return {"PER_CLASS": self.per_class, "EPOCHS": self.epochs, "BATCH_SIZE": self.batch_size,
                "LR": self.lr, "BACKBONE_LR": self.backbone_lr, "SEED": self.seed}


def target_data(settings: TransferSettings) -> dict:
    """The learner's task: `per_class` training images of each new class and all 1,000 test images."""
    x_train, y_train = class_split(TARGET_CLASSES, True, settings.per_class, settings.seed)
    x_test, y_test = class_split(TARGET_CLASSES, False, seed=settings.seed)
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def build_models(settings: TransferSettings, backbone: Backbone | None = None) -> dict[str, TransferNet]:
    """The three models; every new head starts from the same seeded weights."""
    backbone = backbone if backbone is not None else load_backbone()

    def fresh(pretrained: bool, frozen: bool = False) -> TransferNet:
        body = Backbone()
        if pretrained:
            body.load_state_dict(backbone.state_dict())
        head = build_seeded(new_head, settings.seed)
        return TransferNet(body, head, frozen=frozen)

    scratch = build_seeded(lambda: TransferNet(Backbone(), new_head()), settings.seed)
    scratch.head.load_state_dict(build_seeded(new_head, settings.seed).state_dict())
    return {"scratch": scratch, "frozen": fresh(True, frozen=True), "finetune": fresh(True)}


def finetune_optimizer(model: TransferNet, settings: TransferSettings) -> torch.optim.Optimizer:
    """Adam with two parameter groups: the pretrained backbone at backbone_lr, the head at lr
    (fused into one kernel per step where PyTorch offers it, as core.engine.make_optimizer does)."""
    fused = all(p.device.type in ("cpu", "cuda") for p in model.parameters())
    return torch.optim.Adam([{"params": model.backbone.parameters(), "lr": settings.backbone_lr},
                             {"params": model.head.parameters(), "lr": settings.lr}], fused=fused)


@torch.no_grad()
def features(backbone: nn.Module, x: torch.Tensor, device: torch.device, batch_size: int = 256) -> torch.Tensor:
    """The frozen backbone's (N, 64) features of x, on the CPU (eval mode: BN's stored statistics)."""
    backbone = backbone.to(device).eval()
    out = [backbone(x[i:i + batch_size].to(device)).cpu() for i in range(0, len(x), batch_size)]
    return torch.cat(out) if out else torch.empty(0, FEATURES)


def compare(settings: TransferSettings, models: dict[str, TransferNet], task: dict,
            device: torch.device) -> Iterator[dict]:
    """Train the three models one after the other on the same images: one run's events, each
    with "model". The frozen model trains only its head, on features computed once (its
    backbone would give the same features every epoch)."""
    config = settings.train_config()
    train_data, val_data = (task["x_train"], task["y_train"]), (task["x_test"], task["y_test"])

    def scratch() -> Iterator[dict]:
        return train(models["scratch"], train_data, config, device, val_data=val_data)

    def frozen() -> Iterator[dict]:
        return train_frozen(models["frozen"], task, config, device)

    def finetune() -> Iterator[dict]:
        return train_finetuned(models["finetune"], task, config, device, settings)

    costs = work(settings, device)
    return combined([(mode, costs[mode], factory) for mode, factory in
                     zip(MODES, (scratch, frozen, finetune))])


def train_frozen(model: TransferNet, task: dict, config: TrainConfig, device: torch.device) -> Iterator[dict]:
    """A frozen model's training: its head on features computed once (its backbone gives the same
    features every epoch), scored on the held-out ones; the extraction counts in its time."""
    started = time.perf_counter()
    feats = (features(model.backbone, task["x_train"], device), features(model.backbone, task["x_test"], device))
    extracted = time.perf_counter() - started  # counted in this model's training time
    for event in train(model.head, (feats[0], task["y_train"]), config, device, val_data=(feats[1], task["y_test"])):
        yield {**event, "elapsed": event["elapsed"] + extracted} if "elapsed" in event else event


def train_finetuned(model: TransferNet, task: dict, config: TrainConfig, device: torch.device,
                    settings) -> Iterator[dict]:
    """A fine-tuned model's training: every layer, the backbone at its own learning rate
    (finetune_optimizer: `settings.lr` and `settings.backbone_lr`)."""
    model = model.to(device)
    return train(model, (task["x_train"], task["y_train"]), config, device, val_data=(task["x_test"], task["y_test"]),
                 optimizer=finetune_optimizer(model, settings))


def work(settings: TransferSettings, device: torch.device, n_test: int = 1000) -> dict[str, float]:
    """Seconds each model needs here: training passes plus the test images scored after every
    epoch (the frozen model: one forward pass of everything, then a head), from a few real
    steps of the full network timed once per batch size (core.engine.measure_costs)."""
    costs = _costs(settings.batch_size, str(device))
    n = settings.n_train
    trained = costs.seconds(n, settings.train_config(), n_test)
    forward = costs.eval_fixed + costs.eval_row * (n + n_test)
    return {"scratch": trained, "frozen": forward, "finetune": trained}  # the frozen model's head costs next to nothing


@functools.lru_cache(maxsize=8)
def _costs(batch_size: int, device: str) -> engine.Costs:
    """The full network (backbone + head) on random 32×32 images: training steps and scoring."""
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(8 * batch_size, 3, 32, 32, generator=generator)
    y = torch.randint(0, len(TARGET_CLASSES), (8 * batch_size,), generator=generator)
    model = TransferNet(Backbone(), new_head())
    config = TrainConfig(batch_size=batch_size, optimizer="adam")
    return engine.measure_costs(model, (x, y), config, torch.device(device), val_data=(x, y))


def estimate_seconds(settings: TransferSettings, device: torch.device) -> float:
    """The three-way comparison's expected time on this machine."""
    return sum(work(settings, device).values())


def sweep_settings(settings: TransferSettings, sizes=SWEEP_SIZES) -> list[TransferSettings]:
    return [replace(settings, per_class=size) for size in sizes]


def sweep_estimate_seconds(settings: TransferSettings, device: torch.device, sizes=SWEEP_SIZES) -> float:
    return sum(estimate_seconds(s, device) for s in sweep_settings(settings, sizes))


def sweep(settings: TransferSettings, device: torch.device, sizes=SWEEP_SIZES,
          backbone: Backbone | None = None) -> Iterator[dict]:
    """The comparison at each size in turn: events tagged "model" and "size" (an int)."""
    backbone = backbone if backbone is not None else load_backbone()
    phases = []
    for s in sweep_settings(settings, sizes):
        def events(s=s) -> Iterator[dict]:
            for event in compare(s, build_models(s, backbone), target_data(s), device):
                if event["kind"] == "end":  # combined() turns it into this size's "model_end"
                    yield {**event, "size": s.per_class}
                    return
                # the model's own seconds, which the outer run keeps as "model_elapsed"
                yield {**event, "size": s.per_class, "elapsed": event.get("model_elapsed", event["elapsed"])}
        phases.append((str(s.per_class), estimate_seconds(s, device), events))
    yield from combined(phases, tag="sweep")


# --- Results -------------------------------------------------------------------------------

def curves(history: list[dict]) -> pd.DataFrame:
    """Test accuracy per epoch: [model, epoch, accuracy, seconds]."""
    rows = [{"model": e["model"], "epoch": e["epoch"], "accuracy": e["val_acc"],
             "seconds": e.get("model_elapsed", e["elapsed"])}
            for e in history if e["kind"] == "epoch"]
    return pd.DataFrame(rows, columns=["model", "epoch", "accuracy", "seconds"])


def summary(history: list[dict]) -> pd.DataFrame:
    """One row per model that finished an epoch: [model, accuracy (last epoch), best, seconds],
    in MODES order."""
    frame = curves(history)
    rows = []
    for mode in MODES:
        part = frame[frame["model"] == mode]
        if len(part):
            rows.append({"model": mode, "accuracy": float(part["accuracy"].iloc[-1]),
                         "best": float(part["accuracy"].max()), "seconds": float(part["seconds"].iloc[-1])})
    return pd.DataFrame(rows, columns=["model", "accuracy", "best", "seconds"])


def sweep_frame(history: list[dict]) -> pd.DataFrame:
    """Final test accuracy of each model at each size: [size, model, accuracy, seconds]."""
    rows = []
    for size in sorted({e["size"] for e in history if "size" in e}):
        part = summary([e for e in history if e.get("size") == size])
        rows += [{"size": size, **row} for row in part.to_dict("records")]
    return pd.DataFrame(rows, columns=["size", "model", "accuracy", "seconds"])


def verdict(table: pd.DataFrame) -> dict | None:
    """What transfer bought: the best pretrained model against scratch, in points; None
    unless scratch and at least one pretrained model finished."""
    acc = dict(zip(table["model"], table["accuracy"]))
    pretrained = {m: acc[m] for m in ("frozen", "finetune") if m in acc}
    if "scratch" not in acc or not pretrained:
        return None
    best = max(pretrained, key=pretrained.get)
    return {"best": best, "gain": pretrained[best] - acc["scratch"], "scratch": acc["scratch"],
            "accuracy": pretrained[best]}


