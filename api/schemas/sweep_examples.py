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
            "final_test_error": 9.61,
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

REPORT_ROW: dict[str, Any] = {
    "configuration": {"architecture": "resnet", "depth": 20},
    "architecture": "resnet",
    "depth": 20,
    "dataset": "cifar10",
    "runs_finished": 3,
    "runs_total": 3,
    "final_error": {"mean": 8.41, "std": 0.17, "min": 8.25, "max": 8.59, "n": 3},
    "best_on_test_set_error": {"mean": 8.1, "std": 0.12, "min": 7.98, "max": 8.22, "n": 3},
    "reference": {
        "error": 8.75,
        "source": "he2016",
        "title": "He et al. 2016, Deep Residual Learning for Image Recognition (CVPR), Table 6",
        "url": "https://arxiv.org/abs/1512.03385",
        "selection": "final",
        "approximate": False,
        "note": None,
        "difference": -0.34,
    },
    "curves": {"epoch": [1, 2], "train_error": [61.2, 45.0], "test_error": [55.3, 41.7]},
}

REPORT_CONTENT: dict[str, Any] = {
    "application/json": {
        "example": {
            "sweep_id": SWEEP_ID,
            "name": None,
            "preset": "he2016-cifar10",
            "definitions": {
                "final": "test error after the last epoch",
                "best_on_test_set": "lowest test error over epochs, selected on the test set",
                "unit": "%",
            },
            "rows": [REPORT_ROW],
        }
    },
    "text/markdown": {
        "schema": {"type": "string"},
        "example": "| network | layers | published | source | this service, final | ... |\n"
        "| ResNet | 20 | 8.75 | he2016 | 8.41 ± 0.17 | ... |\n",
    },
    "text/csv": {
        "schema": {"type": "string"},
        "example": "architecture,depth,dataset,configuration,runs_finished,...\n"
        "resnet,20,cifar10,architecture=resnet;depth=20,3,...\n",
    },
}
