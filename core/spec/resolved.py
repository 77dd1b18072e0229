"""A job's stored spec, read back: `ResolvedSpec.from_stored(job.spec)`.

The API stores a job's spec as JSON with every field a request may set (api/schemas/request.py,
`resolve`); the fields it leaves out and the fields added since a job was stored take their
declared defaults here, so no consumer restates a default. Torch-free.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.spec.job_settings import JobSettings
from core.spec.options import declared, option


@dataclass(frozen=True)
class ResolvedSpec(JobSettings):
    """A job's settings as stored, plus the fields the service resolves into something else."""

    init_from: str | None = option(
        None,
        api=True,
        doc="id of the succeeded job whose weights the run starts from; the worker resolves "
        "it into `init_weights`, a file",
    )

    @classmethod
    def from_stored(cls, stored: Mapping[str, Any]) -> ResolvedSpec:
        """The typed spec; a ValueError names the keys that are no declared field."""
        unknown = sorted(set(stored) - _NAMES)
        if unknown:
            raise ValueError(f"unknown fields in the job's spec: {', '.join(unknown)}")
        values = dict(stored)
        if "lr_milestones" in values:  # a list in JSON; the field stays hashable
            values["lr_milestones"] = tuple(values["lr_milestones"])
        return cls(**values)

    def job_settings(self) -> dict[str, Any]:
        """The training settings a request may set (the trainer's share of the spec)."""
        return {s.name: getattr(self, s.name) for s in declared(JobSettings) if s.option.api}


_NAMES = frozenset(f.name for f in dataclasses.fields(ResolvedSpec))
# Stored spec fields that are not training settings (the service resolves them).
SERVICE_NAMES = _NAMES - {f.name for f in dataclasses.fields(JobSettings)}
