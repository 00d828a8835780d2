# %% [markdown]
# # ANN on MNIST: the course notebook's SimpleANN
# From the Deep Learning Playground.
# Every 28×28 image becomes a row of 784 numbers that flows through fully connected layers
# to 10 scores, one per digit. Change the settings below and run the whole script again.

# %%
import gzip
import shutil
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, Subset
from torchvision import datasets, transforms

# --- settings ---
DATA_DIR = "./data"  # MNIST's four files in DATA_DIR/mnist/ (the playground offers them); else downloaded here
N_TRAIN = 60000  # the first N training images; testing always uses the official 10,000
HIDDEN = (128, 64)  # hidden layer widths: the notebook's SimpleANN is 784-128-64-10
ACTIVATION = "ReLU"  # a torch.nn activation: ReLU, Sigmoid, Tanh, LeakyReLU, ELU, GELU
DROPOUT = 0.0  # share of each hidden layer's outputs zeroed while training; 0 = none
EPOCHS = 10  # passes over the training images
BATCH_SIZE = 64  # images per optimizer step
LR = 0.01  # learning rate
SEED = 0  # same seed, same initial weights and batch order
NORMALIZATION = (0.5, 0.5)  # (mean, std) for Normalize: (0.5, 0.5) maps 0..1 to -1..1
WEIGHTS_FILE = "mnist_ann.pt"  # where the trained weights are saved
WEIGHTS = None  # a .pt downloaded from the playground's 📦 box: its weights are loaded instead of training
# --- end of settings ---

torch.manual_seed(SEED)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

# %% [markdown]
# ## Data
# `ToTensor()` turns 0…255 gray levels into 0…1; `Normalize` then subtracts the mean and
# divides by the std, so the inputs sit on a scale near ±1.

# %%
root, download = Path(DATA_DIR), True
embedded = Path(DATA_DIR) / "mnist"
if (embedded / "train-images-idx3-ubyte.gz").exists():
    # DATA_DIR/mnist/ holds MNIST's four .gz files (the playground's copies): torchvision reads
    # them uncompressed from <root>/MNIST/raw/, so unpack them once instead of downloading.
    root, download = Path(DATA_DIR) / ".cache" / "torchvision", False
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for packed in embedded.glob("*-ubyte.gz"):
        if not (raw / packed.stem).exists():
            with gzip.open(packed, "rb") as src, open(raw / packed.stem, "wb") as dst:
                shutil.copyfileobj(src, dst)

mean, std = NORMALIZATION
transform = transforms.Compose([
    transforms.ToTensor(),  # uint8 0..255 -> float 0..1, shape (1, 28, 28)
    transforms.Normalize((mean,), (std,)),
])
try:
    train_set = datasets.MNIST(root, train=True, download=download, transform=transform)
    test_set = datasets.MNIST(root, train=False, download=download, transform=transform)
except RuntimeError:  # torchvision could not download: offline
    raise SystemExit(f"No internet to download MNIST: put its four .gz files (the playground's "
                     f"'Show the code' offers them) in {embedded}/") from None
if len(train_set) > N_TRAIN:
    train_set = Subset(train_set, range(N_TRAIN))  # the first N_TRAIN images
train_loader = DataLoader(train_set, batch_size=BATCH_SIZE, shuffle=True,
                          generator=torch.Generator().manual_seed(SEED))
test_loader = DataLoader(test_set, batch_size=1000)
print(f"{len(train_set):,} training images, {len(test_set):,} test images")

# %% [markdown]
# ## Model
# `Flatten` makes each image a row of 784 pixels; each `Linear` layer holds
# (inputs + 1) × outputs parameters (one weight per pair, one bias per output).

# %%
layers = [nn.Flatten()]  # (N, 1, 28, 28) -> (N, 784)
width = 28 * 28
for size in HIDDEN:
    layers += [nn.Linear(width, size), getattr(nn, ACTIVATION)()]
    if DROPOUT > 0:
        layers.append(nn.Dropout(DROPOUT))
    width = size
layers.append(nn.Linear(width, 10))  # 10 scores, one per digit
model = nn.Sequential(*layers).to(device)
print(model)
print("parameters:", sum(p.numel() for p in model.parameters()))

# %% [markdown]
# ## Training
# Cross-entropy loss on the 10 scores; after every epoch, the accuracy on the 10,000 test
# images the model never trains on.

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
optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=0.9)  # @optimizer


def test_accuracy():
    model.eval()
    correct = 0
    with torch.no_grad():
        for images, labels in test_loader:
            images, labels = images.to(device), labels.to(device)
            correct += (model(images).argmax(dim=1) == labels).sum().item()
    return 100.0 * correct / len(test_set)


epochs = 0 if WEIGHTS and load_weights(model) else EPOCHS
test_acc = test_accuracy()
print(f"test accuracy before training: {test_acc:.2f}%")  # random weights: about 10%, guessing
start = time.perf_counter()
for epoch in range(1, epochs + 1):
    model.train()
    running_loss = 0.0
    for images, labels in train_loader:
        images, labels = images.to(device), labels.to(device)
        optimizer.zero_grad()
        loss = criterion(model(images), labels)
        loss.backward()
        optimizer.step()
        running_loss += loss.item() * len(images)
    test_acc = test_accuracy()
    print(f"epoch {epoch}: train loss {running_loss / len(train_set):.4f}, "
          f"test accuracy {test_acc:.2f}%, {time.perf_counter() - start:.1f} s")

# %%
torch.save(model.state_dict(), WEIGHTS_FILE)  # same format as the playground's download
print(f"saved the weights to {WEIGHTS_FILE}")
