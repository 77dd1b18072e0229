"""Admission by memory (issue 13): with several jobs per GPU (JOBS_PER_GPU), a claimed job's
training process starts only once the job's estimated memory fits beside the jobs already
running on this worker's device; until then it waits, its lease renewed, and a cancel ends it
without starting it (`worker.supervisor`, which renews its lease meanwhile).

The estimate is the formula of `core.compute` (the activations one training step keeps, four
copies of the weights for parameters, gradients, momentum and a low-precision copy) plus what
every process pays for itself (a CUDA context and the allocator's slack), plus the data set,
which the trainer keeps on the device (an uploaded one's image and class counts from the job's
spec, issue 19). Networks without a formula (VGG, pre-activation ResNets) count as an equal share
of the device. A job larger than the whole budget still runs, alone, rather than waiting for ever.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from core.compute import activation_bytes, weights_bytes
from core.estimate import dataset_images
from core.settings import Settings
from core.spec import ResolvedSpec

log = logging.getLogger(__name__)

# A CUDA context with cuDNN and cuBLAS loaded, plus the caching allocator's unused blocks and
# the convolution workspace: about 0.5 GiB per process on recent GPUs; rounded up.
PROCESS_BYTES = 768 << 20
WEIGHT_COPIES = 4  # parameters, gradients, momentum, the autocast copy
PROBE_TIMEOUT_S = 120.0
MIB = 1 << 20
# The training and test sets live on the device (core/trainer/fit.py): a uint8 32x32x3 image
# and its int64 label each.
IMAGE_BYTES = 3 * 32 * 32 + 8


def job_bytes(spec: dict[str, Any], *, capacity: int, jobs_per_gpu: int) -> int:
    """The device memory one job is expected to hold while it trains."""
    resolved = ResolvedSpec.from_stored(spec)
    architecture, depth, shortcut = resolved.architecture, resolved.depth, resolved.shortcut
    classes = resolved.num_classes
    # fp32 unless the job fixes a 16-bit precision: "auto" may resolve to fp32.
    precision = resolved.precision if resolved.precision in ("bf16", "fp16") else "fp32"
    activations = activation_bytes(
        architecture, depth, resolved.batch_size, classes, shortcut, precision
    )
    weights = weights_bytes(architecture, depth, classes, shortcut)
    if activations is None or weights is None:
        return capacity // jobs_per_gpu
    # The data set's own image and class counts (an upload's, from its spec; issue 19).
    train, test = dataset_images(resolved)
    data = (train + test) * IMAGE_BYTES
    return PROCESS_BYTES + activations + WEIGHT_COPIES * weights + data


def device_free_bytes(settings: Settings) -> int | None:
    """The memory this worker's jobs may use together: GPU_MEMORY_BYTES, else the free memory
    of the GPU measured now (in a process of its own: this one never imports torch), else None
    (the CPU, or a single job per worker: nothing to admit against)."""
    if settings.gpu_memory_bytes is not None:
        return settings.gpu_memory_bytes
    if settings.jobs_per_gpu == 1 or settings.device == "cpu":
        return None
    probe = (
        "import torch\nprint(torch.cuda.mem_get_info()[0] if torch.cuda.is_available() else '')\n"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", probe],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
            check=True,
        )
        text = done.stdout.strip()
    except (OSError, subprocess.SubprocessError) as error:
        log.warning("could not measure the GPU's free memory (%s); admitting jobs by count", error)
        return None
    return int(text) if text.isdigit() else None


class MemoryBudget:
    """Bytes held by the running jobs of this worker against a capacity (None: no limit)."""

    def __init__(self, capacity: int | None) -> None:
        self.capacity = capacity
        self._held = 0
        self._jobs = 0
        self._changed = threading.Condition()

    def admit(
        self, need: int, *, keep_waiting: Callable[[], bool], what: str, poll_s: float
    ) -> bool:
        """Hold `need` bytes once they fit (or nothing else runs); False if `keep_waiting`,
        asked every `poll_s` while waiting, says to give up."""
        announced = False
        with self._changed:
            while not self._fits(need):
                if not announced:
                    announced = True
                    log.info(
                        "%s: waiting for device memory: needs %d MiB; %d of %d MiB held by %d "
                        "job(s)",
                        what,
                        need // MIB,
                        self._held // MIB,
                        (self.capacity or 0) // MIB,
                        self._jobs,
                    )
                self._changed.wait(poll_s)
                if not self._fits(need) and not keep_waiting():
                    return False
            self._held += need
            self._jobs += 1
        if announced:
            log.info("%s: admitted", what)
        return True

    def release(self, need: int) -> None:
        with self._changed:
            self._held -= need
            self._jobs -= 1
            self._changed.notify_all()

    def _fits(self, need: int) -> bool:
        return self.capacity is None or self._jobs == 0 or self._held + need <= self.capacity


class Admission:
    """The worker's budget, measured on first use (the probe takes seconds: once)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._budget: MemoryBudget | None = None

    def budget(self, settings: Settings) -> MemoryBudget:
        with self._lock:
            if self._budget is None:
                started = time.monotonic()
                capacity = device_free_bytes(settings)
                self._budget = MemoryBudget(capacity)
                if capacity is not None:
                    log.info(
                        "device memory for jobs: %d MiB (%d job(s) at once; measured in %.1f s)",
                        capacity // MIB,
                        settings.jobs_per_gpu,
                        time.monotonic() - started,
                    )
            return self._budget
