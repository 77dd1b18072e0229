"""POST/GET/DELETE /datasets (issue 19) through the app, processing called as the `datasets`
queue's task calls it; both databases."""

from __future__ import annotations

import asyncio
import json
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.app import create_app
from core.settings import Settings
from core.store.dataset_tables import DatasetFile
from core.store.db import session_scope
from testkit.dataset_files import image_folder_files, npz_file, write_archive
from tests.api.conftest import Api, auth, broker_messages, make_settings, new_key
from worker.dataset_processing import process_dataset

CLASSES = ["cat", "dog", "eel"]


@pytest.fixture(autouse=True)
def _own_tempdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The API's temporary files land here, so a test sees whether one is left behind."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path, dataset_cache_dir=tmp_path / "cache")


def _upload(api: Api, data: bytes, **params: Any) -> Any:
    query = {"name": "mine", "filename": "mine.zip", **params}
    return api.client.post("/datasets", content=data, params=query, headers=api.headers)


def _stored_files(database_url: str) -> int:
    with session_scope(database_url) as session:
        return session.scalar(select(func.count()).select_from(DatasetFile)) or 0


def test_upload_is_processed_into_a_ready_dataset(
    api: Api, settings: Settings, tmp_path: Path
) -> None:
    archive = write_archive(tmp_path / "a.zip", image_folder_files(CLASSES, per_class=5))
    answer = _upload(api, archive.read_bytes())
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["status"] == "processing" and body["upload_bytes"] == archive.stat().st_size
    assert answer.headers["location"] == f"/datasets/{body['id']}"
    sent = [json.loads(path.read_text()) for path in broker_messages(tmp_path)]
    assert any(message["headers"]["task"] == "worker.process_dataset" for message in sent)

    assert process_dataset(uuid.UUID(body["id"]), settings) == "ready"
    shown = api.client.get(f"/datasets/{body['id']}", headers=api.headers).json()
    assert shown["status"] == "ready" and shown["progress"] == 1.0
    assert shown["class_names"] == CLASSES and shown["num_classes"] == 3
    assert shown["class_counts"] == {"train": [5, 5, 5], "test": [1, 1, 1]}
    assert (shown["train_images"], shown["test_images"]) == (15, 3)
    assert len(shown["fingerprint"]) == 64
    assert all(len(images) == 4 for images in shown["samples"].values())
    # The worker that processed it keeps a copy for training; the upload itself is gone.
    assert (tmp_path / "cache" / f"{shown['fingerprint']}.npz").is_file()
    assert _stored_files(api.database_url) == 1

    listed = api.client.get("/datasets", headers=api.headers).json()
    assert [d["name"] for d in listed["builtin"]] == ["cifar10", "cifar100"]
    assert [d["id"] for d in listed["uploads"]] == [body["id"]]
    assert "samples" not in listed["uploads"][0]


def test_identical_uploads_share_one_stored_copy(
    api: Api, settings: Settings, tmp_path: Path
) -> None:
    data = npz_file(tmp_path / "a.npz").read_bytes()
    ids = [_upload(api, data).json()["id"] for _ in range(2)]
    for dataset_id in ids:
        assert process_dataset(uuid.UUID(dataset_id), settings) == "ready"
    prints = {
        api.client.get(f"/datasets/{i}", headers=api.headers).json()["fingerprint"] for i in ids
    }
    assert len(prints) == 1
    assert _stored_files(api.database_url) == 1


def test_a_bad_archive_fails_naming_the_member_and_keeps_nothing(
    api: Api, settings: Settings, tmp_path: Path
) -> None:
    files = {**image_folder_files(CLASSES, per_class=2), "train/cat/notes.png": b"not an image"}
    dataset_id = _upload(api, write_archive(tmp_path / "a.zip", files).read_bytes()).json()["id"]
    assert process_dataset(uuid.UUID(dataset_id), settings) == "failed"
    shown = api.client.get(f"/datasets/{dataset_id}", headers=api.headers).json()
    assert shown["status"] == "failed"
    assert shown["error"].startswith("train/cat/notes.png: not a PNG, JPEG or WebP")
    assert _stored_files(api.database_url) == 0
    assert not list((tmp_path / "cache" / "tmp").iterdir())


def test_another_owners_dataset_is_not_found(api: Api, tmp_path: Path) -> None:
    dataset_id = _upload(api, npz_file(tmp_path / "a.npz").read_bytes()).json()["id"]
    other = auth(new_key(api.database_url, "bob"))
    assert api.client.get(f"/datasets/{dataset_id}", headers=other).status_code == 404
    assert api.client.delete(f"/datasets/{dataset_id}", headers=other).status_code == 404
    assert api.client.get("/datasets", headers=other).json()["uploads"] == []


def test_delete_is_refused_while_processing_then_removes_it(
    api: Api, settings: Settings, tmp_path: Path
) -> None:
    dataset_id = _upload(api, npz_file(tmp_path / "a.npz").read_bytes()).json()["id"]
    refused = api.client.delete(f"/datasets/{dataset_id}", headers=api.headers)
    assert refused.status_code == 409 and "processing" in refused.json()["error"]["message"]
    process_dataset(uuid.UUID(dataset_id), settings)
    assert api.client.delete(f"/datasets/{dataset_id}", headers=api.headers).status_code == 200
    assert api.client.get(f"/datasets/{dataset_id}", headers=api.headers).status_code == 404
    assert _stored_files(api.database_url) == 0


def test_upload_over_the_size_limit_is_refused_and_nothing_kept(
    database_url: str, tmp_path: Path, _own_tempdir: Path
) -> None:
    settings = make_settings(database_url, tmp_path, dataset_max_upload_bytes=2048)
    client = TestClient(create_app(settings))
    headers = auth(new_key(database_url))
    answer = client.post("/datasets", params={"name": "x"}, content=b"x" * 5000, headers=headers)
    assert answer.status_code == 413

    def chunks() -> Any:
        for _ in range(5):
            yield b"x" * 1000  # no Content-Length: counted as it streams

    answer = client.post("/datasets", params={"name": "x"}, content=chunks(), headers=headers)
    assert answer.status_code == 413
    assert _stored_files(database_url) == 0 and not list(_own_tempdir.iterdir())


def test_upload_past_the_storage_quota_is_refused(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path, storage_quota_bytes=1000)
    client = TestClient(create_app(settings))
    headers = auth(new_key(database_url))
    answer = client.post("/datasets", params={"name": "x"}, content=b"x" * 1500, headers=headers)
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "storage_quota_exceeded"
    assert _stored_files(database_url) == 0


@pytest.mark.parametrize(
    ("params", "field"),
    [({}, "name"), ({"name": "x", "test_fraction": 1}, "test_fraction"), ({"name": ""}, "name")],
)
def test_upload_with_a_bad_field_is_a_422_naming_it(
    api: Api, params: dict[str, Any], field: str
) -> None:
    answer = api.client.post("/datasets", params=params, content=b"data", headers=api.headers)
    assert answer.status_code == 422
    assert [f["field"] for f in answer.json()["error"]["fields"]] == [field]


def test_an_empty_upload_is_a_422(api: Api) -> None:
    answer = api.client.post("/datasets", params={"name": "x"}, content=b"", headers=api.headers)
    assert answer.status_code == 422 and answer.json()["error"]["fields"][0]["field"] == "body"


def test_an_upload_cut_off_midway_is_a_400_and_keeps_nothing(
    settings: Settings, database_url: str, _own_tempdir: Path
) -> None:
    app = create_app(settings)
    key = new_key(database_url)
    sent: list[dict[str, Any]] = []
    incoming = [
        {"type": "http.request", "body": b"PK\x03\x04" + b"x" * 100, "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> dict[str, Any]:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/datasets",
        "raw_path": b"/datasets",
        "query_string": b"name=cut",
        "root_path": "",
        "headers": [(b"authorization", f"Bearer {key}".encode()), (b"host", b"test")],
        "client": ("127.0.0.1", 1234),
        "server": ("test", 80),
        "app": app,
    }
    asyncio.run(app(scope, receive, send))  # type: ignore[arg-type]
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 400
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    assert "cut off after 104 bytes" in json.loads(body)["error"]["message"]
    assert _stored_files(database_url) == 0 and not list(_own_tempdir.iterdir())
