"""The latest progress inside a running job's epoch, for `GET /jobs/{id}` (issue 8)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from api.schemas.views import JobView
from core.messaging.event_channel import read_progress
from core.settings import Settings
from core.store.tables import JobStatus
from core.store.types import utcnow


def with_progress(view: JobView, settings: Settings, session: Session) -> JobView:
    """The view with the training process's latest report, its ETAs counted down to now."""
    if view.status != JobStatus.running:
        return view
    now = utcnow()
    data = read_progress(settings, session, view.id, now=now)
    if data is None:
        return view
    try:
        reported = datetime.fromisoformat(str(data["at"]))
        age = max(0.0, (now - reported).total_seconds())
    except (KeyError, ValueError):
        return view
    view.progress = view.progress.model_copy(
        update={
            "epoch": data.get("epoch"),
            "batch": data.get("batch"),
            "batches_per_epoch": data.get("batches_per_epoch"),
            "images_per_second": data.get("images_per_second"),
            "epoch_eta_seconds": _left(data.get("epoch_eta_seconds"), age),
            "eta_seconds": _left(data.get("eta_seconds"), age),
            "reported_at": reported,
        }
    )
    return view


def _left(eta: object, age: float) -> float | None:
    if not isinstance(eta, int | float):
        return None
    return round(max(0.0, float(eta) - age), 1)
