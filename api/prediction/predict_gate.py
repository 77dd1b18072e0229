"""What one owner's predictions may take (issue 17, item 3): a budget of decoded pixels per
request, counted from the files' headers before anything is decoded (decoding and inference run
in a pool of processes of their own: api/prediction/predict_pool.py); and at most a few
predictions of one owner at a time (429 with Retry-After past it)."""

from __future__ import annotations

import io
import uuid
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import anyio.to_thread
from PIL import Image

from api.errors import ApiError, FieldError, invalid
from core.messaging.owner_leases import Lease, LocalLeases
from core.vocabulary import ErrorCode

RETRY_AFTER_S = 1


def declared_pixels(blob: bytes) -> tuple[str, int]:
    """The format and width x height as the file's header declares them (Pillow reads only the
    header here); ("", 0) for what is not an image, left to the decoder to explain."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(blob)) as image:
                width, height = image.size
                return str(image.format), int(width) * int(height)
    except Exception:
        return "", 0


def check_pixel_budget(blobs: list[bytes], budget: int, webp_pixels: int) -> None:
    """A 422 when the files declare more pixels in all than one request may decode, or a WebP
    file more than `webp_pixels`: Pillow 13 decodes WebP holding the GIL (measured: 200 ms per
    4096^2 image, during which no other request of the process runs)."""
    declared = [declared_pixels(blob) for blob in blobs]
    for i, (format_, pixels) in enumerate(declared):
        if format_ == "WEBP" and pixels > webp_pixels:
            reason = f"a WebP image of {pixels} pixels; WebP files are limited to {webp_pixels}"
            raise invalid([FieldError.body(f"images.{i}", reason)])
    total = sum(pixels for _, pixels in declared)
    if total > budget:
        reason = (
            f"the files declare {total} pixels in all, over the {budget} one request may decode "
            "(refused before decoding); send smaller images or fewer per request"
        )
        raise invalid([FieldError.body("images", reason)])


class PredictGate:
    """The per-owner count of predictions running: across API processes with a Redis broker
    (core/messaging/owner_leases.py), in this process otherwise."""

    def __init__(self, leases: LocalLeases) -> None:
        self.leases = leases

    @asynccontextmanager
    async def owner_slot(self, owner_id: uuid.UUID) -> AsyncIterator[None]:
        lease = await take(self.leases, owner_id)
        if not isinstance(lease, Lease):
            raise ApiError(
                429,
                ErrorCode.too_many_requests,
                f"{lease} of your predictions are running, the most at once; retry shortly",
                headers={"Retry-After": str(RETRY_AFTER_S)},
            )
        try:
            yield
        finally:
            if self.leases.remote:  # back for the owner's next request, whichever process
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(self.leases.release_now, lease)
            else:
                self.leases.release(lease)


async def take(leases: LocalLeases, owner_id: uuid.UUID) -> Lease | int:
    """A slot of the owner's, or how many they hold; Redis is asked from a thread."""
    if leases.remote:
        return await anyio.to_thread.run_sync(leases.acquire, owner_id)
    return leases.acquire(owner_id)
