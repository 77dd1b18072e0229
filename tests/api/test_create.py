"""POST /jobs: resolution of defaults, validation, limits, init_from, idempotency and quotas."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from core.spec import DATASET_NAMES, api_settings
from core.store.db import session_scope
from core.store.tables import Job, JobStatus
from tests.api.conftest import (
    Api,
    auth,
    broker_messages,
    client_for,
    make_settings,
    new_key,
    succeed_job,
)

# The paper's recipe, written out; every other declared field at its declared default (a
# hyperparameter added to core/spec/job_settings.py appears here without an edit).
PAPER = {
    "architecture": "resnet",
    "depth": 20,
    "epochs": 3,
    "dataset": "cifar10",
    "batch_size": 128,
    "learning_rate": 0.1,
    "momentum": 0.9,
    "weight_decay": 0.0001,
    "lr_schedule": "multistep",
    "augment": True,
    "seed": 0,
    "train_mode": "end_to_end",
    "shortcut": "A",
    "init_from": None,
}
RESOLVED = {**{s.name: s.default for s in api_settings()}, **PAPER}


def _job_count(database_url: str) -> int:
    with session_scope(database_url) as session:
        return session.scalar(select(func.count()).select_from(Job)) or 0


def _field_names(response: Any) -> list[str]:
    body = response.json()
    return [field["field"] for field in body["error"]["fields"]]


def test_create_minimal_body_resolves_the_paper_recipe(api: Api, tmp_path: Path) -> None:
    response = api.post_job()
    assert response.status_code == 201, response.text
    job = response.json()
    assert job["status"] == "queued"
    # Shown with no uploaded data set's facts (issue 19); stored without them.
    assert job["spec"] == {**RESOLVED, **dict.fromkeys(DATASET_NAMES)}
    progress = job["progress"]
    assert progress | {"epochs_done": 0, "epochs": 3, "fraction": 0.0} == progress
    assert progress["eta_seconds"] is None  # queued: no speed measured yet
    assert job["latest_metrics"] is None and job["error"] is None and job["results"] is None
    assert job["links"]["self"] == f"/jobs/{job['id']}"
    with session_scope(api.database_url) as session:
        row = session.get(Job, uuid.UUID(job["id"]))
        assert row is not None
        assert row.spec == RESOLVED  # what the worker builds its TrainConfig from
        assert row.enqueued_at is not None
    assert len(broker_messages(tmp_path)) == 1


def test_create_explicit_fields_are_kept(api: Api) -> None:
    fields = {
        "architecture": "plain",
        "depth": 56,
        "epochs": 10,
        "dataset": "cifar100",
        "batch_size": 256,
        "learning_rate": 1,  # an int is a number; it is stored as 1.0
        "momentum": 0,
        "weight_decay": 0.0005,
        "lr_schedule": "cosine",
        "augment": False,
        "seed": 2**32 - 1,
        "shortcut": "B",
    }
    response = api.post_job(**fields)
    assert response.status_code == 201, response.text
    spec = response.json()["spec"]
    shown = {**RESOLVED, **dict.fromkeys(DATASET_NAMES), **fields}
    assert spec == {**shown, "learning_rate": 1.0, "momentum": 0.0}
    assert isinstance(spec["learning_rate"], float)


@pytest.mark.parametrize(
    ("fields", "learning_rate"),
    [
        ({"architecture": "vgg", "depth": 11}, 0.01),  # its recipe (core/architecture.py)
        ({"architecture": "vgg", "depth": 11, "learning_rate": 0.1}, 0.1),  # given: kept
        ({"architecture": "resnet", "depth": 20}, 0.1),  # the paper's
    ],
)
def test_create_learning_rate_left_out_takes_the_architecture_recipe(
    api: Api, fields: dict[str, Any], learning_rate: float
) -> None:
    response = api.post_job(**fields)
    assert response.status_code == 201, response.text
    assert response.json()["spec"]["learning_rate"] == learning_rate
    shown = api.get(f"/jobs/{response.json()['id']}").json()["spec"]
    assert shown["learning_rate"] == learning_rate  # GET shows the value the run uses


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"depth": 55}, "depth"),
        ({"depth": 1208}, "depth"),  # 6n+2, but over max_depth
        ({"depth": 2}, "depth"),
        ({"epochs": 0}, "epochs"),
        ({"epochs": 501}, "epochs"),
        ({"architecture": "densenet"}, "architecture"),  # vgg exists since issue 10
        ({"dataset": "mnist"}, "dataset"),
        ({"batch_size": 4}, "batch_size"),
        ({"batch_size": 4096}, "batch_size"),
        ({"learning_rate": 0}, "learning_rate"),
        ({"learning_rate": 11.0}, "learning_rate"),
        ({"momentum": 1.0}, "momentum"),
        ({"momentum": -0.1}, "momentum"),
        ({"weight_decay": -1e-4}, "weight_decay"),
        ({"lr_schedule": "linear"}, "lr_schedule"),
        ({"seed": -1}, "seed"),
        ({"seed": 2**32}, "seed"),
        ({"augment": "yes"}, "augment"),
        ({"train_mode": "finetune"}, "train_mode"),
        ({"shortcut": "C"}, "shortcut"),
        ({"init_from": "not-a-uuid"}, "init_from"),
        ({"train_mode": "frozen_base"}, "init_from"),
        ({"colour": "blue"}, "colour"),  # unknown fields are refused
    ],
)
def test_create_invalid_field_is_named(
    api: Api, tmp_path: Path, fields: dict[str, Any], named: str
) -> None:
    response = api.post_job(**fields)
    assert response.status_code == 422, response.text
    assert named in _field_names(response)
    assert response.json()["error"]["code"] == "validation_error"
    assert _job_count(api.database_url) == 0
    assert broker_messages(tmp_path) == []


def test_create_missing_required_fields_are_named(api: Api) -> None:
    response = api.client.post("/jobs", json={}, headers=api.headers)
    assert response.status_code == 422
    assert set(_field_names(response)) == {"architecture", "depth", "epochs"}


GARBAGE: list[bytes] = [
    b"",
    b"{",
    b'{"architecture": "resnet", "depth": 20,',
    b"[]",
    b"[1, 2, 3]",
    b"null",
    b"1",
    b'"resnet"',
    b"true",
    b"\xff\xfe\x00garbage",
    b"[" * 100_000 + b"]" * 100_000,
    b'{"architecture": null, "depth": 20, "epochs": 3}',
    b'{"architecture": "resnet", "depth": null, "epochs": 3}',
    b'{"architecture": "resnet", "depth": "56", "epochs": 3}',
    b'{"architecture": "resnet", "depth": true, "epochs": 3}',
    b'{"architecture": "resnet", "depth": 20.0, "epochs": 3}',
    b'{"architecture": "resnet", "depth": 20.5, "epochs": 3}',
    b'{"architecture": "resnet", "depth": [20], "epochs": 3}',
    b'{"architecture": "resnet", "depth": {"n": 3}, "epochs": 3}',
    b'{"architecture": "resnet", "depth": 1000000000000000000000000000000, "epochs": 3}',
    b'{"architecture": "resnet", "depth": 6000000000000000000000000000002, "epochs": 3}',
    b'{"architecture": "resnet", "depth": 20, "epochs": 1e400}',
    b'{"architecture": "resnet", "depth": 20, "epochs": 99999999999999999999999}',
    b'{"architecture": "resnet", "depth": 20, "epochs": false}',
    b'{"architecture": "resnet", "depth": 20, "epochs": 3, "learning_rate": NaN}',
    b'{"architecture": "resnet", "depth": 20, "epochs": 3, "learning_rate": Infinity}',
    b'{"architecture": "resnet", "depth": 20, "epochs": 3, "learning_rate": 1e308}',
    b'{"architecture": "resnet", "depth": 20, "epochs": 3, "learning_rate": "0.1"}',
    b'{"architecture": "resnet", "depth": 20, "epochs": 3, "learning_rate": true}',
    b'{"architecture": "resnet", "depth": 20, "epochs": 3, "seed": 1e3}',
    b'{"architecture": "resnet", "depth": 20, "epochs": 3, "seed": 18446744073709551616}',
    b'{"architecture": "resnet", "depth": 20, "epochs": 3, "augment": 1}',
    b'{"architecture": "resnet", "depth": 20, "epochs": 3, "augment": "true"}',
    b'{"architecture": "resnet", "depth": 20, "epochs": 3, "init_from": 5}',
    b'{"architecture": "resnet", "depth": 20, "epochs": 3, "init_from": ""}',
    b'{"architecture": "' + b"x" * 1_000_000 + b'", "depth": 20, "epochs": 3}',
    b'{"architecture": "resnet", "depth": 20, "epochs": 3, "__proto__": {}}',
]


def test_create_garbage_bodies_never_500(api: Api) -> None:
    for body in GARBAGE:
        response = api.client.post(
            "/jobs", content=body, headers={**api.headers, "Content-Type": "application/json"}
        )
        shown = body[:80]
        assert 400 <= response.status_code < 500, (shown, response.status_code, response.text)
        error = response.json()["error"]
        assert error["code"] and error["message"], shown
        if response.status_code == 422:
            assert error["fields"] and all(field["field"] for field in error["fields"]), shown
    assert _job_count(api.database_url) == 0


def test_create_oversized_body_is_413(api: Api) -> None:
    body = b'{"architecture": "' + b"x" * (2 << 20) + b'"}'
    response = api.client.post(
        "/jobs", content=body, headers={**api.headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"


def test_create_body_not_json_is_refused(api: Api) -> None:
    for content_type in ("application/x-www-form-urlencoded", "text/plain", None):
        headers = {**api.headers, **({"Content-Type": content_type} if content_type else {})}
        response = api.client.post("/jobs", content=b'{"architecture": "resnet"}', headers=headers)
        assert response.status_code == 422
        assert "application/json" in response.json()["error"]["message"]


def test_create_over_cost_names_epochs_and_limit(api: Api) -> None:
    # ResNet-1202 has about 19.4M parameters: 500 epochs is about 9.7e9 > max_cost 4e9.
    response = api.post_job(depth=1202, epochs=500)
    assert response.status_code == 422
    field = response.json()["error"]["fields"][0]
    assert field["field"] == "epochs"
    assert "max_cost" in field["reason"] and "4e+09" in field["reason"]
    assert _job_count(api.database_url) == 0
    assert api.post_job(depth=1202, epochs=164).status_code == 201  # the paper's run fits


def test_create_over_queue_quota_is_429_with_retry_after(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path, max_queued_per_owner=2)
    with client_for(settings) as client:
        api = Api(client, database_url, new_key(database_url))
        api.new_job()
        api.new_job()
        response = api.post_job()
        assert response.status_code == 429
        assert int(response.headers["Retry-After"]) > 0
        assert response.json()["error"]["code"] == "quota_exceeded"
        # Another owner has a quota of their own.
        other = Api(client, database_url, new_key(database_url, "bob"))
        assert other.post_job().status_code == 201
    assert _job_count(database_url) == 3


def test_create_same_idempotency_key_and_body_returns_the_first_job(
    api: Api, tmp_path: Path
) -> None:
    key = {"Idempotency-Key": "submit-2026-11-22-a"}
    first = api.post_job(headers=key, depth=56)
    again = api.post_job(headers=key, depth=56, seed=0, dataset="cifar10")  # same once resolved
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert _job_count(api.database_url) == 1
    assert len(broker_messages(tmp_path)) == 1


def test_create_same_idempotency_key_other_body_is_422_naming_the_header(api: Api) -> None:
    key = {"Idempotency-Key": "submit-b"}
    assert api.post_job(headers=key, depth=56).status_code == 201
    response = api.post_job(headers=key, depth=110)
    assert response.status_code == 422
    assert _field_names(response) == ["Idempotency-Key"]
    assert response.json()["error"]["fields"][0]["in"] == "header"


def test_create_idempotency_keys_are_per_owner(api: Api) -> None:
    key = {"Idempotency-Key": "shared"}
    other = Api(api.client, api.database_url, new_key(api.database_url, "bob"))
    first, second = api.post_job(headers=key), other.post_job(headers=key)
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["id"] != second.json()["id"]


def test_create_overlong_idempotency_key_is_422(api: Api) -> None:
    response = api.post_job(headers={"Idempotency-Key": "k" * 256})
    assert response.status_code == 422
    assert _field_names(response) == ["Idempotency-Key"]


@pytest.mark.parametrize(
    "value",
    [b"retry\tme", b"retry\x7fme", "retry\u202eme".encode()],
    ids=["tab", "DEL", "RLO as UTF-8 bytes"],
)
def test_create_idempotency_key_with_control_characters_is_422(api: Api, value: bytes) -> None:
    """A key is free text: control characters are refused (issue 17, item 10), as in a sweep's
    name; header bytes arrive as Latin-1, so UTF-8 U+202E shows as C1 controls."""
    response = api.post_job(headers={"Idempotency-Key": value})
    assert response.status_code == 422, response.text
    assert _field_names(response) == ["Idempotency-Key"]
    assert "control characters" in response.json()["error"]["fields"][0]["reason"]
    with session_scope(api.database_url) as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 0


def test_create_init_from_succeeded_job_is_accepted(api: Api) -> None:
    base = api.new_job(depth=20)
    succeed_job(api.database_url, base)
    response = api.post_job(
        depth=20, dataset="cifar100", train_mode="frozen_base", init_from=str(base)
    )
    assert response.status_code == 201, response.text
    job_id = uuid.UUID(response.json()["id"])
    assert response.json()["spec"]["init_from"] == str(base)
    with session_scope(api.database_url) as session:
        row = session.get(Job, job_id)
        assert row is not None and row.init_from_id == base
        assert row.spec["init_from"] == str(base)


def test_create_init_from_unusable_job_is_422(api: Api) -> None:
    queued = api.new_job(depth=20)
    other = Api(api.client, api.database_url, new_key(api.database_url, "bob"))
    theirs = other.new_job(depth=20)
    succeed_job(api.database_url, theirs)
    mine = api.new_job(depth=20)
    succeed_job(api.database_url, mine)
    cases: list[tuple[uuid.UUID, dict[str, Any], str, str]] = [
        (uuid.uuid4(), {}, "init_from", "no succeeded job"),
        (theirs, {}, "init_from", "no succeeded job"),  # as if it did not exist
        (queued, {}, "init_from", "is queued"),
        (mine, {"depth": 32}, "depth", "must be 20"),
        (mine, {"architecture": "plain"}, "architecture", "must be 'resnet'"),
        (mine, {"shortcut": "B"}, "shortcut", "must be 'A'"),
    ]
    for init_from, fields, named, reason in cases:
        response = api.post_job(init_from=str(init_from), **{"depth": 20, **fields})
        assert response.status_code == 422, (fields, response.text)
        field = response.json()["error"]["fields"][0]
        assert (field["field"], reason in field["reason"]) == (named, True), field
    assert _job_count(api.database_url) == 3


def test_create_broker_down_is_503_and_leaves_no_job(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path, broker_url="redis://127.0.0.1:1/0")
    with client_for(settings) as client:
        api = Api(client, database_url, new_key(database_url))
        response = api.post_job(headers={"Idempotency-Key": "retry-me"})
        assert response.status_code == 503
        error = response.json()["error"]
        assert error["code"] == "queue_unavailable"
        assert "nothing was created" in error["message"]
        assert api.get("/jobs").json()["jobs"] == []
    assert _job_count(database_url) == 0
    # The same Idempotency-Key works once the broker is back.
    with client_for(make_settings(database_url, tmp_path)) as client:
        retried = Api(client, database_url, api.key).post_job(
            headers={"Idempotency-Key": "retry-me"}
        )
        assert retried.status_code == 201


def test_create_sends_job_id_to_redis_training_queue(database_url: str, tmp_path: Path) -> None:
    import base64
    import json

    import redis

    from testkit.services import redis_url

    url = redis_url(11)
    server = redis.Redis.from_url(url)
    server.flushdb()
    try:
        with client_for(make_settings(database_url, tmp_path, broker_url=url)) as client:
            job_id = Api(client, database_url, new_key(database_url)).new_job()
        assert server.llen("training") == 1
        raw = server.lpop("training")
        assert isinstance(raw, bytes)
        message = json.loads(raw)
        assert message["headers"]["task"] == "worker.train_job"
        args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        assert args == [str(job_id)]
    finally:
        server.flushdb()
        server.close()
    with session_scope(database_url) as session:
        row = session.get(Job, job_id)
        assert row is not None and row.status == JobStatus.queued and row.enqueued_at is not None


def test_create_without_key_is_401(api: Api) -> None:
    response = api.client.post("/jobs", json={"architecture": "resnet", "depth": 20, "epochs": 3})
    assert response.status_code == 401
    response = api.client.post(
        "/jobs", json={"architecture": "resnet", "depth": 20, "epochs": 3}, headers=auth("crs_x")
    )
    assert response.status_code == 401


@pytest.mark.parametrize(
    "other",
    [
        {"webhook_url": "https://127.0.0.1:9/b"},
        {"webhook_events": ["status", "epoch"]},
        {"webhook_url": None, "webhook_events": None},
    ],
)
def test_create_same_idempotency_key_other_webhook_is_422(
    database_url: str, tmp_path: Path, other: dict[str, object]
) -> None:
    """The key covers the whole body, the webhook included (issue 17, item 9)."""
    settings = make_settings(database_url, tmp_path, allow_private_webhooks=True)
    with client_for(settings) as client:
        api = Api(client, database_url, new_key(database_url))
        key = {"Idempotency-Key": "hooked"}
        hook = {"webhook_url": "https://127.0.0.1:9/a", "webhook_events": ["status"]}
        assert api.post_job(headers=key, **hook).status_code == 201
        assert api.post_job(headers=key, **hook).status_code == 200
        response = api.post_job(headers=key, **{**hook, **other})
        assert response.status_code == 422, response.text
        assert _field_names(response) == ["Idempotency-Key"]
