"""Issue 11 end to end with real processes (PostgreSQL, Redis, uvicorn, a Celery worker): a job
trains, and its safetensors and ONNX files, its report and predictions come back over HTTP; the
API answers predictions without ever loading torch."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import onnxruntime
import pytest
import torch
from PIL import Image
from safetensors.torch import load

from core.trainer.data import load_cifar
from core.trainer.models import build_model
from testkit.processes import Proc, Processes
from testkit.procfs import children
from tests.e2e.conftest import deployed, submit, wait_job

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory, cifar_dir: Path
) -> Iterator[tuple[httpx.Client, Proc, Processes]]:
    with deployed(tmp_path_factory, cifar_dir) as running:
        yield running.http, running.api, running.processes


def test_succeeded_job_gives_formats_report_and_predictions(
    service: tuple[httpx.Client, Proc, Processes], cifar_dir: Path
) -> None:
    http, api, processes = service
    estimate = http.post("/jobs/estimate", json={"architecture": "resnet", "depth": 8, "epochs": 2})
    assert estimate.status_code == 200, estimate.text
    assert estimate.json()["estimates"] == []  # no worker has measured anything yet

    job_id = submit(http)
    job = wait_job(http, job_id, diagnose=processes.diagnose)
    assert job["status"] == "succeeded", (job.get("error"), processes.diagnose())
    data = load_cifar(cifar_dir, "cifar10")

    pt = torch.load(io.BytesIO(http.get(f"/jobs/{job_id}/weights").content), weights_only=True)
    answer = http.get(f"/jobs/{job_id}/weights", params={"format": "safetensors"})
    assert answer.status_code == 200
    tensors = load(answer.content)
    assert set(tensors) == set(pt) and all(torch.equal(tensors[k], pt[k]) for k in pt)
    model = build_model("resnet", 8, 10)
    model.load_state_dict(tensors)
    model.eval()

    onnx_file = http.get(f"/jobs/{job_id}/weights", params={"format": "onnx"})
    assert onnx_file.headers["Content-Disposition"].endswith(f'resnet8-{job_id}.onnx"')
    images = data.test_images[:50].float() / 255
    (logits,) = onnxruntime.InferenceSession(onnx_file.content).run(
        ["logits"], {"images": images.numpy()}
    )
    with torch.inference_mode():
        assert np.abs(logits - model(images).numpy()).max() < 1e-3

    report = http.get(f"/jobs/{job_id}/report").json()
    assert report["images"] == len(data.test_labels)
    assert report["top1_error"] == pytest.approx(1 - job["final_test_accuracy"], abs=1e-6)

    # Predictions from PNG files of three test images: the network's own top classes.
    pictures = data.test_images[:3].permute(0, 2, 3, 1).numpy()
    files = []
    for i, picture in enumerate(pictures):
        buffer = io.BytesIO()
        Image.fromarray(picture).save(buffer, format="PNG")
        files.append(("images", (f"test{i}.png", buffer.getvalue(), "image/png")))
    answer = http.post(f"/jobs/{job_id}/predict", files=files, params={"k": 2})
    assert answer.status_code == 200, answer.text
    with torch.inference_mode():
        expected = torch.softmax(model(data.test_images[:3]).double(), 1)
    for prediction, p in zip(answer.json()["predictions"], expected, strict=True):
        best = int(p.argmax())
        assert prediction["top"][0]["label"] == data.classes[best]
        assert prediction["top"][0]["probability"] == pytest.approx(float(p[best]), abs=1e-4)
    # The API and its prediction processes (the fork server's children, issue 17): onnxruntime
    # is loaded where the network ran, torch nowhere.
    family = [api.pid, *children(api.pid)]
    family += [grandchild for pid in family[1:] for grandchild in children(pid)]
    maps = {pid: Path(f"/proc/{pid}/maps").read_text() for pid in family}
    assert not [pid for pid, text in maps.items() if "libtorch" in text], family
    assert [pid for pid, text in maps.items() if "onnxruntime" in text], family

    # The worker measured its throughput: the next estimate has a time.
    estimate = http.post(
        "/jobs/estimate", json={"architecture": "resnet", "depth": 20, "epochs": 2}
    )
    (device,) = estimate.json()["estimates"]
    assert device["based_on"]["depth"] == 8 and device["seconds"] > 0
    assert json.dumps(device)  # plain JSON
