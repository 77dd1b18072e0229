"""The users' own data sets (issue 19): their rows, their files in chunks, their removal.

A data set is created with its upload stored (one transaction: a cut-off upload leaves
nothing), processed by the `datasets` queue into the canonical file (`mark_ready`, stored once
per owner and fingerprint) or refused (`mark_failed`, the upload removed either way), each
change a `dataset` event on the owner's stream (`core.store.dataset_events`), read by
the workers that train on it (`core.store.dataset_files.read_file`), and deleted by its
owner unless a queued or running job uses it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, BinaryIO

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.store.dataset_events import record_dataset_event
from core.store.dataset_files import store_file
from core.store.dataset_tables import Dataset, DatasetChunk, DatasetFile, DatasetStatus, FileKind
from core.store.errors import JobStateConflict, StorageQuotaExceeded, StoreError
from core.store.tables import Job, JobStatus
from core.store.types import utcnow


class DatasetNotReady(StoreError):
    """A job names a data set that is processing or failed (HTTP 422 on the `dataset` field)."""


@dataclass(frozen=True)
class Summary:
    """What processing found, as GET /datasets/{id} shows it."""

    fingerprint: str
    format: str
    train_images: int
    test_images: int
    class_names: list[str]
    class_counts: dict[str, list[int]]
    info: dict[str, Any]
    samples: dict[str, list[str]]


def dataset_bytes(*, session: Session, owner_id: uuid.UUID) -> int:
    """Bytes of the owner's stored data set files (uploads waiting and canonical arrays)."""
    total = session.scalar(
        select(func.sum(DatasetFile.size)).where(DatasetFile.owner_id == owner_id)
    )
    return int(total or 0)


def create_dataset(
    *,
    session: Session,
    owner_id: uuid.UUID,
    name: str,
    filename: str | None,
    test_fraction: float,
    seed: int,
    upload: BinaryIO,
    upload_bytes: int,
    quota_bytes: int,
    used_bytes: int,
) -> Dataset:
    """Store the upload and a `processing` data set in one transaction; commits.

    `used_bytes` is everything the owner stores (core.store.storage.stored_bytes); refused
    (StorageQuotaExceeded) when the upload would take it past `quota_bytes`.
    """
    if used_bytes + upload_bytes > quota_bytes:
        session.rollback()
        raise StorageQuotaExceeded(
            f"the upload of {upload_bytes} bytes would take your stored files to "
            f"{used_bytes + upload_bytes} bytes, over your quota of {quota_bytes}; delete data "
            "sets or finished jobs you no longer need (DELETE /datasets/{id}, DELETE /jobs/{id})",
            used_bytes=used_bytes,
            limit_bytes=quota_bytes,
        )
    try:
        stored = store_file(session, owner_id, FileKind.upload, upload, None)
        dataset = Dataset(
            owner_id=owner_id,
            name=name,
            filename=filename,
            test_fraction=test_fraction,
            seed=seed,
            upload_bytes=stored.size,
            upload_id=stored.id,
        )
        session.add(dataset)
        session.flush()
        record_dataset_event(session=session, dataset=dataset)  # processing, on the owner's stream
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return dataset


def get_dataset(*, session: Session, owner_id: uuid.UUID, dataset_id: uuid.UUID) -> Dataset | None:
    """The owner's data set; another owner's is None, as one that does not exist."""
    dataset = session.get(Dataset, dataset_id)
    return dataset if dataset is not None and dataset.owner_id == owner_id else None


def list_datasets(*, session: Session, owner_id: uuid.UUID) -> list[Dataset]:
    return list(
        session.scalars(
            select(Dataset).where(Dataset.owner_id == owner_id).order_by(Dataset.created_at)
        )
    )


def _drop_upload(session: Session, dataset: Dataset) -> None:
    if dataset.upload_id is not None:
        upload_id = dataset.upload_id
        dataset.upload_id = None
        session.flush()
        session.execute(delete(DatasetChunk).where(DatasetChunk.file_id == upload_id))
        session.execute(delete(DatasetFile).where(DatasetFile.id == upload_id))


def _canonical_file(session: Session, owner_id: uuid.UUID, fingerprint: str) -> DatasetFile | None:
    return session.scalar(
        select(DatasetFile).where(
            DatasetFile.owner_id == owner_id,
            DatasetFile.kind == FileKind.canonical.value,
            DatasetFile.fingerprint == fingerprint,
        )
    )


def mark_ready(
    *, session: Session, dataset_id: uuid.UUID, canonical: BinaryIO, summary: Summary
) -> Dataset | None:
    """Store the canonical file (or reuse the owner's copy of the same fingerprint), drop the
    upload and mark the data set ready; commits. None when the data set was deleted meanwhile."""
    dataset = session.get(Dataset, dataset_id, with_for_update=True)
    if dataset is None or dataset.status != DatasetStatus.processing.value:
        session.rollback()
        return None
    stored = _canonical_file(session, dataset.owner_id, summary.fingerprint)
    if stored is None:
        try:
            with session.begin_nested():
                stored = store_file(
                    session, dataset.owner_id, FileKind.canonical, canonical, summary.fingerprint
                )
        except IntegrityError:  # another data set of the owner stored it first
            stored = _canonical_file(session, dataset.owner_id, summary.fingerprint)
            assert stored is not None
    _drop_upload(session, dataset)
    dataset.file_id = stored.id
    dataset.status = DatasetStatus.ready.value
    dataset.progress = 1.0
    dataset.fingerprint = summary.fingerprint
    dataset.format = summary.format
    dataset.train_images = summary.train_images
    dataset.test_images = summary.test_images
    dataset.class_names = summary.class_names
    dataset.class_counts = summary.class_counts
    dataset.info = summary.info
    dataset.samples = summary.samples
    dataset.finished_at = utcnow()
    record_dataset_event(session=session, dataset=dataset)
    session.commit()
    return dataset


def mark_failed(*, session: Session, dataset_id: uuid.UUID, where: str, reason: str) -> None:
    """Refused: the upload removed, the reason kept for GET; commits."""
    dataset = session.get(Dataset, dataset_id, with_for_update=True)
    if dataset is None or dataset.status != DatasetStatus.processing.value:
        session.rollback()
        return
    _drop_upload(session, dataset)
    dataset.status = DatasetStatus.failed.value
    dataset.error_where = where
    dataset.error = f"{where}: {reason}"
    dataset.finished_at = utcnow()
    record_dataset_event(session=session, dataset=dataset)
    session.commit()


def jobs_using(*, session: Session, dataset_id: uuid.UUID) -> list[tuple[uuid.UUID, JobStatus]]:
    """Queued and running jobs that train on the data set."""
    rows = session.execute(
        select(Job.id, Job.status).where(
            Job.spec["dataset"].as_string() == str(dataset_id),
            Job.status.in_((JobStatus.queued, JobStatus.running)),
        )
    )
    return [(job_id, status) for job_id, status in rows]


def delete_dataset(*, session: Session, dataset: Dataset) -> None:
    """Remove the data set, its upload, and its canonical file unless another of the owner's
    data sets shares it; refused (JobStateConflict) while processing or while a queued or
    running job uses it. Jobs that have ended keep their record (spec and fingerprint)."""
    current = session.get(Dataset, dataset.id, with_for_update=True)
    if current is None:
        session.rollback()
        return
    if current.status == DatasetStatus.processing.value:
        session.rollback()
        raise JobStateConflict(f"data set {dataset.id} is still processing; delete it once done")
    using = jobs_using(session=session, dataset_id=current.id)
    if using:
        session.rollback()
        job_id, status = using[0]
        raise JobStateConflict(
            f"job {job_id} ({status.value}) trains on data set {dataset.id}; cancel it or delete "
            "the data set once the job has ended"
        )
    _drop_upload(session, current)
    file_id = current.file_id
    session.delete(current)
    session.flush()
    if file_id is not None:
        shared = session.scalar(select(func.count()).where(Dataset.file_id == file_id))
        if not shared:
            session.execute(delete(DatasetChunk).where(DatasetChunk.file_id == file_id))
            session.execute(delete(DatasetFile).where(DatasetFile.id == file_id))
    session.commit()


@dataclass(frozen=True)
class TrainingData:
    """What a worker needs to train on a data set: its file and how to check it."""

    dataset_id: uuid.UUID
    file_id: uuid.UUID
    fingerprint: str
    size: int
    class_names: list[str]
    train_images: int


def training_data(*, session: Session, job_id: uuid.UUID, dataset_id: uuid.UUID) -> TrainingData:
    """The ready data set a job trains on (its owner's), or DatasetNotReady saying why not."""
    owner_id = session.scalar(select(Job.owner_id).where(Job.id == job_id))
    dataset = (
        None
        if owner_id is None
        else get_dataset(session=session, owner_id=owner_id, dataset_id=dataset_id)
    )
    if dataset is None:
        raise DatasetNotReady(f"no data set {dataset_id}")
    if dataset.status != DatasetStatus.ready.value or dataset.file_id is None:
        detail = f": {dataset.error}" if dataset.error else ""
        raise DatasetNotReady(f"data set {dataset_id} is {dataset.status}{detail}")
    stored = session.get(DatasetFile, dataset.file_id)
    assert stored is not None and dataset.fingerprint is not None
    return TrainingData(
        dataset_id=dataset.id,
        file_id=stored.id,
        fingerprint=dataset.fingerprint,
        size=stored.size,
        class_names=list(dataset.class_names or []),
        train_images=int(dataset.train_images or 0),
    )


def discard_dataset(*, session: Session, dataset_id: uuid.UUID) -> None:
    """Remove a data set still processing, with its upload (its processing could not be
    queued); commits."""
    dataset = session.get(Dataset, dataset_id, with_for_update=True)
    if dataset is not None:
        _drop_upload(session, dataset)
        session.delete(dataset)
    session.commit()


@dataclass(frozen=True)
class PendingUpload:
    """A data set waiting for processing: its upload and the split it asked for."""

    upload_id: uuid.UUID
    test_fraction: float
    seed: int


def pending_upload(*, session: Session, dataset_id: uuid.UUID) -> PendingUpload | None:
    """None when the data set is gone or already processed (a second delivery of its task)."""
    dataset = session.get(Dataset, dataset_id)
    if (
        dataset is None
        or dataset.status != DatasetStatus.processing.value
        or dataset.upload_id is None
    ):
        return None
    return PendingUpload(dataset.upload_id, dataset.test_fraction, dataset.seed)
