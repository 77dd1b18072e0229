"""Live events on PostgreSQL and Redis with real processes (issue 8): the event log and the SSE
stream across a worker killed mid-epoch, a cancel and a failure; signed webhooks retried until
the receiver takes them."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import uuid
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from core.store.tables import JobStatus
from testkit.processes import wait_for
from testkit.receiver import receiving
from testkit.starters import service_env
from tests.faults.conftest import SPEC, Service, log_lines, worker_named
from tests.sse_reader import StreamReader

pytestmark = pytest.mark.slow


def stored_events(service: Service, job_id: uuid.UUID) -> list[dict[str, Any]]:
    with service.client() as http:
        answer = http.get(f"/jobs/{job_id}/events", params={"limit": 1000})
    assert answer.status_code == 200, answer.text
    events: list[dict[str, Any]] = answer.json()["events"]
    return events


def kinds(events: list[dict[str, Any]], *types: str) -> list[str]:
    keys = {"status": "status", "attempt": "attempt", "epoch": "epoch", "warning": "code"}
    return [
        f"{e['type']}:{e['data'][keys[e['type']]]}"
        for e in events
        if not types or e["type"] in types
    ]


def reader(service: Service, path: str, **options: Any) -> StreamReader:
    assert service.base_url is not None
    stream = StreamReader(service.base_url, service.api_key, path, **options)
    stream.start()
    stream.connected.wait(10)
    return stream


def test_log_and_stream_across_worker_sigkill_and_reconnect(service: Service) -> None:
    workers = service.workers("w1", "w2")
    # Batches of 10: 40 an epoch, so that an epoch lasts well past the first progress report
    # (PROGRESS_INTERVAL_S after its first batch) also on a fast idle machine.
    job_id = service.submit(batch_size=10)
    service.wait_job(job_id, lambda job: job.status == JobStatus.running, timeout=60, what="to run")
    path = f"/jobs/{job_id}/events/stream"
    # Started after the job began; cut (as a lost connection) at the first live epoch event.
    first = reader(service, path, cut=lambda m: m.event == "epoch")
    first.finish(120)
    assert first.status == 200 and not first.ended_by_server
    assert [m.event for m in first.stored()][:3] == ["status", "status", "attempt"]

    job = service.wait_job(
        job_id,
        lambda job: (service.checkpoint_at(job_id) or (0, 0)) >= (1, 1),
        timeout=120,
        what="a mid-epoch checkpoint in epoch 2",
    )
    holder = worker_named(workers, job)
    holder.send_signal(signal.SIGKILL)
    assert holder.wait(5) == -signal.SIGKILL

    # Reconnects while the job is without a worker, with the last id it saw.
    second = reader(service, path, last_event_id=first.stored()[-1].id)
    second.finish(180)
    assert second.ended_by_server
    assert second.stored()[-1].data["data"]["status"] == "succeeded"

    log = stored_events(service, job_id)
    received = [m.id for m in first.stored() + second.stored()]
    assert received == [e["id"] for e in log], "missed or repeated events across the reconnect"
    assert [m.data for m in first.stored() + second.stored()] == log
    assert kinds(log, "status", "warning") == [
        "status:queued",
        "status:running",
        "warning:lease_lost",
        "status:queued",
        "status:running",
        "status:succeeded",
    ]
    assert kinds(log, "epoch") == ["epoch:1", "epoch:2", "epoch:3"]
    attempts = [e["data"] for e in log if e["type"] == "attempt"]
    assert [(a["attempt"], a["start"]) for a in attempts] == [(1, "fresh"), (2, "resumed")]
    survivor = next(proc for proc in workers.values() if proc is not holder)
    resumed = log_lines(survivor, str(job_id), "resuming after epoch")
    where = f"resuming after epoch {attempts[1]['epoch']}, batch {attempts[1]['batch']}"
    assert resumed and where in resumed[0], (attempts[1], resumed)
    assert (attempts[1]["epoch"], attempts[1]["batch"]) >= (1, 1)
    assert attempts[1]["worker"].startswith(f"{survivor.name}@")
    progress = [m for m in first.messages + second.messages if m.event == "progress"]
    assert progress, "no progress message reached the stream"
    assert service.wait_done(job_id, timeout=10).attempts == 2


def test_cancel_and_failure_logged_and_streamed_to_owner(service: Service) -> None:
    service.worker("w1")
    everything = reader(
        service,
        "/events/stream",
        cut=lambda m: m.event == "status" and m.data["data"]["status"] == "failed",
    )
    cancelled = service.submit(epochs=100)
    service.wait_job(
        cancelled, lambda job: job.epochs_done >= 1, timeout=120, what="its first epoch"
    )
    stream = reader(service, f"/jobs/{cancelled}/events/stream")
    with service.client() as http:
        assert http.post(f"/jobs/{cancelled}/cancel").status_code == 202
    stream.finish(60)
    assert stream.ended_by_server
    assert stream.stored()[-1].data["data"]["status"] == "cancelled"
    log = stored_events(service, cancelled)
    assert [m.id for m in stream.stored()] == [e["id"] for e in log]
    assert kinds(log, "status", "warning") == [
        "status:queued",
        "status:running",
        "warning:cancel_requested",
        "status:cancelled",
    ]

    failed = service.submit(learning_rate=10.0)  # diverges (tests/faults/test_run_limits.py)
    service.wait_done(failed, timeout=120)
    log = stored_events(service, failed)
    assert kinds(log, "status") == ["status:queued", "status:running", "status:failed"]
    assert log[-1]["data"]["error"]["code"] == "diverged"

    everything.finish(30)
    shown = [(m.data["job_id"], m.data["data"]["status"]) for m in everything.stored()]
    assert all(m.event == "status" for m in everything.stored())
    assert shown == [
        (str(cancelled), "queued"),
        (str(cancelled), "running"),
        (str(cancelled), "cancelled"),
        (str(failed), "queued"),
        (str(failed), "running"),
        (str(failed), "failed"),
    ]


def test_webhook_retried_after_500s_each_attempt_signed(service: Service) -> None:
    settings = {
        "ALLOW_PRIVATE_WEBHOOKS": "true",
        "ALLOW_HTTP_WEBHOOKS": "true",
        "WEBHOOK_RETRY_FIRST_S": "0.5",
    }
    service.api(**settings)
    service.worker("w1", **settings)
    service.webhook_worker(**settings)
    with receiving([500, 500, 200]) as receiver:
        job_id = service.submit(epochs=1, webhook_url=receiver.url)
        wait_for(
            lambda: len(receiver.requests) >= 3,
            timeout=120,
            what="three webhook deliveries",
            diagnose=service.processes.diagnose,
        )
    assert len(receiver.requests) == 3

    # The owner's secret, as the command prints it on its last line.
    printed = subprocess.run(
        [sys.executable, "-m", "ops.keys", "webhook-secret", "fault-tester"],
        env=service_env(service.env),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    secret = printed.strip().splitlines()[-1]
    assert secret.startswith("whsec_")
    verifier = Webhook(secret)
    bodies = [verifier.verify(body, headers) for headers, body in receiver.requests]
    assert len({headers["webhook-id"] for headers, _ in receiver.requests}) == 1
    assert bodies[0] == bodies[1] == bodies[2]
    [final] = [e for e in stored_events(service, job_id) if e["type"] == "status"][-1:]
    assert bodies[0] == final and final["data"]["status"] == "succeeded"
    assert json.loads(receiver.requests[0][1])["job_id"] == str(job_id)

    with service.client() as http:
        answer = http.get(f"/jobs/{job_id}/webhook-deliveries")
    assert answer.status_code == 200, answer.text
    [delivery] = answer.json()["deliveries"]
    assert delivery["state"] == "delivered" and delivery["event_id"] == final["id"]
    attempts = delivery["attempts"]
    assert [a["status_code"] for a in attempts] == [500, 500, 200]
    assert [a["next_try_at"] is not None for a in attempts] == [True, True, False]
    assert all(a["duration_ms"] >= 0 for a in attempts)

    # A rotated secret signs the next deliveries; the old one no longer verifies them.
    rotated = (
        subprocess.run(
            [sys.executable, "-m", "ops.keys", "webhook-secret", "fault-tester", "--rotate"],
            env=service_env(service.env),
            capture_output=True,
            text=True,
            check=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    assert rotated != secret and rotated.startswith("whsec_")
    assert SPEC["epochs"] == 3


def test_webhooks_arrive_while_the_only_training_slot_trains(service: Service) -> None:
    # JOBS_PER_GPU=1: the training worker's one pool thread waits for the job for its whole run;
    # the deliveries of its `queued` and `running` events must not wait for the job's end.
    settings = {"ALLOW_PRIVATE_WEBHOOKS": "true", "ALLOW_HTTP_WEBHOOKS": "true"}
    service.api(**settings)
    service.worker("w1", JOBS_PER_GPU="1", **settings)
    service.webhook_worker(**settings)
    with receiving([200]) as receiver:
        job_id = service.submit(
            epochs=200, batch_size=10, webhook_url=receiver.url, webhook_events=["status"]
        )

        def statuses() -> list[str]:
            return [json.loads(body)["data"]["status"] for _, body in list(receiver.requests)]

        wait_for(
            lambda: "running" in statuses(),
            timeout=60,
            what="the `running` webhook while the job trains",
            diagnose=service.processes.diagnose,
        )
        with service.client() as http:
            job = http.get(f"/jobs/{job_id}").json()
        assert job["status"] == "running", job
        # Deliveries run side by side and may arrive in any order; the event ids order them.
        bodies = sorted(
            (json.loads(body) for _, body in list(receiver.requests)), key=lambda b: b["id"]
        )
        assert [b["data"]["status"] for b in bodies][:2] == ["queued", "running"]
        with service.client() as http:
            assert http.post(f"/jobs/{job_id}/cancel").status_code == 202
        wait_for(
            lambda: "cancelled" in statuses(),
            timeout=60,
            what="the `cancelled` webhook",
            diagnose=service.processes.diagnose,
        )
