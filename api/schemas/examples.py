"""Example bodies for the OpenAPI docs at /docs."""

from __future__ import annotations

from typing import Any

JOB_ID = "0b9f6e5e-6f0c-4c39-9b83-6a1f3e1d2c4b"
EARLIER_JOB_ID = "5d2c3b1a-7e8f-4a9b-8c7d-6e5f4a3b2c1d"

# The spec a job stores: every field, defaults filled (the examples below derive from it).
SPEC: dict[str, Any] = {
    "architecture": "resnet",
    "depth": 56,
    "shortcut": "A",
    "bn_momentum": 0.1,
    "bn_eps": 1e-05,
    "dataset": "cifar10",
    "augment": True,
    "augmentation": "crop_flip",
    "normalization": "per_channel",
    "validation_images": 0,
    "validation_seed": 0,
    "epochs": 164,
    "batch_size": 128,
    "learning_rate": 0.1,
    "momentum": 0.9,
    "nesterov": False,
    "weight_decay": 0.0001,
    "weight_decay_on": "all",
    "lr_schedule": "multistep",
    "step_epochs": 20,
    "step_gamma": 0.5,
    "lr_decay": 0.0,
    "train_mode": "end_to_end",
    "seed": 0,
    "compile": "auto",
    "init_from": None,
}

REQUESTS: dict[str, Any] = {
    "paper": {
        "summary": "ResNet-56 on CIFAR-10, the paper's recipe",
        "value": {"architecture": "resnet", "depth": 56, "epochs": 164},
    },
    "explicit": {
        "summary": "Every spec field given (these are the defaults)",
        # The job example's spec, every field at its default, with a deeper network.
        "value": {**SPEC, "depth": 110},
    },
    "frozen_base": {
        "summary": "A new CIFAR-100 classifier on a frozen ResNet-56 from an earlier job",
        "value": {
            "architecture": "resnet",
            "depth": 56,
            "epochs": 30,
            "dataset": "cifar100",
            "train_mode": "frozen_base",
            "init_from": EARLIER_JOB_ID,
        },
    },
}


EPOCH: dict[str, Any] = {
    "epoch": 82,
    "train_loss": 0.21,
    "train_accuracy": 0.927,
    "test_loss": 0.38,
    "test_accuracy": 0.889,
    "learning_rate": 0.01,
    "seconds": 14.2,
    "images_per_second": 3521.1,
    "validation_loss": None,  # no validation split (`validation_images` 0)
    "validation_accuracy": None,
}

LINKS: dict[str, Any] = {
    "self": f"/jobs/{JOB_ID}",
    "metrics": f"/jobs/{JOB_ID}/metrics",
    "weights": f"/jobs/{JOB_ID}/weights",
    "cancel": f"/jobs/{JOB_ID}/cancel",
}

GONE = (
    f"job {JOB_ID} was deleted by its owner at 2026-11-23 10:00:00 UTC; its weights and other "
    "files are gone (its record, results and metrics remain)"
)

RUNNING_JOB: dict[str, Any] = {
    "id": JOB_ID,
    "status": "running",
    "spec": SPEC,
    "progress": {"epochs_done": 82, "epochs": 164, "fraction": 0.5},
    "latest_metrics": EPOCH,
    "final_test_accuracy": None,
    "final_test_loss": None,
    "best_on_test_set": None,
    "results": None,
    "error": None,
    "attempts": 1,
    "cancel_requested": False,
    "created_at": "2026-11-22T09:00:00.000000Z",
    "started_at": "2026-11-22T09:00:01.250000Z",
    "finished_at": None,
    "deleted": False,
    "deleted_at": None,
    "deleted_reason": None,
    "links": LINKS,
}

METRICS: dict[str, Any] = {
    "job_id": JOB_ID,
    "records": [
        {
            **EPOCH,
            "epoch": 1,
            "train_loss": 1.61,
            "train_accuracy": 0.41,
            "test_loss": 1.32,
            "test_accuracy": 0.53,
            "learning_rate": 0.1,
        },
        {
            **EPOCH,
            "epoch": 2,
            "train_loss": 1.05,
            "train_accuracy": 0.62,
            "test_loss": 0.98,
            "test_accuracy": 0.66,
            "learning_rate": 0.1,
        },
    ],
}

SUCCEEDED_JOB: dict[str, Any] = {
    **RUNNING_JOB,
    "status": "succeeded",
    "progress": {"epochs_done": 164, "epochs": 164, "fraction": 1.0},
    "latest_metrics": {**EPOCH, "epoch": 164, "test_accuracy": 0.9303, "learning_rate": 0.001},
    "final_test_accuracy": 0.9303,
    "final_test_loss": 0.301,
    "best_on_test_set": {
        "test_accuracy": 0.9321,
        "epoch": 151,
        "description": "the highest test accuracy of any epoch, selected on the test set ...",
    },
    "results": {
        "classes": [
            "airplane",
            "automobile",
            "bird",
            "cat",
            "deer",
            "dog",
            "frog",
            "horse",
            "ship",
            "truck",
        ],
        "per_class_accuracy": [0.94, 0.97, 0.9, 0.85, 0.94, 0.88, 0.96, 0.95, 0.96, 0.95],
        "confusion_matrix": "10 x 10 counts: rows are true classes, columns predictions",
    },
    "finished_at": "2026-11-22T09:41:12.500000Z",
}

FAILED_JOB: dict[str, Any] = {
    **RUNNING_JOB,
    "status": "failed",
    "latest_metrics": None,
    "progress": {"epochs_done": 0, "epochs": 164, "fraction": 0.0},
    "error": {
        "code": "out_of_memory",
        "message": "the GPU ran out of memory at batch_size 2048; try a smaller batch_size",
    },
    "finished_at": "2026-11-22T09:00:09.000000Z",
}


def job_examples(*names: str) -> dict[str, Any]:
    """A response's `content` with named examples, for `responses=`."""
    known = {
        "queued": {
            **RUNNING_JOB,
            "status": "queued",
            "latest_metrics": None,
            "attempts": 0,
            "progress": {"epochs_done": 0, "epochs": 164, "fraction": 0.0},
            "started_at": None,
        },
        "running": RUNNING_JOB,
        "succeeded": SUCCEEDED_JOB,
        "failed": FAILED_JOB,
        "cancelled": {
            **RUNNING_JOB,
            "status": "cancelled",
            "latest_metrics": None,
            "cancel_requested": True,
            "attempts": 0,
            "started_at": None,
            "progress": {"epochs_done": 0, "epochs": 164, "fraction": 0.0},
            "finished_at": "2026-11-22T09:00:05.000000Z",
        },
        "cancelling": {**RUNNING_JOB, "cancel_requested": True},
        "deleted": {
            **SUCCEEDED_JOB,
            "deleted": True,
            "deleted_at": "2026-11-23T10:00:00.000000Z",
            "deleted_reason": "owner",
        },
    }
    examples = {name: {"summary": f"a {name} job", "value": known[name]} for name in names}
    return {"application/json": {"examples": examples}}
