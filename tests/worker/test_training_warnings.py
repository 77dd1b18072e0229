"""The divergence watchdog end to end in the training process (issue 22): a blow-up that stays
finite is stored as `warning` events after the epoch that showed it, and the job goes on."""

from __future__ import annotations

from core.settings import Settings
from core.store.db import session_scope
from core.store.events import list_events
from core.store.tables import JobStatus
from core.vocabulary import WarningCode
from testkit.builders import claim, new_job
from testkit.builders import train_in_process as train


def test_train_records_watchdog_warnings_and_succeeds_when_loss_blows_up(
    settings: Settings,
) -> None:
    # lr 5 on the generated images (seed 0, CPU: repeatable): first epoch training loss 34,
    # test loss 8.7e6, both finite; the second epoch is back near chance.
    job_id = new_job(settings.database_url, learning_rate=5.0, epochs=2)
    held = claim(settings.database_url, job_id)
    assert train(job_id, held.lease_id, settings) == JobStatus.succeeded

    with session_scope(settings.database_url) as session:
        events = list_events(session=session, job_id=job_id)
        kinds = [(e.type, e.data.get("code") or e.data.get("epoch")) for e in events]
        warnings = [e.data for e in events if e.type == "warning"]
    assert {w["code"] for w in warnings} == {
        WarningCode.loss_above_chance.value,
        WarningCode.test_loss_blowup.value,
    }, kinds
    assert all(w["epoch"] == 1 and "learning_rate" in w["message"] for w in warnings), warnings
    # Each once, right after the epoch that showed it and before the next one.
    first_epoch = kinds.index(("epoch", 1))
    assert [k[0] for k in kinds[first_epoch + 1 : first_epoch + 3]] == ["warning", "warning"]
    assert ("epoch", 2) in kinds[first_epoch + 3 :], kinds
