"""At most `per_owner` open event streams of one owner in this API process (issue 17): each
stream holds a slot from before its 200 until its body ends, however it ends."""

from __future__ import annotations

import threading
import uuid
import weakref
from collections.abc import AsyncIterator

from api.errors import ApiError
from core.vocabulary import ErrorCode

RETRY_AFTER_S = 5


class StreamSlots:
    def __init__(self, per_owner: int) -> None:
        self.per_owner = per_owner
        self._open: dict[uuid.UUID, int] = {}
        self._lock = threading.Lock()

    def open(self, owner_id: uuid.UUID) -> int:
        with self._lock:
            return self._open.get(owner_id, 0)

    def hold(self, owner_id: uuid.UUID, body: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """`body`, counted as one of the owner's streams; a 429 when they have too many."""
        with self._lock:
            held = self._open.get(owner_id, 0)
            if held >= self.per_owner:
                raise ApiError(
                    429,
                    ErrorCode.too_many_requests,
                    f"{held} of your event streams are open, the most at once; close one "
                    "(GET /events/stream follows all your jobs in one)",
                    headers={"Retry-After": str(RETRY_AFTER_S)},
                )
            self._open[owner_id] = held + 1
        released = threading.Event()

        def release() -> None:
            with self._lock:
                if released.is_set():
                    return
                released.set()
                left = self._open[owner_id] - 1
                if left:
                    self._open[owner_id] = left
                else:
                    del self._open[owner_id]

        wrapped = _released_at_end(body, release)
        # A body never started (the client left before the headers went out) is never closed:
        # its slot comes back when it is collected.
        weakref.finalize(wrapped, release)
        return wrapped


async def _released_at_end(body: AsyncIterator[bytes], release: object) -> AsyncIterator[bytes]:
    try:
        async for chunk in body:
            yield chunk
    finally:
        release()  # type: ignore[operator]
