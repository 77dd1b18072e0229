"""A succeeded job with real exports, as the worker stores them: a small ResNet-8 with
non-trivial weights, its .pt, safetensors, ONNX (checked) and evaluation report."""

from __future__ import annotations

import hashlib
import io
import json
import uuid
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from core.store import lifecycle
from core.store.artifacts import ONNX, REPORT, SAFETENSORS, ArtifactFile, save_artifacts
from core.store.db import session_scope
from core.trainer.evaluation_report import evaluation_report
from core.trainer.export import check_onnx, cpu_copy, onnx_bytes, safetensors_bytes, torch_logits
from core.trainer.models import build_model, set_normalization
from testkit.cifar_files import CIFAR10_CLASSES
from tests.api.conftest import record_epochs, start_job


@dataclass(frozen=True)
class Exports:
    model: torch.nn.Module
    pt: bytes
    files: dict[str, ArtifactFile]


@lru_cache(maxsize=4)
def exports(depth: int = 8, seed: int = 0) -> Exports:
    torch.manual_seed(seed)
    model = build_model("resnet", depth, 10)
    set_normalization(model, torch.tensor([0.49, 0.48, 0.45]), torch.tensor([0.25, 0.24, 0.26]))
    model.train()
    with torch.no_grad():
        for _ in range(3):  # batch-norm statistics other than the initial ones
            model(torch.rand(64, 3, 32, 32))
    network = cpu_copy(model)
    generator = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (100, 3, 32, 32), dtype=torch.uint8, generator=generator)
    labels = torch.randint(0, 10, (100,), generator=generator)
    spec = {"architecture": "resnet", "depth": depth, "dataset": "cifar10"}
    logits = torch_logits(network, images)
    onnx_file = onnx_bytes(network, spec=spec, classes=CIFAR10_CLASSES)
    check = check_onnx(onnx_file, logits, images)
    assert check.passed, check.message
    report = evaluation_report(logits, labels.numpy(), CIFAR10_CLASSES)
    buffer = io.BytesIO()
    torch.save(network.state_dict(), buffer)
    files = {
        SAFETENSORS: ArtifactFile(
            safetensors_bytes(network.state_dict(), spec=spec, classes=CIFAR10_CLASSES)
        ),
        ONNX: ArtifactFile(
            onnx_file, info={"exported": True, "check": check.as_dict(), "classes": CIFAR10_CLASSES}
        ),
        REPORT: ArtifactFile(json.dumps(report).encode()),
    }
    return Exports(model=network, pt=buffer.getvalue(), files=files)


def succeed_with_exports(
    database_url: str,
    job_id: uuid.UUID,
    made: Exports | None = None,
    replace: dict[str, ArtifactFile] | None = None,
) -> Exports:
    """Run the job to success storing `made`'s files (some replaced), as the worker does."""
    made = made or exports()
    claim = start_job(database_url, job_id)
    record_epochs(database_url, claim, claim.spec["epochs"])
    with session_scope(database_url) as session:
        save_artifacts(
            session=session,
            job_id=job_id,
            lease_id=claim.lease_id,
            files={**made.files, **(replace or {})},
        )
        lifecycle.finish_job(
            session=session,
            job_id=job_id,
            lease_id=claim.lease_id,
            weights=made.pt,
            sha256=hashlib.sha256(made.pt).hexdigest(),
            run_seconds=10.0,
            final_test_accuracy=0.5,
            final_test_loss=1.0,
            best_test_accuracy=0.5,
            best_epoch=1,
            results={"classes": CIFAR10_CLASSES},
        )
    return made


def torch_top(model: torch.nn.Module, images: np.ndarray, k: int) -> list[list[tuple[str, float]]]:
    """What the PyTorch network says about uint8 N x 32 x 32 x 3 images: top-k (name, p)."""
    with torch.inference_mode():
        batch = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
        p = torch.softmax(model(batch).double(), dim=1)
    top = torch.topk(p, k, dim=1)
    return [
        [(CIFAR10_CLASSES[c], float(v)) for v, c in zip(values, index, strict=True)]
        for values, index in zip(top.values.tolist(), top.indices.tolist(), strict=True)
    ]
