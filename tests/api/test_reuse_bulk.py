"""A sweep re-sent with `reuse` (issue 20) is settled in bulk: its SQL statements do not grow
with its children, and each child is still a copy of its own earlier run."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, select

from core.store.db import get_engine, session_scope
from core.store.event_tables import Event, WebhookDelivery
from core.store.events import Committed, add_commit_listener, remove_commit_listener
from tests.api.conftest import Api, client_for, make_settings, new_key
from tests.api.test_reuse import BODY, train

SWEEP = {"base": {k: v for k, v in BODY.items() if k != "seed"}}


@contextmanager
def counted(database_url: str) -> Iterator[list[str]]:
    """The SQL statements this process sends to the database meanwhile."""
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    engine = get_engine(database_url)
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def one_row_event(database_url: str, statement: str) -> bool:
    """On SQLite, SQLAlchemy inserts ORM rows whose ids it reads back one statement per row
    (SQLite does not return them in the parameters' order): calls inside the process, no
    round trips, and so for the children's first events since issue 10."""
    return database_url.startswith("sqlite") and statement.startswith("INSERT INTO events")


def test_sweep_reuse_statements_do_not_grow_with_its_children(api: Api) -> None:
    first = api.post("/sweeps", json={**SWEEP, "seeds": 6}).json()
    weights = {child["id"]: train(api.database_url, child["id"]) for child in first["children"]}
    sent: dict[int, int] = {}
    for seeds in (2, 6):
        with counted(api.database_url) as statements:
            response = api.post("/sweeps", json={**SWEEP, "seeds": seeds, "reuse": True})
        assert response.status_code == 201, response.text
        assert response.json()["counts"] == {"succeeded": seeds}
        sent[seeds] = len([s for s in statements if not one_row_event(api.database_url, s)])
        # Settled together, each child is still a copy of its own run (the same seed).
        for child, source in zip(response.json()["children"], first["children"], strict=False):
            job = api.get(f"/jobs/{child['id']}").json()
            assert job["reused_from"] == source["id"]
            blob = api.get(f"/jobs/{child['id']}/weights").content
            assert hashlib.sha256(blob).hexdigest() == weights[source["id"]]
            records = api.get(f"/jobs/{child['id']}/metrics").json()["records"]
            assert [r["test_accuracy"] for r in records] == [0.7, 0.8]
            events = api.get(f"/jobs/{child['id']}/events").json()["events"]
            assert [e["data"]["status"] for e in events] == ["queued", "succeeded"]
            assert events[-1]["data"]["reused_from"] == source["id"]
    # One by one, each child cost about eight statements: 32 more for the 4 more children.
    assert sent[6] == sent[2], sent


def test_reused_job_with_a_webhook_gets_its_delivery(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path, allow_private_webhooks=True)
    with client_for(settings) as client:
        api = Api(client, database_url, new_key(database_url))
        source = api.new_job(**BODY)
        train(database_url, source)
        hook = {"webhook_url": "https://127.0.0.1:9/hook", "webhook_events": ["status"]}
        response = api.post_job(**BODY, **hook, reuse=True)
        assert response.status_code == 201, response.text
        assert response.json()["reused_from"] == str(source)
        job_id = uuid.UUID(response.json()["id"])
        events = api.get(f"/jobs/{job_id}/events").json()["events"]
    with session_scope(database_url) as session:
        delivered = session.scalars(
            select(WebhookDelivery.event_id).where(WebhookDelivery.job_id == job_id)
        ).all()
        chain = session.execute(
            select(Event.id, Event.prev_id).where(Event.job_id == job_id).order_by(Event.id)
        ).all()
    assert [e["data"]["status"] for e in events] == ["queued", "succeeded"]
    # Each status event with its delivery, the succeeded one after the queued one in the chain.
    assert sorted(delivered) == [row.id for row in chain]
    assert [row.prev_id for row in chain] == [None, chain[0].id]


def test_sweep_reuse_commits_the_children_settled(api: Api) -> None:
    """One transaction: no commit shows a reused child queued (its events arrive together)."""
    first = api.post("/sweeps", json={**SWEEP, "seeds": 2}).json()
    for child in first["children"]:
        train(api.database_url, child["id"])
    batches: list[list[tuple[str, str]]] = []

    def heard(committed: Committed) -> None:
        batches.append([(m["job_id"], m["data"].get("status")) for m in committed.events])

    add_commit_listener(heard)
    try:
        response = api.post("/sweeps", json={**SWEEP, "seeds": 2, "reuse": True})
    finally:
        remove_commit_listener(heard)
    assert response.status_code == 201, response.text
    ids = [child["id"] for child in response.json()["children"]]
    statuses = [(job_id, status) for batch in batches for job_id, status in batch]
    assert sorted(statuses) == sorted((i, s) for i in ids for s in ("queued", "succeeded"))
    assert [len(batch) for batch in batches if batch] == [4]


def test_job_reuse_commits_the_job_settled(api: Api, tmp_path: Path) -> None:
    """POST /jobs with `reuse` likewise: the job is created and settled in one commit, so no
    reader and no worker's claim ever sees it queued (before: two transactions)."""
    source = api.new_job(**BODY)
    train(api.database_url, source)
    batches: list[list[tuple[str, str]]] = []

    def heard(committed: Committed) -> None:
        batches.append([(m["job_id"], m["data"].get("status")) for m in committed.events])

    add_commit_listener(heard)
    try:
        response = api.post_job(**BODY, reuse=True)
    finally:
        remove_commit_listener(heard)
    assert response.status_code == 201, response.text
    job = response.json()
    assert (job["status"], job["reused_from"]) == ("succeeded", str(source))
    assert [sorted(batch) for batch in batches if batch] == [
        sorted([(job["id"], "queued"), (job["id"], "succeeded")])
    ]
