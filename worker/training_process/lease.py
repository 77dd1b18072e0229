"""A job's lease, renewed from a thread of the training process; torch-free, so that the
training process starts renewing before torch loads (seconds on a busy machine)."""

from __future__ import annotations

import logging
import threading
import uuid

from sqlalchemy.exc import DBAPIError

from core.settings import Settings
from worker.held_job import HeldJob, LeaseLost

log = logging.getLogger(__name__)


class Lease:
    """Renews the job's lease every `heartbeat_interval_s` in a thread, and learns of cancels."""

    def __init__(self, settings: Settings, job_id: uuid.UUID, lease_id: uuid.UUID) -> None:
        self.settings = settings
        self.job_id = job_id
        self.lease_id = lease_id
        self.held = HeldJob(settings, job_id, lease_id)  # every store call about the job
        self.cancel_requested = threading.Event()
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="heartbeat", daemon=True)

    def beat(self) -> None:
        try:
            cancel = self.held.renew()
        except LeaseLost:
            log.warning(
                "job %s: lease %s lost; stopping without writing", self.job_id, self.lease_id
            )
            self.lost.set()
        except DBAPIError:
            # Past the lease timeout another worker may hold the job: behave as if it did.
            log.exception("job %s: could not renew the lease; stopping", self.job_id)
            self.lost.set()
        else:
            if cancel and not self.cancel_requested.is_set():
                log.info("job %s: cancel requested", self.job_id)
                self.cancel_requested.set()

    def begin(self) -> bool:
        """Renew once (a cancel that came first stops the run before its first batch), then
        keep renewing in the thread; False when the lease is already gone."""
        self.beat()
        if self.lost.is_set():
            return False
        self._thread.start()
        return True

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(self.settings.heartbeat_interval_s) and not self.lost.is_set():
            self.beat()
