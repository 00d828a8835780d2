"""Pick the device to train on (CUDA, then Apple MPS, then CPU) and the one CPU-thread policy."""
import contextlib
import os
from pathlib import Path

import torch


def available_cpus(cgroup: str = "/sys/fs/cgroup") -> int:
    """The CPUs this process may use: its CPU affinity, capped by a container's CPU quota
    (cgroup v2 `cpu.max`, or v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`), at least 1.
    In a container limited to 3 CPUs on a 64-core node this is 3, not 64."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    quota = None
    try:
        limit, period = Path(cgroup, "cpu.max").read_text().split()[:2]
        quota = None if limit == "max" else int(limit) / int(period)
    except (OSError, ValueError):
        try:
            limit = int(Path(cgroup, "cpu", "cpu.cfs_quota_us").read_text())
            period = int(Path(cgroup, "cpu", "cpu.cfs_period_us").read_text())
            quota = limit / period if limit > 0 and period > 0 else None
        except (OSError, ValueError):
            pass
    if quota is not None:
        cpus = min(cpus, int(quota))  # 2.5 CPUs of quota: 2 threads, not 3 that get throttled
    return max(1, cpus)


# PyTorch's own choice of intra-op threads (one per physical core), capped by the container's CPU
# quota (PyTorch counts the host's cores), before anything changes it.
_DEFAULT_THREADS = min(torch.get_num_threads(), available_cpus())


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


def share_cpu_with_browser() -> int:
    """Train inside the app on all CPU cores but one, left to the browser and the Streamlit
    server that draw the live charts meanwhile; returns the thread count now in use.

    Why: PyTorch's OpenMP threads meet at a barrier after every operation, so when the
    browser takes a core from one of them, the others wait at each barrier: training in
    Chromium on a 2-core machine runs faster on 1 thread than on 2 (the README has the
    figures). An explicit OMP_NUM_THREADS is left alone.
    """
    if not os.environ.get("OMP_NUM_THREADS"):
        threads = max(1, _DEFAULT_THREADS - 1)
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
    return torch.get_num_threads()


@contextlib.contextmanager
def one_cpu_thread(device: torch.device):
    """One intra-op CPU thread for the duration (on the CPU), then the count from before.

    For timing one training loop against another (the bench) with the same single thread on
    both sides, whatever the app's policy above chose.
    """
    before = torch.get_num_threads()
    if device.type == "cpu":
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


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
        "cpu_threads": torch.get_num_threads(),   # what training uses now
        "cpu_threads_default": _DEFAULT_THREADS,  # PyTorch's default: one per physical core
        "cuda_build": torch.version.cuda is not None,
    }


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so wall-clock timings are honest."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()
