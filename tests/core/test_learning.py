"""Every network of the catalogue learns with its defaults (issue 22).

A few hundred SGD steps on a small real data set (scikit-learn's scanned digits, upscaled to
32x32: testkit/digits.py) with each network's own recipe: the TrainConfig defaults and what
they resolve to per architecture (TrainConfig.from_dict, core/architecture.py RECIPE_DEFAULTS:
the VGGs' learning rate 0.01). Chance is 10 %; a recipe that blows up sits there (VGG-16 with
the defaults before issue 22: 16 %), one that learns passes 50 % long before (vgg_keras is judged
on its training loss instead: TRAIN_LOSS_BAR says why). The smallest depth
of each architecture and batch 32 give the VGGs enough steps in little time.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core.architecture import (
    ARCHITECTURES,
    SHORTCUTS,
    depth_problem,
    shortcut_problem,
)
from core.spec import TrainConfig
from core.trainer.fit import fit
from core.trainer.watchdog import TrainingWarning
from testkit.digits import write_digits

CHANCE = 0.1
PASS = 0.5  # test accuracy every recipe must reach: five times chance
# ...except vgg_keras, whose dropout (0.3-0.5 on every stage) slows it so that its test accuracy
# in the first epochs swings with the run's rounding: 17 % then 29 % after two epochs in one
# run, 27 % after one in another (seed 0, CPU, 2026-12-08), where 43 % was measured before:
# no bar on it separates learning from a blow-up (12-17 %, issue 22). Its mean training loss
# over the first epoch (47 steps) does, and repeats: 3.12 and 3.14 with its recipe, 5.84 with
# the Keras script's lr 0.1 alone, which blows up. One epoch, the bar halfway; it was two
# epochs and a 30 % accuracy bar, about 2 minutes of CPU (5 of a loaded machine) for this case.
TRAIN_LOSS_BAR = {"vgg_keras": 4.5}


def _smallest_depth(architecture: str) -> int:
    return next(d for d in range(1, 2000) if depth_problem(architecture, d) is None)


NETWORKS = [
    (architecture, shortcut)
    for architecture in ARCHITECTURES
    for shortcut in SHORTCUTS
    if shortcut_problem(architecture, shortcut) is None
]


@pytest.fixture(scope="module")
def digits_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("digits")
    write_digits(root)
    return root


def _epochs(architecture: str) -> int:
    if architecture == "vgg_keras":
        return 1
    return 2 if architecture == "vgg" else 4


@pytest.mark.slow
@pytest.mark.parametrize(
    ("architecture", "shortcut"), NETWORKS, ids=["-".join(n) for n in NETWORKS]
)
def test_network_learns_digits_with_its_defaults(
    architecture: str, shortcut: str, digits_dir: Path
) -> None:
    config = TrainConfig.from_dict(  # from_dict: the architecture's recipe defaults too
        {
            "architecture": architecture,
            "depth": _smallest_depth(architecture),
            "shortcut": shortcut,
            "epochs": _epochs(architecture),
            "batch_size": 32,
            "data_dir": str(digits_dir),
            "device": "cpu",
            "eval_batch_size": 300,
        }
    )
    warnings: list[TrainingWarning] = []
    result = fit(config, on_warning=warnings.append)
    history = [(round(m.train_loss, 3), round(m.test_accuracy, 3)) for m in result.history]
    if architecture in TRAIN_LOSS_BAR:
        assert result.history[0].train_loss <= TRAIN_LOSS_BAR[architecture], history
    else:
        assert result.test_accuracy is not None and result.test_accuracy >= PASS, history
    assert warnings == [], history
