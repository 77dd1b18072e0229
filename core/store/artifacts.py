"""A succeeded job's other files (issue 11): weights as safetensors and ONNX, the evaluation
report; and the training throughput workers measured, which POST /jobs/estimate scales.

The worker stores a job's artifacts while it still holds the job's lease, before the job is
marked succeeded, so a succeeded job has them all (or, when an export failed its check, the
record of why in `info`).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from core.estimate import Measurement
from core.store.lifecycle import LeaseLost
from core.store.tables import Artifact, Job, Throughput
from core.store.types import utcnow

# The kinds a job may have; the API's `format` names map onto the first two.
SAFETENSORS = "weights.safetensors"
ONNX = "weights.onnx"
REPORT = "report.json"


@dataclass(frozen=True)
class ArtifactFile:
    data: bytes
    info: dict[str, Any] | None = None


@dataclass(frozen=True)
class ArtifactInfo:
    kind: str
    size: int
    sha256: str
    info: dict[str, Any] | None


def save_artifacts(
    *,
    session: Session,
    job_id: uuid.UUID,
    lease_id: uuid.UUID,
    files: Mapping[str, ArtifactFile],
) -> None:
    """Replace the job's artifacts of these kinds, if `lease_id` still holds the job; commits.

    An export that failed is stored with empty data and its reason in `info`, so the API can
    say why there is no such file.
    """
    holder = session.scalar(select(Job.lease_id).where(Job.id == job_id).with_for_update())
    if holder != lease_id:
        session.rollback()
        raise LeaseLost(f"job {job_id} is no longer held by lease {lease_id}")
    session.execute(delete(Artifact).where(Artifact.job_id == job_id, Artifact.kind.in_(files)))
    for kind, file in files.items():
        session.add(
            Artifact(
                job_id=job_id,
                kind=kind,
                data=file.data,
                size=len(file.data),
                sha256=hashlib.sha256(file.data).hexdigest(),
                info=file.info,
            )
        )
    session.commit()


def artifact_info(*, session: Session, job_id: uuid.UUID, kind: str) -> ArtifactInfo | None:
    """Size, sha256 and info of one artifact, without loading its data."""
    row = session.execute(
        select(Artifact.size, Artifact.sha256, Artifact.info).where(
            Artifact.job_id == job_id, Artifact.kind == kind
        )
    ).first()
    if row is None:
        return None
    return ArtifactInfo(kind=kind, size=int(row[0]), sha256=str(row[1]), info=row[2])


def load_artifact(*, session: Session, job_id: uuid.UUID, kind: str) -> bytes | None:
    data = session.scalar(
        select(Artifact.data).where(Artifact.job_id == job_id, Artifact.kind == kind)
    )
    return None if data is None else bytes(data)


def iter_artifact(
    *, session: Session, job_id: uuid.UUID, kind: str, size: int, chunk: int = 1 << 20
) -> Iterator[bytes]:
    """The artifact in chunks (SQL substr, 1-based on PostgreSQL and SQLite)."""
    for start in range(0, size, chunk):
        part = session.scalar(
            select(func.substr(Artifact.data, start + 1, chunk)).where(
                Artifact.job_id == job_id, Artifact.kind == kind
            )
        )
        if part is None:
            return
        yield bytes(part)


# --- measured throughput -----------------------------------------------------------------------


def record_throughput(
    *,
    session: Session,
    device: str,
    architecture: str,
    depth: int,
    batch_size: int,
    precision: str,
    images_per_second: float,
    epochs: int,
) -> None:
    """Keep the latest measurement per (device, architecture, depth, batch size, precision)."""
    session.merge(
        Throughput(
            device=device,
            architecture=architecture,
            depth=depth,
            batch_size=batch_size,
            precision=precision,
            images_per_second=images_per_second,
            epochs=epochs,
            measured_at=utcnow(),
        )
    )
    session.commit()


def throughput_measurements(*, session: Session) -> list[Measurement]:
    """Every recorded training speed, as core.estimate reads them."""
    rows = session.scalars(
        select(Throughput).order_by(
            Throughput.device, Throughput.precision, Throughput.architecture, Throughput.depth
        )
    )
    return [
        Measurement(
            device=r.device,
            architecture=r.architecture,
            depth=r.depth,
            batch_size=r.batch_size,
            precision=r.precision,
            images_per_second=r.images_per_second,
        )
        for r in rows
    ]
