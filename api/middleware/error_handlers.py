"""The exception handlers: every exception a route lets through becomes the one error shape of
api/errors.py (validation, HTTP, the store's own errors, a database away, the unexpected)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.routing import Match

from api.errors import (
    MAX_FIELD_ERRORS,
    RETRY_AFTER_S,
    ApiError,
    FieldError,
    error_response,
    invalid,
)
from api.schemas.request import bound_problems
from api.schemas.sweeps import sweep_bound_problems
from core.store.errors import (
    ComputeBudgetExceeded,
    IdempotencyConflict,
    JobNotFound,
    JobStateConflict,
    QuotaExceeded,
    StorageQuotaExceeded,
)
from core.vocabulary import ErrorCode

log = logging.getLogger(__name__)

DATABASE_DOWN = "the database is unavailable; retry later"


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


# The bodies of these are a job's fields (or a sweep's, of jobs): a refusal by the request model
# also names the fields outside the deployment's bounds, so that one answer lists every field at
# fault (issue 18).
JOB_BODIES = ("/jobs", "/jobs/estimate")
SWEEP_BODIES = ("/sweeps",)


async def _validation(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    listed = [_field_error(detail) for detail in error.errors()]
    body = getattr(error, "body", None)
    bounds = {JOB_BODIES: bound_problems, SWEEP_BODIES: sweep_bound_problems}
    for paths, problems in bounds.items():
        if request.method == "POST" and request.url.path in paths and isinstance(body, dict):
            named = {found.field for found in listed}
            settings = request.app.state.services.settings
            listed += [found for found in problems(body, settings) if found.field not in named]
    shown = listed[:MAX_FIELD_ERRORS]
    return error_response(invalid(shown, more=len(listed) - len(shown)))


_HTTP_CODES = {
    400: ErrorCode.bad_request,
    401: ErrorCode.unauthorized,
    404: ErrorCode.not_found,
    405: ErrorCode.method_not_allowed,
    413: ErrorCode.too_large,
    415: ErrorCode.unsupported_media_type,
}


HTTP_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


async def _http(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    code = _HTTP_CODES.get(error.status_code, ErrorCode.http_error)
    headers = dict(error.headers or {})
    if error.status_code == 405:
        # Starlette names the methods of the first route on the path only (GET /jobs and
        # POST /jobs are two routes): name those of every route on it (RFC 9110, 15.5.6).
        headers["Allow"] = ", ".join(allowed_methods(request))
    return error_response(ApiError(error.status_code, code, str(error.detail), None, headers))


def allowed_methods(request: Request) -> list[str]:
    """Every method that some route serves at the request's path (asked of the routes
    themselves, which may be nested routers)."""
    routes = request.app.router.routes
    return [
        method
        for method in HTTP_METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes
        )
    ]


async def _store(_request: Request, error: Exception) -> JSONResponse:
    if isinstance(error, JobNotFound):
        return error_response(ApiError(404, ErrorCode.not_found, str(error)))
    if isinstance(error, JobStateConflict):
        return error_response(ApiError(409, ErrorCode.conflict, str(error)))
    if isinstance(error, QuotaExceeded):
        budget = isinstance(error, ComputeBudgetExceeded)
        code = ErrorCode.compute_budget_exceeded if budget else ErrorCode.quota_exceeded
        retry = {"Retry-After": str(error.retry_after_s)}
        return error_response(ApiError(429, code, str(error), headers=retry))
    if isinstance(error, StorageQuotaExceeded):
        # 409, not 429: waiting frees nothing; the owner must delete jobs first.
        return error_response(ApiError(409, ErrorCode.storage_quota_exceeded, str(error)))
    assert isinstance(error, IdempotencyConflict)
    field = FieldError.at("header", "Idempotency-Key", str(error))
    return error_response(invalid([field]))


async def _database_down(request: Request, error: Exception) -> JSONResponse:
    log.warning("database unavailable during %s %s: %s", request.method, request.url.path, error)
    headers = {"Retry-After": str(RETRY_AFTER_S)}
    return error_response(
        ApiError(503, ErrorCode.database_unavailable, DATABASE_DOWN, headers=headers)
    )


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    # Starlette logs the traceback after this answer; the client gets the usual shape.
    message = "an unexpected error occurred; it has been logged"
    return error_response(ApiError(500, ErrorCode.internal_error, message))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
    for store_error in (
        JobNotFound,
        JobStateConflict,
        QuotaExceeded,
        StorageQuotaExceeded,
        IdempotencyConflict,
    ):
        app.add_exception_handler(store_error, _store)
    for db_error in (OperationalError, InterfaceError, DisconnectionError, PoolTimeout):
        app.add_exception_handler(db_error, _database_down)
    app.add_exception_handler(Exception, _unexpected)
