"""ResNet: residual blocks, plain vs residual twins, gradient/activation probes, real ResNets,
transfer learning. Plain PyTorch; the page (views/resnet/resnet.py) draws what these return."""
import functools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import torch
from torch import nn

from core import data
from core.engine import (
    TIMED_EVAL_ROWS,
    WIDE_STEP_SECONDS,
    Costs,
    TrainConfig,
    build_seeded,
    combined,
    measure_costs,
    timed_batch,
    train,
)
from core.models import ACTIVATIONS, count_params
from core.words import english, words

EXPERIMENT_ACTIVATIONS = ("relu", "sigmoid")
NET_KINDS = ("mlp", "conv")  # fully connected (fast) or convolutional (slower)
DATASETS = ("mnist", "cifar10")
TRAIN_SIZES = {"mnist": 60000, "cifar10": 10000}  # training images embedded (the CIFAR-10 subset)
IN_SHAPES = {"mnist": (1, 28, 28), "cifar10": (3, 32, 32)}  # (C, H, W) of one image
MODELS = ("plain", "residual")  # the twins, in the order they train
TORCHVISION_RESNETS = ("resnet18", "resnet34", "resnet50")
PRETRAINED_SIZE_MB = 45  # ResNet-18 ImageNet weights (resnet18-f37072fd.pth, 44.7 MB)


# --- The textbook block (torchvision's BasicBlock) -----------------------------------------

class BasicBlock(nn.Module):
    """conv3x3-BN-ReLU-conv3x3-BN, plus the shortcut, then ReLU: H(x) = ReLU(F(x) + shortcut(x)).

    F(x) and x must have the same shape to be added, so when the block changes the number of
    channels or the stride, the shortcut is a 1x1 convolution (with BN) instead of the identity.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))  # (N, out, H/stride, W/stride)
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))  # the skip: gradient reaches x directly


def block_demo(in_channels: int, out_channels: int, stride: int, size: int = 56) -> dict:
    """Run a fresh BasicBlock on one (1, C, size, size) input: its output shape and parameters."""
    block = BasicBlock(in_channels, out_channels, stride).eval()
    with torch.no_grad():
        out = block(torch.zeros(1, in_channels, size, size))  # (1, out, size/stride, size/stride)
    return {"shape": tuple(out.shape), "params": count_params(block),
            "shortcut_params": count_params(block.shortcut)}


# --- Plain vs residual twins for the experiment --------------------------------------------

@dataclass
class NetConfig:
    depth: int = 20               # weight layers: first + 2 per block + last (even, >= 4)
    width: int = 64               # hidden features (mlp) or channels of the first stage (conv)
    activation: str = "sigmoid"   # "relu" or "sigmoid" (sigmoid makes gradients vanish fastest)
    batchnorm: bool = False       # BatchNorm before every activation
    kind: str = "mlp"             # "mlp" (fully connected) or "conv" (3 stages, stride-2 stem)
    in_shape: tuple[int, int, int] = (1, 28, 28)  # (C, H, W) of one input image
    num_classes: int = 10         # output classes (MNIST digits, CIFAR-10 classes)


@dataclass
class ExperimentSettings:
    """Everything the plain-vs-residual experiment depends on (the page's widgets)."""
    depth: int = 20               # weight layers of each network (even, >= 4)
    width: int = 64               # features per layer (mlp) or channels of the first stage (conv)
    activation: str = "sigmoid"   # "relu" or "sigmoid": sigmoid shows the vanishing gradient best
    batchnorm: bool = False       # BatchNorm before every activation, in both networks
    kind: str = "mlp"             # "mlp" (fully connected, fast) or "conv" (3 stages, slower)
    dataset: str = "mnist"        # "mnist" or "cifar10" (the embedded subset)
    n_train: int = 5000           # training images, a class-balanced random subset
    n_test: int = 2000            # held-out images scored after every epoch
    epochs: int = 3               # passes over the training images, for each network
    optimizer: str = "sgd_momentum"  # one of core.engine.OPTIMIZERS
    lr: float = 0.01              # learning rate, the same for both networks
    batch_size: int = 64          # images per optimizer step
    seed: int = 0                 # same seed: same subset, same start weights, same batch order

    def net_config(self) -> NetConfig:
        return NetConfig(depth=self.depth, width=self.width, activation=self.activation,
                         batchnorm=self.batchnorm, kind=self.kind, in_shape=IN_SHAPES[self.dataset])

    @property
    def steps(self) -> int:
        """Optimizer steps of each network."""
        return math.ceil(self.n_train / self.batch_size) * self.epochs

    def train_config(self) -> TrainConfig:
        # about 40 logged steps per network: enough columns for the gradient heatmap
        return TrainConfig(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
                           optimizer=self.optimizer, seed=self.seed, log_every=max(1, self.steps // 40))

    def recipe_values(self) -> dict:
        """The settings block of core/recipes/resnet.py for these settings (the optimizer
        line comes from train_config())."""
        return {"DATASET": self.dataset, "KIND": self.kind, "DEPTH": self.depth, "WIDTH": self.width,
                "ACTIVATION": self.activation, "BATCHNORM": self.batchnorm, "N_TRAIN": self.n_train,
                "N_TEST": self.n_test, "EPOCHS": self.epochs, "BATCH_SIZE": self.batch_size,
                "LR": self.lr, "SEED": self.seed}


class _Block(nn.Module):
    """Two weight layers, pre-activation order: F(x) = W2 act(BN(W1 act(BN(x)))).

    Residual: H(x) = F(x) + shortcut(x), nothing after the add, so the skip path is a pure
    identity (He et al. 2016, "Identity mappings"). With an activation after the add, sigmoid
    would still multiply the gradient by at most 0.25 in every block. Plain: H(x) = F(x).
    """

    def __init__(self, cfg: NetConfig, in_dim: int, out_dim: int, stride: int, residual: bool):
        super().__init__()
        act = ACTIVATIONS[cfg.activation]
        conv = cfg.kind == "conv"
        norm = (nn.BatchNorm2d if conv else nn.BatchNorm1d) if cfg.batchnorm else None
        self.residual = residual
        self.norm1 = norm(in_dim) if norm else nn.Identity()
        self.act1 = act()
        self.layer1 = (nn.Conv2d(in_dim, out_dim, 3, stride=stride, padding=1) if conv
                       else nn.Linear(in_dim, out_dim))
        self.norm2 = norm(out_dim) if norm else nn.Identity()
        self.act2 = act()
        self.layer2 = nn.Conv2d(out_dim, out_dim, 3, padding=1) if conv else nn.Linear(out_dim, out_dim)
        self.shortcut = nn.Identity()
        if residual and (stride != 1 or in_dim != out_dim):  # shapes differ: 1x1 projection
            self.shortcut = nn.Conv2d(in_dim, out_dim, 1, stride=stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.layer1(self.act1(self.norm1(x)))
        out = self.layer2(self.act2(self.norm2(out)))
        return out + self.shortcut(x) if self.residual else out


class DeepNet(nn.Module):
    """stem (1 weight layer) -> blocks (2 each) -> [BN] -> act -> head (1): `depth` weight layers."""

    def __init__(self, cfg: NetConfig, residual: bool):
        super().__init__()
        channels, height, width = cfg.in_shape
        n_blocks = blocks_for_depth(cfg.depth)
        act = ACTIVATIONS[cfg.activation]
        self.residual = residual
        if cfg.kind == "conv":
            # stride-2 stem halves the image (28 -> 14, 32 -> 16) so deep stacks stay cheap
            self.stem = nn.Sequential(nn.Conv2d(channels, cfg.width, 3, stride=2, padding=1))
            stage_of = [min(2, 3 * i // n_blocks) for i in range(n_blocks)]  # 3 stages
            blocks, dim = [], cfg.width
            for i, stage in enumerate(stage_of):
                out_dim = cfg.width * 2 ** stage
                stride = 2 if i > 0 and stage != stage_of[i - 1] else 1  # halve at a new stage
                blocks.append(_Block(cfg, dim, out_dim, stride, residual))
                dim = out_dim
            norm = nn.BatchNorm2d(dim) if cfg.batchnorm else nn.Identity()
            self.head = nn.Sequential(norm, act(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                      nn.Linear(dim, cfg.num_classes))  # (N, dim) -> (N, 10)
        else:
            self.stem = nn.Sequential(nn.Flatten(),  # (N, C, H, W) -> (N, C*H*W)
                                      nn.Linear(channels * height * width, cfg.width))
            blocks = [_Block(cfg, cfg.width, cfg.width, 1, residual) for _ in range(n_blocks)]
            norm = nn.BatchNorm1d(cfg.width) if cfg.batchnorm else nn.Identity()
            self.head = nn.Sequential(norm, act(), nn.Linear(cfg.width, cfg.num_classes))
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for block in self.blocks:
            x = block(x)
        return self.head(x)

    def weight_layers(self) -> list[nn.Module]:
        """The `depth` layers on the main path, input to output (shortcut projections excluded)."""
        layers = [m for m in self.stem if isinstance(m, (nn.Linear, nn.Conv2d))]
        for block in self.blocks:
            layers += [block.layer1, block.layer2]
        return layers + [m for m in self.head if isinstance(m, nn.Linear)]

    def activation_modules(self) -> list[nn.Module]:
        """The activation after each hidden weight layer (what the BN histograms look at)."""
        acts = []
        for block in self.blocks:
            acts += [block.act1, block.act2]
        return acts + [m for m in self.head if isinstance(m, tuple(ACTIVATIONS.values()))]


def blocks_for_depth(depth: int) -> int:
    if depth < 4 or depth % 2:
        raise ValueError(f"depth must be even and at least 4 (first + 2 per block + last), got {depth}")
    return (depth - 2) // 2


def build_pair(cfg: NetConfig, seed: int = 0) -> tuple[DeepNet, DeepNet]:
    """(plain, residual) twins: same layers, same initial weights; only the skips differ."""
    if cfg.activation not in EXPERIMENT_ACTIVATIONS:
        raise ValueError(f"activation must be one of {EXPERIMENT_ACTIVATIONS}, got {cfg.activation!r}")
    if cfg.kind not in NET_KINDS:
        raise ValueError(f"kind must be one of {NET_KINDS}, got {cfg.kind!r}")
    plain = build_seeded(lambda: DeepNet(cfg, residual=False), seed)
    residual = build_seeded(lambda: DeepNet(cfg, residual=True), seed)
    # the 1x1 projections are extra modules; copy the shared weights so the twins start equal
    residual.load_state_dict(plain.state_dict(), strict=False)
    return plain, residual


def layer_names(model: DeepNet) -> list[str]:
    width = len(str(len(model.weight_layers())))
    return [f"L{i:0{width}d}" for i in range(1, len(model.weight_layers()) + 1)]


def grad_norm_probe(model: DeepNet) -> dict:
    """step_probe for core.engine.train: L2 norm of each main-path layer's weight gradient."""
    grads = [layer.weight.grad for layer in model.weight_layers()]
    norms = torch.stack([g.norm() if g is not None else torch.zeros(()) for g in grads])
    return dict(zip(layer_names(model), norms.tolist()))  # one device sync for all layers


def first_layer_gradients(plain: DeepNet, residual: DeepNet, x: torch.Tensor,
                          y: torch.Tensor) -> tuple[float, float]:
    """Gradient norm at the first weight layer of each twin after one backward pass on (x, y)."""
    out = []
    for model in (plain, residual):
        model.train()
        model.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(x), y).backward()
        out.append(model.weight_layers()[0].weight.grad.norm().item())
        model.zero_grad(set_to_none=True)
    return out[0], out[1]


def gradient_frame(history: list[dict], model: str | None = None) -> pd.DataFrame:
    """batch events with a probe -> long table [network, step, layer, layer_index, grad_norm].

    `model` keeps only the events of that network ("plain" or "residual") of a comparison run.
    """
    rows = []
    for event in history:
        probe = event.get("probe") if event.get("kind") == "batch" else None
        if model is not None and event.get("model") != model:
            continue
        for index, (name, value) in enumerate((probe or {}).items(), start=1):
            rows.append({"network": event.get("model"), "step": event["step"], "layer": name,
                         "layer_index": index, "grad_norm": value})
    return pd.DataFrame(rows, columns=["network", "step", "layer", "layer_index", "grad_norm"])


TIMED_DEPTH = 8  # the depth the estimate times a convolutional twin at: a deeper one is scaled by its blocks


def estimate_seconds(settings: ExperimentSettings, device: torch.device) -> float:
    """Both twins trained one after the other: a few real steps and evaluations timed
    (core.engine.measure_costs) on random images of the dataset's shape, with the residual twin:
    a convolutional one at TIMED_DEPTH, scaled by its blocks to `settings.depth` (every block is
    the same work at every stage; the stem and the head, a little of it, are scaled too), and
    past the rows timed at no less than their average cost per row (its feature maps outgrow the
    caches); a fully connected one at its own depth (cheap to time; its weights outgrow the
    caches). The plain twin costs the same, less its additions."""
    config = settings.train_config()
    shape = (settings.kind, settings.width, settings.activation, settings.batchnorm, settings.dataset,
             settings.optimizer, timed_batch(settings.batch_size), str(device))
    if settings.kind == "conv":
        costs = _timed_twin(*shape, TIMED_DEPTH).scaled(blocks_for_depth(settings.depth) / blocks_for_depth(
            TIMED_DEPTH)).at_least_average()
    else:
        costs = _timed_twin(*shape, settings.depth)
    return 2 * costs.at_batch(settings.batch_size).seconds(settings.n_train, config, settings.n_test)


@functools.lru_cache(maxsize=64)
def _timed_twin(kind: str, width: int, activation: str, batchnorm: bool, dataset: str, optimizer: str, batch: int,
                device: str, depth: int) -> Costs:
    s = ExperimentSettings(depth=depth, width=width, activation=activation, batchnorm=batchnorm, kind=kind,
                           dataset=dataset, optimizer=optimizer, batch_size=batch)
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(batch, *IN_SHAPES[dataset], generator=generator)
    y = torch.randint(0, 10, (batch,), generator=generator)
    model = build_pair(s.net_config())[1]
    return measure_costs(model, (x, y), s.train_config(), torch.device(device),
                         val_data=(x[:TIMED_EVAL_ROWS], y[:TIMED_EVAL_ROWS]), step_seconds=WIDE_STEP_SECONDS)


# --- Several trainings as one run ----------------------------------------------------------

def plain_vs_residual(plain: DeepNet, residual: DeepNet, settings: ExperimentSettings, exp: dict,
                      device: torch.device) -> Iterator[dict]:
    """Train the plain twin, then the residual one, on the same data: one run's events,
    each with "model" ("plain" / "residual") and per-layer gradient norms on logged steps."""
    config = settings.train_config()

    def phase(model: DeepNet) -> Callable[[], Iterator[dict]]:
        return lambda: train(model, (exp["x_train"], exp["y_train"]), config, device,
                             val_data=(exp["x_test"], exp["y_test"]), step_probe=grad_norm_probe)
    return combined([("plain", 1.0, phase(plain)), ("residual", 1.0, phase(residual))])


def model_ends(history: list[dict], models=MODELS) -> dict:
    """Each model's end event in a run made by `combined`; None for one that did not finish."""
    return {m: next((e for e in history if e["kind"] == "model_end" and e["model"] == m), None)
            for m in models}


def comparison(history: list[dict]) -> dict:
    """A comparison run's figures: per network its end event (None if it did not finish),
    last test accuracy (None before an epoch) and median first-layer gradient norm."""
    ends = model_ends(history)
    accuracy = {m: next((e["val_acc"] for e in reversed(history)
                         if e["kind"] == "epoch" and e.get("model") == m), None) for m in MODELS}
    first = {}
    for m in MODELS:
        frame = gradient_frame(history, m)
        first[m] = float(frame.loc[frame["layer_index"] == 1, "grad_norm"].median()) if len(frame) else math.nan
    ratio = first["residual"] / first["plain"] if first["plain"] > 0 else math.inf
    return {"ends": ends, "done": all(ends.values()), "accuracy": accuracy, "first_grad": first,
            "ratio": ratio}


# --- Data for the experiment ---------------------------------------------------------------

def experiment_data(dataset: str = "mnist", n_train: int = 5000, n_test: int = 2000,
                    seed: int = 0) -> dict:
    """A stratified random subset as normalized float tensors: x (N, C, H, W), y (N,).

    Also returns the subset's indices into load_mnist / load_cifar10, the input shape and the
    normalization used.
    """
    if dataset == "mnist":
        (xtr, ytr), (xte, yte) = data.load_mnist(True), data.load_mnist(False)
        xtr, xte = xtr.unsqueeze(1), xte.unsqueeze(1)  # (N, 28, 28) -> (N, 1, 28, 28)
        mean, std = (data.MNIST_MEAN,), (data.MNIST_STD,)
    elif dataset == "cifar10":
        (xtr, ytr), (xte, yte) = data.load_cifar10(True), data.load_cifar10(False)
        mean, std = data.CIFAR10_MEAN, data.CIFAR10_STD
    else:
        raise ValueError(f"dataset must be one of {tuple(DATASETS)}, got {dataset!r}")
    gen = torch.Generator().manual_seed(seed)
    tr = _stratified(ytr, n_train, gen)
    te = _stratified(yte, n_test, gen)
    return {"x_train": data.normalize(xtr[tr], mean, std), "y_train": ytr[tr],
            "x_test": data.normalize(xte[te], mean, std), "y_test": yte[te],
            "train_index": tr, "test_index": te,  # into the full uint8 dataset
            "in_shape": tuple(xtr.shape[1:]), "mean": mean, "std": std}


def _stratified(labels: torch.Tensor, n: int, gen: torch.Generator) -> torch.Tensor:
    """n indices with (nearly) equal counts per class, shuffled (the CIFAR subset is sorted)."""
    n = max(1, min(int(n), len(labels)))
    perm = torch.randperm(len(labels), generator=gen)
    classes = labels[perm]
    rank = torch.zeros_like(perm)
    for c in classes.unique():  # rank of each sample within its class in the shuffled order
        mask = classes == c
        rank[mask] = torch.arange(int(mask.sum()))
    chosen = perm[torch.argsort(rank, stable=True)[:n]]  # round-robin over classes
    return chosen[torch.randperm(n, generator=gen)]


# --- BatchNorm effect: activation histograms -----------------------------------------------

HISTOGRAM_IMAGES = {"mlp": 256, "conv": 32}  # images a histogram reads: a conv layer gives thousands of values each


def activation_histograms(cfg: NetConfig, x: torch.Tensor, seed: int = 0, bins: int = 30,
                          max_layers: int = 6) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Histograms of each hidden activation of the plain net at initialization, BN off vs on.

    Forward hooks record the output of every activation for one batch x (at most
    HISTOGRAM_IMAGES of it). Returns
    (hist: [batchnorm, layer_index, layers, bin_start, bin_end, fraction],
     stats: [batchnorm, layer_index, layers, mean, std, mean_slope]) for up to `max_layers`
    evenly spaced layers: "batchnorm" is True/False, "layer_index" the activation's number
    (1 = nearest the input) out of "layers" (the page names them in its own words).
    "mean_slope" is the average derivative of the activation at these inputs: the factor by
    which it scales gradients flowing back (sigmoid: at most 0.25).
    """
    hist_rows, stat_rows = [], []
    lo, hi = (0.0, 1.0) if cfg.activation == "sigmoid" else (None, None)
    x = x[:HISTOGRAM_IMAGES[cfg.kind]]  # a preview on every settings change: bounded work, plenty of values
    for bn in (False, True):
        model = build_seeded(lambda bn=bn: DeepNet(replace(cfg, batchnorm=bn), residual=False), seed)
        model.train()  # BN uses the batch statistics, as during training
        acts = model.activation_modules()
        keep = sorted(set(np.linspace(0, len(acts) - 1, min(max_layers, len(acts))).round().astype(int)))
        captured = {}
        handles = [acts[i].register_forward_hook(
            lambda _m, _inp, out, i=i, into=captured: into.__setitem__(i, out.detach().flatten()))
            for i in keep]
        with torch.no_grad():
            model(x)
        for h in handles:
            h.remove()
        for i in keep:
            values = captured[i].float()
            a, b = (lo, hi) if lo is not None else (0.0, max(float(values.max()), 1e-6))
            counts = torch.histc(values, bins=bins, min=a, max=b)
            edges = np.linspace(a, b, bins + 1)
            total = max(float(counts.sum()), 1.0)
            for k in range(bins):
                hist_rows.append({"batchnorm": bn, "layer_index": i + 1, "layers": len(acts),
                                  "bin_start": edges[k], "bin_end": edges[k + 1],
                                  "fraction": float(counts[k]) / total})
            # the factor this activation multiplies gradients by: sigma' = y(1 - y) <= 0.25,
            # ReLU' = 1 where active, 0 elsewhere
            slope = values * (1 - values) if cfg.activation == "sigmoid" else (values > 0).float()
            stat_rows.append({"batchnorm": bn, "layer_index": i + 1, "layers": len(acts),
                              "mean": values.mean().item(),
                              "std": values.std().item(), "mean_slope": slope.mean().item()})
    return pd.DataFrame(hist_rows), pd.DataFrame(stat_rows)


# --- Real architectures: torchvision ResNet-18/34/50 ---------------------------------------

def stage_table(name: str = "resnet18", image_size: int = 224) -> pd.DataFrame:
    """Run torchvision's model (weights=None, on the meta device) on a 1x3xSxS input and tabulate each stage.

    Columns: stage (an id: stem, pool, layer1..layer4, avgpool, fc, total), layers (what the
    stage is, as core.words.Words for the page to say), blocks, weight layers,
    output (C x H x W), parameters.
    Output shapes come from forward hooks, parameter counts from the modules themselves.
    """
    import torchvision

    if name not in TORCHVISION_RESNETS:
        raise ValueError(f"name must be one of {TORCHVISION_RESNETS}, got {name!r}")
    with torch.device("meta"):  # shapes and counts only: no memory, no init, no arithmetic (a preview)
        model = getattr(torchvision.models, name)(weights=None).eval()
    block = type(model.layer1[0]).__name__  # BasicBlock (18/34) or Bottleneck (50)
    stages = [
        ("stem", words("resnet.layers_stem"), [model.conv1, model.bn1, model.relu], None),
        ("pool", words("resnet.layers_pool"), [model.maxpool], None),
        *[(f"layer{i}", words("resnet.layers_block", block=block), [getattr(model, f"layer{i}")],
           len(getattr(model, f"layer{i}"))) for i in range(1, 5)],
        ("avgpool", words("resnet.layers_avgpool"), [model.avgpool], None),
        ("fc", words("resnet.layers_fc", classes=model.fc.out_features), [model.fc], None),
    ]
    shapes = {}
    handles = [modules[-1].register_forward_hook(
        lambda _m, _i, out, stage=stage: shapes.__setitem__(stage, tuple(out.shape[1:])))
        for stage, _d, modules, _b in stages]
    with torch.no_grad():
        model(torch.zeros(1, 3, image_size, image_size, device="meta"))  # (1, 3, 224, 224)
    for h in handles:
        h.remove()
    rows = []
    for stage, description, modules, blocks in stages:
        rows.append({"stage": stage, "layers": description,
                     "blocks": blocks,
                     "weight layers": sum(_main_path_layers(m) for m in modules),
                     "output": " x ".join(str(s) for s in shapes[stage]),
                     "parameters": sum(count_params(m) for m in modules)})
    rows.append({"stage": "total", "layers": words("resnet.layers_total", name=name),
                 "blocks": sum(len(getattr(model, f"layer{i}")) for i in range(1, 5)),
                 "weight layers": _main_path_layers(model),  # the 18 / 34 / 50 in the name
                 "output": rows[-1]["output"], "parameters": count_params(model)})
    table = pd.DataFrame(rows)
    table["blocks"] = table["blocks"].astype("Int64")  # blank (<NA>) where a stage has no blocks
    return table


def _main_path_layers(module: nn.Module) -> int:
    """Conv and fully connected layers, not counting the 1x1 shortcut ("downsample") convs."""
    return sum(isinstance(m, (nn.Conv2d, nn.Linear)) and "downsample" not in name
               for name, m in module.named_modules())


# --- Transfer learning (needs the ImageNet weights once) -----------------------------------

@dataclass
class TransferConfig:
    n_train: int = 2000          # CIFAR-10 subset images used to train (stratified)
    n_test: int = 1000           # held-out images to score on
    image_size: int = 64         # images are resized to this before ResNet-18 (ImageNet: 224)
    head_epochs: int = 15        # epochs for the new last layer on frozen pretrained features
    scratch_epochs: int = 3      # epochs for the whole ResNet-18 from random weights
    batch_size: int = 64         # images per optimizer step, both models
    seed: int = 0                # same subset, start weights and batch order every time
    lr_head: float = 1e-3        # Adam, only the new fc layer learns
    lr_scratch: float = 1e-3     # Adam, every layer learns

    def train_config(self, model: str) -> TrainConfig:
        """"pretrained": the new last layer on frozen features; "scratch": all of ResNet-18."""
        if model == "pretrained":
            return TrainConfig(epochs=self.head_epochs, batch_size=self.batch_size, lr=self.lr_head,
                               optimizer="adam", seed=self.seed, log_every=20)
        if model == "scratch":
            return TrainConfig(epochs=self.scratch_epochs, batch_size=self.batch_size,
                               lr=self.lr_scratch, optimizer="adam", seed=self.seed, log_every=10)
        raise ValueError(f"model must be 'pretrained' or 'scratch', got {model!r}")


def pretrained_weights_path():
    """Where the ImageNet ResNet-18 weights live once downloaded (under core.data.CACHE_DIR)."""
    from torchvision.models import ResNet18_Weights

    url = ResNet18_Weights.IMAGENET1K_V1.url
    return data.CACHE_DIR / "torch_hub" / "checkpoints" / url.rsplit("/", 1)[-1]


def pretrained_available() -> bool:
    """True when the weights are cached or the download server is reachable."""
    return pretrained_weights_path().exists() or data.internet_available("download.pytorch.org", 443)


def load_pretrained_resnet18() -> nn.Module:
    """torchvision ResNet-18 with ImageNet weights, downloaded once into CACHE_DIR.

    Raises core.data.OfflineError when the weights are not cached and the internet is not
    reachable (or the download fails), with `words` for the page to say (its str() is English).
    """
    import torchvision
    from torchvision.models import ResNet18_Weights

    path = pretrained_weights_path()
    if not path.exists() and not data.internet_available("download.pytorch.org", 443):
        raise _offline_error()
    try:
        state = torch.hub.load_state_dict_from_url(
            ResNet18_Weights.IMAGENET1K_V1.url, model_dir=str(path.parent), progress=False,
            map_location="cpu")
    except Exception as exc:  # network drop mid-download, corrupt file...
        said = words("resnet.tl_download_failed", error=str(exc))
        raise data.OfflineError(english(said), words=said) from exc
    model = torchvision.models.resnet18(weights=None)
    model.load_state_dict(state)
    return model


def _offline_error() -> data.OfflineError:
    said = words("resnet.tl_offline_error", size=PRETRAINED_SIZE_MB)
    return data.OfflineError(english(said), words=said)


IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def transfer_data(cfg: TransferConfig) -> dict:
    """A stratified CIFAR-10 subset as uint8 (N, 3, 32, 32) + labels; resized later, per batch."""
    gen = torch.Generator().manual_seed(cfg.seed)
    (xtr, ytr), (xte, yte) = data.load_cifar10(True), data.load_cifar10(False)
    tr, te = _stratified(ytr, cfg.n_train, gen), _stratified(yte, cfg.n_test, gen)
    return {"x_train": xtr[tr], "y_train": ytr[tr], "x_test": xte[te], "y_test": yte[te]}


def imagenet_transform(image_size: int):
    """uint8 (N, 3, 32, 32) -> float (N, 3, S, S) normalized like ImageNet; runs on the device."""
    def transform(x: torch.Tensor) -> torch.Tensor:
        x = data.normalize(x, IMAGENET_MEAN, IMAGENET_STD)
        if x.shape[-1] != image_size:
            x = nn.functional.interpolate(x, size=(image_size, image_size), mode="bilinear",
                                          align_corners=False)  # (N, 3, S, S)
        return x
    return transform


@torch.no_grad()
def feature_batches(backbone: nn.Module, x: torch.Tensor, device: torch.device, image_size: int,
                    batch_size: int = 128) -> Iterator[tuple[float, torch.Tensor]]:
    """Frozen ResNet-18 features batch by batch: (fraction done, (B, 512) on the CPU).

    Everything up to the last layer; the backbone is moved to `device` and put in eval mode
    (BN uses its ImageNet statistics).
    """
    # every child but the last layer, (N, 512, 1, 1) -> (N, 512); the model itself is untouched
    features = nn.Sequential(*list(backbone.children())[:-1], nn.Flatten()).to(device).eval()
    transform = imagenet_transform(image_size)
    for start in range(0, len(x), batch_size):
        yield (min(1.0, (start + batch_size) / len(x)),
               features(transform(x[start:start + batch_size].to(device))).cpu())



def scratch_resnet18(seed: int = 0) -> nn.Module:
    """torchvision ResNet-18 with random weights and a 10-class last layer."""
    import torchvision

    return build_seeded(lambda: torchvision.models.resnet18(weights=None, num_classes=10), seed)


def new_head(seed: int = 0) -> nn.Module:
    """The replacement last layer: 512 features -> 10 CIFAR-10 classes."""
    return build_seeded(lambda: nn.Linear(512, 10), seed)


def transfer_events(cfg: TransferConfig, backbone: nn.Module, head: nn.Module, scratch: nn.Module,
                    device: torch.device) -> Iterator[dict]:
    """One run: the pretrained backbone's features of the CIFAR-10 subset ("features" events),
    the new last layer trained on them (model "pretrained"), then `scratch` trained on the
    images themselves (model "scratch"). Progress weighs each part by its image passes."""
    tl = transfer_data(cfg)
    feats: dict[str, torch.Tensor] = {}

    def features() -> Iterator[dict]:
        total, done = len(tl["x_train"]) + len(tl["x_test"]), 0
        for split in ("train", "test"):
            x, chunks = tl[f"x_{split}"], []
            for fraction, chunk in feature_batches(backbone, x, device, cfg.image_size):
                chunks.append(chunk)
                yield {"kind": "features", "split": split, "progress": (done + fraction * len(x)) / total}
            feats[split] = torch.cat(chunks)
            done += len(x)

    def head_events() -> Iterator[dict]:
        return train(head, (feats["train"], tl["y_train"]), cfg.train_config("pretrained"), device,
                     val_data=(feats["test"], tl["y_test"]))

    def scratch_events() -> Iterator[dict]:
        return train(scratch, (tl["x_train"], tl["y_train"]), cfg.train_config("scratch"), device,
                     val_data=(tl["x_test"], tl["y_test"]), transform=imagenet_transform(cfg.image_size))

    n, n_test = cfg.n_train, cfg.n_test
    # cost in image passes through ResNet-18: a training step is about 3 (forward + backward)
    return combined([("features", n + n_test, features),
                        ("pretrained", 0.01 * cfg.head_epochs * (n + n_test), head_events),
                        ("scratch", cfg.scratch_epochs * (3 * n + n_test), scratch_events)])


def transfer_frame(history: list[dict]) -> pd.DataFrame:
    """Test accuracy per epoch of a transfer run: [model, epoch, accuracy, seconds]."""
    rows = [{"model": e["model"], "epoch": e["epoch"], "accuracy": e["val_acc"],
             "seconds": e.get("model_elapsed", e["elapsed"])}
            for e in history if e["kind"] == "epoch"]
    return pd.DataFrame(rows, columns=["model", "epoch", "accuracy", "seconds"])


# --- Figures: what a run shows, by name (core.lessons reads them) -----------------------------

def run_figures(run) -> dict:
    """resnet_runs: <model>_accuracy, each network's last test accuracy (%; None before its first
    epoch) from the run's comparison()."""
    return {f"{m}_accuracy": run.results["accuracy"][m] for m in MODELS}


FIGURES = {  # store -> its settings dataclass, the figures its runs show beyond them, and their reader
    "resnet_runs": {"settings": ExperimentSettings, "figures": tuple(f"{m}_accuracy" for m in MODELS),
                    "read": run_figures},
}
