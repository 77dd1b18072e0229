"""What an attempt runs on (issue 11): versions, device, precision, compile, data fingerprint."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import torch
import torchvision

from core.cifar_layout import expected_files
from core.spec import TrainConfig
from core.trainer.compiled import compile_enabled
from core.trainer.device import choose_precision, resolve_device
from core.trainer.fingerprint import dataset_fingerprint
from worker.training_process.job_run import JobRun

_ROOT = Path(__file__).resolve().parent.parent


def service_version() -> str | None:
    try:
        return importlib.metadata.version("cifar-resnet-service")
    except importlib.metadata.PackageNotFoundError:
        return None


def source_revision() -> str | None:
    """SOURCE_REVISION (the image's build argument), else the checkout's HEAD, else None."""
    if os.environ.get("SOURCE_REVISION"):
        return os.environ["SOURCE_REVISION"]
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=_ROOT, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{platform.processor() or platform.machine()} ({torch.get_num_threads()} threads)"


def environment(config: TrainConfig) -> dict[str, Any]:
    device = resolve_device(config.device)
    cuda = device.type == "cuda"
    return {
        "service_version": service_version(),
        "source_revision": source_revision(),
        "python": platform.python_version() or sys.version.split()[0],
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "cuda": torch.version.cuda if cuda else None,
        "cudnn": torch.backends.cudnn.version() if cuda else None,
        "device": _device_name(device),
        "precision": choose_precision(config.precision, device).name,
        "compiled": compile_enabled(config.compile, device, config.epochs),
        **_dataset_record(config),
    }


def _dataset_record(config: TrainConfig) -> dict[str, Any]:
    if config.dataset_file is not None:
        # An uploaded data set (issue 19): its cached file is named by its fingerprint.
        return {"dataset_fingerprint": Path(config.dataset_file).stem}
    return {
        "dataset_sha256": dataset_fingerprint(Path(config.data_dir), expected_files(config.dataset))
    }


def record_environment(run: JobRun, config: TrainConfig) -> None:
    """Store this attempt's environment under the job's lease, before training starts."""
    found = environment(config)
    run.held.record_environment(found)
