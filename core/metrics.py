"""One epoch's metrics record, declared once (torch-free).

The trainer produces it (core/trainer/fit.py), the store keeps one row per record
(`EpochRecord` in core/store/tables.py, checked against this by a test), and the API's
`EpochMetrics` response model and the worker's copy are derived from `metric_fields()`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

_REQUIRED: Any = dataclasses.MISSING


def _field(doc: str, default: Any = _REQUIRED) -> Any:
    return dataclasses.field(default=default, metadata={"doc": doc})


@dataclass(frozen=True)
class EpochMetrics:
    epoch: int = _field("1-based")
    train_loss: float = _field("mean cross-entropy over the epoch's (augmented) training batches")
    train_accuracy: float = _field(
        "a fraction, 0 to 1, on the augmented training batches in training mode"
    )
    test_loss: float = _field("mean cross-entropy on the test set")
    test_accuracy: float = _field(
        "a fraction, 0 to 1, on the test set (the dashboard and crs show the test error, "
        "100 x (1 - test_accuracy), in %)"
    )
    learning_rate: float = _field("at the epoch's end")
    seconds: float = _field("wall time of the epoch, evaluation included")
    images_per_second: float = _field("training images / training time (evaluation excluded)")
    # Issue 20: on the held-out training images (`validation_images`); None when none are.
    validation_loss: float | None = _field("mean cross-entropy on the validation split", None)
    validation_accuracy: float | None = _field("0 to 1, on the validation split", None)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> EpochMetrics:
        # A record stored before a field existed lacks it (a resumed checkpoint's history).
        return cls(**{name: values[name] for name in metric_names() if name in values})


def metric_fields() -> tuple[dataclasses.Field[Any], ...]:
    """The record's fields in order; each has its meaning in `metadata["doc"]`."""
    return dataclasses.fields(EpochMetrics)


def metric_names() -> tuple[str, ...]:
    return tuple(f.name for f in metric_fields())
