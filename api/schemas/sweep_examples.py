"""Example bodies of the /sweeps endpoints for the OpenAPI docs at /docs (issue 10)."""

from __future__ import annotations

from typing import Any

SWEEP_ID = "7c1e2d3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
CHILD_ID = "0b9f6e5e-6f0c-4c39-9b83-6a1f3e1d2c4b"

REQUESTS: dict[str, Any] = {
    "preset": {
        "summary": "The paper's section 4.2, three seeds each, 30 epochs for a quick look",
        "value": {"preset": "he2016-cifar10", "seeds": 3, "epochs": 30},
    },
    "grid": {
        "summary": "Plain against residual nets at four depths (Figure 6), two seeds",
        "value": {
            "name": "figure 6",
            "base": {"epochs": 164},
            "grid": {"architecture": ["plain", "resnet"], "depth": [20, 32, 44, 56]},
            "seeds": 2,
            "max_parallel": 4,
        },
    },
    "search": {
        "summary": "A repeatable random search of the learning rate and weight decay",
        "value": {
            "base": {"architecture": "resnet", "depth": 20, "epochs": 30},
            "search": {
                "learning_rate": {"log_uniform": [0.01, 0.3]},
                "weight_decay": {"log_uniform": [1e-5, 1e-3]},
            },
            "trials": 8,
            "search_seed": 1,
        },
    },
}

SWEEP: dict[str, Any] = {
    "id": SWEEP_ID,
    "name": "figure 6",
    "preset": None,
    "priority": 0,
    "max_parallel": 4,
    "cancel_requested": False,
    "counts": {"succeeded": 1, "running": 4, "queued": 11},
    "progress": {
        "finished": 1,
        "total": 16,
        "epochs_done": 410,
        "epochs": 2624,
        "fraction": 0.156,
    },
    "varying": ["architecture", "depth", "seed"],
    "children": [
        {
            "id": CHILD_ID,
            "point": {"architecture": "plain", "depth": 20, "seed": 0},
            "status": "succeeded",
            "epochs_done": 164,
            "epochs": 164,
            "final_test_error": 0.0961,
        }
    ],
    "created_at": "2026-11-23T18:00:00Z",
    "links": {
        "self": f"/sweeps/{SWEEP_ID}",
        "report": f"/sweeps/{SWEEP_ID}/report",
        "figure": f"/sweeps/{SWEEP_ID}/figure",
        "cancel": f"/sweeps/{SWEEP_ID}/cancel",
    },
}

PRESETS: dict[str, Any] = {
    "presets": [
        {
            "name": "he2016-cifar10",
            "description": "He et al. 2016, section 4.2: ResNet-20/32/44/56/110 and "
            "plain-20/32/44/56 with the paper's recipe, 164 epochs",
            "references": ["he2016", "he2016-fig6"],
            "base": {"dataset": "cifar10", "epochs": 164},
            "configurations": [{"architecture": "plain", "depth": 20}],
        }
    ]
}

FINAL_ERROR = {"mean": 0.0841, "std": 0.0017, "min": 0.0825, "max": 0.0859, "n": 3}

REPORT_ROW: dict[str, Any] = {
    "configuration": {"architecture": "resnet", "depth": 20},
    "architecture": "resnet",
    "depth": 20,
    "dataset": "cifar10",
    "runs_finished": 3,
    "runs_total": 3,
    "runs_stopped": 0,
    "final_error": FINAL_ERROR,
    "best_on_test_set_error": {"mean": 0.081, "std": 0.0012, "min": 0.0798, "max": 0.0822, "n": 3},
    "final_validation_error": None,
    "reference": {
        "error": 0.0875,
        "source": "he2016",
        "title": "He et al. 2016, Deep Residual Learning for Image Recognition (CVPR), Table 6",
        "url": "https://arxiv.org/abs/1512.03385",
        "selection": "final",
        "approximate": False,
        "note": None,
        "difference": -0.0034,
    },
    "curves": {"epoch": [1, 2], "train_error": [0.612, 0.45], "test_error": [0.553, 0.417]},
}

REPORT: dict[str, Any] = {
    "sweep_id": SWEEP_ID,
    "name": None,
    "preset": "he2016-cifar10",
    "definitions": {
        "final": "test error after the last epoch",
        "best_on_test_set": "lowest test error over epochs, selected on the test set",
        "unit": "fraction",
    },
    "rows": [REPORT_ROW],
    "selection": {
        "on_validation": None,
        "on_test_set": {
            "rule": "the configuration with the lowest mean test error after the last epoch, "
            "selected on the test set itself (optimistic)",
            "configuration": {"architecture": "resnet", "depth": 20},
            "validation_error": None,
            "test_error": FINAL_ERROR,
            "candidates": 1,
        },
    },
}

REPORT_CONTENT: dict[str, Any] = {
    "application/json": {"example": REPORT},
    "text/markdown": {
        "schema": {"type": "string"},
        "example": "| network | layers | published | source | this service, final | ... |\n"
        "| ResNet | 20 | 8.75 | he2016 | 8.41 ± 0.17 | ... |\n",
    },
    "text/csv": {
        "schema": {"type": "string"},
        "example": "architecture,depth,dataset,configuration,runs_finished,runs_total,"
        "final_error_mean_pct,...\n"
        "resnet,20,cifar10,architecture=resnet;depth=20,3,3,8.41,...\n",
    },
}
