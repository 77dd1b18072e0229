"""A job's `dataset` when it names an uploaded data set (issue 19): the owner's, and ready.

POST /jobs and POST /jobs/estimate both check it here, and take the class count (and, for the
estimate, the image count) from it.
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
