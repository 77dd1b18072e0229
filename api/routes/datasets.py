"""/datasets: upload your own data set, follow its processing, list, read and delete (issue 19).

The upload is streamed to a temporary file as it arrives (its size limit enforced while it
streams, by api.middleware.body_limit), stored in the database with the data set's row in one
transaction, and processed by the `datasets` queue; `wait` lets the request see the outcome.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from pathlib import Path as FilePath
from typing import Annotated

import anyio
import anyio.to_thread
from fastapi import APIRouter, Path, Query, Request, Response, status
from sqlalchemy.orm import Session
from starlette.requests import ClientDisconnect

from api.deps import CurrentOwner, QueueDep, SessionDep, SettingsDep, in_thread
from api.errors import ApiError, ErrorResponse, FieldError, invalid
from api.schemas.datasets import (
    BuiltinDataset,
    DatasetDetail,
    DatasetList,
    DatasetView,
    dataset_view,
)
from api.submission.job_queue import QueueUnavailable
from core.architecture import DATASET_CLASSES
from core.cifar_layout import LAYOUTS, missing
from core.estimate import DATASET_IMAGES
from core.messaging.dataset_queue import DATASET_QUEUE, PROCESS_TASK
from core.settings import Settings
from core.spec import SEED_MAX
from core.store import datasets as store
from core.store.dataset_tables import Dataset, DatasetStatus
from core.store.storage import stored_bytes
from core.store.tables import Owner
from core.vocabulary import ErrorCode

router = APIRouter(prefix="/datasets", tags=["datasets"])

DatasetId = Annotated[uuid.UUID, Path(description="the data set's id, as POST /datasets gave it")]
ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorResponse, "description": text}
    for code, text in (
        (400, "the upload was cut off before its end; nothing was kept"),
        (404, "no such data set of yours"),
        (409, "over your storage quota, or (DELETE) the data set is in use or processing"),
        (413, "the upload is over DATASET_MAX_UPLOAD_BYTES"),
        (422, "a bad field, or (with `wait`) an upload refused, naming the member at fault"),
        (503, "the processing queue is unavailable; nothing was kept"),
    )
}
WRITE_BUFFER = 1 << 20  # bytes gathered before each write to the temporary file
POLL_S = 0.2


@router.post(
    "",
    summary="Upload a data set",
    response_model=DatasetView,
    status_code=status.HTTP_202_ACCEPTED,
    responses=ERRORS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    },
)
async def upload(
    request: Request,
    response: Response,
    owner: CurrentOwner,
    session: SessionDep,
    settings: SettingsDep,
    queue: QueueDep,
    name: Annotated[str, Query(min_length=1, max_length=200, description="your name for it")],
    filename: Annotated[
        str | None, Query(max_length=255, description="the uploaded file's name, for your records")
    ] = None,
    test_fraction: Annotated[
        float,
        Query(ge=0, lt=1, description="test share of each class for a folder without test/"),
    ] = 0.2,
    seed: Annotated[int, Query(ge=0, le=SEED_MAX, description="seed of that split")] = 0,
    wait: Annotated[
        float,
        Query(ge=0, le=600, description="seconds to wait for processing: a refusal is then a 422"),
    ] = 0,
) -> DatasetView:
    """The request body is the file itself (`Content-Type: application/octet-stream`): a CIFAR
    python archive as published, an image-folder .zip/.tar/.tar.gz (`train/<class>/<image>`,
    optionally `test/<class>/<image>`), or an .npz. Answered 202 while it is processed (201
    once ready, with `wait`)."""
    partial = await _receive(request, settings)
    try:
        dataset = await in_thread(
            session, _store, owner, settings, partial, name, filename, test_fraction, seed
        )
    finally:
        os.unlink(partial)
    try:
        await anyio.to_thread.run_sync(
            queue.send_task, PROCESS_TASK, [str(dataset.id)], DATASET_QUEUE
        )
    except QueueUnavailable as error:
        await in_thread(session, lambda s: store.discard_dataset(session=s, dataset_id=dataset.id))
        raise ApiError(
            503,
            ErrorCode.queue_unavailable,
            f"the processing queue is unavailable ({error}); retry",
        ) from error
    if wait > 0:
        dataset = await _wait(session, owner, dataset.id, wait)
        if dataset.status == DatasetStatus.failed.value:
            where = dataset.error_where or "file"
            raise invalid([FieldError.body(where, dataset.error or "refused")])
        if dataset.status == DatasetStatus.ready.value:
            response.status_code = status.HTTP_201_CREATED
    response.headers["Location"] = f"/datasets/{dataset.id}"
    return dataset_view(dataset)


async def _receive(request: Request, settings: Settings) -> str:
    """The body in a temporary file (its path); nothing left behind when it is cut off."""
    limit = settings.dataset_max_upload_bytes
    handle, partial = tempfile.mkstemp(prefix="crs-upload-")
    size, pending = 0, bytearray()
    try:
        with os.fdopen(handle, "wb") as target:
            async for chunk in request.stream():
                size += len(chunk)
                if (
                    size > limit
                ):  # api.middleware.body_limit stops it first; this is its second line
                    raise ApiError(413, ErrorCode.too_large, f"the upload is over {limit} bytes")
                pending += chunk
                if len(pending) >= WRITE_BUFFER:
                    await anyio.to_thread.run_sync(target.write, bytes(pending))
                    pending.clear()
            await anyio.to_thread.run_sync(target.write, bytes(pending))
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) != size:
            raise ClientDisconnect()
        if size == 0:
            raise invalid([FieldError.body("body", "an empty upload; send the file as the body")])
    except ClientDisconnect:
        os.unlink(partial)
        raise ApiError(
            400,
            ErrorCode.upload_incomplete,
            f"the upload was cut off after {size} bytes; nothing kept",
        ) from None
    except BaseException:
        os.unlink(partial)
        raise
    return partial


def _store(
    session: Session,
    owner: Owner,
    settings: Settings,
    partial: str,
    name: str,
    filename: str | None,
    test_fraction: float,
    seed: int,
) -> Dataset:
    with open(partial, "rb") as upload:
        return store.create_dataset(
            session=session,
            owner_id=owner.id,
            name=name,
            filename=filename,
            test_fraction=test_fraction,
            seed=seed,
            upload=upload,
            upload_bytes=FilePath(partial).stat().st_size,
            quota_bytes=settings.storage_quota_bytes,
            used_bytes=stored_bytes(session=session, owner_id=owner.id),
        )


async def _wait(session: Session, owner: Owner, dataset_id: uuid.UUID, seconds: float) -> Dataset:
    deadline = time.monotonic() + seconds
    while True:
        dataset = await in_thread(session, _fresh, owner, dataset_id)
        if dataset.status != DatasetStatus.processing.value or time.monotonic() > deadline:
            return dataset
        await anyio.sleep(POLL_S)


def _fresh(session: Session, owner: Owner, dataset_id: uuid.UUID) -> Dataset:
    session.expire_all()  # the request's session keeps what it loaded; the worker changed it
    return _get(session, owner, dataset_id)


def _get(session: Session, owner: Owner, dataset_id: uuid.UUID) -> Dataset:
    dataset = store.get_dataset(session=session, owner_id=owner.id, dataset_id=dataset_id)
    if dataset is None:
        raise ApiError(404, ErrorCode.not_found, f"no data set {dataset_id} of yours")
    return dataset


@router.get("", summary="List data sets", response_model=DatasetList, responses=ERRORS)
async def list_(owner: CurrentOwner, session: SessionDep, settings: SettingsDep) -> DatasetList:
    """The built-in data sets and your uploads, oldest first."""
    uploads = await in_thread(session, lambda s: store.list_datasets(session=s, owner_id=owner.id))
    return DatasetList(builtin=builtin(settings), uploads=[dataset_view(d) for d in uploads])


def builtin(settings: Settings) -> list[BuiltinDataset]:
    """CIFAR-10 and CIFAR-100, and whether the API's DATA_DIR holds their files."""
    found = []
    for name in LAYOUTS:
        here = not missing(FilePath(settings.data_dir), name)
        train, test = DATASET_IMAGES[name]
        found.append(
            BuiltinDataset(
                name=name,  # type: ignore[arg-type]
                classes=DATASET_CLASSES[name],
                train_images=train,
                test_images=test,
                available=here,
            )
        )
    return found


@router.get(
    "/{dataset_id}", summary="Read a data set", response_model=DatasetDetail, responses=ERRORS
)
async def read(dataset_id: DatasetId, owner: CurrentOwner, session: SessionDep) -> DatasetView:
    """Its status and, once ready, class counts and a few sample images per class."""
    dataset = await in_thread(session, _get, owner, dataset_id)
    return dataset_view(dataset, detail=True)


@router.delete(
    "/{dataset_id}", summary="Delete a data set", response_model=DatasetView, responses=ERRORS
)
async def delete(dataset_id: DatasetId, owner: CurrentOwner, session: SessionDep) -> DatasetView:
    """Refused (409) while it is processing or a queued or running job trains on it; jobs that
    have ended keep their record of it (id and fingerprint)."""

    def remove(session: Session) -> DatasetView:
        dataset = _get(session, owner, dataset_id)
        view = dataset_view(dataset)
        store.delete_dataset(session=session, dataset=dataset)
        return view

    return await in_thread(session, remove)
