from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_package_exports_the_public_interface() -> None:
    from core.spec import TrainConfig  # noqa: F401
    from core.trainer.checkpoint import Checkpoint  # noqa: F401
    from core.trainer.data import load_cifar  # noqa: F401
    from core.trainer.errors import (
        DatasetNotFoundError,
        IncompatibleWeightsError,
        TrainingDivergedError,
    )
    from core.trainer.evaluation import evaluate  # noqa: F401
    from core.trainer.fit import fit  # noqa: F401
    from core.trainer.models import build_model, count_parameters  # noqa: F401
    from core.trainer.results import EpochMetrics, FitResult  # noqa: F401

    assert issubclass(DatasetNotFoundError, FileNotFoundError)
    assert issubclass(IncompatibleWeightsError, ValueError)
    assert issubclass(TrainingDivergedError, RuntimeError)


def test_import_config_without_torch() -> None:
    # The API process validates configurations without loading torch.
    code = "import sys; from core.spec import TrainConfig; TrainConfig()\n"
    code += "print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr
