"""A succeeded job's artifacts, made by the training process: safetensors and ONNX weights that
compute what the .pt computes, the evaluation report, and the throughput it measured."""

from __future__ import annotations

import io
import json
import uuid

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from safetensors.torch import load
from sqlalchemy import select

from core.settings import Settings
from core.store import jobs
from core.store.artifacts import (
    ONNX,
    REPORT,
    SAFETENSORS,
    artifact_info,
    load_artifact,
)
from core.store.db import session_scope
from core.store.tables import Artifact, JobStatus, Throughput
from core.trainer.data import load_cifar
from core.trainer.evaluation import evaluate
from core.trainer.models import build_model
from testkit.builders import claim, new_job
from testkit.builders import train_in_process as train


def _artifact(database_url: str, job_id: uuid.UUID, kind: str) -> bytes:
    with session_scope(database_url) as session:
        data = load_artifact(session=session, job_id=job_id, kind=kind)
    assert data is not None, kind
    return data


def test_succeeded_job_has_every_format_and_a_report(settings: Settings) -> None:
    job_id = new_job(settings.database_url, epochs=2)
    held = claim(settings.database_url, job_id)
    assert train(job_id, held.lease_id, settings) == JobStatus.succeeded

    url = settings.database_url
    with session_scope(url) as session:
        state = torch.load(
            io.BytesIO(jobs.load_weights(session=session, job_id=job_id) or b""),
            weights_only=True,
        )
        kinds = set(session.scalars(select(Artifact.kind).where(Artifact.job_id == job_id)))
        infos = {
            kind: artifact_info(session=session, job_id=job_id, kind=kind)
            for kind in (SAFETENSORS, ONNX, REPORT)
        }
        measured = list(session.scalars(select(Throughput)))
    assert kinds == {SAFETENSORS, ONNX, REPORT}

    tensors = load(_artifact(url, job_id, SAFETENSORS))
    assert set(tensors) == set(state)
    assert all(torch.equal(tensors[name], state[name]) for name in state)

    data = load_cifar(settings.data_dir, "cifar10")
    model = build_model("resnet", 8, 10)
    model.load_state_dict(tensors)
    model.eval()
    exported = _artifact(url, job_id, ONNX)
    onnx_info = infos[ONNX]
    assert onnx_info is not None
    check = onnx_info.info["check"]  # type: ignore[index]
    assert check["passed"] and check["images"] == 200
    assert check["max_abs_logit_diff"] < 1e-3 and check["agreement"] >= 0.999
    proto = onnx.load_from_string(exported)
    names = json.loads({p.key: p.value for p in proto.metadata_props}["classes"])
    assert names == data.classes
    session = onnxruntime.InferenceSession(exported)
    images = data.test_images.float() / 255
    logits = session.run(["logits"], {"images": images.numpy()})[0]
    with torch.inference_mode():
        expected = model(images).numpy()
    assert np.abs(logits - expected).max() < 1e-3

    report = json.loads(_artifact(url, job_id, REPORT))
    truth = evaluate(model, data.test_images, data.test_labels)
    assert report["images"] == 200
    assert report["top1_error"] == pytest.approx(1 - truth.accuracy, abs=1e-9)
    assert report["confusion_matrix"] == truth.confusion_matrix
    assert report["classes"] == data.classes
    assert len(report["reliability"]) == 15
    assert report["spec"]["depth"] == 8

    assert len(measured) == 1
    row = measured[0]
    assert (row.architecture, row.depth, row.batch_size, row.precision) == (
        "resnet",
        8,
        64,
        "fp32",
    )
    assert row.images_per_second > 0 and row.epochs == 1
    assert "threads" in row.device
