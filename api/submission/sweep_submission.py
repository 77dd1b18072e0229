"""Submitting a sweep: expand it, validate every child as `POST /jobs` would, create all of them
in one transaction, then send their ids in bulk (issue 10).

Nothing is created unless every child is valid: one 422 names the child (its grid values) and
the field at fault. As for a single job, when the broker refuses, the children are deleted.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections import Counter
from functools import partial

from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from api.errors import RETRY_AFTER_S, ApiError, FieldError, invalid
from api.schemas.early_stopping import early_stopping_problems
from api.schemas.request import JobRequest, check_limits, spec_hash
from api.schemas.sweeps import SweepRequest
from api.submission.dataset_availability import check_workers_have
from api.submission.job_queue import JobQueue
from api.submission.job_submission import (
    QUEUE_DOWN,
    check_init_from,
    in_submit_thread,
    settle_reused,
)
from api.submission.uploaded_dataset import resolve_uploaded
from core.messaging.producer import BrokerUnavailable, in_new_session
from core.settings import Settings
from core.store.db import retry_conflicts
from core.store.jobs import delete_unsent_job, mark_all_enqueued
from core.store.sweeps import NewChild, create_sweep
from core.store.tables import Owner, Sweep
from core.sweeps.expand import Child, child_count, distribution_problem, expand
from core.sweeps.presets import presets
from core.vocabulary import ErrorCode

log = logging.getLogger(__name__)

# Listed first in a child's grid point, in this order; the rest as the request names them.
LEADING = ("architecture", "depth")
# Service fields of POST /jobs that a sweep's children do not take.
NOT_IN_SWEEPS = ("webhook_url", "webhook_events", "reuse")


async def submit_sweep(
    *,
    sessions: sessionmaker[Session],
    settings: Settings,
    queue: JobQueue,
    owner: Owner,
    request: SweepRequest,
    idempotency_key: str | None,
) -> tuple[Sweep, bool]:
    work = partial(_submit, sessions, settings, queue, owner, request, idempotency_key)
    return await in_submit_thread(work)


def _submit(
    sessions: sessionmaker[Session],
    settings: Settings,
    queue: JobQueue,
    owner: Owner,
    request: SweepRequest,
    idempotency_key: str | None,
) -> tuple[Sweep, bool]:
    children, varying = children_of(request, settings)
    sweep, ids, created = retry_conflicts(
        partial(_accept, sessions, settings, owner, request, idempotency_key, children, varying),
        what="sweep submission",
    )
    if created and request.reuse:
        reused = settle_reused(sessions, ids)
        ids = [job_id for job_id in ids if job_id not in reused]
        log.info("sweep %s of %s: %d jobs reused", sweep.id, owner.name, len(reused))
    if created:
        send_all(sessions, queue, ids)
        log.info("sweep %s of %s: %d jobs queued", sweep.id, owner.name, len(ids))
    return sweep, created


def _accept(
    sessions: sessionmaker[Session],
    settings: Settings,
    owner: Owner,
    request: SweepRequest,
    idempotency_key: str | None,
    children: list[Child],
    varying: list[str],
) -> tuple[Sweep, list[uuid.UUID], bool]:
    """Validate every child and commit the sweep with its jobs in one transaction."""
    with sessions() as session:
        new = validated_children(session, settings, owner, children, varying)
        body = request.model_dump(mode="json")
        sweep, ids, created = create_sweep(
            session=session,
            owner_id=owner.id,
            children=new,
            request=body,
            varying=varying,
            max_queued=settings.max_queued_per_owner,
            name=request.name,
            preset=request.preset,
            priority=request.priority,
            max_parallel=request.max_parallel,
            max_stored_bytes=settings.storage_quota_bytes,
            compute_budget=settings.compute_budget_flops,
            idempotency_key=idempotency_key,
            request_hash=spec_hash(body),
        )
        session.expunge(sweep)
    return sweep, ids, created


def send_all(sessions: sessionmaker[Session], queue: JobQueue, ids: list[uuid.UUID]) -> None:
    """Send every child's id, then mark them enqueued; all or nothing, like a single job."""
    try:
        for job_id in ids:
            queue.send(job_id)
    except BrokerUnavailable:
        store = in_new_session(sessions)
        for job_id in ids:
            store(partial(_delete_unsent, job_id))
        retry = {"Retry-After": str(RETRY_AFTER_S)}
        raise ApiError(503, ErrorCode.queue_unavailable, QUEUE_DOWN, headers=retry) from None
    with sessions() as session:
        mark_all_enqueued(session=session, job_ids=ids)


def _delete_unsent(job_id: uuid.UUID, session: Session) -> None:
    delete_unsent_job(session=session, job_id=job_id)


def children_of(request: SweepRequest, settings: Settings) -> tuple[list[Child], list[str]]:
    """Every child's POST /jobs body and its grid point; and the fields that vary."""
    errors = _shape_problems(request)
    if errors:
        raise invalid(errors)
    grid = dict(request.grid)
    if request.seeds > 1 or request.preset is not None:
        grid["seed"] = list(range(request.seeds))
    common = {**request.base, **request.overrides()}
    preset = presets().get(request.preset or "")
    bases = [common]
    if preset is not None:
        narrowed = preset.narrowed(grid)
        if narrowed.problems:
            raise invalid([FieldError.body(f"grid.{f}", r) for f, r in narrowed.problems])
        grid = narrowed.grid
        bases = [{**preset.base, **c, **common} for c in narrowed.configurations]
    # Counted from the lengths before anything is expanded (issue 17): a 1 KB grid can describe
    # billions of points.
    search = request.search or None
    configurations = len(bases) * child_count(grid)
    total = len(bases) * child_count(grid, search=search, trials=request.trials)
    if total > settings.max_sweep_children:
        field = "trials" if configurations <= settings.max_sweep_children else "grid"
        reason = (
            f"the sweep makes {total} jobs, more than {settings.max_sweep_children}, the most "
            "allowed; use fewer values, seeds or trials"
        )
        raise invalid([FieldError.body(field, reason)])
    children = [
        child
        for base in bases
        for child in expand(
            base, grid=grid, search=search, trials=request.trials, search_seed=request.search_seed
        )
    ]
    if request.early_stopping is not None:
        problems = early_stopping_problems(request.early_stopping, [c.body for c in children])
        if problems:
            raise invalid(problems)
    varying = _varying(children)
    points = [Child(point={k: c.body.get(k) for k in varying}, body=c.body) for c in children]
    return points, varying


def _shape_problems(request: SweepRequest) -> list[FieldError]:
    errors: list[FieldError] = []
    if request.preset is not None and request.preset not in presets():
        known = ", ".join(presets())
        errors.append(
            FieldError.body("preset", f"unknown preset {request.preset!r}; one of {known}")
        )
    if request.preset is None and not request.grid and not request.search and request.seeds == 1:
        reason = "a sweep needs a grid, a search, seeds > 1 or a preset"
        errors.append(FieldError.body("grid", reason))
    fields = set(JobRequest.model_fields)
    for name in request.overrides():
        if name not in fields:
            errors.append(FieldError.body(name, "not a field of POST /jobs or of a sweep"))
    named: dict[str, list[str]] = {
        "base": list(request.base),
        "grid": list(request.grid),
        "search": list(request.search),
    }
    for where, names in named.items():
        for name in names:
            if name not in fields:
                errors.append(FieldError.body(f"{where}.{name}", "not a field of POST /jobs"))
            elif name in NOT_IN_SWEEPS:
                errors.append(FieldError.body(f"{where}.{name}", "not available in sweeps"))
    for name in NOT_IN_SWEEPS:
        if name in request.overrides():
            errors.append(FieldError.body(name, "not available in sweeps"))
    for name, values in request.grid.items():
        if not values:
            errors.append(FieldError.body(f"grid.{name}", "needs at least one value"))
    if "seed" in request.grid and (request.seeds > 1 or request.preset is not None):
        errors.append(FieldError.body("seeds", "give the seeds either in grid.seed or as seeds"))
    for name, distribution in request.search.items():
        problem = distribution_problem(distribution)
        if problem:
            errors.append(FieldError.body(f"search.{name}", problem))
    return errors


def _varying(children: list[Child]) -> list[str]:
    keys: list[str] = []
    for child in children:
        keys += [k for k in child.body if k not in keys]
    differ = [
        k for k in keys if len({json.dumps(c.body.get(k), sort_keys=True) for c in children}) > 1
    ]
    return [k for k in LEADING if k in differ] + [k for k in differ if k not in LEADING]


def validated_children(
    session: Session, settings: Settings, owner: Owner, children: list[Child], varying: list[str]
) -> list[NewChild]:
    """Every child checked as POST /jobs checks it; children identical in resolved spec (seed
    included) are refused together, since they would train the same network twice."""
    new = [_validated(session, settings, owner, child, varying) for child in children]
    copies = Counter(spec_hash(child.spec) for child in new)
    repeated = {spec_hash(c.spec): c.point for c in new if copies[spec_hash(c.spec)] > 1}
    if repeated:
        raise invalid(
            [
                FieldError.body(
                    "grid",
                    f"child {json.dumps(point)} would be made {copies[digest]} times with the "
                    "same spec and seed; narrow the preset or drop the repeated values",
                )
                for digest, point in repeated.items()
            ]
        )
    return new


def _validated(
    session: Session, settings: Settings, owner: Owner, child: Child, varying: list[str]
) -> NewChild:
    """The child's resolved spec, checked as POST /jobs checks a body; a 422 naming the child."""
    label = "child " + json.dumps(child.point, sort_keys=False) if child.point else "the sweep"
    try:
        spec = JobRequest.model_validate(child.body).resolve()
        classes = resolve_uploaded(session=session, owner=owner, spec=spec)  # issue 19
        check_limits(spec, settings, classes=classes)
        init_from_id = check_init_from(session=session, owner=owner, spec=spec)
        check_workers_have(session=session, spec=spec)
    except ValidationError as error:
        fields = [
            FieldError.body(
                ".".join(str(p) for p in detail["loc"]) or "body",
                f"{label}: {str(detail['msg']).removeprefix('Value error, ')}",
            )
            for detail in error.errors()
        ]
        raise invalid(fields) from None
    except ApiError as error:
        fields = [
            FieldError.at(f.location, f.field, f"{label}: {f.reason}")
            for f in error.body.error.fields
        ]
        raise invalid(fields) from None
    return NewChild(point=child.point, spec=spec, init_from_id=init_from_id)
