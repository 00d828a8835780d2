"""cifar-cnn: the notes' CIFAR SimpleCNN on the embedded 10k subset, engine vs DataLoader loop."""
from bench._cnn_common import run_playground, run_reference

WORKLOAD = "cifar-cnn"


def run(quick: bool, device):
    epochs, n_train = (1, 2000) if quick else (3, None)  # full: the page default, 10k × 3 epochs
    yield run_playground(WORKLOAD, "cifar", device, epochs, n_train)
    yield run_reference(WORKLOAD, "cifar", device, epochs, n_train)
