"""GET /jobs/{id}/weights?format=pt|safetensors|onnx: the weight files of a succeeded job, or of
one stopped early by its sweep's rule (issue 20), each with the same headers (size, sha256 ETag,
304, a file name per format), streamed in chunks."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Literal

from fastapi import Response, status
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session, sessionmaker

from api.deps import in_thread
from api.errors import ApiError
from api.job_files import once_succeeded
from api.job_files.deleted_files import refuse_if_deleted
from core.store.artifacts import ONNX, SAFETENSORS, artifact_info, iter_artifact
from core.store.jobs import get_job, iter_weights, weights_info
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


async def weights_download(
    *,
    session: Session,
    sessions: sessionmaker[Session],
    owner: Owner,
    job_id: uuid.UUID,
    format_: str,
    if_none_match: str | None,
) -> Response:
    job, size, sha256 = await in_thread(session, _found, owner, job_id, format_)
    etag = f'"{sha256}"'
    if if_none_match is not None and etag_matches(if_none_match, sha256):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
    name = f"{job.spec['architecture']}{job.spec['depth']}-{job.id}.{format_}"
    return StreamingResponse(
        _stream(sessions, job.id, format_, size),
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Content-Length": str(size),
            "ETag": etag,
        },
    )


def _found(session: Session, owner: Owner, job_id: uuid.UUID, format_: str) -> tuple[Job, int, str]:
    """The job, and its file's size and sha256; a 410 or 409 when it has none to give."""
    job = get_job(session=session, owner_id=owner.id, job_id=job_id)
    refuse_if_deleted(job)
    if format_ == "pt":
        weights = weights_info(session=session, job_id=job.id)
        if weights is None:
            raise once_succeeded.WEIGHTS.refusal(job.status)
        return job, *weights
    info = artifact_info(session=session, job_id=job.id, kind=KINDS[format_])
    if info is None:
        if job.status not in once_succeeded.ENDED_WITH_WEIGHTS:
            raise once_succeeded.WEIGHTS.refusal(job.status)
        raise ApiError(409, ErrorCode.conflict, _no_export(job.status, format_))
    if info.size == 0:  # the export failed its check; `info` says why
        reason = (info.info or {}).get("message", f"the {format_} export failed")
        raise ApiError(409, ErrorCode.conflict, f"no {format_} file: {reason}")
    return job, info.size, info.sha256


def _no_export(status: JobStatus, format_: str) -> str:
    if status == JobStatus.stopped:  # stopped children are newer than exports: none was made
        rule = "job was stopped early by its sweep's rule"
        return f"{rule}, and has no {format_} file (its exports failed)"
    return f"job has no {format_} file (it succeeded before exports existed)"


def etag_matches(header: str, sha256: str) -> bool:
    tags = [tag.strip().removeprefix("W/") for tag in header.split(",")]
    return "*" in tags or f'"{sha256}"' in tags


def _stream(
    sessions: sessionmaker[Session], job_id: uuid.UUID, format_: str, size: int
) -> Iterator[bytes]:
    # Its own session: the request's is closed by the time the body is sent.
    with sessions() as session:
        if format_ == "pt":
            parts = iter_weights(session=session, job_id=job_id, size=size)
        else:
            parts = iter_artifact(session=session, job_id=job_id, kind=KINDS[format_], size=size)
        for part in parts:
            session.commit()  # no connection held while the chunk goes out
            yield part
