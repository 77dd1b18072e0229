"""Time the training process spends on each end-of-epoch checkpoint (issue 13), on PostgreSQL.

    .venv/bin/python -m bench.checkpoint_write --depths 20 56 --epochs 10 --epoch-s 1.0

`before`: serialised and written synchronously, the row merged through the ORM (the old blob
read first), as until issue 13. `after`: `JobRun.on_checkpoint` as the worker runs it (serialised,
then handed to the background writer after the previous write landed). Between checkpoints the
process sleeps `--epoch-s` in place of an epoch's training. The state is a ResNet's weights and
SGD momentum after one step (about 7 MB for ResNet-56). A fresh database on the local server.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
import uuid
from typing import Any

import torch

from core.settings import Settings
from core.store.db import session_scope
from core.store.lifecycle import _hold
from core.store.tables import Checkpoint
from core.store.types import utcnow
from core.trainer.models import build_model
from testkit.builders import claim, make_settings, new_job
from testkit.services import fresh_postgres_database
from worker.training_process.job_run import JobRun, to_bytes
from worker.training_process.lease import Lease


def state(depth: int, epoch: int) -> dict[str, Any]:
    model = build_model("resnet", depth, 10)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.randn(2, 3, 32, 32)).sum().backward()
    optimizer.step()
    return {
        "epoch": epoch,
        "batch": 0,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
    }


def before(settings: Settings, job_id: uuid.UUID, lease_id: uuid.UUID, value: Any) -> None:
    data = to_bytes(value)
    with session_scope(settings.database_url) as session:
        _hold(session, job_id, lease_id, {"run_seconds": 1.0})
        session.merge(
            Checkpoint(
                job_id=job_id,
                epoch=value["epoch"],
                batch=0,
                data=data,
                size=len(data),
                saved_at=utcnow(),
            )
        )
        session.commit()


def run(settings: Settings, depth: int, epochs: int, epoch_s: float) -> dict[str, float]:
    figures: dict[str, float] = {}
    for mode in ("before", "after"):
        job_id = new_job(settings.database_url)
        lease_id = claim(settings.database_url, job_id).lease_id
        job = JobRun(
            settings,
            job_id,
            Lease(settings, job_id, lease_id),
            earlier_run_seconds=0.0,
            shutdown=threading.Event(),
        )
        times = []
        for epoch in range(1, epochs + 1):
            value = state(depth, epoch)
            started = time.perf_counter()
            if mode == "before":
                before(settings, job_id, lease_id, value)
            else:
                job.on_checkpoint(value)
            times.append(time.perf_counter() - started)
            time.sleep(epoch_s)
        job.finish_writes()
        figures[mode] = statistics.median(times[1:])  # the first pays connection set-up
        figures["size_mb"] = len(to_bytes(value)) / 1e6
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--depths", type=int, nargs="+", default=[20, 56])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--epoch-s", type=float, default=1.0)
    args = parser.parse_args()
    from core.store.migrate import upgrade

    with fresh_postgres_database() as url:
        upgrade(url)
        settings = make_settings(url, data_dir=__import__("pathlib").Path("/tmp"))
        for depth in args.depths:
            f = run(settings, depth, args.epochs, args.epoch_s)
            print(
                f"ResNet-{depth}: checkpoint {f['size_mb']:.1f} MB; training process per epoch: "
                f"before {f['before'] * 1000:.1f} ms, after {f['after'] * 1000:.1f} ms (median)"
            )


if __name__ == "__main__":
    main()
