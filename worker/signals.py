"""Celery worker signals: start the reaper when the worker is ready, stop training on shutdown.

A webhook worker (`-Q webhooks`, core.messaging.broker.WEBHOOK_WORKER_ARGS) trains nothing: it only
publishes what it commits; the training workers' reapers send the deliveries it left pending."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from celery.signals import worker_ready, worker_shutting_down

from core.messaging.broker import TRAIN_QUEUE
from core.settings import get_settings
from worker import after_commit, child, data_report, dispatch, recovery, spare, supervisor
from worker.reaper import Reaper

log = logging.getLogger(__name__)

_reaper: Reaper | None = None


def _trains(consumer: Any) -> bool:
    """Whether this worker consumes the training queue (`-Q`)."""
    try:
        return TRAIN_QUEUE in consumer.app.amqp.queues.consume_from
    except AttributeError:  # no consumer given: a worker as Celery starts it by default
        return True


# Connected before `start_reaper`, so it runs first: the jobs of this worker's dead earlier
# self are sent again before anything else (the task uses the id made here for its claims).
@worker_ready.connect
def take_back_jobs(sender: Any = None, **_: Any) -> None:
    """Super fetch: the running jobs of a dead worker with this node name, at once."""
    if not _trains(sender):
        return
    settings = get_settings()
    node = str(getattr(sender, "hostname", None) or "worker")
    me, may_recover = recovery.take_node(settings, node)
    log.info("worker id %s", me)
    if not may_recover:
        return
    try:
        taken = recovery.take_back(
            settings, me, lambda job_id: dispatch.send(job_id, settings=settings)
        )
    except Exception:
        # The database away past the retries: the reaper hands the jobs on at the lease timeout.
        log.exception("could not take back the jobs of this worker's earlier process")
        return
    if taken:
        log.info("took back %d job(s) of this worker's dead earlier process", len(taken))


@worker_ready.connect
def start_reaper(sender: Any = None, **_: Any) -> None:
    global _reaper
    settings = get_settings()
    after_commit.install(settings)  # events published and webhooks sent after each commit
    if not _trains(sender):
        log.info("webhook worker: delivers webhooks, trains nothing")
        return
    supervisor.mark_idle()

    def send(job_id: uuid.UUID) -> None:
        dispatch.send(job_id, settings=settings)

    _reaper = Reaper(settings, send, supervisor.idle_for)
    _reaper.start()
    log.info("reaper started: every %g s", settings.reaper_interval_s)
    data_report.start(settings, str(getattr(sender, "hostname", None) or "worker"))
    spare.enable(settings)  # the first job's training process, started ahead (issue 10)


@worker_shutting_down.connect
def stop_training(sig: str = "", how: str = "", **_: Any) -> None:
    """Warm shutdown (SIGTERM, first Ctrl-C): the job is handed back within the grace period;
    cold shutdown (SIGQUIT, second Ctrl-C): the training process is killed now.

    Runs inside Celery's signal handler: no logging (see `worker.child.stop_child`).
    """
    if _reaper is not None:
        _reaper.stop()
    child.stop_child(grace_s=get_settings().shutdown_grace_s, immediately=how == "Cold")
