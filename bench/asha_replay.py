"""ASHA's decisions replayed over a finished full search's stored epoch records (issue 20).

    .venv/bin/python bench/asha_replay.py DATABASE_URL SWEEP_ID [--grace 1] [--reduction 3]

On the CPU a run with a fixed seed repeats exactly, and stopping a run changes none of its
earlier epochs, so the epochs a child of an ASHA sweep trains before it is stopped are the first
epochs of the same child in the full search. This applies the service's own rule
(`core.sweeps.early_stopping.decide`, the function the worker calls after each epoch) to the
full search's records, children one at a time in the sweep's order as one worker runs them:
the epochs ASHA would train, and the configuration it selects on validation with its test error.
`bench/sweep_early_stopping.py` runs the ASHA sweep itself for comparison.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def replay(url: str, sweep_id: uuid.UUID, grace: int, reduction: int) -> dict[str, object]:
    from core.store.db import session_scope
    from core.store.early_stop import validation_errors
    from core.store.sweeps import children_histories, sweep_children
    from core.sweeps.early_stopping import EarlyStopping, Run, decide

    config = EarlyStopping(rule="asha", grace_epochs=grace, reduction_factor=reduction)
    with session_scope(url) as session:
        children = sweep_children(session=session, sweep_id=sweep_id)
        histories = children_histories(session=session, job_ids=[c.id for c in children])
        epochs = int(children[0].spec["epochs"])
        rows = [
            (
                child.sweep_point,
                validation_errors(histories[child.id]),
                {r.epoch: 1 - r.test_accuracy for r in histories[child.id]},
            )
            for child in children
        ]
    done: list[Run] = []
    trained = 0
    finished: list[tuple[float, float, object]] = []
    for index, (point, validation, test) in enumerate(rows):
        run = Run(str(index), {})
        for epoch in range(1, epochs + 1):
            run.errors[epoch] = validation[epoch]
            if decide(config, run, done, grace=grace, epochs=epochs) is not None:
                run.state = "stopped"
                break
        trained += len(run.errors)
        if run.state != "stopped":
            run.state = "complete"
            finished.append((validation[epochs], test[epochs], point))
        done.append(run)
    best = min(finished, key=lambda row: row[0])
    return {
        "epochs": trained,
        "full_epochs": epochs * len(rows),
        "finished": len(finished),
        "selected": best[2],
        "validation_error_pct": round(100 * best[0], 2),
        "test_error_pct": round(100 * best[1], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("database_url")
    parser.add_argument("sweep_id", type=uuid.UUID)
    parser.add_argument("--grace", type=int, default=1)
    parser.add_argument("--reduction", type=int, default=3)
    args = parser.parse_args()
    print(replay(args.database_url, args.sweep_id, args.grace, args.reduction))


if __name__ == "__main__":
    main()
