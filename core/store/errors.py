"""What the job store refuses, as exceptions the API turns into 4xx answers."""

from __future__ import annotations


class StoreError(Exception):
    """Base class: a request the store cannot honour."""


class JobNotFound(StoreError):
    pass


class JobStateConflict(StoreError):
    """The job is in a state that does not allow the operation (HTTP 409)."""


class QuotaExceeded(StoreError):
    """Too many queued or running jobs for one owner (HTTP 429)."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ComputeBudgetExceeded(QuotaExceeded):
    """The owner's queued and running work plus a submission exceeds the compute budget (429)."""

    def __init__(self, message: str, used_flops: float, budget_flops: float) -> None:
        super().__init__(message, retry_after_s=300)
        self.used_flops = used_flops
        self.budget_flops = budget_flops


class StorageQuotaExceeded(StoreError):
    """The owner's stored files (weights, checkpoints, ...) exceed the storage quota (HTTP 409)."""

    def __init__(self, message: str, used_bytes: int, limit_bytes: int) -> None:
        super().__init__(message)
        self.used_bytes = used_bytes
        self.limit_bytes = limit_bytes


class IdempotencyConflict(StoreError):
    """The idempotency key was used before with another request body (HTTP 422)."""
