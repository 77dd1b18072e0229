"""A job or a sweep named by a unique prefix of its id, as `git` names commits (issue 18):
`crs show 5934`, `crs sweep show 7c1e`."""

from __future__ import annotations

import re
from collections.abc import Iterable

from client.api import Client
from client.errors import CrsError

FULL_ID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


class AmbiguousId(CrsError):
    """No job (or sweep) of yours, or more than one, has an id starting with the prefix."""


def resolve_job_id(client: Client, given: str) -> str:
    """The full id of your one job whose id starts with `given` (a full id is used as is)."""
    if FULL_ID.fullmatch(given):
        return given
    return unique_id((job.id for job in client.iter_jobs()), given, noun="job")


def resolve_sweep_id(client: Client, given: str) -> str:
    """The full id of your one sweep whose id starts with `given` (a full id is used as is)."""
    if FULL_ID.fullmatch(given):
        return given
    return unique_id((sweep["id"] for sweep in client.iter_sweeps()), given, noun="sweep")


def unique_id(ids: Iterable[str], given: str, *, noun: str) -> str:
    """The one id of `ids` that starts with the prefix `given`; else AmbiguousId saying why."""
    prefix = given.lower()
    if not re.fullmatch(r"[0-9a-f-]+", prefix):
        raise AmbiguousId(f"{given!r} is not a {noun} id or the start of one")
    found = [one for one in ids if one.startswith(prefix)]
    if not found:
        raise AmbiguousId(f"none of your {noun}s has an id starting with {given!r}")
    if len(found) > 1:
        shown = ", ".join(found[:3]) + (", ..." if len(found) > 3 else "")
        raise AmbiguousId(f"{len(found)} of your {noun}s have ids starting with {given!r}: {shown}")
    return found[0]
