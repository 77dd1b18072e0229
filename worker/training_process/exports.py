"""What a succeeded job leaves besides the .pt (issue 11), made in the training process while it
still holds the job's lease: safetensors and ONNX weights (the ONNX file checked against
PyTorch with onnxruntime), the evaluation report, and the training throughput it measured.

Nothing here fails the job: a failed export or check is recorded as such and logged.
"""

from __future__ import annotations

import json
import logging
import platform
import statistics
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from sqlalchemy.orm import Session

from core.spec import LOCAL_NAMES, TrainConfig
from core.store.artifacts import (
    ONNX,
    REPORT,
    SAFETENSORS,
    ArtifactFile,
    record_throughput,
)
from core.trainer.data import load_cifar
from core.trainer.device import resolve_device
from core.trainer.evaluation_report import evaluation_report
from core.trainer.export import (
    check_onnx,
    cpu_copy,
    onnx_bytes,
    safetensors_bytes,
    torch_logits,
)
from core.trainer.results import FitResult
from worker.held_job import LeaseLost

if TYPE_CHECKING:
    from worker.training_process.job_run import JobRun

log = logging.getLogger(__name__)


def store_exports(run: JobRun, result: FitResult) -> None:
    """Make and store every artifact of the job; record the throughput. Never raises but for
    a lost lease (then nothing more may be written)."""
    config = run.config
    if config is None or result.final is None:
        return
    started = time.perf_counter()
    try:
        files = make_artifacts(config, result)
    except Exception:
        log.exception("job %s: exports failed; the job succeeds without them", run.job_id)
        files = {}
    if files:
        try:
            run.held.save_artifacts(files)
        except LeaseLost:
            run.lease.lost.set()
            raise
    try:
        _record_throughput(run, config, result)
    except Exception:  # a figure for estimates is not worth failing a finished job for
        log.exception("job %s: could not record the throughput", run.job_id)
    log.info(
        "job %s: %d artifacts in %.1f s", run.job_id, len(files), time.perf_counter() - started
    )


def make_artifacts(config: TrainConfig, result: FitResult) -> dict[str, ArtifactFile]:
    spec = {k: v for k, v in config.to_dict().items() if k not in LOCAL_NAMES}
    data = load_cifar(Path(config.data_dir), config.dataset, canonical=config.dataset_file)
    model = cpu_copy(result.model)
    # One fp32 CPU pass over the test set serves the report and the ONNX check.
    logits = torch_logits(model, data.test_images)
    report = evaluation_report(logits, data.test_labels.numpy(), list(data.classes))
    report["spec"] = spec
    files = {
        REPORT: ArtifactFile(json.dumps(report, sort_keys=True).encode()),
        SAFETENSORS: ArtifactFile(
            safetensors_bytes(result.state_dict, spec=spec, classes=list(data.classes)),
            info={"classes": list(data.classes)},
        ),
    }
    files[ONNX] = _onnx(model, spec, list(data.classes), logits, data.test_images)
    return files


def _onnx(
    model: torch.nn.Module,
    spec: dict[str, Any],
    classes: list[str],
    logits: Any,
    test_images: torch.Tensor,
) -> ArtifactFile:
    try:
        exported = onnx_bytes(model, spec=spec, classes=classes)
    except Exception as error:  # the exporter raises many types
        log.exception("ONNX export failed")
        message = f"the ONNX export failed: {type(error).__name__}: {error}"
        return ArtifactFile(b"", info={"exported": False, "message": message, "classes": classes})
    check = check_onnx(exported, logits, test_images)
    info = {"exported": check.passed, "check": check.as_dict(), "classes": classes}
    if not check.passed:
        log.warning("ONNX export refused: %s", check.message)
        info["message"] = f"the ONNX export failed its check against PyTorch: {check.message}"
        return ArtifactFile(b"", info=info)
    return ArtifactFile(exported, info=info)


def _record_throughput(run: JobRun, config: TrainConfig, result: FitResult) -> None:
    # Training images per second of whole epoch (evaluation and checkpoint included): what an
    # estimate of epoch times needs. The first epoch carries one-off costs (allocator, cuDNN
    # autotuning, compilation).
    train_images = len(
        load_cifar(
            Path(config.data_dir), config.dataset, canonical=config.dataset_file
        ).train_labels
    )
    speeds = [train_images / m.seconds for m in result.history if m.seconds > 0]
    steady = speeds[1:] if len(speeds) > 1 else speeds
    if not steady:
        return
    precision = result.precision  # as used: "auto" resolved by fit
    name = device_name(resolve_device(config.device))
    figure = statistics.median(steady)

    def save(session: Session) -> None:
        record_throughput(
            session=session,
            device=name,
            architecture=config.architecture,
            depth=config.depth,
            batch_size=config.batch_size,
            precision=precision,
            images_per_second=figure,
            epochs=len(steady),
        )

    run.write(save, what="record throughput")


def device_name(device: torch.device) -> str:
    """The GPU's name ("NVIDIA H100 80GB HBM3"), or the CPU's model and torch's threads."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{cpu_model()} ({torch.get_num_threads()} threads)"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "cpu"
