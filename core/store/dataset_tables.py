"""Tables of the users' own data sets (issue 19): the data set, and its files stored in chunks.

A file (the upload while it waits for processing, then the canonical arrays) lives in the
database like a job's weights, so that a worker on any host reads it; in chunks, so that no
process holds a file of gigabytes in one value. The canonical file is stored once per owner
and fingerprint, however many data sets of the owner have those images and labels.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from core.store.tables import Base
from core.store.types import Blob, JsonDoc, UtcDateTime, utcnow
from core.vocabulary import DatasetStatus  # the statuses are listed there

__all__ = ["Dataset", "DatasetChunk", "DatasetFile", "DatasetStatus", "FileKind"]


class FileKind(str, enum.Enum):
    upload = "upload"  # the bytes as received, removed once processed
    canonical = "canonical"  # core.datasets.canonical's .npz, shared by equal fingerprints


class DatasetFile(Base):
    __tablename__ = "dataset_files"
    __table_args__ = (UniqueConstraint("owner_id", "kind", "fingerprint"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("owners.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # a FileKind
    fingerprint: Mapped[str | None] = mapped_column(String(64), default=None)  # canonical only
    size: Mapped[int] = mapped_column(BigInteger)  # bytes, the sum of its chunks
    sha256: Mapped[str] = mapped_column(String(64))  # of the whole file, checked on reading
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class DatasetChunk(Base):
    __tablename__ = "dataset_chunks"

    file_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("dataset_files.id", ondelete="CASCADE"), primary_key=True
    )
    index: Mapped[int] = mapped_column(Integer, primary_key=True)  # 0-based, in file order
    data: Mapped[bytes] = mapped_column(Blob)


class Dataset(Base):
    __tablename__ = "datasets"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("owners.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str | None] = mapped_column(String(255), default=None)
    status: Mapped[str] = mapped_column(String(16), default=DatasetStatus.processing.value)
    progress: Mapped[float] = mapped_column(Float, default=0.0)  # 0..1 of the upload read
    error: Mapped[str | None] = mapped_column(Text, default=None)
    error_where: Mapped[str | None] = mapped_column(Text, default=None)  # member or field
    # What the upload asked for: a seeded split of a folder without test/.
    test_fraction: Mapped[float] = mapped_column(Float)
    seed: Mapped[int] = mapped_column(BigInteger)
    upload_bytes: Mapped[int] = mapped_column(BigInteger)
    upload_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("dataset_files.id", ondelete="SET NULL"), default=None
    )
    file_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("dataset_files.id", ondelete="SET NULL"), default=None
    )
    fingerprint: Mapped[str | None] = mapped_column(String(64), default=None)
    format: Mapped[str | None] = mapped_column(String(32), default=None)
    train_images: Mapped[int | None] = mapped_column(Integer, default=None)
    test_images: Mapped[int | None] = mapped_column(Integer, default=None)
    class_names: Mapped[list[str] | None] = mapped_column(JsonDoc, default=None)
    # {"train": [per class], "test": [per class]}
    class_counts: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc, default=None)
    info: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc, default=None)
    samples: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc, default=None)  # class: PNGs
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
