"""Your own data sets through the API (issue 19): upload with byte progress, list, show, delete.

`Datasets(client)` is reached as `client.datasets`; the upload streams the file from disk
(never read whole into memory) with its Content-Length, so the service refuses a file over its
limit before the first byte.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from client.errors import ConnectionFailed, describe_transport_error, error_from

if TYPE_CHECKING:
    from client.api import Client

CHUNK = 1 << 20
TERMINAL = ("ready", "failed")
OnBytes = Callable[[int], None]  # bytes sent so far


class Datasets:
    def __init__(self, client: Client) -> None:
        self._client = client

    def upload(
        self,
        path: str | Path,
        *,
        name: str | None = None,
        test_fraction: float | None = None,
        seed: int | None = None,
        on_bytes: OnBytes | None = None,
    ) -> dict[str, Any]:
        """POST /datasets: the file at `path` (a CIFAR archive, an image-folder .zip/.tar[.gz]
        or an .npz); the data set as answered, `processing` until the service has checked it."""
        source = Path(path)
        params: dict[str, Any] = {"name": name or source.name, "filename": source.name}
        if test_fraction is not None:
            params["test_fraction"] = test_fraction
        if seed is not None:
            params["seed"] = seed
        size = source.stat().st_size
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(size)}
        # No read timeout while the body goes out: a large file takes minutes on a slow link.
        timeout = httpx.Timeout(30.0, write=None, read=300.0)
        try:
            response = self._client._http.post(
                "/datasets",
                params=params,
                content=_chunks(source, on_bytes),
                headers=headers,
                timeout=timeout,
            )
        except httpx.TransportError as error:
            url = self._client.url
            raise ConnectionFailed(url, describe_transport_error(error)) from None
        if response.status_code >= 400:
            raise error_from(response)
        found: dict[str, Any] = response.json()
        return found

    def get(self, dataset_id: str) -> dict[str, Any]:
        """GET /datasets/{id}: status, class counts and a few sample images per class."""
        found: dict[str, Any] = self._client._json("GET", f"/datasets/{dataset_id}")
        return found

    def list(self) -> dict[str, builtins.list[dict[str, Any]]]:
        """GET /datasets: {"builtin": [...], "uploads": [...]}."""
        found: dict[str, builtins.list[dict[str, Any]]] = self._client._json("GET", "/datasets")
        return found

    def delete(self, dataset_id: str) -> dict[str, Any]:
        """DELETE /datasets/{id}; refused (409) while a queued or running job uses it."""
        found: dict[str, Any] = self._client._json("DELETE", f"/datasets/{dataset_id}")
        return found

    def wait(
        self,
        dataset_id: str,
        *,
        timeout: float | None = None,
        poll_s: float = 0.5,
        on_progress: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """Poll until the data set is `ready` or `failed` (or `timeout` seconds pass)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            found = self.get(dataset_id)
            if on_progress is not None:
                on_progress(found)
            if found["status"] in TERMINAL or (deadline and time.monotonic() > deadline):
                return found
            time.sleep(poll_s)


def _chunks(path: Path, on_bytes: OnBytes | None) -> Iterator[bytes]:
    sent = 0
    with path.open("rb") as source:
        while chunk := source.read(CHUNK):
            sent += len(chunk)
            yield chunk
            if on_bytes is not None:
                on_bytes(sent)
