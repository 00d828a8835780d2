"""The notebook-style loop every `reference` implementation shares, and a fair warm-up."""
import time

import numpy as np
import torch
from torch import nn

from core.device import synchronize


def warm_up(device) -> None:
    """Pay one-time costs outside the timers (the first optimizer step imports torch._dynamo
    and initialises kernels): otherwise whichever implementation runs first loses seconds."""
    model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2)).to(device)
    for optimizer in (torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
                      torch.optim.Adam(model.parameters())):
        model(torch.zeros(2, 4, device=device)).sum().backward()
        optimizer.step()
    synchronize(device)


def notebook_epoch(model: nn.Module, loader, criterion, optimizer, device) -> None:
    """One epoch exactly as the course notebooks write it: batches from a DataLoader."""
    model.train()
    for inputs, targets in loader:
        inputs, targets = inputs.to(device), targets.to(device)
        optimizer.zero_grad()
        loss = criterion(model(inputs), targets)
        loss.backward()
        optimizer.step()


def timed_notebook_training(model: nn.Module, loader, criterion, optimizer, device, epochs: int) -> float:
    """Train `epochs` notebook-style epochs; wall-clock seconds, with the device synchronized."""
    synchronize(device)
    start = time.perf_counter()
    for _ in range(epochs):
        notebook_epoch(model, loader, criterion, optimizer, device)
    synchronize(device)
    return time.perf_counter() - start


class PILImageDataset(torch.utils.data.Dataset):
    """What torchvision's MNIST/CIFAR10/ImageFolder do per sample: a PIL image through transforms."""

    def __init__(self, images_uint8: torch.Tensor, labels: torch.Tensor, transform):
        if images_uint8.dim() == 3:
            images_uint8 = images_uint8.unsqueeze(1)  # (N, H, W) -> (N, 1, H, W)
        self.images = images_uint8.permute(0, 2, 3, 1).numpy()  # (N, H, W, C) as PIL wants
        self.labels, self.transform = labels.tolist(), transform

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        from PIL import Image

        img = self.images[i]
        img = Image.fromarray(img[..., 0] if img.shape[-1] == 1 else np.ascontiguousarray(img))
        return self.transform(img), self.labels[i]


@torch.no_grad()
def notebook_accuracy(model: nn.Module, loader, device) -> float:
    """Test accuracy in %, as the notebooks compute it."""
    model.eval()
    correct = total = 0
    for inputs, targets in loader:
        correct += (model(inputs.to(device)).argmax(1) == targets.to(device)).sum().item()
        total += len(targets)
    return 100.0 * correct / total
