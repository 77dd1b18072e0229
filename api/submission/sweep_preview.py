"""`POST /sweeps?dry_run=true`: expand and check a sweep as its submission does, estimate it, and
create nothing (issue 18)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from api.schemas.sweep_preview import DeviceTotal, PreviewChild, SweepPreview
from api.schemas.sweeps import SweepRequest
from api.submission.sweep_checks import checked_sweep
from core.estimate import estimate_times, training_work
from core.settings import Settings
from core.store.artifacts import throughput_measurements
from core.store.tables import Owner


def preview_sweep(
    session: Session, settings: Settings, owner: Owner, request: SweepRequest
) -> SweepPreview:
    """The children the sweep would make, each checked as POST /jobs checks it, and their total
    cost; the same 422s as the sweep itself, and no row written."""
    checked, varying = checked_sweep(session, settings, owner, request)
    measured = throughput_measurements(session=session)
    totals: dict[tuple[str, str], DeviceTotal] = {}
    for child in checked:
        for time in estimate_times(child.spec, measured):
            key = (time["device"], time["precision"])
            total = totals.setdefault(
                key,
                DeviceTotal(device=key[0], precision=key[1], seconds=0.0, children_estimated=0),
            )
            total.seconds += time["seconds"]
            total.children_estimated += 1
    return SweepPreview(
        varying=varying,
        count=len(checked),
        children=[PreviewChild(point=c.point, spec=c.spec) for c in checked],
        training_flops=sum(training_work(c.spec) for c in checked),
        estimates=list(totals.values()),
    )
