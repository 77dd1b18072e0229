"""ASHA and the median rule (issue 20) against decisions computed by hand."""

from __future__ import annotations

import pytest

from core.sweeps.early_stopping import EarlyStopping, Run, decide, default_grace, rung_epochs

ASHA = EarlyStopping(rule="asha", grace_epochs=1, reduction_factor=3)
EPOCHS = 10  # rungs at epochs 1, 3 and 9

# Validation error (fractions) of six runs at epoch 1, and of the three that continue at epoch 3.
AT_1 = {"A": 0.50, "B": 0.40, "C": 0.60, "D": 0.30, "E": 0.45, "F": 0.55}
AT_3 = {"A": 0.35, "B": 0.38, "D": 0.20}

# The table gives the errors in % (100 times the fractions above).
# Each run reaches epoch 1 in this order and is judged against those before it. ASHA keeps a
# run when its error is at most the k-th smallest of the n errors recorded at the rung, itself
# included, with k = max(1, n // 3):
#   run  errors at the rung so far, sorted   n  k  k-th  its error  decision
#   A    50                                   1  1  50    50         continue
#   B    40 50                                2  1  40    40         continue
#   C    40 50 60                             3  1  40    60         stop
#   D    30 40 50 60                          4  1  30    30         continue
#   E    30 40 45 50 60                       5  1  30    45         stop
#   F    30 40 45 50 55 60                    6  2  40    55         stop
# At epoch 3 (rung 1), among A, B, D in that order:
#   A    35                                   1  1  35    35         continue
#   B    35 38                                2  1  35    38         stop
#   D    20 35 38                             3  1  20    20         continue
TABLE_RUNG_0 = {"A": False, "B": False, "C": True, "D": False, "E": True, "F": True}
TABLE_RUNG_1 = {"A": False, "B": True, "D": False}


def _runs(upto_1: list[str], upto_3: list[str]) -> dict[str, Run]:
    runs = {key: Run(key, {1: AT_1[key]}) for key in upto_1}
    for key in upto_3:
        runs[key].errors.update({2: AT_1[key] - 0.01, 3: AT_3[key]})
    return runs


def test_rungs_are_grace_times_powers_of_the_reduction_factor() -> None:
    assert rung_epochs(ASHA, grace=1, epochs=EPOCHS) == [1, 3, 9]
    assert rung_epochs(ASHA, grace=1, epochs=9) == [1, 3]  # never at the last epoch
    limited = EarlyStopping(rule="asha", grace_epochs=2, reduction_factor=2, rungs=2)
    assert rung_epochs(limited, grace=2, epochs=100) == [2, 4]


def test_asha_decisions_at_the_first_rung_match_the_table() -> None:
    order = list(AT_1)
    for index, key in enumerate(order):
        runs = _runs(order[: index + 1], [])
        others = [runs[k] for k in order[:index]]
        decision = decide(ASHA, runs[key], others, grace=1, epochs=EPOCHS)
        assert (decision is not None) == TABLE_RUNG_0[key], key
        if decision is not None:
            assert (decision.rung, decision.rung_epoch, decision.epoch) == (0, 1, 1)
            assert decision.validation_error == AT_1[key]
            assert "ASHA" in decision.reason()


def test_asha_decisions_at_the_second_rung_match_the_table() -> None:
    survivors = ["A", "B", "D"]
    stopped = [Run(k, {1: AT_1[k]}, state="stopped") for k in ("C", "E", "F")]
    for index, key in enumerate(survivors):
        runs = _runs(list(AT_1), survivors[: index + 1])
        # The ones not yet at epoch 3 are at epoch 2: no rung, and their rung-0 errors count.
        others = [runs[k] for k in survivors if k != key] + stopped
        for other in others:
            if other.key in survivors[index + 1 :]:
                other.errors = {1: AT_1[other.key], 2: AT_1[other.key] - 0.01}
        decision = decide(ASHA, runs[key], others, grace=1, epochs=EPOCHS)
        assert (decision is not None) == TABLE_RUNG_1[key], key
        if decision is not None:
            assert (decision.rung, decision.rung_epoch) == (1, 3)


def test_asha_decides_only_at_rungs_and_never_at_the_last_epoch() -> None:
    best = Run("best", {1: 0.1})
    worse = Run("worse", {1: 0.9, 2: 0.95})
    assert decide(ASHA, worse, [best], grace=1, epochs=EPOCHS) is None  # epoch 2: no rung
    worse.errors[3] = 0.99
    best.errors.update({2: 0.09, 3: 0.08})
    assert decide(ASHA, worse, [best], grace=1, epochs=EPOCHS) is not None  # rung 1
    last = Run("last", {1: 0.1, 2: 0.9, 3: 0.99})
    assert decide(ASHA, last, [best], grace=1, epochs=3) is None
    one_rung = EarlyStopping(rule="asha", grace_epochs=1, reduction_factor=3, rungs=1)
    assert decide(one_rung, worse, [best], grace=1, epochs=EPOCHS) is None


def test_median_rule_compares_the_best_so_far_with_finished_runs() -> None:
    median = EarlyStopping(rule="median", grace_epochs=2)
    finished = [
        Run("X", {1: 0.5, 2: 0.4, 3: 0.3, 4: 0.2}, state="complete"),
        Run("Y", {1: 0.6, 2: 0.5, 3: 0.4, 4: 0.3}, state="complete"),
    ]
    behind = Run("Z", {1: 0.55, 2: 0.48})  # best 0.48 > median at epoch 2 of 0.40 and 0.50 (0.45)
    ahead = Run("W", {1: 0.42, 2: 0.44})  # best 0.42 < 0.45
    assert decide(median, Run("Z", {1: 0.55}), finished, grace=2, epochs=4) is None  # grace
    stop = decide(median, behind, finished, grace=2, epochs=4)
    assert stop is not None and stop.validation_error == 0.48 and stop.rung is None
    assert decide(median, ahead, finished, grace=2, epochs=4) is None
    running_only = [Run(r.key, r.errors, state="running") for r in finished]
    assert decide(median, behind, running_only, grace=2, epochs=4) is None  # none finished
    needs_three = EarlyStopping(rule="median", grace_epochs=2, min_trials=3)
    assert decide(needs_three, behind, finished, grace=2, epochs=4) is None


@pytest.mark.parametrize(
    ("spec", "grace"),
    [
        ({"epochs": 164}, 83),  # multistep: /10 at epoch 82
        ({"epochs": 30, "lr_schedule": "step", "step_epochs": 20}, 21),
        ({"epochs": 30, "lr_schedule": "cosine"}, 15),
        ({"epochs": 20, "lr_milestones": [0.25, 0.75]}, 6),
    ],
)
def test_default_grace_runs_past_the_first_learning_rate_drop(
    spec: dict[str, object], grace: int
) -> None:
    assert default_grace(spec) == grace
