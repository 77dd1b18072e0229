"""A long-lived worker: ten jobs in a row leave its main process as they found it."""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.store.tables import JobStatus
from testkit.cifar_files import write_cifar10
from testkit.processes import Proc, wait_for
from testkit.procfs import children, idle_spare, rss_kib
from tests.faults.conftest import Service, log_lines

pytestmark = pytest.mark.slow
log = logging.getLogger(__name__)

JOBS = 10
# Python's allocator keeps some freed arenas and logging buffers grow a little: allow 4 MiB.
RSS_SLACK_KIB = 4096


def _idle_after(worker: Proc, tasks: int) -> None:
    """Wait until the worker has finished `tasks` tasks and settled."""
    wait_for(
        lambda: len(log_lines(worker, "Task worker.train_job", "succeeded in")) >= tasks,
        timeout=60,
        what=f"{tasks} tasks to end",
        diagnose=worker.output,
    )
    time.sleep(1.0)  # a reaper pass or two


def _threads_and_fds(pid: int) -> tuple[int, int]:
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    threads = next(int(line.split()[1]) for line in status if line.startswith("Threads:"))
    return threads, len(list(Path(f"/proc/{pid}/fd").iterdir()))


@pytest.fixture
def tiny_cifar_dir() -> Iterator[Path]:
    """50 training images: a job is then little more than its training process's start."""
    root = Path(tempfile.mkdtemp(prefix="crs-faults-tiny-"))
    try:
        write_cifar10(root, train_per_class=5, test_per_class=5)
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_ten_jobs_in_a_row_return_worker_memory_to_its_level(
    service: Service, tiny_cifar_dir: Path
) -> None:
    worker = service.worker("w1", DATA_DIR=str(tiny_cifar_dir))
    # One job first: imports and pools that any first job creates are not a leak.
    warm_up = service.submit(epochs=1)
    assert service.wait_done(warm_up, timeout=120).status == JobStatus.succeeded
    _idle_after(worker, 1)
    before = rss_kib(worker.pid)
    threads_before, fds_before = _threads_and_fds(worker.pid)

    job_ids = [service.submit(epochs=1, seed=seed) for seed in range(JOBS)]
    for job_id in job_ids:
        job = service.wait_done(job_id, timeout=120)
        assert job.status == JobStatus.succeeded, service.describe(job_id)
    _idle_after(worker, 1 + JOBS)
    after = rss_kib(worker.pid)
    threads_after, fds_after = _threads_and_fds(worker.pid)

    log.info(
        "worker RSS %d -> %d KiB, threads %d -> %d, open files %d -> %d after %d jobs",
        before,
        after,
        threads_before,
        threads_after,
        fds_before,
        fds_after,
        JOBS,
    )
    assert after - before <= RSS_SLACK_KIB, f"worker RSS {before} KiB -> {after} KiB"
    assert threads_after == threads_before
    assert fds_after <= fds_before + 2, (fds_before, fds_after)
    # Every training process reaped; only the idle spare waiting for the next job (issue 10).
    left = [pid for pid in children(worker.pid, zombies=True) if not idle_spare(pid)]
    assert left == []
