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

import json
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.store.reuse_copy import settle_all
from core.store.tables import Job, JobAttempt, JobStatus, Weights

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


def _canonical(value: Any) -> Any:
    """A JSON value whose text is equal wherever Python's == holds (1 == 1.0 == True)."""
    if isinstance(value, dict):
        return {name: _canonical(item) for name, item in value.items()}
    if isinstance(value, list):
        return [_canonical(item) for item in value]
    if isinstance(value, bool) or (isinstance(value, float) and value.is_integer()):
        return int(value)
    return value


def _bucket(spec: dict[str, Any]) -> str:
    """Equal for a spec and every run that may answer it (a coarser test than the key's)."""
    return json.dumps(_canonical(_but_the_id(spec)), sort_keys=True)


def find_sources(
    *, session: Session, owner_id: uuid.UUID, specs: list[dict[str, Any]]
) -> list[Job | None]:
    """For each spec, the newest run that answers it under the key, or None.

    The owner's original runs are read as (id, spec) and sorted into buckets by spec; only the
    runs in a bucket that some spec asks for are checked against the key and read in full, so
    a submission costs a few queries however many children and finished runs there are."""
    query = (
        select(Job.id, Job.spec)
        .join(Weights, Weights.job_id == Job.id)
        .where(
            Job.owner_id == owner_id,
            Job.status == JobStatus.succeeded,
            Job.reused_from.is_(None),
            Job.deleted_at.is_(None),
        )
        .order_by(Job.finished_at.desc())
    )
    wanted = {_bucket(spec) for spec in specs}
    buckets: dict[str, list[tuple[uuid.UUID, dict[str, Any]]]] = {}
    for row in session.execute(query):
        bucket = _bucket(row.spec)
        if bucket in wanted:
            buckets.setdefault(bucket, []).append((row.id, row.spec))
    candidates = [job_id for runs in buckets.values() for job_id, _ in runs]
    if not candidates:
        return [None] * len(specs)
    environments = _latest_environments(session, candidates)
    current, trainer = _current_keys(session)

    def matches(job_id: uuid.UUID, job_spec: dict[str, Any], spec: dict[str, Any]) -> bool:
        environment = environments.get(job_id)
        if not environment:
            return False
        fingerprint = spec.get(UPLOADED)
        if fingerprint is not None:
            return (
                _but_the_id(job_spec) == _but_the_id(spec)
                and environment.get(UPLOADED) == fingerprint
                and _trainer_of(environment) == trainer
            )
        if job_spec != spec or not isinstance(environment.get(DATA), dict):
            return False
        return current.get(frozenset(environment[DATA])) == _key_of(environment)

    chosen = [
        next(
            (
                job_id
                for job_id, job_spec in buckets.get(_bucket(spec), [])
                if matches(job_id, job_spec, spec)
            ),
            None,
        )
        for spec in specs
    ]
    found = sorted({job_id for job_id in chosen if job_id is not None})
    sources = {}
    if found:
        sources = {job.id: job for job in session.scalars(select(Job).where(Job.id.in_(found)))}
    return [sources.get(job_id) if job_id is not None else None for job_id in chosen]


def settle_reusable(*, session: Session, jobs: list[Job]) -> dict[uuid.UUID, uuid.UUID]:
    """Settle each of the owner's queued `jobs` that an earlier run answers, in the session's
    transaction (the caller commits); {job id: the run it reuses}."""
    queued = [job for job in jobs if job.status == JobStatus.queued]
    if not queued:
        return {}
    # As stored (JSON), whether the jobs were read back or just added in this transaction.
    specs = [json.loads(json.dumps(job.spec)) for job in queued]
    sources = find_sources(session=session, owner_id=queued[0].owner_id, specs=specs)
    pairs = [(job, source) for job, source in zip(queued, sources, strict=True) if source]
    settle_all(session=session, pairs=pairs)
    return {job.id: source.id for job, source in pairs}
