"""A job's spec, declared once (issue 7): every field's name, type, default, bounds, choices,
meaning and role.

- `options`: how a field is declared (`option(...)`), the choice lists;
- `job_settings`: `JobSettings`, the job's training settings;
- `train_config`: `TrainConfig`, the trainer's configuration (the job's settings plus the
  machine's) and the rules between fields;
- `resolved`: `ResolvedSpec`, a stored spec read back with every default filled.

Torch-free, so that the API can derive its models from it without importing the trainer.
"""

from core.spec.job_settings import JobSettings
from core.spec.options import (
    AUGMENTATIONS,
    COMPILE_MODES,
    LR_SCHEDULES,
    NORMALIZATIONS,
    PRECISIONS,
    SEED_MAX,
    TRAIN_MODES,
    WARMUP_MODES,
    WEIGHT_DECAY_ON,
    Option,
    Setting,
    option,
)
from core.spec.resolved import DATASET_NAMES, SERVICE_NAMES, ResolvedSpec
from core.spec.train_config import (
    LOCAL_NAMES,
    RESUME_MUST_MATCH,
    TrainConfig,
    api_settings,
    config_problems,
    describe_bounds,
    settings,
    spec_problems,
)

__all__ = [
    "AUGMENTATIONS",
    "COMPILE_MODES",
    "DATASET_NAMES",
    "LOCAL_NAMES",
    "LR_SCHEDULES",
    "NORMALIZATIONS",
    "PRECISIONS",
    "RESUME_MUST_MATCH",
    "SEED_MAX",
    "SERVICE_NAMES",
    "TRAIN_MODES",
    "WARMUP_MODES",
    "WEIGHT_DECAY_ON",
    "JobSettings",
    "Option",
    "ResolvedSpec",
    "Setting",
    "TrainConfig",
    "api_settings",
    "config_problems",
    "describe_bounds",
    "option",
    "settings",
    "spec_problems",
]
