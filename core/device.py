"""Pick the device to train on: CUDA, then Apple MPS, then CPU."""
import os

import torch


def pick_device(force_cpu: bool = False) -> torch.device:
    """The best *usable* device; `force_cpu` overrides it.

    `torch.accelerator.current_accelerator()` alone reports the accelerator the build was
    compiled for (a CUDA wheel on a CPU-only laptop still says cuda), so we ask for a
    usable one with `check_available=True` and fall back to the per-backend checks.
    """
    if force_cpu or os.environ.get("PLAYGROUND_FORCE_CPU") == "1":
        return torch.device("cpu")
    accelerator = None
    if hasattr(torch, "accelerator"):
        try:
            accelerator = torch.accelerator.current_accelerator(check_available=True)
        except TypeError:  # older torch without check_available
            accelerator = None
    if accelerator is not None and accelerator.type in ("cuda", "mps"):
        return torch.device(accelerator.type)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def device_info(device: torch.device) -> dict:
    """What the sidebar shows: device name, torch version and CPU threads."""
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    elif device.type == "mps":
        name = "Apple GPU (MPS)"
    else:
        name = "CPU"
    return {
        "device": device.type,
        "name": name,
        "torch": torch.__version__,
        "cpu_threads": torch.get_num_threads(),
        "cuda_build": torch.version.cuda is not None,
    }


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so wall-clock timings are honest."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()
