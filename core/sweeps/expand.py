"""Turning a sweep request into its children: a grid (cartesian product) and/or a random search.

A search is repeatable: its samples come from its own seed, in a fixed order.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

DISTRIBUTIONS = ("choice", "uniform", "log_uniform", "int_uniform")


@dataclass(frozen=True)
class Child:
    point: dict[str, Any]  # the values that set this child apart from its siblings
    body: dict[str, Any]  # the whole `POST /jobs` body of this child


def grid_points(grid: dict[str, list[Any]]) -> Iterator[dict[str, Any]]:
    """Every combination of the grid's values, the first field varying slowest; one at a time,
    so that a grid is never built whole (issue 17: 810,000 points from a 951-byte body)."""
    names = list(grid)
    for values in itertools.product(*grid.values()):
        yield dict(zip(names, values, strict=True))


def child_count(
    grid: dict[str, list[Any]] | None = None,
    *,
    search: dict[str, dict[str, Any]] | None = None,
    trials: int = 0,
) -> int:
    """How many children `expand` makes, from the lengths alone: checked before expanding."""
    points = math.prod(len(values) for values in (grid or {}).values())
    return points * (trials if search else 1)


def draw(distribution: dict[str, Any], rng: random.Random) -> Any:
    """One sample of a distribution: {"choice": [...]}, {"uniform": [lo, hi]},
    {"log_uniform": [lo, hi]} (lo > 0) or {"int_uniform": [lo, hi]} (both ends included)."""
    (kind, args), *_ = distribution.items()
    if kind == "choice":
        return args[rng.randrange(len(args))]
    low, high = args
    if kind == "uniform":
        return rng.uniform(low, high)
    if kind == "log_uniform":
        return math.exp(rng.uniform(math.log(low), math.log(high)))
    return rng.randint(int(low), int(high))


def distribution_problem(distribution: object) -> str | None:
    """Why a search entry is not a distribution; None when it is."""
    if not isinstance(distribution, dict) or len(distribution) != 1:
        return f"must be one of {{{', '.join(DISTRIBUTIONS)}: ...}}"
    (kind, args), *_ = distribution.items()
    if kind not in DISTRIBUTIONS:
        return f"unknown distribution {kind!r}; one of {', '.join(DISTRIBUTIONS)}"
    if kind == "choice":
        return None if isinstance(args, list) and args else "choice needs a non-empty list"
    numbers = isinstance(args, list) and len(args) == 2
    numbers = numbers and all(
        isinstance(a, (int, float)) and not isinstance(a, bool) and math.isfinite(a) for a in args
    )
    if not numbers or not args[0] <= args[1]:
        return f"{kind} needs [low, high] with low <= high"
    if kind == "log_uniform" and args[0] <= 0:
        return "log_uniform needs low > 0"
    if kind == "int_uniform" and not all(float(a).is_integer() for a in args):
        return "int_uniform needs integer bounds"
    return None


def expand(
    base: dict[str, Any],
    *,
    grid: dict[str, list[Any]] | None = None,
    search: dict[str, dict[str, Any]] | None = None,
    trials: int = 0,
    search_seed: int = 0,
) -> Iterator[Child]:
    """base x grid x trials of the search: each grid point gets `trials` samples (or one child
    when there is no search). Later sources win: grid and search values override base.
    Lazy: count with `child_count` first, then take only what is allowed."""
    rng = random.Random(search_seed)
    for point in grid_points(grid or {}):
        samples = trials if search else 1
        for _ in range(samples):
            drawn = {name: draw(d, rng) for name, d in (search or {}).items()}
            full = {**point, **drawn}
            yield Child(point=full, body={**base, **full})
