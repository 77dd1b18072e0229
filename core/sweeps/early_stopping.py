"""Early stopping in sweeps (issue 20): asynchronous successive halving (ASHA) and the median
rule, on the validation error, decided by Optuna's pruners.

Optuna keeps a study's trials in its own storage and asks a pruner about one trial at a time.
The service keeps its runs as jobs with per-epoch records instead, so each decision builds an
in-memory study from the sweep's stored records: one trial per child, its validation error (a
fraction) per epoch as the intermediate values, and asks `SuccessiveHalvingPruner` or
`MedianPruner` about the child that just finished an epoch. The decision depends only on the
database, so it is the same on every worker and after a restart.

ASHA (Li et al. 2020) decides at rungs, epochs `grace_epochs x reduction_factor^k` (k < `rungs`):
a child reaching a rung continues only if its error there is among the best 1/reduction_factor
of the errors every child recorded at that rung so far (Optuna's `SuccessiveHalvingPruner`,
which, while fewer than reduction_factor children have reached a rung, keeps only the best
so far). Optuna's pruner records each trial's error at a rung in the trial's system attribute
`completed_rung_<k>` as it decides; the replayed trials carry theirs from the stored records.

The median rule (Golovin et al. 2017, Optuna's `MedianPruner`) stops a child after the grace
period when its best error so far is worse than the median, at the same epoch, of the children
that ran to the end (at least `min_trials` of them).

Under a step schedule early epochs predict little: the default grace period runs one epoch past
the first learning-rate drop. The paper's presets never stop early.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

RULES = ("asha", "median")
METRICS = ("validation_error", "test_error")


@dataclass(frozen=True)
class EarlyStopping:
    """A sweep's `early_stopping` (validated by the API)."""

    rule: str  # "asha" or "median"
    grace_epochs: int | None = None  # epochs before any stop; None: past the first lr drop
    reduction_factor: int = 3  # ASHA: 1 in this many continues at each rung
    rungs: int | None = None  # ASHA: decisions at most; None: every rung before the last epoch
    min_trials: int = 1  # median: children run to the end before any is stopped
    metric: str = "validation_error"

    @classmethod
    def from_request(cls, values: dict[str, Any]) -> EarlyStopping:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in values.items() if k in known})


@dataclass
class Run:
    """One child as the pruners see it: validation error (a fraction) by epoch and how it ended."""

    key: str
    errors: dict[int, float] = field(default_factory=dict)
    state: str = "running"  # running, complete, stopped, failed


@dataclass(frozen=True)
class Decision:
    """Why a child stops: the rule, the epoch and (ASHA) the rung it reached."""

    rule: str
    epoch: int
    rung: int | None
    rung_epoch: int | None
    validation_error: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "epoch": self.epoch,
            "rung": self.rung,
            "rung_epoch": self.rung_epoch,
            "validation_error": round(self.validation_error, 6),
            "reason": self.reason(),
        }

    def reason(self) -> str:
        if self.rule == "asha":
            return (
                f"ASHA: validation error {100 * self.validation_error:.2f} % at epoch {self.epoch} "
                f"(rung {self.rung}) was not among the best of the runs that reached it"
            )
        return (
            f"median rule: best validation error {100 * self.validation_error:.2f} % by epoch "
            f"{self.epoch} was worse than the median of the finished runs"
        )


def default_grace(spec: dict[str, Any]) -> int:
    """One epoch past the first learning-rate drop of the child's schedule (half the epochs
    under cosine, which has none)."""
    epochs = int(spec["epochs"])
    schedule = spec.get("lr_schedule", "multistep")
    if schedule == "multistep":
        first = float((spec.get("lr_milestones") or [0.5])[0])
        return max(1, math.floor(first * epochs) + 1)
    if schedule == "step":
        return int(spec.get("step_epochs", 20)) + 1
    return max(1, epochs // 2)


def grace_of(config: EarlyStopping, spec: dict[str, Any]) -> int:
    return config.grace_epochs if config.grace_epochs is not None else default_grace(spec)


def rung_epochs(config: EarlyStopping, *, grace: int, epochs: int) -> list[int]:
    """ASHA's decision epochs, before the last epoch (stopping at the end saves nothing)."""
    found: list[int] = []
    epoch = grace
    while epoch < epochs and (config.rungs is None or len(found) < config.rungs):
        found.append(epoch)
        epoch *= config.reduction_factor
    return found


def _rung_key(rung: int) -> str:
    # Optuna's own name for a trial's value at a rung (optuna.pruners._successive_halving);
    # tests/core/test_early_stopping.py pins the decisions that depend on it.
    return f"completed_rung_{rung}"


def decide(
    config: EarlyStopping, current: Run, others: list[Run], *, grace: int, epochs: int
) -> Decision | None:
    """Whether `current`, which has just recorded its latest epoch, stops now."""
    import optuna
    from optuna.trial import TrialState, create_trial

    if not current.errors:
        return None
    epoch = max(current.errors)
    if epoch >= epochs:
        return None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    states = {
        "running": TrialState.RUNNING,
        "complete": TrialState.COMPLETE,
        "stopped": TrialState.PRUNED,
        "failed": TrialState.FAIL,
    }
    rungs = rung_epochs(config, grace=grace, epochs=epochs) if config.rule == "asha" else []
    if config.rule == "asha":
        if epoch not in rungs:
            return None
        pruner: optuna.pruners.BasePruner = optuna.pruners.SuccessiveHalvingPruner(
            min_resource=grace, reduction_factor=config.reduction_factor
        )
    else:
        pruner = optuna.pruners.MedianPruner(
            n_startup_trials=config.min_trials, n_warmup_steps=grace, n_min_trials=1
        )
    study = optuna.create_study(direction="minimize", pruner=pruner)

    def add(run: Run, *, upto: int | None) -> None:
        values = {e: v for e, v in run.errors.items() if upto is None or e <= upto}
        reached = [r for r in rungs if r in values and (upto is None or r < upto)]
        state = states[run.state] if upto is None else TrialState.RUNNING
        if state == TrialState.COMPLETE and not values:
            state = TrialState.FAIL
        study.add_trial(
            create_trial(
                state=state,
                value=values[max(values)] if state == TrialState.COMPLETE else None,
                intermediate_values=values,
                system_attrs={_rung_key(k): values[r] for k, r in enumerate(reached)},
            )
        )

    for run in others:
        add(run, upto=None)
    add(current, upto=epoch)
    trial = study.get_trials(deepcopy=False)[-1]
    if not pruner.prune(study, trial):
        return None
    if config.rule == "asha":
        rung = rungs.index(epoch)
        return Decision("asha", epoch, rung, epoch, current.errors[epoch])
    best = min(v for e, v in current.errors.items() if e <= epoch)
    return Decision("median", epoch, None, None, best)
