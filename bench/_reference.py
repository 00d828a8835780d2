"""The notebook-style loop every `reference` implementation shares, and a fair warm-up."""
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


@torch.no_grad()
def notebook_accuracy(model: nn.Module, loader, device) -> float:
    """Test accuracy in %, as the notebooks compute it."""
    model.eval()
    correct = total = 0
    for inputs, targets in loader:
        correct += (model(inputs.to(device)).argmax(1) == targets.to(device)).sum().item()
        total += len(targets)
    return 100.0 * correct / total
