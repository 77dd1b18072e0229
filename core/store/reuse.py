"""Reusing finished runs (issue 20): a job submitted with `reuse` that an earlier run already
answers is settled from that run instead of training again.

The key, all four parts equal:
- the owner (another owner's runs are never used);
- the resolved spec: every training setting with its default filled in, `seed` and `init_from`
  included (the stored spec, compared as JSON values);
- the data fingerprint: the sha256 of every dataset file, as the source's attempt recorded it
  (`dataset_sha256`), equal to the one the service's workers recorded last for those files; for
  an uploaded data set (issue 19) its fingerprint, which the spec records (`dataset_fingerprint`)
  and the source's attempt trained on, whichever of the owner's data sets (ids) holds it;
- the trainer version: the service's package version and torch's version, likewise (for an
  uploaded data set: as the workers recorded last on any data).

The source is an original run (not itself a reuse) that succeeded and still has its weights. The
new job is a job of its own, succeeded at once, naming the source in `reused_from`, with copies of
the source's epoch records, results, weights and exports (copied inside the database).

Not covered: what the key does not name. The device and precision are not in it, so a run
reused on a GPU service may have been trained on another GPU model: close, not bitwise equal (a
CPU run with the same seed repeats exactly). "What the workers recorded last" is the service's
current data and trainer only once a worker has run a job since either changed.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import insert, literal, select, update
from sqlalchemy.orm import Session

from core.store.events import record_status
from core.store.tables import Artifact, EpochRecord, Job, JobAttempt, JobStatus, Weights
from core.store.types import utcnow

# The environment entries of an attempt that are part of the key (worker/environment.py).
DATA = "dataset_sha256"
UPLOADED = "dataset_fingerprint"  # an uploaded data set's (issue 19)
TRAINER = ("service_version", "torch")
RECENT_ATTEMPTS = 200  # where "what the workers recorded last" is looked for


def _key_of(environment: dict[str, Any]) -> tuple[Any, ...]:
    return (environment.get(DATA), *_trainer_of(environment))


def _trainer_of(environment: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(environment.get(name) for name in TRAINER)


def _but_the_id(spec: dict[str, Any]) -> dict[str, Any]:
    """An uploaded data set's spec without `dataset`, its id: the fingerprint names the data."""
    return {name: value for name, value in spec.items() if name != "dataset"}


def _latest_environments(session: Session, job_ids: list[uuid.UUID]) -> dict[uuid.UUID, Any]:
    """Each job's last recorded attempt environment."""
    query = (
        select(JobAttempt.job_id, JobAttempt.environment)
        .where(JobAttempt.job_id.in_(job_ids))
        .order_by(JobAttempt.job_id, JobAttempt.attempt)
    )
    return {row.job_id: row.environment for row in session.execute(query)}


def _current_keys(
    session: Session,
) -> tuple[dict[frozenset[str], tuple[Any, ...]], tuple[Any, ...] | None]:
    """Per set of dataset files, the key the workers recorded last (newest attempt first); and
    the trainer they recorded last on any data."""
    query = (
        select(JobAttempt.environment).order_by(JobAttempt.started_at.desc()).limit(RECENT_ATTEMPTS)
    )
    current: dict[frozenset[str], tuple[Any, ...]] = {}
    trainer: tuple[Any, ...] | None = None
    for environment in session.scalars(query):
        if trainer is None and all(environment.get(name) for name in TRAINER):
            trainer = _trainer_of(environment)
        files = environment.get(DATA)
        if isinstance(files, dict) and files:
            current.setdefault(frozenset(files), _key_of(environment))
    return current, trainer


def find_sources(
    *, session: Session, owner_id: uuid.UUID, specs: list[dict[str, Any]]
) -> list[Job | None]:
    """For each spec, the newest run that answers it under the key, or None."""
    query = (
        select(Job)
        .join(Weights, Weights.job_id == Job.id)
        .where(
            Job.owner_id == owner_id,
            Job.status == JobStatus.succeeded,
            Job.reused_from.is_(None),
            Job.deleted_at.is_(None),
        )
        .order_by(Job.finished_at.desc())
    )
    originals = list(session.scalars(query))
    environments = _latest_environments(session, [job.id for job in originals])
    current, trainer = _current_keys(session)

    def matches(job: Job, spec: dict[str, Any]) -> bool:
        environment = environments.get(job.id)
        if not environment:
            return False
        fingerprint = spec.get(UPLOADED)
        if fingerprint is not None:
            return (
                _but_the_id(job.spec) == _but_the_id(spec)
                and environment.get(UPLOADED) == fingerprint
                and _trainer_of(environment) == trainer
            )
        if job.spec != spec or not isinstance(environment.get(DATA), dict):
            return False
        return current.get(frozenset(environment[DATA])) == _key_of(environment)

    return [next((job for job in originals if matches(job, spec)), None) for spec in specs]


def settle_from(*, session: Session, job: Job, source: Job) -> None:
    """Make the queued `job` a succeeded copy of `source` in the session's transaction (the
    caller commits): its records, results, weights and exports."""
    session.execute(
        update(Job)
        .where(Job.id == job.id, Job.status == JobStatus.queued)
        .values(
            status=JobStatus.succeeded,
            reused_from=source.id,
            finished_at=utcnow(),
            enqueued_at=utcnow(),  # nothing is owed to the broker
            epochs_done=source.epochs_done,
            final_test_accuracy=source.final_test_accuracy,
            final_test_loss=source.final_test_loss,
            best_test_accuracy=source.best_test_accuracy,
            best_epoch=source.best_epoch,
            results=source.results,
        )
    )
    target = literal(job.id, type_=Job.id.type)
    copies = (
        (EpochRecord, [c.name for c in EpochRecord.__table__.columns if c.name != "id"]),
        (Weights, [c.name for c in Weights.__table__.columns]),
        (Artifact, [c.name for c in Artifact.__table__.columns]),
    )
    for table, names in copies:
        # Copied by the database: the weights never travel through this process.
        columns = [target if name == "job_id" else table.__table__.c[name] for name in names]
        rows = select(*columns).where(table.__table__.c.job_id == source.id)
        session.execute(insert(table).from_select(names, rows))
    record_status(
        session=session,
        job_id=job.id,
        status=JobStatus.succeeded,
        final_test_accuracy=source.final_test_accuracy,
        reused_from=str(source.id),
    )


def reuse_finished(*, session: Session, job_ids: list[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """Settle every queued job of `job_ids` that an earlier run answers, in one transaction;
    {job id: the run it reuses}. The others stay queued, to be sent to the broker."""
    jobs = [job for job in (session.get(Job, job_id) for job_id in job_ids) if job is not None]
    queued = [job for job in jobs if job.status == JobStatus.queued]
    if not queued:
        return {}
    sources = find_sources(
        session=session, owner_id=queued[0].owner_id, specs=[job.spec for job in queued]
    )
    reused: dict[uuid.UUID, uuid.UUID] = {}
    for job, source in zip(queued, sources, strict=True):
        if source is not None:
            settle_from(session=session, job=job, source=source)
            reused[job.id] = source.id
    session.commit()
    return reused
