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
    # An uploaded data set (issue 19), resolved from `dataset` (its id) when the job is
    # submitted, so the job's record says what it trains on and the budget, the estimate and
    # memory admission count its images and classes without reading the data set again.
    # Absent (None) for the built-in data sets.
    dataset_fingerprint: str | None = option(
        None,
        doc="an uploaded data set's fingerprint: the sha256 of its canonical arrays and labels",
    )
    dataset_classes: int | None = option(None, doc="an uploaded data set's class count")
    dataset_train_images: int | None = option(None, doc="an uploaded data set's training images")
    dataset_test_images: int | None = option(None, doc="an uploaded data set's test images")

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

    @property
    def num_classes(self) -> int:
        """The class count: an uploaded data set's as resolved at submission, else the
        built-in one's (CIFAR-10's 10 for a job stored before issue 19 recorded it)."""
        if self.dataset_classes is not None:
            return self.dataset_classes
        return super().num_classes

    def job_settings(self) -> dict[str, Any]:
        """The training settings a request may set (the trainer's share of the spec)."""
        return {s.name: getattr(self, s.name) for s in declared(JobSettings) if s.option.api}


_NAMES = frozenset(f.name for f in dataclasses.fields(ResolvedSpec))
# The uploaded data set's facts: written by the service at submission, never by a request.
DATASET_NAMES = frozenset(
    ("dataset_fingerprint", "dataset_classes", "dataset_train_images", "dataset_test_images")
)
# Stored spec fields that are not training settings (the service resolves them).
SERVICE_NAMES = _NAMES - {f.name for f in dataclasses.fields(JobSettings)}
