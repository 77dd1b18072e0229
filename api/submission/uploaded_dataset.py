"""A job's `dataset` when it names an uploaded data set (issue 19): the owner's, and ready.

POST /jobs, sweeps and POST /jobs/estimate all check it here; its fingerprint, class and image
counts go into the job's stored spec (`resolve_uploaded`), where the record, the compute budget,
the estimate and the workers' memory admission read them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from api.errors import FieldError, invalid
from core.architecture import DATASET_CLASSES
from core.store.dataset_tables import DatasetStatus
from core.store.datasets import get_dataset
from core.store.tables import Owner


@dataclass(frozen=True)
class UploadedFacts:
    classes: int
    train_images: int
    test_images: int
    fingerprint: str

    def spec_fields(self) -> dict[str, Any]:
        """What the job's stored spec records of the data set (core.spec.resolved): what it
        trains on, and the counts that the budget, the estimate and admission go by."""
        return {
            "dataset_fingerprint": self.fingerprint,
            "dataset_classes": self.classes,
            "dataset_train_images": self.train_images,
            "dataset_test_images": self.test_images,
        }


def resolve_uploaded(*, session: Session, owner: Owner, spec: dict[str, Any]) -> int | None:
    """Check the spec's `dataset` (check_uploaded) and write an uploaded data set's facts into
    the spec; the class count of an uploaded one, None for a built-in one."""
    uploaded = check_uploaded(session=session, owner=owner, spec=spec)
    if uploaded is None:
        return None
    spec.update(uploaded.spec_fields())
    return uploaded.classes


def check_uploaded(*, session: Session, owner: Owner, spec: dict[str, Any]) -> UploadedFacts | None:
    """None for a built-in data set (or a value that is no id: the spec's own check names it);
    a 422 on `dataset` for an id that is not one of the owner's ready data sets."""
    name = spec["dataset"]
    if name in DATASET_CLASSES:
        return None
    try:
        dataset_id = uuid.UUID(str(name))
    except ValueError:
        return None
    dataset = get_dataset(session=session, owner_id=owner.id, dataset_id=dataset_id)
    if dataset is None:
        raise invalid([FieldError.body("dataset", f"no data set {dataset_id} of yours")])
    if dataset.status != DatasetStatus.ready.value:
        why = f": {dataset.error}" if dataset.error else "; wait until it is ready"
        reason = f"data set {dataset_id} is {dataset.status}{why}"
        raise invalid([FieldError.body("dataset", reason)])
    assert dataset.class_names is not None and dataset.fingerprint is not None
    return UploadedFacts(
        classes=len(dataset.class_names),
        train_images=int(dataset.train_images or 0),
        test_images=int(dataset.test_images or 0),
        fingerprint=dataset.fingerprint,
    )
