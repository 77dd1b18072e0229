"""GET /jobs/{id}/weights?format=safetensors|onnx and GET /jobs/{id}/report: the files the worker
stored, with the .pt's headers; 409 before success or when an export failed."""

from __future__ import annotations

import hashlib
import json
import uuid

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from safetensors.torch import load

from core.store.artifacts import ONNX, ArtifactFile
from core.trainer.models import build_model
from tests.api.conftest import Api, fail_job
from tests.api.exported import exports, succeed_with_exports


@pytest.fixture
def job(api: Api) -> uuid.UUID:
    job_id = api.new_job()  # resnet-20 in the spec; the stored files are a ResNet-8's
    succeed_with_exports(api.database_url, job_id)
    return job_id


def test_weights_default_is_still_the_pt(api: Api, job: uuid.UUID) -> None:
    answer = api.get(f"/jobs/{job}/weights")
    assert answer.status_code == 200
    assert answer.content == exports().pt
    assert answer.headers["Content-Disposition"].endswith(f'resnet20-{job}.pt"')


def test_weights_as_safetensors_load_into_build_model(api: Api, job: uuid.UUID) -> None:
    answer = api.get(f"/jobs/{job}/weights", params={"format": "safetensors"})
    assert answer.status_code == 200
    data = answer.content
    assert answer.headers["Content-Length"] == str(len(data))
    assert answer.headers["ETag"] == f'"{hashlib.sha256(data).hexdigest()}"'
    assert answer.headers["Content-Disposition"] == (
        f'attachment; filename="resnet20-{job}.safetensors"'
    )
    model = build_model("resnet", 8, 10)
    model.load_state_dict(load(data))
    model.eval()
    x = torch.rand(4, 3, 32, 32)
    with torch.inference_mode():
        assert torch.equal(model(x), exports().model(x))


def test_weights_as_onnx_run_in_onnxruntime(api: Api, job: uuid.UUID) -> None:
    answer = api.get(f"/jobs/{job}/weights", params={"format": "onnx"})
    assert answer.status_code == 200
    assert answer.headers["Content-Disposition"] == f'attachment; filename="resnet20-{job}.onnx"'
    proto = onnx.load_from_string(answer.content)
    classes = json.loads({p.key: p.value for p in proto.metadata_props}["classes"])
    assert classes[3] == "cat"
    x = np.random.default_rng(0).random((5, 3, 32, 32), dtype=np.float32)
    (logits,) = onnxruntime.InferenceSession(answer.content).run(["logits"], {"images": x})
    with torch.inference_mode():
        expected = exports().model(torch.from_numpy(x)).numpy()
    assert np.abs(logits - expected).max() < 1e-4


def test_weights_format_etag_gives_304(api: Api, job: uuid.UUID) -> None:
    etag = api.get(f"/jobs/{job}/weights", params={"format": "onnx"}).headers["ETag"]
    again = api.get(
        f"/jobs/{job}/weights", params={"format": "onnx"}, headers={"If-None-Match": etag}
    )
    assert again.status_code == 304 and again.headers["ETag"] == etag
    pt = api.get(f"/jobs/{job}/weights", headers={"If-None-Match": etag})
    assert pt.status_code == 200  # another file, another tag


def test_weights_unknown_format_is_422(api: Api, job: uuid.UUID) -> None:
    answer = api.get(f"/jobs/{job}/weights", params={"format": "tflite"})
    assert answer.status_code == 422
    assert answer.json()["error"]["fields"][0]["field"] == "format"


def test_weights_formats_before_success_are_409(api: Api) -> None:
    job_id = api.new_job()
    for format_ in ("safetensors", "onnx"):
        answer = api.get(f"/jobs/{job_id}/weights", params={"format": format_})
        assert answer.status_code == 409
        assert answer.json()["error"]["message"] == (
            "job is queued; weights are available once it has succeeded"
        )
    failed = api.new_job()
    fail_job(api.database_url, failed)
    assert api.get(f"/jobs/{failed}/weights", params={"format": "onnx"}).status_code == 409


def test_weights_onnx_after_a_failed_check_is_409_saying_why(api: Api) -> None:
    job_id = api.new_job()
    message = "the ONNX export failed its check against PyTorch: top-1 classes agree on 99.5%"
    succeed_with_exports(
        api.database_url, job_id, replace={ONNX: ArtifactFile(b"", info={"message": message})}
    )
    answer = api.get(f"/jobs/{job_id}/weights", params={"format": "onnx"})
    assert answer.status_code == 409
    assert answer.json()["error"]["message"] == f"no onnx file: {message}"
    assert api.get(f"/jobs/{job_id}/weights", params={"format": "safetensors"}).status_code == 200


def test_report_is_served_with_definitions(api: Api, job: uuid.UUID) -> None:
    answer = api.get(f"/jobs/{job}/report")
    assert answer.status_code == 200
    report = answer.json()
    assert report["job_id"] == str(job)
    assert report["images"] == 100
    assert report["ece_bins"] == 15 and len(report["reliability"]) == 15
    assert len(report["confusion_matrix"]) == 10
    assert {"top1_error", "top5_error", "nll", "brier", "ece"} <= set(report["definitions"])
    assert len(report["confident_mistakes"]) == 25


def test_report_before_success_is_409(api: Api) -> None:
    job_id = api.new_job()
    answer = api.get(f"/jobs/{job_id}/report")
    assert answer.status_code == 409
    assert answer.json()["error"]["message"] == (
        "job is queued; its report is made once it has succeeded"
    )
    assert api.get(f"/jobs/{uuid.uuid4()}/report").status_code == 404
