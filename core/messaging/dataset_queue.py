"""What the API (producer) and the workers agree on about processing uploads: a queue of its
own, so that a long conversion never waits behind training nor holds up a training slot."""

from __future__ import annotations

PROCESS_TASK = "worker.process_dataset"  # sent by name: the API never imports the worker
DATASET_QUEUE = "datasets"
# One or more per deployment, each converting one upload at a time (a CIFAR-10-sized archive
# takes a few hundred MB of memory while it is read).
DATASET_WORKER_ARGS = (
    "-A", "worker.app", "worker", "--pool=threads", "-Q", DATASET_QUEUE, "--concurrency=1",
)  # fmt: skip
