"""What can go wrong talking to the service, as exceptions a program can catch by kind.

An answer other than success carries the API's error body
(`{"error": {"code", "message", "fields": [{"field", "in", "reason"}]}}`, README "Errors"), so a
caller reads `error.code` and `error.fields` instead of parsing text; `str(error)` is one line a
person can act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class FieldProblem:
    """One field the API named as the reason for a refusal."""

    field: str
    reason: str
    location: str = "body"  # body, query, path or header


class CrsError(Exception):
    """Every error of this package; its message is a single line."""


class ConnectionFailed(CrsError):
    """The server could not be reached (refused, timed out, name not resolved, connection cut)."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"cannot reach the service at {url}: {reason}")
        self.url = url
        self.reason = reason


class ChecksumMismatch(CrsError):
    """A downloaded file's sha256 differs from the ETag the server sent; the file is removed."""


class ApiError(CrsError):
    """The service answered with an error status and its error body."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        fields: list[FieldProblem] | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or []
        self.retry_after = retry_after
        super().__init__(self.summary())

    def summary(self) -> str:
        """One line: the status, the code, and each field with its reason (or the message)."""
        if self.fields:
            detail = "; ".join(f"{p.field}: {p.reason}" for p in self.fields)
        else:
            detail = self.message
        return _one_line(f"{self.status} {self.code}: {detail}")


class BadRequest(ApiError):
    """400 or 422: the request is wrong; `fields` names what to fix."""


class Unauthorized(ApiError):
    """401: the key is missing, unknown or revoked."""


class NotFound(ApiError):
    """404: no such job among the key owner's."""


class Conflict(ApiError):
    """409: the job is not in a state that allows this (weights before success, late cancel)."""


class RateLimited(ApiError):
    """429: too many queued jobs; `retry_after` says when to try again (seconds)."""


class ServerError(ApiError):
    """5xx: the service or a part it needs (database, broker) is unavailable."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    404: NotFound,
    409: Conflict,
    422: BadRequest,
    429: RateLimited,
}


def _one_line(text: str) -> str:
    return " ".join(text.split())


def error_from(response: httpx.Response) -> ApiError:
    """The typed error for a non-success answer whose body has been read."""
    code, message, fields = f"http_{response.status_code}", response.reason_phrase, []
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        code = str(error.get("code", code))
        message = str(error.get("message", message))
        fields = [
            FieldProblem(
                field=str(item.get("field", "")),
                reason=str(item.get("reason", "")),
                location=str(item.get("in", "body")),
            )
            for item in error.get("fields") or []
            if isinstance(item, dict)
        ]
    elif response.text.strip():
        message = response.text.strip()[:200]  # not our API's shape: a proxy's page, say
    retry_after = None
    header = response.headers.get("Retry-After")
    if header is not None:
        try:
            retry_after = float(header)
        except ValueError:
            retry_after = None
    kind = _BY_STATUS.get(response.status_code)
    if kind is None:
        kind = ServerError if response.status_code >= 500 else ApiError
    return kind(response.status_code, code, message, fields, retry_after)


def describe_transport_error(error: httpx.TransportError) -> str:
    """A short reason for a failed connection: 'connection refused', 'timed out', ..."""
    if isinstance(error, httpx.TimeoutException):
        return "timed out"
    text = str(error) or type(error).__name__
    lowered = text.lower()
    if "refused" in lowered:
        return "connection refused"
    if "name or service not known" in lowered or "nodename nor servname" in lowered:
        return "host name not found"
    return _one_line(text)
