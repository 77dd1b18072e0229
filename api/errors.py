"""One JSON shape for every error (the handlers that turn exceptions into it are in
api/middleware/error_handlers.py).

`{"error": {"code": ..., "message": ..., "fields": [{"field": ..., "in": ..., "reason": ...}]}}`:
`code` is stable for programs, `message` is for people, `fields` names what to fix.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from core.vocabulary import ErrorCode

Location = Literal["body", "query", "path", "header"]
# A 422 lists at most this many fields and counts the rest: a body of 60,000 unknown keys
# must not get a 6.7 MB answer.
MAX_FIELD_ERRORS = 20
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
    code: ErrorCode = Field(description="stable, for programs: validation_error, not_found, ...")
    message: str = Field(description="for people: what went wrong and what to do")
    fields: list[FieldError] = Field(default_factory=list)


class ErrorResponse(BaseModel):
    error: ErrorBody


class ApiError(Exception):
    """An answer other than success, raised anywhere below a route."""

    def __init__(
        self,
        status: int,
        code: ErrorCode,
        message: str,
        fields: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = ErrorResponse(error=ErrorBody(code=code, message=message, fields=fields or []))
        self.headers = headers


def invalid(fields: list[FieldError], more: int = 0) -> ApiError:
    """A 422 naming the fields; past MAX_FIELD_ERRORS, the rest (and `more` not built) counted."""
    more += max(0, len(fields) - MAX_FIELD_ERRORS)
    fields = fields[:MAX_FIELD_ERRORS]
    message = "; ".join(f"{error.field}: {error.reason}" for error in fields)
    if more:
        message += f"; and {more} more errors not listed"
    return ApiError(422, ErrorCode.validation_error, message, fields)


def error_response(error: ApiError) -> JSONResponse:
    return JSONResponse(
        error.body.model_dump(mode="json", by_alias=True),
        status_code=error.status,
        headers=error.headers,
    )


# For `responses=` in the routes: the error bodies show in the OpenAPI docs.
def error_doc(description: str, code: ErrorCode, message: str) -> dict[str, Any]:
    example: dict[str, Any] = {"error": {"code": code.value, "message": message, "fields": []}}
    return {
        "model": ErrorResponse,
        "description": description,
        "content": {"application/json": {"example": example}},
    }
