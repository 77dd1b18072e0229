"""GET /jobs/{id}/weights?format=safetensors|onnx: the other weight files of a succeeded job,
with the same headers as the .pt (size, sha256 ETag, 304, a file name per format)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Literal

from fastapi import Response, status
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session, sessionmaker

from api.deps import in_thread
from api.errors import ApiError
from core.store.artifacts import ONNX, SAFETENSORS, ArtifactInfo, artifact_info, iter_artifact
from core.store.jobs import get_job
from core.store.tables import Job, JobStatus, Owner
from core.vocabulary import ErrorCode

WeightsFormat = Literal["pt", "safetensors", "onnx"]
FORMAT_DOC = (
    "`pt` (default): the state_dict for torch.load(weights_only=True); `safetensors`: the same "
    "tensors and names, the spec in its metadata; `onnx`: the whole network with its input "
    "normalisation, input `images` float32 N x 3 x 32 x 32 in [0, 1], output `logits`, the "
    "class names in metadata_props"
)
KINDS = {"safetensors": SAFETENSORS, "onnx": ONNX}
MEDIA = {"safetensors": "application/octet-stream", "onnx": "application/octet-stream"}


async def artifact_download(
    *,
    session: Session,
    sessions: sessionmaker[Session],
    owner: Owner,
    job_id: uuid.UUID,
    format_: str,
    if_none_match: str | None,
    no_weights: dict[JobStatus, str],
) -> Response:
    job, info = await in_thread(session, _info, owner, job_id, format_, no_weights)
    etag = f'"{info.sha256}"'
    if if_none_match is not None and etag_matches(if_none_match, info.sha256):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
    name = f"{job.spec['architecture']}{job.spec['depth']}-{job.id}.{format_}"
    return StreamingResponse(
        _stream(sessions, job.id, KINDS[format_], info.size),
        media_type=MEDIA[format_],
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Content-Length": str(info.size),
            "ETag": etag,
        },
    )


def _info(
    session: Session,
    owner: Owner,
    job_id: uuid.UUID,
    format_: str,
    no_weights: dict[JobStatus, str],
) -> tuple[Job, ArtifactInfo]:
    job = get_job(session=session, owner_id=owner.id, job_id=job_id)
    info = artifact_info(session=session, job_id=job.id, kind=KINDS[format_])
    if info is None:
        if job.status != JobStatus.succeeded:
            raise ApiError(
                409, ErrorCode.conflict, no_weights.get(job.status, "job has no weights")
            )
        raise ApiError(
            409,
            ErrorCode.conflict,
            f"job has no {format_} file (it succeeded before exports existed)",
        )
    if info.size == 0:  # the export failed its check; `info` says why
        reason = (info.info or {}).get("message", f"the {format_} export failed")
        raise ApiError(409, ErrorCode.conflict, f"no {format_} file: {reason}")
    return job, info


def etag_matches(header: str, sha256: str) -> bool:
    tags = [tag.strip().removeprefix("W/") for tag in header.split(",")]
    return "*" in tags or f'"{sha256}"' in tags


def _stream(
    sessions: sessionmaker[Session], job_id: uuid.UUID, kind: str, size: int
) -> Iterator[bytes]:
    # Its own session: the request's is closed by the time the body is sent.
    with sessions() as session:
        for part in iter_artifact(session=session, job_id=job_id, kind=kind, size=size):
            session.commit()  # no connection held while the chunk goes out
            yield part
