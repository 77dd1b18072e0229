"""POST /jobs/{id}/predict: a succeeded job's network classifies your images
(api/prediction/onnx_models.py)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from api.deps import CurrentOwner, JobId, SessionDep, in_thread, services
from api.errors import ApiError, FieldError, error_doc, invalid
from api.job_files import once_succeeded
from api.job_files.deleted_files import GONE_EXAMPLE, refuse_if_deleted
from api.prediction.onnx_models import ModelCache, ModelFile, check_k
from api.prediction.predict_gate import PredictGate, check_pixel_budget
from api.prediction.predict_pool import Limits, PredictPool, Work
from core.class_names import CLASS_NAMES
from core.settings import Settings
from core.store.artifacts import ONNX, artifact_info, load_artifact
from core.store.jobs import get_job
from core.store.tables import Owner
from core.vocabulary import ErrorCode

router = APIRouter(prefix="/jobs", tags=["jobs"])

PIXEL: dict[str, Any] = {"type": "integer", "minimum": 0, "maximum": 255}


def _array(items: dict[str, Any], length: int) -> dict[str, Any]:
    return {"type": "array", "items": items, "minItems": length, "maxItems": length}


REQUEST_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {
                    "images": {
                        "type": "array",
                        "items": {"type": "string", "format": "binary"},
                        "description": "PNG, JPEG or WebP files of any size, each converted to "
                        "RGB and resized as a whole to 32x32 (Pillow, bilinear, antialiased)",
                    }
                },
                "required": ["images"],
            }
        },
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {
                    "images": {
                        "type": "array",
                        "description": "32 x 32 x 3 arrays (height, width, RGB) of integers "
                        "in [0, 255]",
                        # Typed all the way down, so generated clients type it (issue 18).
                        "items": _array(_array(_array(PIXEL, 3), 32), 32),
                    }
                },
                "required": ["images"],
                "additionalProperties": False,
            }
        },
    },
}


class ClassProbability(BaseModel):
    index: int = Field(description="the class's label number in the dataset")
    label: str = Field(description="the class's name in the dataset")
    probability: float = Field(description="softmax of the network's logits")


class ImagePrediction(BaseModel):
    image: str = Field(description="`images.<n>`, with the uploaded file's name when it had one")
    top: list[ClassProbability] = Field(description="the k most probable classes, best first")


class Predictions(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "job_id": "0b9f6e5e-6f0c-4c39-9b83-6a1f3e1d2c4b",
                    "model_sha256": "9f2c" + "0" * 60,
                    "k": 2,
                    "predictions": [
                        {
                            "image": "images.0 (cat.png)",
                            "top": [
                                {"index": 3, "label": "cat", "probability": 0.91},
                                {"index": 5, "label": "dog", "probability": 0.06},
                            ],
                        }
                    ],
                }
            ]
        }
    )

    job_id: uuid.UUID
    model_sha256: str = Field(description="sha256 of the ONNX file that answered")
    k: int
    predictions: list[ImagePrediction]


@router.post(
    "/{job_id}/predict",
    summary="Classify images with a job's network",
    response_model=Predictions,
    openapi_extra={"requestBody": REQUEST_BODY},
    responses={
        401: error_doc(
            "no valid API key", ErrorCode.unauthorized, "the API key is unknown or revoked"
        ),
        404: error_doc("no such job among yours", ErrorCode.not_found, "no job ..."),
        409: once_succeeded.PREDICTIONS.doc("the job has no network to predict with"),
        410: error_doc("the job's files were deleted", ErrorCode.gone, GONE_EXAMPLE),
        413: error_doc(
            "the body is over the route's limit",
            ErrorCode.too_large,
            "the request body is over ...",
        ),
        415: error_doc(
            "neither multipart/form-data nor JSON", ErrorCode.unsupported_media_type, "..."
        ),
        429: error_doc(
            "too many of your predictions at once",
            ErrorCode.too_many_requests,
            "2 of your predictions are running, the most at once; retry shortly",
        ),
        422: error_doc(
            "an image is not an image, truncated, too large, of the wrong shape; too many images",
            ErrorCode.validation_error,
            "images.0: the PNG file is truncated",
        ),
    },
)
async def predict(
    job_id: JobId,
    owner: CurrentOwner,
    session: SessionDep,
    request: Request,
    k: Annotated[int, Query(ge=1, le=100, description="classes per image, best first")] = 5,
) -> Predictions:
    """Top-k classes with probabilities for each image, from the job's ONNX export (CPU)."""
    found = services(request)
    cache: ModelCache = request.app.state.predict_models
    gate: PredictGate = request.app.state.predict_gate
    pool: PredictPool = request.app.state.predict_pool
    async with gate.owner_slot(owner.id):
        model = await in_thread(session, _model, found.settings, cache, owner, job_id)
        check_k(k, len(model.classes))
        names, work = await _work(request, found.settings, model, k)
        top = await pool.run(work)
    return Predictions(
        job_id=job_id,
        model_sha256=model.sha256,
        k=k,
        predictions=[
            ImagePrediction(image=name, top=[ClassProbability(**c) for c in classes])
            for name, classes in zip(names or _json_names(len(top)), top, strict=True)
        ],
    )


def _model(
    session: Session, settings: Settings, cache: ModelCache, owner: Owner, job_id: uuid.UUID
) -> ModelFile:
    job = get_job(session=session, owner_id=owner.id, job_id=job_id)
    refuse_if_deleted(job)
    info = artifact_info(session=session, job_id=job.id, kind=ONNX)
    if info is None:
        raise once_succeeded.PREDICTIONS.refusal(job.status)
    if info.size == 0:
        reason = (info.info or {}).get("message", "the ONNX export failed")
        raise ApiError(409, ErrorCode.conflict, f"no predictions: {reason}")
    cached = cache.get_file(job.id, info.sha256)
    if cached is not None:
        return cached
    data = load_artifact(session=session, job_id=job.id, kind=ONNX)
    if data is None:  # deleted in between
        raise ApiError(409, ErrorCode.conflict, "the job's ONNX export is gone")
    classes = (
        (info.info or {}).get("classes")
        or (job.results or {}).get("classes")
        or CLASS_NAMES[job.spec["dataset"]]
    )
    return cache.load(job.id, data, [str(c) for c in classes], info.sha256)


def _json_names(count: int) -> list[str]:
    return [f"images.{i}" for i in range(count)]


async def _work(
    request: Request, settings: Settings, model: ModelFile, k: int
) -> tuple[list[str], Work]:
    """The prediction to run, and the images' names (none for JSON: `images.<n>`)."""
    limits = Limits(
        max_images=settings.predict_max_images,
        max_pixels=settings.predict_max_pixels,
        request_pixels=settings.predict_max_request_pixels,
        webp_pixels=settings.predict_max_webp_pixels,
    )
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        names, blobs = await _files(request, settings)
        # Headers only (microseconds a file), so that a refusal does not wait for the pool.
        check_pixel_budget(blobs, limits.request_pixels, limits.webp_pixels)
        return names, Work(model=model, k=k, limits=limits, files=blobs)
    if kind == "application/json":
        body = await _json_body(request, settings.predict_max_json_bytes)
        return [], Work(model=model, k=k, limits=limits, json_body=body)
    raise ApiError(
        415,
        ErrorCode.unsupported_media_type,
        'send images as multipart/form-data (field `images`) or as JSON {"images": [...]}',
        [FieldError.at("header", "Content-Type", f"{kind or 'none'} is not accepted")],
    )


async def _files(request: Request, settings: Settings) -> tuple[list[str], list[bytes]]:
    limit = settings.predict_max_images
    try:
        # One file past the limit is enough to know there are too many.
        form = await request.form(max_files=limit + 1, max_fields=limit + 1)
    except HTTPException as error:
        if error.status_code != 400:  # 413 from the body limit goes through as it is
            raise
        reason = f"unreadable multipart body: {error.detail}"
        if "Too many files" in str(error.detail):
            reason = f"more than {limit} images; at most {limit} per request"
        raise invalid([FieldError.body("images", reason)]) from None
    try:
        parts = form.multi_items()
        others = sorted({name for name, _ in parts if name != "images"})
        if others:
            raise invalid(
                [FieldError.body(name, "unknown part; send files as `images`") for name in others]
            )
        uploads = [value for _, value in parts]
        if not uploads:
            raise invalid([FieldError.body("images", "no files; send one or more `images` parts")])
        if len(uploads) > limit:
            raise invalid(
                [
                    FieldError.body(
                        "images", f"more than {limit} images; at most {limit} per request"
                    )
                ]
            )
        names, blobs = [], []
        for i, upload in enumerate(uploads):
            field = f"images.{i}"
            if not isinstance(upload, UploadFile):
                raise invalid([FieldError.body(field, "must be a file, not a text field")])
            names.append(f"{field} ({upload.filename})" if upload.filename else field)
            blobs.append(await upload.read())
    finally:
        await form.close()  # the spooled temporary files

    return names, blobs


async def _json_body(request: Request, max_bytes: int) -> bytes:
    """The body, read up to the JSON path's own limit: what max_images images need (issue 17);
    the route's larger limit is for uploaded files."""
    too_large = ApiError(
        413,
        ErrorCode.too_large,
        f"a JSON predict body is at most {max_bytes} bytes; send larger batches as files",
        headers={"Connection": "close"},
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)
