from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_package_exports_the_public_interface() -> None:
    from core.trainer import (  # noqa: F401
        Checkpoint,
        DatasetNotFoundError,
        EpochMetrics,
        FitResult,
        IncompatibleWeightsError,
        TrainConfig,
        TrainingDivergedError,
        build_model,
        count_parameters,
        evaluate,
        fit,
        load_cifar,
    )

    assert issubclass(DatasetNotFoundError, FileNotFoundError)
    assert issubclass(IncompatibleWeightsError, ValueError)
    assert issubclass(TrainingDivergedError, RuntimeError)


def test_import_config_without_torch() -> None:
    # The API process validates configurations without loading torch.
    code = "import sys; from core.trainer import TrainConfig; TrainConfig()\n"
    code += "print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr
