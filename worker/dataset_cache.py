"""A worker's local copies of uploaded data sets, by fingerprint (issue 19): downloaded from the
store once per machine, checked against the stored sha256, and shared by every job after.

A copy is written under a temporary name and renamed into place, so a reader never sees half
a file and two jobs fetching at once cost a second download at worst.
"""

from __future__ import annotations

import logging
import os
import tempfile
import uuid
from pathlib import Path

from core.settings import Settings
from core.store.dataset_files import read_file
from core.store.datasets import TrainingData, training_data
from worker.store_calls import store_call

log = logging.getLogger(__name__)


def cache_path(settings: Settings, fingerprint: str) -> Path:
    return Path(settings.dataset_cache_dir) / f"{fingerprint}.npz"


def cached_dataset(
    settings: Settings, *, job_id: uuid.UUID, dataset_id: uuid.UUID
) -> tuple[Path, TrainingData]:
    """The local canonical file of the data set the job trains on, fetched when this machine
    has no copy yet; DatasetNotReady when it is not ready (or not the job owner's)."""
    found = store_call(
        settings,
        lambda session: training_data(session=session, job_id=job_id, dataset_id=dataset_id),
        what=f"read data set {dataset_id}",
    )
    path = cache_path(settings, found.fingerprint)
    if path.is_file() and path.stat().st_size == found.size:
        return path, found
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(prefix=f".{found.fingerprint}-", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as target:
            # iter_file checks the size and sha256 once every chunk has been read.
            store_call(
                settings,
                lambda session: read_file(session=session, file_id=found.file_id, target=target),
                what=f"download data set {dataset_id}",
            )
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    log.info("data set %s (%s) cached at %s", dataset_id, found.fingerprint[:12], path)
    return path, found
