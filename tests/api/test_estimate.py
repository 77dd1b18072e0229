"""POST /jobs/estimate: the body of POST /jobs, validated the same way; creates nothing; answers
costs from the torch-free formulas and times scaled from the workers' measured throughput."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.compute import activation_bytes, forward_flops, training_flops, weights_bytes
from core.store.artifacts import record_throughput
from core.store.db import session_scope
from tests.api.conftest import Api, broker_messages

BODY = {"architecture": "resnet", "depth": 56, "epochs": 10, "batch_size": 128}


def test_estimate_without_measurements_gives_costs_only(api: Api, tmp_path: Path) -> None:
    answer = api.post("/jobs/estimate", json=BODY)
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert found["trainable_parameters"] == 853_018  # "0.85M" in He et al. 2016, table 6
    assert found["forward_flops_per_image"] == forward_flops("resnet", 56)
    assert found["training_flops_per_image"] == training_flops("resnet", 56)
    assert found["weights_bytes"] == weights_bytes("resnet", 56)
    assert found["activation_bytes_per_batch"]["fp32"] == activation_bytes("resnet", 56, 128)
    assert 2 * found["activation_bytes_per_batch"]["bf16"] == activation_bytes("resnet", 56, 128)
    assert found["estimates"] == []
    assert "no worker has reported" in found["method"]
    assert found["spec"]["learning_rate"] == 0.1  # resolved as POST /jobs would
    # Nothing created, nothing sent.
    assert api.get("/jobs").json()["jobs"] == []
    assert broker_messages(tmp_path) == []


def test_estimate_scales_the_nearest_measurement_by_flops(api: Api) -> None:
    with session_scope(api.database_url) as session:
        for depth, speed in ((20, 3000.0), (110, 400.0)):
            record_throughput(
                session=session,
                device="NVIDIA H100 80GB HBM3",
                architecture="resnet",
                depth=depth,
                batch_size=128,
                precision="bf16",
                images_per_second=speed,
                epochs=3,
            )
        record_throughput(
            session=session,
            device="AMD EPYC 7B13 (2 threads)",
            architecture="resnet",
            depth=20,
            batch_size=64,
            precision="fp32",
            images_per_second=150.0,
            epochs=2,
        )
    found = api.post("/jobs/estimate", json=BODY).json()
    by_device = {e["device"]: e for e in found["estimates"]}
    assert set(by_device) == {"NVIDIA H100 80GB HBM3", "AMD EPYC 7B13 (2 threads)"}
    gpu = by_device["NVIDIA H100 80GB HBM3"]
    # ResNet-56's FLOPs are nearer ResNet-110's (x2.0) than ResNet-20's (/3.1).
    assert gpu["based_on"]["depth"] == 110
    rate = 400.0 * training_flops("resnet", 110) / training_flops("resnet", 56)  # type: ignore[operator]
    assert gpu["images_per_second"] == pytest.approx(rate)
    assert gpu["seconds_per_epoch"] == pytest.approx(50_000 / rate)
    assert gpu["seconds"] == pytest.approx(10 * gpu["seconds_per_epoch"])
    assert gpu["precision"] == "bf16"
    cpu = by_device["AMD EPYC 7B13 (2 threads)"]
    assert "another batch size" in cpu["method"]
    assert "nearest measurement" in found["method"]


@pytest.mark.parametrize(
    "body",
    [
        {**BODY, "depth": 55},
        {**BODY, "epochs": 0},
        {**BODY, "colour": "blue"},
        {**BODY, "depth": 1202, "epochs": 500},  # over the cost cap
        {**BODY, "train_mode": "frozen_base"},  # needs init_from
    ],
)
def test_estimate_refuses_what_post_jobs_refuses(api: Api, body: dict) -> None:
    estimate = api.post("/jobs/estimate", json=body)
    submit = api.post("/jobs", json=body)
    assert estimate.status_code == submit.status_code == 422
    assert estimate.json() == submit.json()


def test_estimate_scales_by_the_images_the_workers_hold(api: Api) -> None:
    # The tests' generated CIFAR-10 of 400 images, not the published 50,000 (issue 18).
    from core.store.worker_data import report_data

    with session_scope(api.database_url) as session:
        record_throughput(
            session=session,
            device="cpu",
            architecture="resnet",
            depth=56,
            batch_size=128,
            precision="fp32",
            images_per_second=200.0,
            epochs=2,
        )
        report_data(
            session=session,
            worker="w@host",
            datasets=["cifar10"],
            may_download=False,
            train_images={"cifar10": 400},
        )
    (found,) = api.post("/jobs/estimate", json=BODY).json()["estimates"]
    assert found["seconds_per_epoch"] == pytest.approx(400 / 200.0)
    assert "for 400 images" in found["method"]
