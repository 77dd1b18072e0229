"""An uploaded data set's events (issue 19) on both databases: one `dataset` event per status
change and per tenth of processing, stored with the data set's id (no job), on the owner's
stream from a cursor, announced to the commit listeners (published on Redis), and gone with the
data set."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import redis
from sqlalchemy import select

from core.messaging.event_channel import EventPublisher, channel
from core.store import datasets
from core.store.dataset_events import record_progress
from core.store.db import session_scope
from core.store.event_tables import Event
from core.store.events import (
    Committed,
    add_commit_listener,
    owner_stream_events,
    public,
    remove_commit_listener,
)
from core.store.migrate import upgrade
from testkit.processes import Processes
from testkit.servers import RedisServer
from tests.core.store.test_datasets import _owner, _ready, _upload


def _events(url: str, owner_id: uuid.UUID, after: int | None = 0) -> list[dict[str, object]]:
    with session_scope(url) as session:
        rows = owner_stream_events(session=session, owner_id=owner_id, after=after)
        return [
            {"id": r.id, "job": r.job_id, "dataset": r.dataset_id, "prev": r.prev_id, **r.data}
            for r in rows
        ]


def _progress(url: str, dataset_id: uuid.UUID, fraction: float) -> None:
    with session_scope(url) as session:
        record_progress(session=session, dataset_id=dataset_id, progress=fraction)


def test_upload_progress_and_ready_are_events_of_the_data_set(database_url: str) -> None:
    heard: list[Committed] = []
    add_commit_listener(heard.append)
    try:
        owner = _owner(database_url)
        dataset_id = _upload(database_url, owner, b"some bytes")
        for fraction in (0.05, 0.15, 0.17, 0.35, 0.95):
            _progress(database_url, dataset_id, fraction)
        _ready(database_url, dataset_id, b"canonical", "f" * 64)
    finally:
        remove_commit_listener(heard.append)
    found = _events(database_url, owner)
    assert [(e["status"], e["progress"]) for e in found] == [
        ("processing", 0.0),
        ("processing", 0.15),  # a tenth passed; 0.17 did not pass another
        ("processing", 0.35),
        ("processing", 0.95),
        ("ready", 1.0),
    ]
    assert {(e["job"], e["dataset"], e["name"]) for e in found} == {(None, dataset_id, "mine")}
    assert [e["prev"] for e in found] == [None, *(e["id"] for e in found[:-1])]
    assert (found[-1]["fingerprint"], found[-1]["classes"], found[-1]["train_images"]) == (
        "f" * 64,
        2,
        4,
    )
    # Announced after each commit as the streams show them: with the data set's id.
    messages = [public(m) for c in heard for m in c.events]
    assert [m["id"] for m in messages] == [e["id"] for e in found]
    assert {(m["type"], m["job_id"], m["dataset_id"]) for m in messages} == {
        ("dataset", None, str(dataset_id))
    }
    # From a cursor: only what came after it.
    assert [e["id"] for e in _events(database_url, owner, after=found[2]["id"])] == [
        e["id"] for e in found[3:]
    ]
    # Progress after the end changes nothing.
    _progress(database_url, dataset_id, 0.5)
    assert len(_events(database_url, owner)) == len(found)


def test_failure_names_the_member_and_deletion_removes_the_events(database_url: str) -> None:
    owner = _owner(database_url)
    other = _owner(database_url, "bob")
    dataset_id = _upload(database_url, owner, b"broken")
    with session_scope(database_url) as session:
        datasets.mark_failed(
            session=session,
            dataset_id=dataset_id,
            where="train/cat/cut.png",
            reason="the image ends early",
        )
    last = _events(database_url, owner)[-1]
    assert (last["status"], last["error"]) == (
        "failed",
        {"where": "train/cat/cut.png", "message": "train/cat/cut.png: the image ends early"},
    )
    assert _events(database_url, other) == []
    with session_scope(database_url) as session:
        dataset = datasets.get_dataset(session=session, owner_id=owner, dataset_id=dataset_id)
        assert dataset is not None
        datasets.delete_dataset(session=session, dataset=dataset)
        assert session.scalars(select(Event).where(Event.dataset_id == dataset_id)).all() == []


def test_dataset_events_go_out_on_the_event_channel(tmp_path: Path) -> None:
    """With a Redis broker the committed `dataset` events are published on the live channel
    (core.messaging.event_channel), as a job's are: the API's hub routes them to the owner's
    streams by `owner_id`, with the data set's id."""
    processes = Processes(tmp_path / "logs")
    url = f"sqlite:///{tmp_path / 'service.db'}"
    upgrade(url)
    try:
        server = RedisServer(processes, tmp_path / "redis")
        server.start()
        publisher = EventPublisher(server.url())
        listener = redis.Redis.from_url(server.url()).pubsub()
        listener.subscribe(channel(server.url()))
        add_commit_listener(publisher)
        try:
            owner = _owner(url)
            dataset_id = _upload(url, owner, b"some bytes")
        finally:
            remove_commit_listener(publisher)
        deadline = time.monotonic() + 10
        message = None
        while message is None and time.monotonic() < deadline:
            got = listener.get_message(timeout=1.0)
            if got is not None and got["type"] == "message":
                message = json.loads(got["data"])
        listener.close()
    finally:
        processes.stop_all()
    assert message is not None, "nothing published"
    assert (message["type"], message["job_id"], message["dataset_id"]) == (
        "dataset",
        None,
        str(dataset_id),
    )
    assert message["owner_id"] == str(owner) and message["data"]["status"] == "processing"
