"""Live progress inside an epoch (issue 8), reported from the training process at most twice a
second without ever making training wait for it."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import Any

from core.messaging.event_channel import publish_progress
from core.settings import Settings
from core.store.db import get_sessionmaker
from core.store.types import utcnow

log = logging.getLogger(__name__)


class ProgressReporter:
    """`fit`'s on_batch hook for one job: measures speed and estimates the time left, and hands
    the latest report to a thread that publishes it, so training never waits on Redis or the
    database (a report not yet sent is replaced by a newer one)."""

    def __init__(
        self, settings: Settings, job_id: uuid.UUID, *, epochs: int, batch_size: int
    ) -> None:
        self.settings = settings
        self.job_id = job_id
        self.epochs = epochs
        self.batch_size = batch_size
        self.epoch_seconds: float | None = None  # wall time of the last whole epoch
        self._epoch = -1
        self._window: tuple[float, int] = (0.0, 0)  # (monotonic time, batches) at the epoch's start
        self._last = 0.0
        self._latest: dict[str, Any] | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="progress", daemon=True)
        self._thread.start()

    def on_batch(self, epoch: int, done: int, per_epoch: int) -> None:
        now = time.monotonic()
        if epoch != self._epoch:
            if self._epoch < 0:  # bench/job_startup.py reads it: claim to first training step
                log.info("job %s: first training step done", self.job_id)
            self._epoch, self._window, self._last = epoch, (now, done), now
            return
        if now - self._last < self.settings.progress_interval_s:  # 0.5 s unless set
            return
        self._last = now
        started, first = self._window
        batches_per_s = (done - first) / max(now - started, 1e-9)
        if batches_per_s <= 0:
            return
        epoch_left = (per_epoch - done) / batches_per_s
        per_epoch_s = self.epoch_seconds or per_epoch / batches_per_s
        self._latest = {
            "epoch": epoch,
            "epochs": self.epochs,
            "batch": done,
            "batches_per_epoch": per_epoch,
            "images_per_second": round(batches_per_s * self.batch_size, 1),
            "epoch_eta_seconds": round(epoch_left, 1),
            "eta_seconds": round(epoch_left + (self.epochs - epoch) * per_epoch_s, 1),
            "at": utcnow().isoformat(),
        }
        self._wake.set()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()

    def _loop(self) -> None:
        sessions = get_sessionmaker(self.settings.database_url)
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._stop.is_set():
                return
            report, self._latest = self._latest, None
            if report is None:
                continue
            try:
                publish_progress(self.settings, sessions, self.job_id, report)
            except Exception as error:
                # Progress is ephemeral: a lost report is replaced by the next one.
                log.debug("job %s: progress not published: %s", self.job_id, error)
