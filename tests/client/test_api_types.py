"""The client's typed records match the service's single declarations (it cannot import them:
it is a pure HTTP client)."""

from __future__ import annotations

import typing

from client.api_types import EVENT_TYPES, EpochRecord
from core.metrics import metric_names
from core.store.events import EVENT_TYPES as STORED_EVENT_TYPES


def test_epoch_record_has_the_fields_of_core_metrics_in_order() -> None:
    assert tuple(typing.get_type_hints(EpochRecord)) == metric_names()


def test_event_types_are_the_stored_ones_and_progress() -> None:
    assert set(EVENT_TYPES) == {*STORED_EVENT_TYPES, "progress"}
