"""One JSON shape for every error, and the handlers that turn exceptions into it.

`{"error": {"code": ..., "message": ..., "fields": [{"field": ..., "in": ..., "reason": ...}]}}`:
`code` is stable for programs, `message` is for people, `fields` names what to fix.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from core.store.errors import IdempotencyConflict, JobNotFound, JobStateConflict, QuotaExceeded

log = logging.getLogger(__name__)

Location = Literal["body", "query", "path", "header"]
DATABASE_DOWN = "the database is unavailable; retry later"
MAX_BODY_BYTES = 1 << 20  # a job request is under 1 KiB; more is a mistake or an attack
RETRY_AFTER_S = 5  # sent with a 503: the database or broker is usually back within seconds


class FieldError(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    field: str = Field(description="the field, query parameter, path parameter or header")
    location: Location = Field(alias="in")
    reason: str

    @classmethod
    def at(cls, location: Location, field: str, reason: str) -> FieldError:
        return cls.model_validate({"field": field, "in": location, "reason": reason})

    @classmethod
    def body(cls, field: str, reason: str) -> FieldError:
        return cls.at("body", field, reason)


class ErrorBody(BaseModel):
    code: str = Field(description="stable, for programs: validation_error, not_found, ...")
    message: str = Field(description="for people: what went wrong and what to do")
    fields: list[FieldError] = Field(default_factory=list)


class ErrorResponse(BaseModel):
    error: ErrorBody


class ApiError(Exception):
    """An answer other than success, raised anywhere below a route."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        fields: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = ErrorResponse(error=ErrorBody(code=code, message=message, fields=fields or []))
        self.headers = headers


def invalid(fields: list[FieldError]) -> ApiError:
    message = "; ".join(f"{error.field}: {error.reason}" for error in fields)
    return ApiError(422, "validation_error", message, fields)


def error_response(error: ApiError) -> JSONResponse:
    return JSONResponse(
        error.body.model_dump(mode="json", by_alias=True),
        status_code=error.status,
        headers=error.headers,
    )


def _field_error(detail: dict[str, Any]) -> FieldError:
    loc = [str(part) for part in detail.get("loc", ())]
    where = loc[0] if loc and loc[0] in ("body", "query", "path", "header") else "body"
    rest = loc[1:] if loc and loc[0] == where else loc
    reason = str(detail.get("msg", "invalid"))
    if detail.get("type") == "json_invalid":
        rest = []  # the position in the document, not a field
        reason = f"malformed JSON: {detail.get('ctx', {}).get('error', reason)}"
    elif where == "body" and not rest and isinstance(detail.get("input"), bytes):
        # FastAPI hands over the raw bytes when the Content-Type is not JSON.
        reason = "send a JSON object with Content-Type: application/json"
    elif detail.get("type") == "missing" and not rest:
        reason = "a JSON object is required"
    reason = reason.removeprefix("Value error, ")
    field = ".".join(rest) if rest else where
    if where == "header" and field == "idempotency-key":
        field = "Idempotency-Key"
    return FieldError.at(where, field, reason)  # type: ignore[arg-type]


async def _api_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ApiError)
    return error_response(error)


async def _validation(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    return error_response(invalid([_field_error(detail) for detail in error.errors()]))


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
}


async def _http(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    code = _HTTP_CODES.get(error.status_code, "http_error")
    return error_response(
        ApiError(error.status_code, code, str(error.detail), None, dict(error.headers or {}))
    )


async def _store(_request: Request, error: Exception) -> JSONResponse:
    if isinstance(error, JobNotFound):
        return error_response(ApiError(404, "not_found", str(error)))
    if isinstance(error, JobStateConflict):
        return error_response(ApiError(409, "conflict", str(error)))
    if isinstance(error, QuotaExceeded):
        retry = {"Retry-After": str(error.retry_after_s)}
        return error_response(ApiError(429, "quota_exceeded", str(error), headers=retry))
    assert isinstance(error, IdempotencyConflict)
    field = FieldError.at("header", "Idempotency-Key", str(error))
    return error_response(invalid([field]))


async def _database_down(request: Request, error: Exception) -> JSONResponse:
    log.warning("database unavailable during %s %s: %s", request.method, request.url.path, error)
    headers = {"Retry-After": str(RETRY_AFTER_S)}
    return error_response(ApiError(503, "database_unavailable", DATABASE_DOWN, headers=headers))


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    # Starlette logs the traceback after this answer; the client gets the usual shape.
    message = "an unexpected error occurred; it has been logged"
    return error_response(ApiError(500, "internal_error", message))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
    for store_error in (JobNotFound, JobStateConflict, QuotaExceeded, IdempotencyConflict):
        app.add_exception_handler(store_error, _store)
    for db_error in (OperationalError, InterfaceError, DisconnectionError, PoolTimeout):
        app.add_exception_handler(db_error, _database_down)
    app.add_exception_handler(Exception, _unexpected)


class BodySizeLimit:
    """A 413 in the common error shape for a declared Content-Length over MAX_BODY_BYTES,
    before the body is read. (FastAPI's own max_body_size answers in plain text.)"""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for name, value in scope["headers"]:
                if name == b"content-length" and value.isdigit() and int(value) > MAX_BODY_BYTES:
                    message = f"the request body is over {MAX_BODY_BYTES} bytes"
                    await error_response(ApiError(413, "too_large", message))(scope, receive, send)
                    return
        await self.app(scope, receive, send)


# For `responses=` in the routes: the error bodies show in the OpenAPI docs.
def error_doc(description: str, code: str, message: str) -> dict[str, Any]:
    example = {"error": {"code": code, "message": message, "fields": []}}
    return {
        "model": ErrorResponse,
        "description": description,
        "content": {"application/json": {"example": example}},
    }
