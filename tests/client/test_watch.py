"""`crs submit --watch` in a pseudo-terminal, fed by the real service's event stream: the live
progress bar, one line per epoch, and the exit status a script relies on."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.client.conftest import JOB, Service, job_flags
from tests.client.terminal import Terminal

pytestmark = pytest.mark.slow

RUN_S = 300  # a 3-epoch ResNet-8 takes seconds alone, more on a CPU that others share


@pytest.fixture
def terminals() -> Iterator[list[Terminal]]:
    opened: list[Terminal] = []
    try:
        yield opened
    finally:
        for terminal in opened:
            terminal.close()


def run(terminals: list[Terminal], service: Service, *args: str) -> Terminal:
    terminal = Terminal(list(args), CRS_URL=service.url, CRS_API_KEY=service.key)
    terminals.append(terminal)
    return terminal


def test_watch_shows_progress_bar_and_epoch_lines_and_exits_0(
    service: Service, terminals: list[Terminal]
) -> None:
    terminal = run(terminals, service, "submit", *job_flags(), "--watch")
    status = terminal.wait(RUN_S)
    text = terminal.text
    assert status == 0, f"{text}\n{service.processes.diagnose()}"
    # The bar: rich's bar glyphs, the batch counter, speed and ETA of `progress` events.
    assert "━" in terminal.raw
    assert "batch " in text and " img/s" in text and "ETA " in text, text
    assert f"epoch 1/{JOB['epochs']}" in text
    lines = text.splitlines()
    for epoch in range(1, JOB["epochs"] + 1):
        # Exactly one line per epoch (a bar frame may share a line, so match the line's start).
        assert sum(line.startswith(f"epoch {epoch}/3  train loss") for line in lines) == 1, text
    assert "attempt 1 on worker@" in text and "fresh start" in text
    assert "succeeded: final test error" in text


def test_submit_of_a_dataset_no_worker_has_exits_2_naming_dataset(
    service: Service, terminals: list[Terminal]
) -> None:
    # No CIFAR-100 on the worker, which said so at start-up, and downloads off (issue 18).
    terminal = run(terminals, service, "submit", *job_flags(dataset="cifar100"))
    assert terminal.wait(60) == 2, terminal.text
    assert "dataset: no worker has cifar100 and none may download it" in terminal.text


def test_watch_exits_1_when_the_job_fails(service: Service, terminals: list[Terminal]) -> None:
    # The worker's report forgotten (as before its first one): the cifar100 job is accepted and
    # fails with dataset_missing; the worker reports again only a minute later.
    from core.store.db import session_scope
    from core.store.tables import WorkerData

    with session_scope(service.env["DATABASE_URL"]) as session:
        session.query(WorkerData).delete()
    terminal = run(terminals, service, "submit", *job_flags(dataset="cifar100"), "--watch")
    status = terminal.wait(RUN_S)
    assert status == 1, f"{terminal.text}\n{service.processes.diagnose()}"
    assert "failed: dataset_missing: the worker has no cifar100 dataset" in terminal.text


def _running_watch(
    terminals: list[Terminal], service: Service, *extra: str
) -> tuple[Terminal, str]:
    terminal = run(terminals, service, "submit", *job_flags(epochs=40), "--watch", *extra)
    terminal.wait_for("submitted job ", 60)
    job_id = terminal.text.split("submitted job ", 1)[1].split(":", 1)[0]
    # Training runs once the bar counts batches.
    terminal.wait_for("batch ", RUN_S, service.processes.diagnose())
    return terminal, job_id


def test_ctrl_c_detaches_with_130_and_the_job_keeps_running(
    service: Service, terminals: list[Terminal]
) -> None:
    terminal, job_id = _running_watch(terminals, service)
    terminal.ctrl_c()
    assert terminal.wait(30) == 130
    assert f"detached: job {job_id} keeps running" in terminal.text
    assert "Traceback" not in terminal.text
    with service.client() as client:
        time.sleep(1)
        assert client.job(job_id).status == "running"
        client.cancel(job_id)


def test_ctrl_c_with_cancel_on_interrupt_cancels_the_job(
    service: Service, terminals: list[Terminal]
) -> None:
    terminal, job_id = _running_watch(terminals, service, "--cancel-on-interrupt")
    terminal.ctrl_c()
    assert terminal.wait(30) == 130
    assert f"cancel requested for job {job_id}" in terminal.text
    with service.client() as client:
        deadline = time.monotonic() + 60
        while (job := client.job(job_id)).status != "cancelled":
            assert time.monotonic() < deadline, job.data
            time.sleep(0.2)
