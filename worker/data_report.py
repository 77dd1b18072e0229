"""The training worker's report of the data sets in its DATA_DIR (issue 18): written at start-up
and every REPORT_EVERY_S (a report goes stale once its worker is gone), so that the API refuses
a data set that no worker has and none may download (core.store.worker_data), on any number of
hosts."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from core.cifar_layout import LAYOUTS, missing, present
from core.settings import Settings
from core.store.db import session_scope
from core.store.worker_data import REPORT_EVERY_S, report_data
from core.trainer.cifar_pickle import read_pickle

log = logging.getLogger(__name__)


def datasets_in(settings: Settings) -> list[str]:
    return [name for name in LAYOUTS if present(settings.data_dir, name)]


# Training images by (file, size, mtime): each file is read once per change, not every minute.
_counted: dict[tuple[str, int, float], int] = {}


def train_images(settings: Settings) -> dict[str, int]:
    """Training images of each extracted data set in DATA_DIR (what the estimates scale by)."""
    found: dict[str, int] = {}
    for name, layout in LAYOUTS.items():
        if missing(Path(settings.data_dir), name):
            continue
        try:
            total = 0
            for file in layout.train_files:
                path = Path(settings.data_dir) / layout.folder / file
                stat = path.stat()
                key = (str(path), stat.st_size, stat.st_mtime)
                if key not in _counted:
                    _counted[key] = len(read_pickle(path).get(layout.label_key, []))
                total += _counted[key]
        except (OSError, ValueError) as error:  # the training process names it, with the job
            log.warning("cannot count the images of %s: %s", name, error)
            continue
        found[name] = total
    return found


def report_once(settings: Settings, worker: str) -> None:
    with session_scope(settings.database_url) as session:
        report_data(
            session=session,
            worker=worker,
            datasets=datasets_in(settings),
            may_download=settings.download_datasets,
            train_images=train_images(settings),
        )


def _loop(settings: Settings, worker: str) -> None:
    while True:
        try:
            report_once(settings, worker)
        except Exception as error:  # the database away: the next round tries again
            log.warning("could not report this worker's data sets: %r", error)
        time.sleep(REPORT_EVERY_S)


def start(settings: Settings, worker: str) -> None:
    """Report now and every REPORT_EVERY_S in a daemon thread."""
    found = datasets_in(settings)
    log.info(
        "data sets in %s: %s; downloads %s",
        settings.data_dir,
        ", ".join(found) or "none",
        "on" if settings.download_datasets else "off",
    )
    threading.Thread(target=_loop, args=(settings, worker), name="data-report", daemon=True).start()
