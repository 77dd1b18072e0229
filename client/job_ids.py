"""A job named by a unique prefix of its id, as `git` names commits (issue 18): `crs show 5934`."""

from __future__ import annotations

import re

from client.api import Client
from client.errors import CrsError

FULL_ID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


class AmbiguousId(CrsError):
    """No job of yours, or more than one, has an id starting with the prefix."""


def resolve_job_id(client: Client, given: str) -> str:
    """The full id of your one job whose id starts with `given` (a full id is used as is)."""
    if FULL_ID.fullmatch(given):
        return given
    prefix = given.lower()
    if not re.fullmatch(r"[0-9a-f-]+", prefix):
        raise AmbiguousId(f"{given!r} is not a job id or the start of one")
    found = [job.id for job in client.iter_jobs() if job.id.startswith(prefix)]
    if not found:
        raise AmbiguousId(f"none of your jobs has an id starting with {given!r}")
    if len(found) > 1:
        shown = ", ".join(found[:3]) + (", ..." if len(found) > 3 else "")
        raise AmbiguousId(f"{len(found)} of your jobs have ids starting with {given!r}: {shown}")
    return found[0]
