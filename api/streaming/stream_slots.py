"""At most `per_owner` open event streams of one owner (issue 17): each stream holds a slot from
before its 200 until its body ends, however it ends. With a Redis broker the slots are leases
counted across API processes (core/messaging/owner_leases.py)."""

from __future__ import annotations

import uuid
import weakref
from collections.abc import AsyncIterator

from api.errors import ApiError
from api.prediction.predict_gate import take
from core.messaging.owner_leases import Lease, LocalLeases
from core.vocabulary import ErrorCode

RETRY_AFTER_S = 5


class StreamSlots:
    def __init__(self, per_owner: int, leases: LocalLeases | None = None) -> None:
        self.leases = leases or LocalLeases(per_owner)

    def open(self, owner_id: uuid.UUID) -> int:
        return self.leases.held(owner_id)

    async def hold(self, owner_id: uuid.UUID, body: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """`body`, counted as one of the owner's streams; a 429 when they have too many."""
        lease = await take(self.leases, owner_id)
        if not isinstance(lease, Lease):
            raise ApiError(
                429,
                ErrorCode.too_many_requests,
                f"{lease} of your event streams are open, the most at once; close one "
                "(GET /events/stream follows all your jobs in one)",
                headers={"Retry-After": str(RETRY_AFTER_S)},
            )
        wrapped = _released_at_end(body, self.leases, lease)
        # A body never started (the client left before the headers went out) is never closed:
        # its slot comes back when it is collected (release is idempotent and never blocks).
        weakref.finalize(wrapped, self.leases.release, lease)
        return wrapped


async def _released_at_end(
    body: AsyncIterator[bytes], leases: LocalLeases, lease: Lease
) -> AsyncIterator[bytes]:
    try:
        async for chunk in body:
            yield chunk
    finally:
        leases.release(lease)
