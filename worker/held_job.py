"""A job this worker holds under a lease, and every store call the worker makes about it.

The supervisor (in the worker's main process) and the training process both talk to the store
about a held job through one `HeldJob`: claim it, renew its lease, save its progress, and end it
or hand it back. Each call runs in a session of its own (`worker.store_calls`) and names the
lease, so nothing is written once the lease is gone (the store raises LeaseLost). Torch-free:
the supervisor imports it, and the training process uses it before torch loads.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from core.settings import Settings
from core.store.artifacts import ArtifactFile, save_artifacts
from core.store.attempts import record_attempt
from core.store.early_stop import early_stop_check
from core.store.held import JobState, JobToTrain, epochs_done, held_job, job_state
from core.store.lifecycle import (
    Claim,
    ClaimRefused,
    LeaseLost,
    end_job,
    finish_job,
    heartbeat,
    load_checkpoint,
    release_job,
    save_progress,
)
from core.store.reaping import abandon_job
from core.store.scheduling import claim_next
from core.store.tables import JobStatus
from worker.store_calls import store_call

__all__ = ["Claim", "ClaimRefused", "HeldJob", "LeaseLost", "timeout_message"]

log = logging.getLogger(__name__)

T = TypeVar("T")


def timeout_message(
    limit_s: float, epochs_done: int | str, epochs: int | str, *, hung: bool = False
) -> str:
    """What the owner reads on a job that failed with `timeout`."""
    stalled = "; its training process had stopped making progress" if hung else ""
    return (
        f"ran longer than the {limit_s:g} s limit of this service ({epochs_done} of {epochs} "
        f"epochs done{stalled}); submit fewer epochs or a smaller network"
    )


@dataclass(frozen=True)
class HeldJob:
    """One job under one lease. `claim` is what the claim said (the supervisor's); None in the
    training process, which reads the job itself (`read`)."""

    settings: Settings
    job_id: uuid.UUID
    lease_id: uuid.UUID
    claim: Claim | None = None

    @classmethod
    def claim_next(
        cls, settings: Settings, *, worker: str, hint: uuid.UUID
    ) -> HeldJob | ClaimRefused:
        """Claim the queued job that fair share puts first (`hint`, the message's job id, is
        only a hint: core.store.scheduling)."""
        claim = store_call(
            settings,
            lambda session: claim_next(
                session=session,
                worker=worker,
                max_running_per_owner=settings.max_running_per_owner,
                hint=hint,
            ),
            what=f"claim a job (message for {hint})",
        )
        if isinstance(claim, ClaimRefused):
            return claim
        return cls(settings, claim.job_id, claim.lease_id, claim)

    def renew(self) -> bool:
        """Renew the lease (the training process's heartbeat); returns whether a cancel was
        requested, raises LeaseLost once the lease is gone."""
        return self._call(
            lambda session: heartbeat(session=session, job_id=self.job_id, lease_id=self.lease_id),
            what="heartbeat",
        )

    def renew_on_behalf(self) -> bool | None:
        """Renew the lease for a training process (the supervisor's, while it waits): None once
        the lease is lost (stop renewing), else whether a cancel was requested; False also when
        the database did not answer, without waiting for it: the next renewal tries again."""
        try:
            return self._call(
                lambda session: heartbeat(
                    session=session, job_id=self.job_id, lease_id=self.lease_id
                ),
                what="heartbeat",
                give_up_after_s=0.0,
            )
        except LeaseLost:
            return None  # a training process finds out itself
        except DBAPIError as error:
            log.debug("job %s: lease not renewed (%s); trying again", self.job_id, error)
            return False

    def read(self) -> JobToTrain | None:
        """The job's spec and history while this lease holds it; None once it does not."""
        return self._call(
            lambda session: held_job(session=session, job_id=self.job_id, lease_id=self.lease_id),
            what="read",
        )

    def load_checkpoint(self) -> bytes | None:
        return self._call(
            lambda session: load_checkpoint(session=session, job_id=self.job_id),
            what="load checkpoint",
        )

    def record_environment(self, environment: dict[str, Any]) -> bool:
        """Store this attempt's environment; False (nothing written) once the lease is gone."""
        return self._call(
            lambda session: record_attempt(
                session=session,
                job_id=self.job_id,
                lease_id=self.lease_id,
                environment=environment,
            ),
            what="record environment",
        )

    def save_progress(
        self,
        *,
        checkpoint: bytes,
        epoch: int,
        batch: int,
        run_seconds: float,
        metrics: dict[str, float] | None,
        warnings: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        self._call(
            lambda session: save_progress(
                session=session,
                job_id=self.job_id,
                lease_id=self.lease_id,
                checkpoint=checkpoint,
                epoch=epoch,
                batch=batch,
                run_seconds=run_seconds,
                metrics=metrics,
                warnings=warnings,
            ),
            what="save progress",
        )

    def early_stop(self, errors: dict[int, float]) -> dict[str, Any] | None:
        """Whether its sweep's rule stops the job now (issue 20): the decision, or None to go
        on. `errors`: its validation errors (%) by epoch, the latest perhaps not stored yet."""
        return self._call(
            lambda session: early_stop_check(session=session, job_id=self.job_id, errors=errors),
            what="early-stopping check",
        )

    def save_artifacts(self, files: dict[str, ArtifactFile]) -> None:
        self._call(
            lambda session: save_artifacts(
                session=session, job_id=self.job_id, lease_id=self.lease_id, files=files
            ),
            what="store artifacts",
        )

    def finish(self, *, weights: bytes, sha256: str, run_seconds: float, **results: Any) -> None:
        """Succeeded (or `stopped` early, issue 20): the weights and results
        (`core.store.lifecycle.finish_job`'s fields, `status` among them)."""
        self._call(
            lambda session: finish_job(
                session=session,
                job_id=self.job_id,
                lease_id=self.lease_id,
                weights=weights,
                sha256=sha256,
                run_seconds=run_seconds,
                **results,
            ),
            what="finish",
        )

    def end(
        self,
        status: JobStatus,
        *,
        error_code: str | None = None,
        error_message: str | None = None,
        run_seconds: float | None = None,
    ) -> None:
        """Failed or cancelled."""
        self._call(
            lambda session: end_job(
                session=session,
                job_id=self.job_id,
                lease_id=self.lease_id,
                status=status,
                error_code=error_code,
                error_message=error_message,
                run_seconds=run_seconds,
            ),
            what=f"end as {status.value}",
        )

    def time_out(self, *, run_seconds: float, epochs: int | str) -> None:
        """Failed `timeout`, ended from outside a training process that stopped making
        progress; the message names the epochs it had done."""

        def end(session: Session) -> None:
            done = epochs_done(session=session, job_id=self.job_id)
            end_job(
                session=session,
                job_id=self.job_id,
                lease_id=self.lease_id,
                status=JobStatus.failed,
                error_code="timeout",
                error_message=timeout_message(self.settings.job_timeout_s, done, epochs, hung=True),
                run_seconds=run_seconds,
            )

        self._call(end, what="end overdue")

    def hand_back(self, run_seconds: float) -> None:
        """Back to the queue (a graceful stop, not counted as an attempt)."""
        self._call(
            lambda session: release_job(
                session=session,
                job_id=self.job_id,
                lease_id=self.lease_id,
                run_seconds=run_seconds,
            ),
            what="hand back",
        )

    def abandon(self, reason: str) -> JobStatus | None:
        """Its holder died (`reason`): re-queued, or failed once out of attempts. Returns the
        new status; None when the job no longer ran under this lease."""
        return self._call(
            lambda session: abandon_job(
                session=session,
                job_id=self.job_id,
                lease_id=self.lease_id,
                max_attempts=self.settings.max_attempts,
                reason=reason,
            ),
            what="abandon",
        )

    def state(self) -> JobState | None:
        """Where the job stands (status, lease, message); None once it is deleted."""
        return self._call(
            lambda session: job_state(session=session, job_id=self.job_id), what="read state"
        )

    def _call(
        self, action: Callable[[Session], T], *, what: str, give_up_after_s: float | None = None
    ) -> T:
        return store_call(
            self.settings,
            action,
            what=f"{what} of job {self.job_id}",
            give_up_after_s=give_up_after_s,
        )
