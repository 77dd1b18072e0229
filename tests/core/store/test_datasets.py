"""The store of users' data sets (issue 19) on both databases: the upload kept in chunks, one
canonical copy per owner and fingerprint, counted in the quota, deletion refused while in use."""

from __future__ import annotations

import io
import uuid

import pytest
from sqlalchemy import func, select

from core.store import dataset_files, datasets, jobs, keys, storage
from core.store.dataset_tables import DatasetChunk, DatasetFile, DatasetStatus
from core.store.db import session_scope
from core.store.errors import JobStateConflict, StorageQuotaExceeded

QUOTA = 1 << 30


def _owner(url: str, name: str = "alice") -> uuid.UUID:
    with session_scope(url) as session:
        owner_id = keys.get_or_create_owner(session=session, name=name).id
        session.commit()
        return owner_id


def _upload(url: str, owner_id: uuid.UUID, data: bytes, quota: int = QUOTA) -> uuid.UUID:
    with session_scope(url) as session:
        used = storage.stored_bytes(session=session, owner_id=owner_id)
        dataset = datasets.create_dataset(
            session=session,
            owner_id=owner_id,
            name="mine",
            filename="mine.zip",
            test_fraction=0.2,
            seed=0,
            upload=io.BytesIO(data),
            upload_bytes=len(data),
            quota_bytes=quota,
            used_bytes=used,
        )
        return dataset.id


def _summary(fingerprint: str) -> datasets.Summary:
    return datasets.Summary(
        fingerprint=fingerprint,
        format="npz",
        train_images=4,
        test_images=2,
        class_names=["a", "b"],
        class_counts={"train": [2, 2], "test": [1, 1]},
        info={"format": "npz"},
        samples={"a": [], "b": []},
    )


def _ready(url: str, dataset_id: uuid.UUID, canonical: bytes, fingerprint: str) -> None:
    with session_scope(url) as session:
        done = datasets.mark_ready(
            session=session,
            dataset_id=dataset_id,
            canonical=io.BytesIO(canonical),
            summary=_summary(fingerprint),
        )
        assert done is not None and done.status == DatasetStatus.ready.value


def _files(url: str) -> list[tuple[str, int]]:
    with session_scope(url) as session:
        return [(f.kind, f.size) for f in session.scalars(select(DatasetFile))]


def test_create_dataset_stores_the_upload_in_chunks(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dataset_files, "CHUNK_BYTES", 1000)
    owner = _owner(database_url)
    data = bytes(range(256)) * 10  # 2,560 bytes: three chunks
    dataset_id = _upload(database_url, owner, data)
    with session_scope(database_url) as session:
        dataset = datasets.get_dataset(session=session, owner_id=owner, dataset_id=dataset_id)
        assert dataset is not None and dataset.status == "processing"
        assert dataset.upload_id is not None and dataset.upload_bytes == len(data)
        chunks = session.scalar(select(func.count()).select_from(DatasetChunk))
        assert chunks == 3
        target = io.BytesIO()
        dataset_files.read_file(session=session, file_id=dataset.upload_id, target=target)
        assert target.getvalue() == data


def test_another_owner_sees_no_dataset(database_url: str) -> None:
    dataset_id = _upload(database_url, _owner(database_url), b"x" * 10)
    bob = _owner(database_url, "bob")
    with session_scope(database_url) as session:
        assert datasets.get_dataset(session=session, owner_id=bob, dataset_id=dataset_id) is None
        assert datasets.list_datasets(session=session, owner_id=bob) == []


def test_identical_data_is_stored_once_per_owner_and_counted_once(database_url: str) -> None:
    alice, bob = _owner(database_url), _owner(database_url, "bob")
    first, second = _upload(database_url, alice, b"u" * 100), _upload(database_url, alice, b"v")
    _ready(database_url, first, b"c" * 500, "f" * 64)
    _ready(database_url, second, b"c" * 500, "f" * 64)
    theirs = _upload(database_url, bob, b"w" * 10)
    _ready(database_url, theirs, b"c" * 500, "f" * 64)
    # The uploads are gone; alice and bob each have one canonical copy.
    assert sorted(_files(database_url)) == [("canonical", 500), ("canonical", 500)]
    with session_scope(database_url) as session:
        assert storage.stored_bytes(session=session, owner_id=alice) == 500
        # Deleting one of alice's keeps the copy the other one uses.
        one = datasets.get_dataset(session=session, owner_id=alice, dataset_id=first)
        assert one is not None
        datasets.delete_dataset(session=session, dataset=one)
        assert storage.stored_bytes(session=session, owner_id=alice) == 500
        other = datasets.get_dataset(session=session, owner_id=alice, dataset_id=second)
        assert other is not None
        datasets.delete_dataset(session=session, dataset=other)
        assert storage.stored_bytes(session=session, owner_id=alice) == 0
        assert session.scalar(select(func.count()).select_from(DatasetChunk)) == 1  # bob's


def test_upload_past_the_quota_is_refused_and_nothing_kept(database_url: str) -> None:
    owner = _owner(database_url)
    _upload(database_url, owner, b"a" * 600, quota=1000)
    with pytest.raises(StorageQuotaExceeded):
        _upload(database_url, owner, b"b" * 600, quota=1000)
    assert _files(database_url) == [("upload", 600)]


def test_mark_failed_drops_the_upload_and_keeps_the_reason(database_url: str) -> None:
    dataset_id = _upload(database_url, owner := _owner(database_url), b"x" * 50)
    with session_scope(database_url) as session:
        datasets.mark_failed(
            session=session, dataset_id=dataset_id, where="train/cat/a.png", reason="not an image"
        )
        dataset = datasets.get_dataset(session=session, owner_id=owner, dataset_id=dataset_id)
        assert dataset is not None and dataset.status == "failed"
        assert dataset.error == "train/cat/a.png: not an image"
        assert dataset.upload_id is None
    assert _files(database_url) == []


def test_delete_is_refused_while_a_queued_job_trains_on_it(database_url: str) -> None:
    owner = _owner(database_url)
    dataset_id = _upload(database_url, owner, b"u")
    with session_scope(database_url) as session:
        dataset = datasets.get_dataset(session=session, owner_id=owner, dataset_id=dataset_id)
        assert dataset is not None
        with pytest.raises(JobStateConflict, match="processing"):
            datasets.delete_dataset(session=session, dataset=dataset)
    _ready(database_url, dataset_id, b"c" * 10, "a" * 64)
    with session_scope(database_url) as session:
        spec = {"architecture": "resnet", "depth": 8, "epochs": 1, "dataset": str(dataset_id)}
        job, _ = jobs.create_job(session=session, owner_id=owner, spec=spec, max_queued=10)
        dataset = datasets.get_dataset(session=session, owner_id=owner, dataset_id=dataset_id)
        assert dataset is not None
        with pytest.raises(JobStateConflict, match=str(job.id)):
            datasets.delete_dataset(session=session, dataset=dataset)
        jobs.request_cancel(session=session, job=job)
        datasets.delete_dataset(session=session, dataset=dataset)
        assert datasets.list_datasets(session=session, owner_id=owner) == []


def test_training_data_refuses_a_dataset_that_is_not_ready(database_url: str) -> None:
    owner = _owner(database_url)
    dataset_id = _upload(database_url, owner, b"u")
    spec = {"architecture": "resnet", "depth": 8, "epochs": 1, "dataset": str(dataset_id)}
    with session_scope(database_url) as session:
        job, _ = jobs.create_job(session=session, owner_id=owner, spec=spec, max_queued=10)
        job_id = job.id
    with session_scope(database_url) as session, pytest.raises(datasets.DatasetNotReady):
        datasets.training_data(session=session, job_id=job_id, dataset_id=dataset_id)
    _ready(database_url, dataset_id, b"c" * 10, "a" * 64)
    with session_scope(database_url) as session:
        found = datasets.training_data(session=session, job_id=job_id, dataset_id=dataset_id)
        assert (found.fingerprint, found.size, found.class_names) == ("a" * 64, 10, ["a", "b"])
