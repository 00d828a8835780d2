"""mnist-cnn: the notes' SimpleCNN (28×28 corrected) on MNIST, engine vs notebook DataLoader loop."""
from bench._cnn_common import run_playground, run_reference

WORKLOAD = "mnist-cnn"


def run(quick: bool, device):
    epochs, n_train = (1, 5000) if quick else (2, None)  # full: all 60,000 images, 2 epochs
    yield run_playground(WORKLOAD, "mnist", device, epochs, n_train)
    yield run_reference(WORKLOAD, "mnist", device, epochs, n_train)
