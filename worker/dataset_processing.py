"""An uploaded data set's processing (issue 19), called by the `datasets` queue's task: the
upload read from the store, checked and converted (core.datasets), the canonical file stored
and the data set marked ready, or marked failed with the member or field at fault.

Plain functions over a Settings, so that tests call them directly; no torch.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
import uuid
from pathlib import Path

from core.datasets.canonical import Canonical, fingerprint, save
from core.datasets.errors import DatasetRejected
from core.datasets.process import process_upload
from core.datasets.samples import sample_images
from core.settings import Settings
from core.store.dataset_events import record_progress
from core.store.dataset_files import read_file
from core.store.dataset_tables import DatasetStatus
from core.store.datasets import Summary, mark_failed, mark_ready, pending_upload
from worker.dataset_cache import cache_path
from worker.store_calls import store_call

log = logging.getLogger(__name__)

PROGRESS_EVERY_S = 1.0  # at most one progress write a second


def summary_of(data: Canonical, print_: str) -> Summary:
    counts = data.class_counts()
    return Summary(
        fingerprint=print_,
        format=str(data.info.get("format", "unknown")),
        train_images=int(data.y_train.size),
        test_images=int(data.y_test.size),
        class_names=list(data.class_names),
        class_counts=counts,
        info=data.info,
        samples=sample_images(data),
    )


def process_dataset(dataset_id: uuid.UUID, settings: Settings) -> str | None:
    """Process one upload; the status written ("ready", "failed"), None when there was nothing
    to do (already processed by an earlier delivery, or deleted)."""
    found = store_call(
        settings,
        lambda session: pending_upload(session=session, dataset_id=dataset_id),
        what=f"read data set {dataset_id}",
    )
    if found is None:
        log.info("data set %s: not waiting for processing; nothing to do", dataset_id)
        return None
    upload_id, test_fraction, seed = found.upload_id, found.test_fraction, found.seed
    scratch = Path(settings.dataset_cache_dir) / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f"process-{dataset_id}-", dir=scratch))
    try:
        upload = folder / "upload"
        with upload.open("wb") as target:
            store_call(
                settings,
                lambda session: read_file(session=session, file_id=upload_id, target=target),
                what=f"read the upload of data set {dataset_id}",
            )
        started = time.monotonic()
        last = [started]

        def progress(fraction: float) -> None:
            now = time.monotonic()
            if now - last[0] >= PROGRESS_EVERY_S:
                last[0] = now
                store_call(
                    settings,
                    lambda session: record_progress(
                        session=session, dataset_id=dataset_id, progress=fraction * 0.95
                    ),
                    what=f"record data set {dataset_id}'s progress",
                )

        try:
            data = process_upload(upload, test_fraction=test_fraction, seed=seed, progress=progress)
        except DatasetRejected as refused:
            log.info("data set %s refused: %s", dataset_id, refused)
            return _fail(settings, dataset_id, refused.where, refused.reason)
        except MemoryError:
            return _fail(settings, dataset_id, "archive", "too large to convert on this service")
        print_ = fingerprint(data)
        canonical = folder / "canonical.npz"
        save(data, canonical)
        summary = summary_of(data, print_)
        del data
        with canonical.open("rb") as source:
            done = store_call(
                settings,
                lambda session: mark_ready(
                    session=session, dataset_id=dataset_id, canonical=source, summary=summary
                ),
                what=f"store data set {dataset_id}",
            )
        if done is not None:
            # This worker has it now: no download when it trains on it.
            cached = cache_path(settings, print_)
            cached.parent.mkdir(parents=True, exist_ok=True)
            canonical.replace(cached)
        log.info(
            "data set %s ready in %.1f s: %d + %d images, %d classes, fingerprint %s",
            dataset_id,
            time.monotonic() - started,
            summary.train_images,
            summary.test_images,
            len(summary.class_names),
            print_[:12],
        )
        return DatasetStatus.ready.value
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _fail(settings: Settings, dataset_id: uuid.UUID, where: str, reason: str) -> str:
    store_call(
        settings,
        lambda session: mark_failed(
            session=session, dataset_id=dataset_id, where=where, reason=reason
        ),
        what=f"mark data set {dataset_id} failed",
    )
    return DatasetStatus.failed.value
