"""Opaque list cursors: the (created_at, id) of the last job on a page, base64-encoded."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime

from api.errors import FieldError, invalid

SEPARATOR = "|"


def encode_cursor(created_at: datetime, job_id: uuid.UUID) -> str:
    raw = f"{created_at.isoformat()}{SEPARATOR}{job_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The position a cursor stands for; a 422 naming `cursor` for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, _, job_id = raw.partition(SEPARATOR)
        created_at = datetime.fromisoformat(stamp)
        if created_at.tzinfo is None:
            raise ValueError("naive timestamp")
        return created_at, uuid.UUID(job_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        reason = "not a cursor from this API; pass next_cursor of the previous page unchanged"
        raise invalid([FieldError.at("query", "cursor", reason)]) from None
