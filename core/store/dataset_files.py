"""A data set's files (issue 19), uploads and canonical .npz alike, stored in chunks of
`dataset_chunks` so that no reader or writer holds a whole file, each checked against its size
and sha256 when read back."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from typing import BinaryIO

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from core.store.dataset_tables import DatasetChunk, DatasetFile, FileKind
from core.store.errors import StoreError

CHUNK_BYTES = 4 << 20  # one row of dataset_chunks; what a reader or writer holds at once


class StoredFileCorrupt(StoreError):
    """A stored file's chunks do not add up to its recorded size and sha256."""


def store_file(
    session: Session, owner_id: uuid.UUID, kind: FileKind, source: BinaryIO, fingerprint: str | None
) -> DatasetFile:
    """The file's row and chunks, flushed, not committed; `source` read a chunk at a time."""
    row = DatasetFile(
        owner_id=owner_id, kind=kind.value, fingerprint=fingerprint, size=0, sha256=""
    )
    session.add(row)
    session.flush()
    digest, size, index = hashlib.sha256(), 0, 0
    while chunk := source.read(CHUNK_BYTES):
        # Core inserts: the ORM would keep every chunk in the session until the commit.
        session.execute(insert(DatasetChunk).values(file_id=row.id, index=index, data=chunk))
        digest.update(chunk)
        size += len(chunk)
        index += 1
    row.size, row.sha256 = size, digest.hexdigest()
    session.flush()
    return row


def iter_file(*, session: Session, file_id: uuid.UUID) -> Iterator[bytes]:
    """The stored file's chunks in order, each read by its own query, checked at the end."""
    stored = session.get(DatasetFile, file_id)
    if stored is None:
        raise StoredFileCorrupt(f"dataset file {file_id} is gone")
    digest, size = hashlib.sha256(), 0
    count = session.scalar(select(func.count()).where(DatasetChunk.file_id == file_id)) or 0
    for index in range(count):
        data = session.scalar(
            select(DatasetChunk.data).where(
                DatasetChunk.file_id == file_id, DatasetChunk.index == index
            )
        )
        if data is None:
            raise StoredFileCorrupt(f"dataset file {file_id} lacks chunk {index}")
        digest.update(data)
        size += len(data)
        yield bytes(data)
    if size != stored.size or digest.hexdigest() != stored.sha256:
        raise StoredFileCorrupt(f"dataset file {file_id} does not match its size and sha256")


def read_file(*, session: Session, file_id: uuid.UUID, target: BinaryIO) -> int:
    """Write the stored file to `target`; its size."""
    size = 0
    for chunk in iter_file(session=session, file_id=file_id):
        target.write(chunk)
        size += len(chunk)
    return size
