"""What the worker's main process tells a training process: one JSON document on its stdin.

The settings travel whole, as the main process holds them (its own, or a test's), so the
training process never re-reads them from an environment the parent would have to write out.
Torch-free: the main process builds it, the training process reads it before torch loads.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from core.settings import Settings


@dataclass(frozen=True)
class ChildOrder:
    job_id: uuid.UUID
    lease_id: uuid.UUID
    parent_pid: int  # the supervising worker: the training process refuses to outlive it
    settings: Settings
    scratch: Path | None = None  # a folder for the job's files, removed by the parent

    def to_json(self) -> str:
        return json.dumps(
            {
                "job_id": str(self.job_id),
                "lease_id": str(self.lease_id),
                "parent_pid": self.parent_pid,
                "scratch": None if self.scratch is None else str(self.scratch),
                "settings": {
                    name: _plain(value) for name, value in self.settings.model_dump().items()
                },
            }
        )

    @classmethod
    def from_json(cls, text: str) -> ChildOrder:
        document = json.loads(text)
        return cls(
            job_id=uuid.UUID(document["job_id"]),
            lease_id=uuid.UUID(document["lease_id"]),
            parent_pid=int(document["parent_pid"]),
            scratch=None if document["scratch"] is None else Path(document["scratch"]),
            # Validated, not read from the environment: exactly the parent's values.
            settings=Settings.model_validate(document["settings"]),
        )


def _plain(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return value.get_secret_value()  # a pipe to our own child, never a log
    if isinstance(value, Path):
        return str(value)
    return value
