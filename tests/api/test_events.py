"""The event log through the API (issue 8), on both databases: every transition once and in
order, the list's filters and pages, streams of ended jobs, owners kept apart, and webhook URLs
checked at submission."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from api.streaming.sse import frame
from core.store import reaping
from core.store.db import session_scope
from core.store.tables import JobStatus
from core.store.types import utcnow
from tests.api.conftest import (
    Api,
    auth,
    fail_job,
    new_key,
    record_epochs,
    start_job,
    succeed_job,
)


def _events(api: Api, job_id: uuid.UUID, **params: object) -> dict[str, object]:
    answer = api.get(f"/jobs/{job_id}/events", params=params)
    assert answer.status_code == 200, answer.text
    page: dict[str, object] = answer.json()
    return page


def _kinds(events: list[dict[str, object]]) -> list[str]:
    """`status:queued`, `attempt:1`, `epoch:2`, `warning:code` for each event."""
    out = []
    for event in events:
        data = event["data"]
        assert isinstance(data, dict)
        key = {"status": "status", "attempt": "attempt", "epoch": "epoch", "warning": "code"}
        out.append(f"{event['type']}:{data[key[str(event['type'])]]}")
    return out


def test_event_log_holds_each_transition_once_in_order(api: Api) -> None:
    job_id = api.new_job()
    succeed_job(api.database_url, job_id)
    events = _events(api, job_id)["events"]
    assert isinstance(events, list)
    assert _kinds(events) == [
        "status:queued",
        "status:running",
        "attempt:1",
        "epoch:1",
        "epoch:2",
        "epoch:3",
        "status:succeeded",
    ]
    ids = [e["id"] for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    running = next(e for e in events if e["data"].get("status") == "running")
    assert running["data"] == {"status": "running", "attempt": 1, "worker": "test-worker"}
    attempt = next(e for e in events if e["type"] == "attempt")
    assert attempt["data"] == {
        "attempt": 1,
        "worker": "test-worker",
        "start": "fresh",
        "epoch": 0,
        "batch": 0,
    }
    metrics = api.get(f"/jobs/{job_id}/metrics").json()["records"]
    assert [e["data"] for e in events if e["type"] == "epoch"] == metrics


def test_event_list_filters_and_pages(api: Api) -> None:
    job_id = api.new_job()
    succeed_job(api.database_url, job_id)
    everything = _events(api, job_id)["events"]
    assert isinstance(everything, list)
    epochs = _events(api, job_id, type="epoch")["events"]
    assert [e["id"] for e in epochs] == [e["id"] for e in everything if e["type"] == "epoch"]
    after = _events(api, job_id, after=everything[2]["id"])["events"]
    assert after == everything[3:]
    seen, cursor = [], None
    while True:
        page = _events(api, job_id, limit=3, **({"cursor": cursor} if cursor else {}))
        seen += page["events"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == everything
    answer = api.get(f"/jobs/{job_id}/events", params={"cursor": "x1"})
    assert answer.status_code == 422 and "cursor" in answer.text
    answer = api.get(f"/jobs/{job_id}/events", params={"type": "progress"})
    assert answer.status_code == 422 and "type" in answer.text


def test_cancel_failure_and_lost_worker_are_logged(api: Api) -> None:
    running = api.new_job()
    start_job(api.database_url, running)
    assert api.post(f"/jobs/{running}/cancel").status_code == 202
    assert api.post(f"/jobs/{running}/cancel").status_code == 202  # asked twice: logged once
    queued = api.new_job()
    assert api.post(f"/jobs/{queued}/cancel").status_code == 200
    failed = api.new_job()
    fail_job(api.database_url, failed)

    lost = api.new_job()
    claim = start_job(api.database_url, lost)
    record_epochs(api.database_url, claim, 1)
    with session_scope(api.database_url) as session:
        assert (
            reaping.abandon_job(
                session=session,
                job_id=lost,
                lease_id=None,
                max_attempts=3,
                reason="no heartbeat for 8 s",
                stale_before=utcnow() + timedelta(seconds=1),
            )
            == JobStatus.queued
        )
    start_job(api.database_url, lost)

    assert _kinds(_events(api, running)["events"])[-1:] == ["warning:cancel_requested"]
    assert _kinds(_events(api, queued)["events"]) == ["status:queued", "status:cancelled"]
    events = _events(api, failed)["events"]
    assert events[-1]["data"] == {
        "status": "failed",
        "attempt": 1,
        "worker": "test-worker",
        "error": {
            "code": "out_of_memory",
            "message": "CUDA out of memory; try a smaller batch_size",
        },
    }
    kinds = _kinds(_events(api, lost)["events"])
    assert kinds[kinds.index("epoch:1") + 1 :] == [
        "warning:lease_lost",
        "status:queued",
        "status:running",
        "attempt:2",
    ]
    resumed = next(
        e for e in _events(api, lost, type="attempt")["events"] if e["data"]["attempt"] == 2
    )
    assert resumed["data"]["start"] == "resumed" and resumed["data"]["epoch"] == 1


def test_events_of_another_owner_are_404(api: Api) -> None:
    job_id = api.new_job()
    other = auth(new_key(api.database_url, owner="bob"))
    for path in ("events", "events/stream", "webhook-deliveries"):
        answer = api.client.get(f"/jobs/{job_id}/{path}", headers=other)
        assert answer.status_code == 404, (path, answer.text)


def test_stream_of_ended_job_sends_stored_events_then_ends(api: Api) -> None:
    job_id = api.new_job()
    succeed_job(api.database_url, job_id)
    stored = _events(api, job_id)["events"]
    with api.client.stream("GET", f"/jobs/{job_id}/events/stream", headers=api.headers) as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        text = answer.read().decode()
    ids = [int(line[4:]) for line in text.splitlines() if line.startswith("id: ")]
    assert ids == [e["id"] for e in stored]
    assert "event: status" in text.split("id: " + str(ids[-1]))[1]
    headers = {**api.headers, "Last-Event-ID": str(stored[3]["id"])}
    with api.client.stream("GET", f"/jobs/{job_id}/events/stream", headers=headers) as answer:
        text = answer.read().decode()
    assert [int(line[4:]) for line in text.splitlines() if line.startswith("id: ")] == ids[4:]
    headers = {**api.headers, "Last-Event-ID": "soon"}
    answer = api.client.get(f"/jobs/{job_id}/events/stream", headers=headers)
    assert answer.status_code == 422 and "Last-Event-ID" in answer.text


def test_sse_frames_progress_without_id() -> None:
    event = {
        "id": 7,
        "job_id": "j",
        "type": "epoch",
        "created_at": "2026-11-23T00:00:00+00:00",
        "data": {"epoch": 1},
        "prev_id": 6,
        "owner_id": "o",
    }
    text = frame(event).decode()
    assert text.startswith("id: 7\nevent: epoch\ndata: {") and text.endswith("\n\n")
    assert "owner_id" not in text and "prev_id" not in text
    progress = frame({"type": "progress", "job_id": "j", "data": {"batch": 3}}).decode()
    assert progress.startswith("event: progress\ndata: {") and "id:" not in progress


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://127.0.0.1/hook", "127.0.0.1"),
        ("https://localhost:8443/hook", "resolves to"),
        ("https://10.1.2.3/hook", "10.1.2.3"),
        ("https://169.254.169.254/latest/meta-data", "169.254.169.254"),
        ("https://[::1]/hook", "::1"),
        ("http://example.com/hook", "https"),
        ("ftp://example.com/hook", "https"),
    ],
)
def test_webhook_url_to_private_address_is_refused(api: Api, url: str, reason: str) -> None:
    answer = api.post_job(webhook_url=url)
    assert answer.status_code == 422, answer.text
    [field] = answer.json()["error"]["fields"]
    assert field["field"] == "webhook_url" and reason in field["reason"]


def test_webhook_events_need_a_url(api: Api) -> None:
    answer = api.post_job(webhook_events=["epoch"])
    assert answer.status_code == 422
    assert answer.json()["error"]["fields"][0]["field"] == "webhook_events"
    answer = api.post_job(webhook_url="https://example.com/h", webhook_events=["progress"])
    assert answer.status_code == 422 and "webhook_events" in answer.text
    # A data set's events (issue 19) never happen to a job.
    answer = api.post_job(webhook_url="https://example.com/h", webhook_events=["dataset"])
    assert answer.status_code == 422, answer.text
    [field] = answer.json()["error"]["fields"]
    assert field["field"] == "webhook_events" and "data sets" in field["reason"]
