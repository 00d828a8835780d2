# %% [markdown]
# # Plain vs residual at equal depth
# Why skip connections let deep networks train (Deep Learning Playground, ResNet page).
# Two networks with the same layers and the same starting weights see the same images in the
# same order. The residual one only adds its input back around every pair of layers,
# H(x) = F(x) + x, so the gradient always has a direct path back to the first layers.

# %%
import gzip
import io
import zipfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

# %%
# --- settings ---
DATA_DIR = "data"  # the playground's copies (it offers them) in DATA_DIR/mnist/ or cifar10/; else downloads here
DATASET = "mnist"  # "mnist" (digits) or "cifar10" (small photos)
KIND = "mlp"  # "mlp": fully connected layers; "conv": 3 convolutional stages
DEPTH = 20  # weight layers: first + 2 per block + last (even)
WIDTH = 64  # features of every hidden layer (mlp) or channels of the first stage (conv)
ACTIVATION = "sigmoid"  # "sigmoid" or "relu"
BATCHNORM = False  # BatchNorm before every activation, in both networks
N_TRAIN = 5000  # training images, a class-balanced random subset
N_TEST = 2000  # test images scored after every epoch
EPOCHS = 3  # passes over the training images, for each network
BATCH_SIZE = 64  # images per optimizer step
LR = 0.01  # learning rate, the same for both networks
SEED = 0  # same seed: same subset, same start weights, same batch order
WEIGHTS = None  # a .pt downloaded from the playground's 📦 box: its weights are loaded instead of training
# --- end of settings ---

BLOCKS = (DEPTH - 2) // 2
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

# %% [markdown]
# ## The data
# Images as one uint8 tensor (N, C, H, W) with their labels, scaled to [0, 1] and normalized
# per channel. A class-balanced random subset keeps small experiments fair to every class.

# %%
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
MEAN, STD = {"mnist": ((0.1307,), (0.3081,)),
             "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616))}[DATASET]


def read_idx(path):
    """An MNIST IDX file (gzip): images (N, 28, 28) or labels (N,)."""
    with gzip.open(path) as f:
        raw = f.read()
    if raw[2:4] == b"\x08\x03":  # images: 16-byte header
        return torch.from_numpy(np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 28, 28).copy())
    return torch.from_numpy(np.frombuffer(raw, np.uint8, offset=8).astype(np.int64))


def read_jpeg_zip(path):
    """The playground's CIFAR-10 subset: <split>/<class>/<nnnn>.jpg inside a zip."""
    images, labels = [], []
    with zipfile.ZipFile(path) as archive:
        for name in sorted(n for n in archive.namelist() if n.lower().endswith(".jpg")):
            images.append(np.asarray(Image.open(io.BytesIO(archive.read(name))).convert("RGB")))
            labels.append(CLASSES.index(name.split("/")[-2]))
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2), torch.tensor(labels)


def load(train):
    split = "train" if train else "t10k"
    embedded = Path(DATA_DIR) / DATASET
    if DATASET == "mnist" and (embedded / f"{split}-images-idx3-ubyte.gz").exists():
        images = read_idx(embedded / f"{split}-images-idx3-ubyte.gz")
        return images.unsqueeze(1), read_idx(embedded / f"{split}-labels-idx1-ubyte.gz")
    if DATASET == "cifar10" and (embedded / "train.zip").exists():
        return read_jpeg_zip(embedded / ("train.zip" if train else "test.zip"))
    from torchvision import datasets  # not in DATA_DIR: download once

    try:
        if DATASET == "mnist":
            dataset = datasets.MNIST(DATA_DIR, train=train, download=True)
            return dataset.data.unsqueeze(1), dataset.targets
        dataset = datasets.CIFAR10(DATA_DIR, train=train, download=True)
    except (RuntimeError, OSError):  # torchvision could not download: offline
        files = "its four .gz files" if DATASET == "mnist" else "train.zip and test.zip"
        raise SystemExit(f"No internet to download {DATASET}: put {files} (the playground's "
                         f"'Show the code' offers them) in {embedded}/") from None
    return torch.from_numpy(dataset.data).permute(0, 3, 1, 2), torch.tensor(dataset.targets)


def balanced_subset(labels, n, generator):
    """n indices, round-robin over the classes of a shuffled order, then shuffled."""
    perm = torch.randperm(len(labels), generator=generator)
    shuffled = labels[perm]
    rank = torch.zeros_like(perm)  # rank of each image within its class in the shuffled order
    for c in shuffled.unique():
        mask = shuffled == c
        rank[mask] = torch.arange(int(mask.sum()))
    chosen = perm[torch.argsort(rank, stable=True)[:n]]
    return chosen[torch.randperm(len(chosen), generator=generator)]


def normalize(images):
    x = images.float() / 255.0
    return (x - torch.tensor(MEAN).view(1, -1, 1, 1)) / torch.tensor(STD).view(1, -1, 1, 1)


(x_train_all, y_train_all), (x_test_all, y_test_all) = load(True), load(False)
generator = torch.Generator().manual_seed(SEED)
train_idx = balanced_subset(y_train_all, N_TRAIN, generator)
test_idx = balanced_subset(y_test_all, N_TEST, generator)
x_train, y_train = normalize(x_train_all[train_idx]).to(device), y_train_all[train_idx].to(device)
x_test, y_test = normalize(x_test_all[test_idx]).to(device), y_test_all[test_idx].to(device)
IN_SHAPE = tuple(x_train.shape[1:])  # (C, H, W)
print(f"{len(x_train)} training and {len(x_test)} test images of shape {IN_SHAPE}")

# %% [markdown]
# ## The twins
# Every block has two weight layers in pre-activation order, BN → activation → layer, twice.
# The residual block adds its input back, F(x) + x, with nothing after the add, so the skip
# path is a pure identity. Where a convolutional block changes the shape, a 1x1 convolution
# makes x fit.

# %%
Activation = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU}[ACTIVATION]


def norm(dim):
    if not BATCHNORM:
        return nn.Identity()
    return nn.BatchNorm2d(dim) if KIND == "conv" else nn.BatchNorm1d(dim)


class Block(nn.Module):
    """Two weight layers; residual adds the input back: F(x) + shortcut(x)."""

    def __init__(self, in_dim, out_dim, stride, residual):
        super().__init__()
        self.residual = residual
        self.norm1, self.act1 = norm(in_dim), Activation()
        self.layer1 = (nn.Conv2d(in_dim, out_dim, 3, stride=stride, padding=1) if KIND == "conv"
                       else nn.Linear(in_dim, out_dim))
        self.norm2, self.act2 = norm(out_dim), Activation()
        self.layer2 = nn.Conv2d(out_dim, out_dim, 3, padding=1) if KIND == "conv" else nn.Linear(out_dim, out_dim)
        self.shortcut = nn.Identity()
        if residual and (stride != 1 or in_dim != out_dim):
            # F(x) and x must have the same shape: a 1x1 convolution matches channels and size
            self.shortcut = nn.Conv2d(in_dim, out_dim, 1, stride=stride, bias=False)

    def forward(self, x):
        out = self.layer1(self.act1(self.norm1(x)))
        out = self.layer2(self.act2(self.norm2(out)))
        return out + self.shortcut(x) if self.residual else out


class Net(nn.Module):
    def __init__(self, residual):
        super().__init__()
        c, h, w = IN_SHAPE
        if KIND == "conv":
            self.stem = nn.Sequential(nn.Conv2d(c, WIDTH, 3, stride=2, padding=1))  # halves H and W
            stage_of = [min(2, 3 * i // BLOCKS) for i in range(BLOCKS)]  # 3 stages: WIDTH, 2x, 4x
            blocks, dim = [], WIDTH
            for i, stage in enumerate(stage_of):
                out_dim = WIDTH * 2 ** stage
                stride = 2 if i > 0 and stage != stage_of[i - 1] else 1
                blocks.append(Block(dim, out_dim, stride, residual))
                dim = out_dim
            self.head = nn.Sequential(norm(dim), Activation(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                      nn.Linear(dim, 10))
        else:
            self.stem = nn.Sequential(nn.Flatten(), nn.Linear(c * h * w, WIDTH))  # (N, C*H*W) -> (N, WIDTH)
            blocks = [Block(WIDTH, WIDTH, 1, residual) for _ in range(BLOCKS)]
            self.head = nn.Sequential(norm(WIDTH), Activation(), nn.Linear(WIDTH, 10))
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x):
        x = self.stem(x)
        for block in self.blocks:
            x = block(x)
        return self.head(x)


def weight_layers(model):
    """The DEPTH layers on the main path, input to output (1x1 shortcuts excluded)."""
    return [m for name, m in model.named_modules()
            if isinstance(m, (nn.Linear, nn.Conv2d)) and "shortcut" not in name]

# %% [markdown]
# ## Training both
# The same loop for both networks: shuffle, take batches, step. After every epoch it prints
# the gradient that reached the first layer on the last batch, and the test accuracy.

# %%
def load_weights(model, name=""):
    """WEIGHTS into the model if the file holds this one (its model entry is name; '' fits any); True if loaded."""
    checkpoint = torch.load(WEIGHTS, weights_only=True)  # tensors and plain values only: no code runs
    if name and checkpoint.get("model", "") != name:
        return False
    try:
        model.load_state_dict(checkpoint.get("state_dict", checkpoint))  # a bare state_dict loads too
    except RuntimeError:  # other layer sizes: the file was trained with other settings
        raise SystemExit(f"{WEIGHTS} does not fit this model: use the settings it was trained with, "
                         f"{checkpoint.get('settings')}") from None
    print(f"loaded {name or 'the model'} from {WEIGHTS}: evaluated, not trained")
    return True


def accuracy(model):
    model.eval()
    with torch.no_grad():
        correct = sum((model(x_test[i:i + 2048]).argmax(1) == y_test[i:i + 2048]).sum().item()
                      for i in range(0, len(x_test), 2048))
    model.train()
    return 100 * correct / len(x_test)


def train(model, epochs=EPOCHS):
    model.to(device).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=0.9)  # @optimizer
    criterion = nn.CrossEntropyLoss()
    order = torch.Generator().manual_seed(SEED)  # the same batch order for both networks
    acc, first = accuracy(model), float("nan")  # no gradient before the first step
    for epoch in range(1, epochs + 1):
        perm = torch.randperm(len(x_train), generator=order).to(device)
        for start in range(0, len(x_train), BATCH_SIZE):
            batch = perm[start:start + BATCH_SIZE]
            optimizer.zero_grad()
            loss = criterion(model(x_train[batch]), y_train[batch])
            loss.backward()
            optimizer.step()
        first = weight_layers(model)[0].weight.grad.norm().item()  # gradient that reached layer 1
        acc = accuracy(model)
        print(f"  epoch {epoch}: loss {loss.item():.4f}, first-layer grad norm {first:.2e}, "
              f"test accuracy {acc:.2f}%")
    return acc, first


torch.manual_seed(SEED)
start_weights = Net(residual=False).state_dict()
results = {}
for name in ("plain", "residual"):
    torch.manual_seed(SEED)
    model = Net(residual=name == "residual")
    model.load_state_dict(start_weights, strict=False)  # same initial weights (the 1x1 skips are extra)
    print(f"{name.capitalize()} network: {DEPTH} weight layers, "
          f"{sum(p.numel() for p in model.parameters()):,} parameters")
    results[name] = train(model, 0 if WEIGHTS and load_weights(model, name) else EPOCHS)

(acc_plain, grad_plain), (acc_residual, grad_residual) = results["plain"], results["residual"]
print(f"Test accuracy: plain {acc_plain:.1f}%, residual {acc_residual:.1f}%. "
      f"Gradient at layer 1: residual / plain = {grad_residual / max(grad_plain, 1e-30):.1e}")
