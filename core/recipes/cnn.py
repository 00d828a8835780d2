# %% [markdown]
# # The notes' SimpleCNN on MNIST or CIFAR-10
# The course notebook's way: torchvision datasets, `ToTensor` + `Normalize`, a `DataLoader`,
# and a plain training loop. Then the feature maps of one test image, and the shape
# calculator's stack, layer by layer.

# %%
import gzip
import math
import os
import shutil
import zipfile
from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, Subset
from torchvision import datasets, transforms
from torchvision.models.feature_extraction import create_feature_extractor

# %%
# --- settings ---
DATASET = "mnist"  # "mnist" (28×28 digits) or "cifar" (32×32 colour photos, 10 classes)
N_TRAIN = 10000  # training images: a seeded random subset of the training set
N_TEST = 2000  # test images: a seeded random subset of the test set, as the playground uses
EPOCHS = 2  # passes over the training images
BATCH_SIZE = 64  # images per optimizer step (the notebook's 64)
LR = 0.001  # learning rate
SEED = 0  # same seed -> same initial filters, same subset, same batch order
CROP_PADDING = 0  # augmentation: pad each side with this many black pixels, crop back at a random place (0 = off)
FLIP = False  # augmentation: mirror left-right, each image with probability 1/2
JITTER = 0.0  # augmentation: brightness, contrast, saturation each × a factor in 1 ± JITTER (0 = off)
DEGREES = 0.0  # augmentation: rotate by an angle between -DEGREES and +DEGREES (0 = off)
CALCULATOR_INPUT = (1, 28, 28)  # the shape calculator's input, C×H×W
CALCULATOR_LAYERS = [{'type': 'conv', 'out_channels': 6, 'kernel_size': 5, 'stride': 1, 'padding': 0}, {'type': 'relu'}, {'type': 'maxpool', 'kernel_size': 2, 'stride': 2, 'padding': 0}, {'type': 'conv', 'out_channels': 16, 'kernel_size': 5, 'stride': 1, 'padding': 0}, {'type': 'relu'}, {'type': 'maxpool', 'kernel_size': 2, 'stride': 2, 'padding': 0}, {'type': 'flatten'}, {'type': 'linear', 'out_features': 10}]  # the shape calculator's layers (empty when its stack is invalid)
DATA_DIR = "data"  # the playground's copies (it offers them) in DATA_DIR/mnist/ or cifar10/; else downloads here
WEIGHTS = None  # a .pt downloaded from the playground's 📦 box: its weights are loaded instead of training
# --- end of settings ---

device = "cuda" if torch.cuda.is_available() else "cpu"
channels = 1 if DATASET == "mnist" else 3
# The notebook's transform: pixels to 0..1, then (x - 0.5) / 0.5 per channel.
transform = transforms.Compose([transforms.ToTensor(),
                                transforms.Normalize((0.5,) * channels, (0.5,) * channels)])

# %% [markdown]
# ## The data
# With the playground's copies in `DATA_DIR` (MNIST's own IDX files; a 10,000 / 2,000 JPEG
# subset of CIFAR-10: "Show the code" offers them) the script needs no internet. Without them
# torchvision downloads the full dataset into `DATA_DIR`.


# %%
def unpack_once(unpack, target: Path) -> Path:
    """Unpack into a temporary folder, then rename: a half-unpacked folder is never used."""
    if not target.exists():
        partial = target.with_name(f"{target.name}.partial-{os.getpid()}")
        unpack(partial)
        try:
            partial.rename(target)
        except OSError:  # another run unpacked it meanwhile
            shutil.rmtree(partial, ignore_errors=True)
    return target


def download(dataset, folder: str, files: str, train: bool):
    """torchvision's copy of the dataset, downloaded into DATA_DIR; offline, which files to put where."""
    try:
        return dataset(DATA_DIR, train=train, download=True, transform=transform)
    except (RuntimeError, OSError):  # torchvision could not download: offline
        raise SystemExit(f"No internet to download {dataset.__name__}: put {files} (the playground's "
                         f"'Show the code' offers them) in {Path(DATA_DIR) / folder}/") from None


def mnist(train: bool):
    embedded = Path(DATA_DIR) / "mnist"
    if not (embedded / "train-images-idx3-ubyte.gz").exists():
        return download(datasets.MNIST, "mnist", "its four .gz files", train)

    def gunzip(folder: Path):  # torchvision reads the uncompressed files from <root>/MNIST/raw
        folder.mkdir(parents=True)
        for gz in embedded.glob("*.gz"):
            with gzip.open(gz) as src, open(folder / gz.stem, "wb") as dst:
                shutil.copyfileobj(src, dst)

    root = Path(DATA_DIR) / ".cache" / "torchvision"
    unpack_once(gunzip, root / "MNIST" / "raw")
    return datasets.MNIST(root, train=train, download=False, transform=transform)


def cifar10(train: bool):
    split = "train" if train else "test"
    archive = Path(DATA_DIR) / "cifar10" / f"{split}.zip"
    if not archive.exists():
        return download(datasets.CIFAR10, "cifar10", "train.zip and test.zip", train)
    # <split>/<class>/<n>.jpg: ImageFolder numbers the classes alphabetically, CIFAR-10's order.
    def unzip(folder: Path):
        with zipfile.ZipFile(archive) as zipped:
            zipped.extractall(folder)

    folder = unpack_once(unzip, Path(DATA_DIR) / ".cache" / f"cifar10_{split}_jpg")
    return datasets.ImageFolder(folder / split, transform=transform)


load = mnist if DATASET == "mnist" else cifar10
train_set, test_set = load(train=True), load(train=False)
# Seeded subsets: the same images the playground trains and tests on.
train_set = Subset(train_set, torch.randperm(len(train_set), generator=torch.Generator().manual_seed(SEED))
                   [:N_TRAIN].tolist())
test_set = Subset(test_set, torch.randperm(len(test_set), generator=torch.Generator().manual_seed(1))
                  [:N_TEST].tolist())
train_loader = DataLoader(train_set, batch_size=BATCH_SIZE, shuffle=True,
                          generator=torch.Generator().manual_seed(SEED))
test_loader = DataLoader(test_set, batch_size=1000)
print(f"{len(train_set):,} training images, {len(test_set):,} test images")

# %% [markdown]
# ## The model
# The notes' SimpleCNN. On 28×28 MNIST the maps after the second pool are 16×5×5 = 400 (the
# notes' `view(-1, 16*6*6)` assumes a 32×32 input); `nn.Flatten()` needs no number at all.
# The layers are named, so the feature maps below are read by name.

# %%
torch.manual_seed(SEED)  # same seed -> same initial weights
if DATASET == "mnist":
    model = nn.Sequential(OrderedDict([      # input (N, 1, 28, 28)
        ("conv1", nn.Conv2d(1, 6, kernel_size=3)),  # -> (N, 6, 26, 26)
        ("relu1", nn.ReLU()),
        ("pool1", nn.MaxPool2d(2)),                 # -> (N, 6, 13, 13)
        ("conv2", nn.Conv2d(6, 16, kernel_size=3)),  # -> (N, 16, 11, 11)
        ("relu2", nn.ReLU()),
        ("pool2", nn.MaxPool2d(2)),                 # -> (N, 16, 5, 5): 11 / 2 = 5.5 floors to 5
        ("flatten", nn.Flatten()),                  # -> (N, 400)
        ("fc1", nn.Linear(16 * 5 * 5, 120)),
        ("relu3", nn.ReLU()),
        ("fc2", nn.Linear(120, 84)),
        ("relu4", nn.ReLU()),
        ("fc3", nn.Linear(84, 10)),
    ]))
else:
    model = nn.Sequential(OrderedDict([      # input (N, 3, 32, 32)
        ("conv1", nn.Conv2d(3, 32, kernel_size=3, padding=1)),  # -> (N, 32, 32, 32): padding 1 keeps the size
        ("relu1", nn.ReLU()),
        ("pool1", nn.MaxPool2d(2)),                             # -> (N, 32, 16, 16)
        ("conv2", nn.Conv2d(32, 64, kernel_size=3, padding=1)),  # -> (N, 64, 16, 16)
        ("relu2", nn.ReLU()),
        ("pool2", nn.MaxPool2d(2)),                             # -> (N, 64, 8, 8)
        ("flatten", nn.Flatten()),                              # -> (N, 4096)
        ("fc1", nn.Linear(64 * 8 * 8, 512)),
        ("relu3", nn.ReLU()),
        ("fc2", nn.Linear(512, 10)),
    ]))
model = model.to(device)
print(model)

# %% [markdown]
# ## Data augmentation
# Each training batch is changed before the model sees it, every image with its own random
# draw, by whole-batch tensor operations on the device (no loop over images). The loader's
# images are already normalized, so the pixels go back to 0..1 first and are normalized again
# at the end. Labels stay as they are, and test images are never augmented. With every
# augmentation setting at 0 / False the batch passes unchanged.


# %%
def gray(x: torch.Tensor) -> torch.Tensor:
    """Each pixel's gray level (colour images), as torchvision's rgb_to_grayscale."""
    if x.shape[1] != 3:
        return x
    return (x * torch.tensor([0.2989, 0.587, 0.114], device=x.device).view(1, 3, 1, 1)).sum(1, keepdim=True)


def augment(images: torch.Tensor) -> torch.Tensor:
    """Random crop, flip, rotation and colour jitter of a normalized batch (N, C, H, W)."""
    n, c, h, w = images.shape
    x = images * 0.5 + 0.5  # undo Normalize: pixels in 0..1
    if CROP_PADDING:
        padded = nn.functional.pad(x, (CROP_PADDING,) * 4)  # a black border
        top, left = torch.randint(0, 2 * CROP_PADDING + 1, (2, n, 1), device=x.device)
        rows = (top + torch.arange(h, device=x.device)).view(n, 1, h, 1).expand(n, c, h, padded.shape[3])
        cols = (left + torch.arange(w, device=x.device)).view(n, 1, 1, w).expand(n, c, h, w)
        x = padded.gather(2, rows).gather(3, cols)  # each image's own h×w window
    if FLIP:
        mirrored = torch.rand(n, 1, 1, 1, device=x.device) < 0.5
        x = torch.where(mirrored, x.flip(-1), x)
    if DEGREES:
        angle = (torch.rand(n, device=x.device) * 2 - 1) * math.radians(DEGREES)
        cos, sin, zero = angle.cos(), angle.sin(), torch.zeros_like(angle)
        theta = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)
        grid = nn.functional.affine_grid(theta, [n, c, h, w], align_corners=False)
        x = nn.functional.grid_sample(x, grid, align_corners=False)  # corners from outside are black
    if JITTER:
        brightness, contrast, saturation = 1 + (torch.rand(3, n, 1, 1, 1, device=x.device) * 2 - 1) * JITTER
        x = (x * brightness).clamp(0, 1)
        mean = gray(x).mean(dim=(1, 2, 3), keepdim=True)
        x = ((x - mean) * contrast + mean).clamp(0, 1)  # contrast: towards or away from the mean gray
        x = ((x - gray(x)) * saturation + gray(x)).clamp(0, 1)  # saturation: towards or away from gray
    return (x - 0.5) / 0.5  # Normalize again


# %% [markdown]
# ## Training
# The notebook's loop: a batch forward, the loss, backward, one optimizer step; after each
# epoch, the accuracy on test images the model never trained on.

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


criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=LR)  # @optimizer


def accuracy(loader) -> float:
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for images, labels in loader:
            predicted = model(images.to(device)).argmax(dim=1)
            correct += (predicted == labels.to(device)).sum().item()
            total += len(labels)
    model.train()
    return 100.0 * correct / total


epochs = 0 if WEIGHTS and load_weights(model) else EPOCHS
if epochs == 0:  # nothing to train: the test accuracy of the weights as they are
    test_acc = accuracy(test_loader)
    print(f"test accuracy {test_acc:.2f}%")
for epoch in range(epochs):
    model.train()
    for images, labels in train_loader:
        images, labels = augment(images.to(device)), labels.to(device)
        optimizer.zero_grad()
        loss = criterion(model(images), labels)
        loss.backward()
        optimizer.step()
    test_acc = accuracy(test_loader)
    print(f"epoch {epoch + 1}: loss {loss.item():.4f}, test accuracy {test_acc:.2f}%")

# %% [markdown]
# ## Feature maps
# What each convolution, ReLU and pooling layer outputs for one test image, read from the
# trained model itself with torchvision's `create_feature_extractor`.

# %%
extractor = create_feature_extractor(
    model, return_nodes=["conv1", "relu1", "pool1", "conv2", "relu2", "pool2"])
with torch.no_grad():
    maps = extractor(test_set[0][0].unsqueeze(0).to(device))
for name, value in maps.items():
    print(f"{name:6} {tuple(value.shape)}")

# %% [markdown]
# ## The shape calculator's stack
# The playground's shape calculator traced these layers on paper; here torch runs them on one
# blank image. Lazy layers read their input size on the first pass, as the calculator does.


# %%
def build(spec: dict) -> nn.Module:
    kind = spec["type"]
    if kind == "conv":
        return nn.LazyConv2d(spec["out_channels"], spec["kernel_size"], spec["stride"], spec["padding"])
    if kind == "maxpool":
        return nn.MaxPool2d(spec["kernel_size"], spec["stride"], spec["padding"])
    if kind == "avgpool":
        return nn.AvgPool2d(spec["kernel_size"], spec["stride"], spec["padding"])
    if kind == "linear":
        return nn.LazyLinear(spec["out_features"])
    return nn.ReLU() if kind == "relu" else nn.Flatten()


calculator_model = nn.Sequential(*[build(spec) for spec in CALCULATOR_LAYERS])
x = torch.zeros(1, *CALCULATOR_INPUT)
print(f"input  {tuple(x.shape)}")
with torch.no_grad():
    for layer in calculator_model:
        x = layer(x)
        print(f"{type(layer).__name__:10} -> {tuple(x.shape)}")
