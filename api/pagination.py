"""Opaque list cursors: the (created_at, id) of the last job on a page, base64-encoded.

A cursor comes back from the client, so it is untrusted input: only what `encode_cursor` could
have written is accepted (decoded, then re-encoded and compared), and its time must lie in a
range every database and `datetime` arithmetic can hold. Anything else is a 422 naming `cursor`.
"""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime

from api.errors import FieldError, invalid

SEPARATOR = "|"
# Jobs are created now; a cursor far outside this range is forged. The margins keep converting
# any offset (at most ±24 h) to UTC inside datetime's years 1..9999.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
MAX_CURSOR_CHARS = 200  # an encoded cursor is about 90 characters
NOT_A_CURSOR = "not a cursor from this API; pass next_cursor of the previous page unchanged"


def encode_cursor(created_at: datetime, job_id: uuid.UUID) -> str:
    raw = f"{created_at.isoformat()}{SEPARATOR}{job_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The position a cursor stands for; a 422 naming `cursor` for anything else."""
    position = _parse(cursor)
    if position is None or encode_cursor(*position) != cursor:
        raise invalid([FieldError.at("query", "cursor", NOT_A_CURSOR)])
    return position


def _parse(cursor: str) -> tuple[datetime, uuid.UUID] | None:
    if len(cursor) > MAX_CURSOR_CHARS or not cursor.isascii():
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, _, job_id = raw.partition(SEPARATOR)
        created_at = datetime.fromisoformat(stamp)
        if created_at.utcoffset() is None or not EARLIEST <= created_at <= LATEST:
            return None
        return created_at, uuid.UUID(job_id)
    except (ValueError, TypeError, OverflowError):  # binascii.Error is a ValueError
        return None
