"""A sweep checked in one pass (issues 10, 18): its own shape, the deployment's bounds on its base,
top-level job fields and grid values, its size, and every child as `POST /jobs` checks a body.
One 422 names every field at fault; a fault that many children share is named once, with the
first child at fault and how many more share it.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from api.errors import ApiError, FieldError, invalid
from api.schemas.early_stopping import early_stopping_problems
from api.schemas.request import JobRequest, bound_problems, check_limits, spec_hash
from api.schemas.sweeps import SweepRequest, sweep_bound_problems
from api.submission.dataset_availability import check_workers_have
from api.submission.job_submission import check_init_from
from api.submission.uploaded_dataset import resolve_uploaded
from core.settings import Settings
from core.store.sweeps import NewChild
from core.store.tables import Owner
from core.store.worker_data import DataReport, data_report
from core.sweeps.expand import Child, child_count, distribution_problem, expand
from core.sweeps.presets import presets

# Listed first in a child's grid point, in this order; the rest as the request names them.
LEADING = ("architecture", "depth")
# Service fields of POST /jobs that a sweep's children do not take.
NOT_IN_SWEEPS = ("webhook_url", "webhook_events", "reuse")
# Children checked of a sweep over the cap: enough to name a bad value, few enough to answer at
# once (tests/api/test_sweep_bounds.py: a 10**8-point grid is refused in 50 ms).
COVER = 16


def checked_sweep(
    session: Session, settings: Settings, owner: Owner, request: SweepRequest
) -> tuple[list[NewChild], list[str]]:
    """Every child, checked, and the fields that vary between them; else one 422 naming every
    field at fault."""
    errors = shape_problems(request)
    shaped = not errors  # a malformed sweep's children would only repeat its faults
    bounds = sweep_bound_problems(request.model_dump(), settings)
    errors += bounds
    grid = dict(request.grid)
    if request.seeds > 1 or request.preset is not None:
        grid["seed"] = list(range(request.seeds))
    common = {**request.base, **request.overrides()}
    preset = presets().get(request.preset or "")
    bases = [common]
    if preset is not None:
        narrowed = preset.narrowed(grid)
        if narrowed.problems:
            errors += [FieldError.body(f"grid.{f}", r) for f, r in narrowed.problems]
            shaped = False
        grid = narrowed.grid
        bases = [{**preset.base, **c, **common} for c in narrowed.configurations]
    # Counted from the lengths before anything is expanded (issue 17): a 1 KB grid can describe
    # billions of points. Past the cap, the first children allowed are still checked.
    search = request.search or None
    configurations = len(bases) * child_count(grid)
    total = len(bases) * child_count(grid, search=search, trials=request.trials)
    if total > settings.max_sweep_children:
        field = "trials" if configurations <= settings.max_sweep_children else "grid"
        reason = (
            f"the sweep makes {total} jobs, more than {settings.max_sweep_children}, the most "
            "allowed; use fewer values, seeds or trials"
        )
        errors.append(FieldError.body(field, reason))
    if not shaped:
        raise invalid(errors)
    if total > settings.max_sweep_children:  # a few children that take every value between them
        expanded = _cover(bases, grid, search, request.search_seed)
        children = list(itertools.islice(expanded, COVER))
    else:
        children = [
            child
            for base in bases
            for child in expand(
                base,
                grid=grid,
                search=search,
                trials=request.trials,
                search_seed=request.search_seed,
            )
        ]
    if request.early_stopping is not None:
        errors += early_stopping_problems(request.early_stopping, [c.body for c in children])
    varying = _varying(children)
    points = [Child(point={k: c.body.get(k) for k in varying}, body=c.body) for c in children]
    # A field the bounds already named is not named again for each child.
    named = {found.field.rpartition(".")[2] for found in bounds}
    new, child_errors = _checked_children(session, settings, owner, points, skip=named)
    errors += child_errors
    if errors:
        raise invalid(errors)
    _refuse_copies(new)
    return new, varying


def _cover(
    bases: list[dict[str, Any]],
    grid: dict[str, list[Any]],
    search: dict[str, dict[str, Any]] | None,
    search_seed: int,
) -> Iterator[Child]:
    """Child i of each base takes the i-th value of every grid field (cycling through the shorter
    lists), so that the first max(len) children take every value at least once."""
    width = max((len(values) for values in grid.values()), default=1)
    for base in bases:
        for index in range(width):
            point = {name: [values[index % len(values)]] for name, values in grid.items()}
            yield next(expand(base, grid=point, search=search, trials=1, search_seed=search_seed))


def shape_problems(request: SweepRequest) -> list[FieldError]:
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


def _checked_children(
    session: Session, settings: Settings, owner: Owner, children: list[Child], *, skip: set[str]
) -> tuple[list[NewChild], list[FieldError]]:
    """Every child checked as POST /jobs checks it; each fault once, with the children at fault
    counted. `skip`: fields already named for the whole sweep."""
    new: list[NewChild] = []
    faults: dict[tuple[Any, str, str], list[str]] = {}
    report = data_report(session=session)  # once for the sweep, not a query per child
    for child in children:
        made, problems = _check_child(session, settings, owner, child, report)
        if made is not None:
            new.append(made)
        label = "child " + json.dumps(child.point) if child.point else "the sweep"
        for found in problems:
            if found.field not in skip:
                faults.setdefault((found.location, found.field, found.reason), []).append(label)
    errors = []
    for (location, field, reason), labels in faults.items():
        more = f" (and {len(labels) - 1} more children)" if len(labels) > 1 else ""
        errors.append(FieldError.at(location, field, f"{labels[0]}: {reason}{more}"))
    return new, errors


def _check_child(
    session: Session, settings: Settings, owner: Owner, child: Child, report: DataReport
) -> tuple[NewChild | None, list[FieldError]]:
    """The child's resolved spec, or every fault POST /jobs would name in its body."""
    try:
        spec = JobRequest.model_validate(child.body).resolve()
        classes = resolve_uploaded(session=session, owner=owner, spec=spec)  # issue 19
        check_limits(spec, settings, classes=classes)
        init_from_id = check_init_from(session=session, owner=owner, spec=spec)
        check_workers_have(session=session, spec=spec, report=report)
    except ValidationError as error:
        fields = [
            FieldError.body(
                ".".join(str(p) for p in detail["loc"]) or "body",
                str(detail["msg"]).removeprefix("Value error, "),
            )
            for detail in error.errors()
        ]
        named = {found.field for found in fields}  # as POST /jobs: the bounds beside the model's
        return None, fields + [
            found for found in bound_problems(child.body, settings) if found.field not in named
        ]
    except ApiError as error:
        return None, list(error.body.error.fields)
    return NewChild(point=child.point, spec=spec, init_from_id=init_from_id), []


def _refuse_copies(new: list[NewChild]) -> None:
    """Children identical in resolved spec (seed included) are refused together, since they
    would train the same network twice."""
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
