# %% [markdown]
# # Transfer learning offline: a small pretrained backbone on five new classes
# Deep Learning Playground, ResNet page. A small residual network was pretrained on five
# CIFAR-10 classes (airplane, automobile, bird, cat, deer). Here it meets the other five (dog,
# frog, horse, ship, truck) with only a few labelled images of each, three ways, from the same
# images and the same seed: from scratch, frozen backbone + new head, and full fine-tuning.

# %%
import io
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

# %%
# --- settings ---
DATA_DIR = "data"  # DATA_DIR/models/cifar5_backbone.pt and DATA_DIR/cifar10/: the playground's files (it offers them)
PER_CLASS = 50  # labelled training images of each new class
EPOCHS = 15  # passes over those images, the same for all three models
BATCH_SIZE = 32  # images per optimizer step
LR = 0.001  # Adam's learning rate for every new or from-scratch weight
BACKBONE_LR = 0.0001  # fine-tuning: the pretrained layers learn 10x slower
SEED = 0  # same images, same new head, same batch order for all three
WEIGHTS = None  # a .pt downloaded from the playground's 📦 box: its weights are loaded instead of training
# --- end of settings ---

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
TARGET = (5, 6, 7, 8, 9)  # dog, frog, horse, ship, truck: the backbone never saw these
MEAN, STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)

# %% [markdown]
# ## The data
# The playground's CIFAR-10 subset (1,000 training and 200 test images per class; without it,
# torchvision downloads the whole data set when online). The same seed
# draws the same PER_CLASS training images of each new class for all three models.

# %%
def read_jpeg_zip(path):
    """The playground's CIFAR-10 subset: <split>/<class>/<nnnn>.jpg inside a zip."""
    images, labels = [], []
    with zipfile.ZipFile(path) as archive:
        for name in sorted(n for n in archive.namelist() if n.lower().endswith(".jpg")):
            images.append(np.asarray(Image.open(io.BytesIO(archive.read(name))).convert("RGB")))
            labels.append(CLASSES.index(name.split("/")[-2]))
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2), torch.tensor(labels)


def load(train):
    embedded = Path(DATA_DIR) / "cifar10" / ("train.zip" if train else "test.zip")
    if embedded.exists():
        return read_jpeg_zip(embedded)
    from torchvision import datasets  # not in DATA_DIR: download once

    try:
        dataset = datasets.CIFAR10(DATA_DIR, train=train, download=True)
    except (RuntimeError, OSError):  # torchvision could not download: offline
        raise SystemExit(f"No internet to download CIFAR-10: put train.zip and test.zip (the playground's "
                         f"'Show the code' offers them) in {embedded.parent}/") from None
    return torch.from_numpy(dataset.data).permute(0, 3, 1, 2), torch.tensor(dataset.targets)


def new_classes(train, per_class=None):
    """Normalized images of the five new classes and labels 0..4; per_class images of each."""
    x, y = load(train)
    generator = torch.Generator().manual_seed(SEED)
    chosen = []
    for c in TARGET:
        index = torch.nonzero(y == c).flatten()
        index = index[torch.randperm(len(index), generator=generator)]
        chosen.append(index if per_class is None else index[:per_class])
    index = torch.cat(chosen)
    index = index[torch.randperm(len(index), generator=generator)]
    images = (x[index].float() / 255 - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)
    return images, y[index] - TARGET[0]  # labels 5..9 -> 0..4


x_train, y_train = new_classes(True, PER_CLASS)
x_test, y_test = new_classes(False)
print(f"{len(x_train)} labelled training images, {len(x_test)} test images of 5 new classes")

# %% [markdown]
# ## The backbone
# A stride-2 stem and three residual blocks (torchvision's BasicBlock), then global average
# pooling: every 32x32 image becomes 64 features. The head, a new last layer, maps them to
# the five classes.

# %%
class BasicBlock(nn.Module):
    """conv3x3-BN-ReLU-conv3x3-BN, plus the shortcut, then ReLU."""

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Identity()
        if stride != 1 or in_channels != out_channels:  # shapes differ: a 1x1 convolution
            self.shortcut = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(out_channels))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class Backbone(nn.Module):
    """(N, 3, 32, 32) -> (N, 64) features."""

    def __init__(self, widths=(16, 32, 64)):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, widths[0], 3, stride=2, padding=1, bias=False),
                                  nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True))
        blocks, channels = [], widths[0]
        for i, width in enumerate(widths):
            blocks.append(BasicBlock(channels, width, stride=1 if i == 0 else 2))
            channels = width
        self.stages = nn.Sequential(*blocks)
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())

    def forward(self, x):
        return self.pool(self.stages(self.stem(x)))


def pretrained_backbone():
    path = Path(DATA_DIR) / "models" / "cifar5_backbone.pt"
    if not path.exists():  # the playground pretrained it: no other copy to download
        raise SystemExit(f"Put cifar5_backbone.pt (the playground's 'Show the code' offers it) in {path.parent}/")
    backbone = Backbone()
    backbone.load_state_dict(torch.load(path, weights_only=True)["backbone"])
    return backbone


def new_head():
    torch.manual_seed(SEED)  # the same new head for all three models
    return nn.Linear(64, 5)


def transfer_net(backbone):
    """backbone -> new head, named as in the playground, so its weights load."""
    return nn.Sequential(OrderedDict(backbone=backbone, head=new_head()))


def counts(model):
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, sum(p.numel() for p in model.parameters()) - trainable


def show_counts(name, model):
    trainable, frozen = counts(model)
    print(f"{name}: {trainable:,} trainable, {frozen:,} frozen parameters")

# %% [markdown]
# ## One training loop for all three
# Shuffle with a seeded generator (the same batch order for every model), step, and score
# the test images after every epoch.

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


def make_optimizer(params):
    return torch.optim.Adam(params, lr=LR)  # @optimizer


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        correct = (model(x).argmax(1) == y).sum().item()
    return 100 * correct / len(x)


def train(model, x, y, x_val, y_val, optimizer):
    criterion = nn.CrossEntropyLoss()
    order = torch.Generator().manual_seed(SEED)
    for epoch in range(1, EPOCHS + 1):
        model.train()
        perm = torch.randperm(len(x), generator=order)
        for start in range(0, len(x), BATCH_SIZE):
            batch = perm[start:start + BATCH_SIZE]
            optimizer.zero_grad()
            loss = criterion(model(x[batch]), y[batch])
            loss.backward()
            optimizer.step()
        acc = accuracy(model, x_val, y_val)
        print(f"  epoch {epoch}: loss {loss.item():.4f}, test accuracy {acc:.2f}%")
    return acc


results = {}

# %% [markdown]
# ## 1. From scratch
# The same network with random weights: every layer learns from the few labelled images.

# %%
torch.manual_seed(SEED)
scratch = transfer_net(Backbone())
show_counts("From scratch", scratch)
if WEIGHTS and load_weights(scratch, "scratch"):
    results["scratch"] = accuracy(scratch, x_test, y_test)
else:
    results["scratch"] = train(scratch, x_train, y_train, x_test, y_test, make_optimizer(scratch.parameters()))

# %% [markdown]
# ## 2. Frozen backbone + new head (feature extraction)
# requires_grad = False: autograd computes no gradient for these weights and the optimizer
# never changes them. BatchNorm's running mean and variance are buffers, not parameters, so
# eval() keeps them fixed too. The frozen backbone gives the same features every epoch:
# compute them once and train only the head on them.

# %%
backbone = pretrained_backbone()
for p in backbone.parameters():
    p.requires_grad = False  # frozen: no gradient, no update
backbone.eval()  # BatchNorm uses its stored statistics and stops updating them
frozen = transfer_net(backbone)
head = frozen.head  # the only part that learns
show_counts("Frozen backbone + new head", frozen)
if WEIGHTS and load_weights(frozen, "frozen"):
    results["frozen"] = accuracy(frozen, x_test, y_test)
else:
    with torch.no_grad():
        f_train, f_test = backbone(x_train), backbone(x_test)  # (N, 64) features
    results["frozen"] = train(head, f_train, y_train, f_test, y_test, make_optimizer(head.parameters()))

# %% [markdown]
# ## 3. Full fine-tuning
# Every layer learns, but the pretrained backbone with a smaller learning rate: two parameter
# groups in one optimizer.

# %%
finetune = transfer_net(pretrained_backbone())
show_counts("Full fine-tuning", finetune)
if WEIGHTS and load_weights(finetune, "finetune"):
    results["finetune"] = accuracy(finetune, x_test, y_test)
else:
    optimizer = torch.optim.Adam([{"params": finetune.backbone.parameters(), "lr": BACKBONE_LR},
                                  {"params": finetune.head.parameters(), "lr": LR}])
    results["finetune"] = train(finetune, x_train, y_train, x_test, y_test, optimizer)

print(f"Test accuracy with {PER_CLASS} labelled images per class: " +
      ", ".join(f"{name} {acc:.1f}%" for name, acc in results.items()))
