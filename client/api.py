"""`Client`: the service's HTTP API as typed Python calls (the `crs` CLI is a shell over it)."""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from client.api_types import EpochRecord, Event, EventPage
from client.datasets import Datasets
from client.errors import (
    ChecksumMismatch,
    ConnectionFailed,
    describe_transport_error,
    error_from,
)
from client.job import Job
from client.stream import OnReconnect, follow

USER_AGENT = "crs-client/0.1"
PAGE_MAX = 100  # the API's largest page (GET /jobs limit)
CHUNK = 1 << 20


class Client:
    """One service and one key. Use as a context manager, or call `close()`."""

    def __init__(self, url: str, key: str, *, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {key}", "User-Agent": USER_AGENT},
            timeout=timeout,
        )

    def close(self) -> None:
        self._http.close()

    @property
    def datasets(self) -> Datasets:
        """Your own data sets (issue 19): upload, list, get, delete, wait."""
        return Datasets(self)

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # --- jobs ---

    def submit(self, *, idempotency_key: str | None = None, **spec: Any) -> Job:
        """POST /jobs: the fields of a job (architecture, depth, epochs, ...); omitted ones take
        the service's defaults. A retry with the same `idempotency_key` returns the same job."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        return Job(self, self._json("POST", "/jobs", json=spec, headers=headers))

    def job(self, job_id: str) -> Job:
        return Job(self, self._json("GET", f"/jobs/{job_id}"))

    def list(self, *, status: str | None = None, limit: int = 20) -> builtins.list[Job]:
        """Your newest `limit` jobs (all states, or only `status`), newest first."""
        return [job for job, _ in zip(self.iter_jobs(status=status), range(limit), strict=False)]

    def iter_jobs(self, *, status: str | None = None) -> Iterator[Job]:
        """All your jobs, newest first, fetched a page at a time."""
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": PAGE_MAX}
            if status is not None:
                params["status"] = status
            if cursor is not None:
                params["cursor"] = cursor
            page = self._json("GET", "/jobs", params=params)
            for item in page.get("jobs", []):
                yield Job(self, item)
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def cancel(self, job_id: str) -> Job:
        """A queued job never runs; a running one stops between two batches (status then
        still `running` with `cancel_requested`)."""
        return Job(self, self._json("POST", f"/jobs/{job_id}/cancel"))

    # --- sweeps ---

    def iter_sweeps(self) -> Iterator[dict[str, Any]]:
        """All your sweeps (GET /sweeps's views), newest first, a page at a time."""
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": PAGE_MAX}
            if cursor is not None:
                params["cursor"] = cursor
            page = self._json("GET", "/sweeps", params=params)
            yield from page.get("sweeps", [])
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def retry_sweep(self, sweep_id: str) -> dict[str, Any]:
        """POST /sweeps/{id}/retry: {"retried": [new job ids], "sweep": the sweep}."""
        answer: dict[str, Any] = self._json("POST", f"/sweeps/{sweep_id}/retry")
        return answer

    def metrics(self, job_id: str) -> builtins.list[EpochRecord]:
        """One record per finished epoch, in order."""
        records: builtins.list[EpochRecord] = self._json("GET", f"/jobs/{job_id}/metrics")[
            "records"
        ]
        return records

    # --- events ---

    def events(
        self,
        job_id: str,
        *,
        after: int | None = None,
        type: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> EventPage:
        """One page of the job's stored events, oldest first."""
        params: dict[str, Any] = {}
        for name, value in (("after", after), ("type", type), ("limit", limit), ("cursor", cursor)):
            if value is not None:
                params[name] = value
        page = self._json("GET", f"/jobs/{job_id}/events", params=params)
        return EventPage(
            events=[Event.from_json(item) for item in page.get("events", [])],
            next_cursor=page.get("next_cursor"),
        )

    def all_events(
        self, job_id: str, *, after: int | None = None, type: str | None = None
    ) -> builtins.list[Event]:
        """Every stored event of the job after `after`, following the pages."""
        found: builtins.list[Event] = []
        cursor: str | None = None
        while True:
            page = self.events(job_id, after=after, type=type, cursor=cursor)
            found.extend(page.events)
            if not page.next_cursor or not page.events:
                return found
            cursor = page.next_cursor

    def stream(
        self,
        job_id: str,
        *,
        after: int | None = None,
        on_reconnect: OnReconnect | None = None,
    ) -> Iterator[Event]:
        """The job's events as they happen (stored ones after `after` first, `progress`
        included), until its final status; reconnects with Last-Event-ID on connection loss."""
        return follow(
            self._http, f"/jobs/{job_id}/events/stream", after=after, on_reconnect=on_reconnect
        )

    def stream_all(
        self, *, after: int | None = None, on_reconnect: OnReconnect | None = None
    ) -> Iterator[Event]:
        """`status` events of all your jobs and `dataset` events of all your data sets (issue
        19) as they happen, until the server ends the stream."""
        return follow(
            self._http, "/events/stream", after=after, until_final=False, on_reconnect=on_reconnect
        )

    # --- files ---

    def download(self, job_id: str, path: str | Path | None = None, *, format: str = "pt") -> Path:
        """Save the weights of a succeeded job; the file's sha256 must equal the ETag.

        `path` is a file, a folder (the server's file name inside it; created when the path
        ends with a slash) or None (that name in the current folder). Written to a temporary
        file and renamed, so a failed or corrupt download never leaves a file behind.
        """
        target = Path(path) if path is not None else None
        if target is not None and str(path).endswith(("/", os.sep)):
            target.mkdir(parents=True, exist_ok=True)  # `-o runs/`: a folder, made if need be
        try:
            weights = f"/jobs/{job_id}/weights"
            params = {"format": format}
            with self._http.stream("GET", weights, params=params) as response:
                if response.status_code != 200:
                    response.read()
                    raise error_from(response)
                if target is None or target.is_dir():
                    name = _attachment_name(response.headers.get("Content-Disposition"), job_id)
                    target = (target or Path()) / name
                expected = response.headers.get("ETag", "").removeprefix("W/").strip('"')
                digest = hashlib.sha256()
                target.parent.mkdir(parents=True, exist_ok=True)
                handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".crs-download-")
                try:
                    with os.fdopen(handle, "wb") as out:
                        for chunk in response.iter_bytes(CHUNK):
                            digest.update(chunk)
                            out.write(chunk)
                    if expected and digest.hexdigest() != expected:
                        raise ChecksumMismatch(
                            f"download of job {job_id} is corrupt: sha256 {digest.hexdigest()} "
                            f"but the server's ETag is {expected}"
                        )
                    os.replace(temporary, target)
                except BaseException:
                    with contextlib.suppress(OSError):
                        os.unlink(temporary)
                    raise
        except httpx.TransportError as error:
            raise ConnectionFailed(self.url, describe_transport_error(error)) from None
        return target

    # --- any route ---

    def call(self, method: str, path: str, **options: Any) -> Any:
        """A JSON route of the API (`options` as httpx takes them); its decoded answer."""
        return self._json(method, path, **options)

    def fetch(self, path: str, **options: Any) -> tuple[bytes, str | None]:
        """GET a route's body as bytes (a report, a figure) and its file name, if it gives one."""
        try:
            response = self._http.get(path, **options)
        except httpx.TransportError as error:
            raise ConnectionFailed(self.url, describe_transport_error(error)) from None
        if response.status_code >= 400:
            raise error_from(response)
        found = re.search(r'filename="?([^";]+)"?', response.headers.get("Content-Disposition", ""))
        return response.content, (Path(found[1]).name if found else None)

    # --- the wire ---

    def _json(self, method: str, path: str, **options: Any) -> Any:
        try:
            response = self._http.request(method, path, **options)
        except httpx.TransportError as error:
            raise ConnectionFailed(self.url, describe_transport_error(error)) from None
        if response.status_code >= 400:
            raise error_from(response)
        return response.json()


def _attachment_name(header: str | None, job_id: str) -> str:
    found = re.search(r'filename="?([^";]+)"?', header or "")
    # Only a plain name: a server must not choose where on this disk the file goes.
    name = Path(found[1]).name if found else ""
    return name or f"{job_id}.pt"
