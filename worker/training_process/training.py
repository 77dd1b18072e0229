"""One job's training inside the training process: heartbeat, fit, and write how it ended.

Every write names the job's lease, so once the lease is lost (cancelled and reaped, handed to
another worker) nothing more is written. Imports torch: loaded by
`worker.training_process.train_child` only.
"""

from __future__ import annotations

import io
import logging
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

from core.settings import Settings
from core.spec import ResolvedSpec
from core.store.held import JobToTrain
from core.store.jobs import load_weights
from core.store.tables import JobStatus
from core.trainer.fit import fit
from worker.held_job import LeaseLost
from worker.store_calls import store_call
from worker.training_process.dataset_for_job import uploaded_dataset
from worker.training_process.environment import record_environment
from worker.training_process.failures import Failure, InitFromUnusable, describe_failure
from worker.training_process.job_config import train_config
from worker.training_process.job_end import fail, stopped, succeed
from worker.training_process.job_run import JobRun
from worker.training_process.lease import Lease
from worker.training_process.progress_reporter import ProgressReporter

log = logging.getLogger(__name__)


def train(
    job_id: uuid.UUID,
    lease_id: uuid.UUID,
    settings: Settings,
    *,
    lease: Lease,
    shutdown: threading.Event,
    scratch: Path | None,
) -> JobStatus | None:
    """Train the claimed job and record its end; returns the status written (None: lease lost).

    `lease` is already renewing the job's lease (the training process starts it before torch
    loads) and is stopped here. `shutdown` is set by SIGTERM: the job is then checkpointed and
    handed back to the queue. `scratch` is a folder for the job's files (an `init_from` job's
    starting weights) that the caller removes once this process has exited, killed or not.
    """
    try:
        job = lease.held.read()
        if job is None:
            log.warning("job %s: not held by lease %s; nothing to do", job_id, lease_id)
            return None
        run = JobRun(
            settings,
            job_id,
            lease,
            earlier_run_seconds=job.run_seconds,
            shutdown=shutdown,
        )
        return _train(job, run, scratch)
    except LeaseLost:
        log.warning("job %s: lease lost; the job is someone else's now", job_id)
        return None
    finally:
        lease.stop()


def _train(job: JobToTrain, run: JobRun, scratch: Path | None) -> JobStatus | None:
    settings, job_id = run.settings, run.job_id
    try:
        with _init_weights(job, settings, scratch) as init_weights:
            dataset_file = uploaded_dataset(settings, job.job_id, job.spec)
            try:
                config = run.config = train_config(
                    job.spec, settings, init_weights=init_weights, dataset_file=dataset_file
                )
            except ValueError as error:
                raise Failure(
                    "invalid_spec", f"the job's settings are not trainable: {error}"
                ) from error
            record_environment(run, config)
            checkpoint = run.held.load_checkpoint()
            resume_from = None
            if checkpoint is not None:
                resume_from = torch.load(io.BytesIO(checkpoint), weights_only=True)
                log.info(
                    "job %s: resuming after epoch %d, batch %d",
                    job_id,
                    resume_from["epoch"],
                    resume_from["batch"],
                )
            log.info(
                "job %s: training %s-%d on %s for %d epochs",
                job_id,
                config.architecture,
                config.depth,
                config.dataset,
                config.epochs,
            )
            run.progress = ProgressReporter(
                settings, job_id, epochs=config.epochs, batch_size=config.batch_size
            )
            try:
                result = fit(
                    config,
                    on_epoch=run.on_epoch,
                    should_stop=run.should_stop,
                    resume_from=resume_from,
                    on_checkpoint=run.on_checkpoint,
                    checkpoint_interval_s=settings.checkpoint_interval_s,
                    on_batch=run.progress.on_batch,
                    on_warning=run.on_warning,
                )
            finally:
                run.progress.close()
                run.wait_for_writes()  # the job's end never races its last checkpoint
            run.finish_writes()
    except LeaseLost:
        raise
    except Exception as error:
        if run.lease.lost.is_set():
            raise LeaseLost(f"job {job_id}: lease lost") from error
        failure = describe_failure(error, config=run.config, settings=settings, spec=job.spec)
        if failure.ref is not None:
            # The owner's message names this ref; the details are for the operator only.
            log.error(
                "job %s: %s (ref %s): %s",
                job_id,
                failure.code,
                failure.ref,
                failure.detail,
                exc_info=failure.code == "internal_error",
            )
        return fail(run, failure)
    if result.stopped and run.stop is not None:
        return stopped(run, result)
    return succeed(run, result)


@contextmanager
def _init_weights(
    job: JobToTrain, settings: Settings, scratch: Path | None
) -> Iterator[Path | None]:
    """The weights the job starts from (`init_from`) as a file, for as long as training runs."""
    init_from = ResolvedSpec.from_stored(job.spec).init_from
    if init_from is None and job.init_from_id is None:
        yield None
        return
    source = job.init_from_id or uuid.UUID(str(init_from))
    weights = store_call(
        settings,
        lambda session: load_weights(session=session, job_id=source),
        what=f"load the weights of job {source}",
    )
    if weights is None:
        raise InitFromUnusable(
            f"job {source} has no weights (it has not succeeded, or was deleted); "
            "start from a succeeded job"
        )
    if scratch is None:  # worker.child.scratch_folder makes one for every init_from job
        raise RuntimeError(f"job {job.job_id}: no scratch folder for its init_from weights")
    path = scratch / f"{source}.pt"
    path.write_bytes(weights)
    yield path
