"""A queued job's place in the queue and its expected start, for GET /jobs/{id} (issue 11).

Expected start: the running jobs' remaining time (their own last epoch's seconds, else the
pre-flight estimate) and the estimated run time of every job ahead, handed in order to the
earliest free of the workers now busy (list scheduling). Unknown (null) when no worker is
running anything or a job on the way has no estimate.
"""

from __future__ import annotations

import heapq
from datetime import timedelta

from sqlalchemy.orm import Session

from api.schemas.views import JobView, QueuePlace
from core.estimate import estimate_times
from core.store.artifacts import throughput_measurements
from core.store.queue import queue_snapshot
from core.store.tables import Job, JobStatus
from core.store.types import utcnow
from core.store.worker_data import data_report

METHOD = (
    "the running jobs' remaining epochs at their last epoch's time, then each job ahead at its "
    "pre-flight estimate (the fastest device measured), handed in order to whichever of the "
    "{workers} busy worker(s) frees first; assumes no new workers, no per-owner caps"
)


def with_queue_place(view: JobView, session: Session, job: Job) -> JobView:
    if job.status != JobStatus.queued:
        return view
    snapshot = queue_snapshot(session=session, job=job)
    place = QueuePlace(
        position=len(snapshot.ahead) + 1,
        jobs_ahead=len(snapshot.ahead),
        running=len(snapshot.running),
        expected_start=None,
        method="no worker is running a job now, so there is no pace to go by",
    )
    if snapshot.running:
        measured = throughput_measurements(session=session)
        images = data_report(session=session).train_images  # what the workers hold (issue 18)

        def job_seconds(spec: dict, epochs: int) -> float | None:
            held = images.get(spec.get("dataset", "cifar10"))
            times = estimate_times({**spec, "epochs": epochs}, measured, train_images=held)
            return min((t["seconds"] for t in times), default=None)

        free: list[float] = []
        for running in snapshot.running:
            left = running.spec["epochs"] - running.epochs_done
            if running.last_epoch_seconds is not None:
                free.append(left * running.last_epoch_seconds)
            else:
                free.append(job_seconds(running.spec, left) or float("nan"))
        workers = len({r.worker for r in snapshot.running}) or len(snapshot.running)
        free = sorted(free)[:workers]
        heapq.heapify(free)
        for spec in snapshot.ahead:
            seconds = job_seconds(spec, spec["epochs"])
            heapq.heappush(free, heapq.heappop(free) + (seconds if seconds else float("nan")))
        start = free[0] if free else float("nan")
        if start == start:  # not NaN: every job on the way had a time
            place.expected_start = utcnow() + timedelta(seconds=start)
            place.method = METHOD.format(workers=workers)
        else:
            place.method = "a job on the way has no time estimate (no throughput measured)"
    view.queue = place
    return view
