"""A job as the service last described it, with the operations on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from client.api_types import TERMINAL, EpochRecord, Event
from client.stream import OnReconnect

if TYPE_CHECKING:
    from rich.console import Console

    from client.api import Client


class Job:
    """A snapshot of `GET /jobs/{id}` (`data`, as sent) and the client that fetched it."""

    def __init__(self, client: Client, data: dict[str, Any]) -> None:
        self.client = client
        self.data = data

    def __repr__(self) -> str:
        return f"Job(id={self.id!r}, status={self.status!r})"

    # --- what the snapshot says ---

    @property
    def id(self) -> str:
        return str(self.data["id"])

    @property
    def status(self) -> str:
        """queued, running, succeeded, failed or cancelled."""
        return str(self.data["status"])

    @property
    def done(self) -> bool:
        return self.status in TERMINAL

    @property
    def spec(self) -> dict[str, Any]:
        """Every hyperparameter of the run, defaults filled in."""
        spec: dict[str, Any] = self.data.get("spec") or {}
        return spec

    @property
    def epochs(self) -> int:
        return int(self.spec.get("epochs") or self.data.get("progress", {}).get("epochs") or 0)

    @property
    def epochs_done(self) -> int:
        return int((self.data.get("progress") or {}).get("epochs_done") or 0)

    @property
    def final_test_accuracy(self) -> float | None:
        value = self.data.get("final_test_accuracy")
        return None if value is None else float(value)

    @property
    def error(self) -> dict[str, Any] | None:
        """{"code", "message"} of a failed job."""
        error: dict[str, Any] | None = self.data.get("error")
        return error

    @property
    def name(self) -> str:
        """e.g. resnet56."""
        return f"{self.spec.get('architecture', '?')}{self.spec.get('depth', '')}"

    # --- operations ---

    def refresh(self) -> Job:
        """This job as the service describes it now (a new snapshot)."""
        return self.client.job(self.id)

    def cancel(self) -> Job:
        return self.client.cancel(self.id)

    def metrics(self) -> list[EpochRecord]:
        return self.client.metrics(self.id)

    def download(self, path: str | Path | None = None) -> Path:
        return self.client.download(self.id, path)

    def events(self, *, after: int | None = None, type: str | None = None) -> list[Event]:
        return self.client.all_events(self.id, after=after, type=type)

    def stream(
        self, *, after: int | None = None, on_reconnect: OnReconnect | None = None
    ) -> Iterator[Event]:
        return self.client.stream(self.id, after=after, on_reconnect=on_reconnect)

    def wait(self, *, progress: bool = False, console: Console | None = None) -> Job:
        """Follow the job's events until it ends; the final snapshot.

        With `progress`, a live progress bar (epoch, batch, images/s, ETA, last test accuracy)
        and one line per epoch go to `console` (a terminal on stdout by default).
        """
        if progress:
            from client.watch import watch  # rich only when a display is wanted

            return watch(self, console=console)
        for _event in self.stream():
            pass
        return self.refresh()
