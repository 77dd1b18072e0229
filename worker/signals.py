"""Celery worker signals: start the reaper when the worker is ready, stop training on shutdown."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from celery.signals import worker_ready, worker_shutting_down

from core.settings import get_settings
from worker import dispatch, supervisor
from worker.reaper import Reaper

log = logging.getLogger(__name__)

_reaper: Reaper | None = None


@worker_ready.connect
def start_reaper(**_: Any) -> None:
    global _reaper
    settings = get_settings()
    supervisor.mark_idle()

    def send(job_id: uuid.UUID) -> None:
        dispatch.send(job_id, settings=settings)

    _reaper = Reaper(settings, send, supervisor.idle_for)
    _reaper.start()
    log.info("reaper started: every %g s", settings.reaper_interval_s)


@worker_shutting_down.connect
def stop_training(sig: str = "", how: str = "", **_: Any) -> None:
    """Warm shutdown (SIGTERM, first Ctrl-C): the job is handed back within the grace period;
    cold shutdown (SIGQUIT, second Ctrl-C): the training process is killed now.

    Runs inside Celery's signal handler: no logging (see `supervisor.stop_child`).
    """
    if _reaper is not None:
        _reaper.stop()
    supervisor.stop_child(grace_s=get_settings().shutdown_grace_s, immediately=how == "Cold")
