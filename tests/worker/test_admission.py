"""Several jobs per worker (issue 13), the parts without a broker: memory admission, the job
slots the reaper reads, the CPU share of a training process, and the spawner thread."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from core.compute import activation_bytes, weights_bytes
from core.settings import Settings
from testkit.processes import wait_for
from testkit.procfs import pid_alive
from worker import spawn
from worker.admission import (
    IMAGE_BYTES,
    PROCESS_BYTES,
    MemoryBudget,
    device_free_bytes,
    job_bytes,
)
from worker.supervisor import Slots

SPEC: dict[str, Any] = {"architecture": "resnet", "depth": 56, "batch_size": 128}
GIB = 1 << 30
CIFAR_DATA = 60_000 * IMAGE_BYTES  # 50,000 training and 10,000 test images on the device


def test_job_bytes_adds_activations_weights_data_and_the_process_allowance() -> None:
    activations = activation_bytes("resnet", 56, 128)
    weights = weights_bytes("resnet", 56)
    assert activations is not None and weights is not None
    assert job_bytes(SPEC, capacity=80 * GIB, jobs_per_gpu=4) == (
        PROCESS_BYTES + activations + 4 * weights + CIFAR_DATA
    )
    # A 16-bit precision halves the activations; "auto" is counted as fp32.
    half = job_bytes({**SPEC, "precision": "bf16"}, capacity=80 * GIB, jobs_per_gpu=4)
    assert half == PROCESS_BYTES + activations // 2 + 4 * weights + CIFAR_DATA
    assert job_bytes({**SPEC, "precision": "auto"}, capacity=1, jobs_per_gpu=1) > half
    # Twice the batch, twice the activations.
    double = job_bytes({**SPEC, "batch_size": 256}, capacity=80 * GIB, jobs_per_gpu=4)
    assert double - PROCESS_BYTES - 4 * weights - CIFAR_DATA == 2 * activations


def test_job_bytes_of_an_uploaded_data_set_count_its_images_and_classes() -> None:
    """Issue 19: the upload's counts from the job's spec, not CIFAR's 60,000 images and 10
    classes."""
    uploaded = {**SPEC, "dataset": "0b9f6e5e-6f0c-4c39-9b83-6a1f3e1d2c4b"}
    small = {**uploaded, "dataset_train_images": 800, "dataset_test_images": 200}
    small["dataset_classes"] = 10
    cifar = job_bytes(SPEC, capacity=80 * GIB, jobs_per_gpu=4)
    assert cifar - job_bytes(small, capacity=80 * GIB, jobs_per_gpu=4) == (
        (60_000 - 1_000) * IMAGE_BYTES
    )
    big = {**uploaded, "dataset_train_images": 500_000, "dataset_test_images": 100_000}
    big["dataset_classes"] = 10
    assert job_bytes(big, capacity=80 * GIB, jobs_per_gpu=4) - cifar == 540_000 * IMAGE_BYTES
    # 1,000 classes: a wider classifier (weights x 4 copies) and logits per image.
    many = {**small, "dataset_classes": 1000}
    weights = weights_bytes("resnet", 56, 1000)
    activations = activation_bytes("resnet", 56, 128, 1000)
    assert weights is not None and activations is not None
    assert job_bytes(many, capacity=80 * GIB, jobs_per_gpu=4) == (
        PROCESS_BYTES + activations + 4 * weights + 1_000 * IMAGE_BYTES
    )
    assert job_bytes(many, capacity=80 * GIB, jobs_per_gpu=4) > job_bytes(
        small, capacity=80 * GIB, jobs_per_gpu=4
    )


def test_job_without_a_formula_takes_an_equal_share() -> None:
    spec = {"architecture": "vgg", "depth": 16, "batch_size": 128}
    assert job_bytes(spec, capacity=80 * GIB, jobs_per_gpu=4) == 20 * GIB


def test_budget_admits_what_fits_and_makes_the_rest_wait_until_a_release() -> None:
    budget = MemoryBudget(10 * GIB)
    assert budget.admit(6 * GIB, keep_waiting=lambda: True, what="a", poll_s=0.05)
    admitted = threading.Event()

    def second() -> None:
        assert budget.admit(6 * GIB, keep_waiting=lambda: True, what="b", poll_s=0.05)
        admitted.set()

    thread = threading.Thread(target=second)
    thread.start()
    assert not admitted.wait(0.3)  # 12 GiB would not fit in 10
    budget.release(6 * GIB)
    assert admitted.wait(2)
    thread.join()


def test_budget_runs_a_job_larger_than_everything_alone() -> None:
    budget = MemoryBudget(1 * GIB)
    assert budget.admit(5 * GIB, keep_waiting=lambda: True, what="big", poll_s=0.05)
    asked = []
    # A second one waits, and gives up when its keep_waiting says so (lease lost, shutdown).
    assert not budget.admit(
        1, keep_waiting=lambda: asked.append(1) is not None, what="small", poll_s=0.05
    )
    assert asked == [1]
    budget.release(5 * GIB)
    assert budget.admit(1, keep_waiting=lambda: False, what="small", poll_s=0.05)


def test_no_capacity_admits_everything_at_once() -> None:
    budget = MemoryBudget(None)
    for _ in range(5):
        assert budget.admit(100 * GIB, keep_waiting=lambda: False, what="job", poll_s=0.05)


def test_device_free_bytes_setting_wins_and_cpu_or_one_job_has_no_limit() -> None:
    def settings(**values: Any) -> Settings:
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    assert device_free_bytes(settings(gpu_memory_bytes=123, jobs_per_gpu=2)) == 123
    assert device_free_bytes(settings(jobs_per_gpu=2, device="cpu")) is None
    assert device_free_bytes(settings(jobs_per_gpu=1, device="cuda")) is None


def test_slots_idle_only_while_one_is_free() -> None:
    slots = Slots()
    time.sleep(0.05)
    assert slots.idle_for(2) >= 0.05
    slots.take(2)
    assert slots.idle_for(2) >= 0.05  # one of two still free since the start
    slots.take(2)
    assert slots.idle_for(2) == 0.0  # both busy
    slots.give()
    assert 0.0 <= slots.idle_for(2) < 0.05  # free again from now
    slots.give()
    slots.take(1)
    assert slots.idle_for(1) == 0.0


def test_slots_setting_is_validated() -> None:
    with pytest.raises(ValueError, match="jobs_per_gpu"):
        Settings(_env_file=None, jobs_per_gpu=0)  # type: ignore[call-arg]


# Sets PR_SET_PDEATHSIG as the training process does, says so in the file named by its
# argument, then waits.
CHILD = (
    "import ctypes, pathlib, signal, sys, time\n"
    "ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)\n"
    "pathlib.Path(sys.argv[1]).write_text('armed')\n"
    "time.sleep(60)\n"
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_process_started_through_the_spawner_outlives_the_thread_that_asked(
    tmp_path: Path,
) -> None:
    started: dict[str, subprocess.Popen[bytes]] = {}

    def start(name: str) -> None:
        flag = tmp_path / name
        command = [sys.executable, "-c", CHILD, str(flag)]
        if name == "direct":
            started[name] = subprocess.Popen(command, stdin=subprocess.PIPE)
        else:
            started[name] = spawn.popen(command)
        wait_for(flag.exists, timeout=30, what=f"the {name} child's prctl")

    # A pool thread that ends once its child has armed the death signal: the child it forked
    # itself dies with it, the one the spawner forked does not.
    for name in ("direct", "spawned"):
        thread = threading.Thread(target=start, args=(name,))
        thread.start()
        thread.join()
    try:
        direct = started["direct"]
        wait_for(lambda: direct.poll() is not None, timeout=10, what="the direct child to die")
        time.sleep(1.0)
        assert pid_alive(started["spawned"].pid)
    finally:
        for process in started.values():
            process.kill()
            process.wait()


def test_an_empty_gpu_memory_setting_means_measure_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GPU_MEMORY_BYTES", "")
    assert Settings(_env_file=None).gpu_memory_bytes is None  # type: ignore[call-arg]
    monkeypatch.setenv("GPU_MEMORY_BYTES", "1024")
    assert Settings(_env_file=None).gpu_memory_bytes == 1024  # type: ignore[call-arg]
    monkeypatch.setenv("GPU_MEMORY_BYTES", "lots")
    with pytest.raises(ValueError, match="gpu_memory_bytes"):
        Settings(_env_file=None)  # type: ignore[call-arg]
