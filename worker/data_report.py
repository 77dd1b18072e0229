"""The training worker's report of the data sets in its DATA_DIR (issue 18): written at start-up
and every REPORT_EVERY_S (a report goes stale once its worker is gone), so that the API refuses
a data set that no worker has and none may download (core.store.worker_data), on any number of
hosts."""

from __future__ import annotations

import logging
import threading
import time

from core.settings import Settings
from core.store.db import session_scope
from core.store.worker_data import REPORT_EVERY_S, report_data
from core.trainer.layout import LAYOUTS, present

log = logging.getLogger(__name__)


def datasets_in(settings: Settings) -> list[str]:
    return [name for name in LAYOUTS if present(settings.data_dir, name)]


def report_once(settings: Settings, worker: str) -> None:
    with session_scope(settings.database_url) as session:
        report_data(
            session=session,
            worker=worker,
            datasets=datasets_in(settings),
            may_download=settings.download_datasets,
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
