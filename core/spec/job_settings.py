"""A job's training settings, declared once: name, type, default, bounds, choices and meaning.

`JobSettings` holds what describes the run wherever it happens; `core.spec.train_config.TrainConfig`
adds the machine's settings and the checks, `core.spec.resolved.ResolvedSpec` the service's fields.
Everything else is derived from these declarations: the API's request and response models
(api/schemas/request.py), the worker's mapping from a stored spec
(worker/training_process/job_config.py), the command line's options (core/train.py). Adding a
hyperparameter means adding one field here and the trainer code that uses it. Torch-free.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.architecture import ARCHITECTURES, SHORTCUTS, recipe_note
from core.architecture import DATASET_CLASSES as DATASETS
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
    option,
)


@dataclass(frozen=True)
class JobSettings:
    """A job's training settings, each declared once. Defaults = He et al. 2016, section 4.2."""

    # --- model ---
    architecture: str = option(
        "resnet",
        api="required",
        choices=ARCHITECTURES,
        doc="`resnet` (identity shortcuts), `plain` (the same net without them), "
        "`preact_resnet` (pre-activation units, the Keras reproduction's), `vgg` (the CIFAR "
        "form with batch norm) or `vgg_keras` (the Keras reproduction's VGG, with dropout)",
        resume_must_match=True,
    )
    depth: int = option(
        20,
        api="required",
        ge=8,
        doc="layers, 6n+2 for the ResNets and plain nets: 20, 32, 44, 56, 110, 1202, ... "
        "(section 4.2); 11, 13, 16 or 19 for the VGGs",
        resume_must_match=True,
    )
    shortcut: str = option(
        "A",
        api=True,
        choices=SHORTCUTS,
        doc="`A`: subsample + zero-padding, parameter-free; `B`: 1x1 projections + BN "
        "(`resnet` and `plain` only)",
        resume_must_match=True,
    )
    bn_momentum: float = option(
        0.1,
        api=True,
        gt=0,
        le=1,
        doc="batch norm's running-statistics momentum, PyTorch's convention (weight of the "
        "new batch); Keras' momentum 0.99 is 0.01 here",
    )
    bn_eps: float = option(
        1e-5,
        api=True,
        gt=0,
        le=1,
        doc="batch norm's epsilon (PyTorch 1e-5, Keras 1e-3); saved with the weights",
    )
    # --- data ---
    dataset: str = option(
        "cifar10",
        api=True,
        doc="`cifar10`, `cifar100`, or the id of one of your ready data sets (POST /datasets), "
        "whose classes the network then has",
        resume_must_match=True,
    )
    augment: bool = option(
        True, api=True, doc="augment the training images as `augmentation` says; false: none"
    )
    augmentation: str = option(
        "crop_flip",
        api=True,
        choices=AUGMENTATIONS,
        doc="`crop_flip`: 4-pixel zero pad, random 32x32 crop and horizontal flip (section "
        "4.2); `keras`: random rotation up to 15 degrees, shifts up to 10 % of the side, "
        "nearest-pixel fill and horizontal flip (the Keras reproduction)",
    )
    normalization: str = option(
        "per_channel",
        api=True,
        choices=NORMALIZATIONS,
        doc="inside the model: `per_channel` mean and std of the training images, or "
        "`global`: one mean and std over all pixels and channels (+1e-7 on the std, Keras)",
    )
    validation_images: int = option(
        0,
        api=True,
        ge=0,
        le=25000,
        doc="training images held out as a validation split (issue 20), stratified by class "
        "and chosen by `validation_seed`; each epoch records validation error and loss. 0: "
        "train on all of them (the paper's final protocol); 5000: its 45k/5k split",
    )
    validation_seed: int = option(
        0,
        api=True,
        ge=0,
        le=SEED_MAX,
        doc="which images the validation split holds out; apart from `seed`, so that every "
        "run of a sweep is compared on the same images",
    )
    # --- optimisation ---
    epochs: int = option(
        164, api="required", ge=1, doc="passes over the training set; the paper: 164 (64k steps)"
    )
    batch_size: int = option(128, api=True, ge=1, doc="images per SGD step", resume_must_match=True)
    learning_rate: float = option(
        0.1,
        api=True,
        gt=0,
        le=10,
        doc="peak learning rate; when left out 0.1 (section 4.2)" + recipe_note("learning_rate"),
    )
    momentum: float = option(0.9, api=True, ge=0, lt=1, doc="SGD momentum")
    nesterov: bool = option(
        False, api=True, doc="Nesterov momentum (needs momentum > 0; the Keras reproduction's)"
    )
    weight_decay: float = option(
        1e-4,
        api=True,
        ge=0,
        le=1,
        doc="L2 penalty, added to the gradient by SGD (weight_decay x w); Keras' l2(x) on a "
        "kernel is weight_decay 2x",
    )
    weight_decay_on: str = option(
        "all",
        api=True,
        choices=WEIGHT_DECAY_ON,
        doc="`all` parameters (the paper's code), or `kernels`: the convolution and dense "
        "weights only, not batch norm or biases (Keras' kernel_regularizer)",
        resume_must_match=True,  # the optimizer's parameter groups
    )
    lr_schedule: str = option(
        "multistep",
        api=True,
        choices=LR_SCHEDULES,
        doc="`multistep` (/10 at 50 % and 75 % of training, the paper's), `step` (x step_gamma "
        "every step_epochs epochs) or `cosine`",
    )
    lr_milestones: tuple[float, ...] = option(
        (0.5, 0.75), doc="multistep: increasing fractions of training in (0, 1)"
    )
    lr_gamma: float = option(0.1, gt=0, le=1, doc="multistep: factor at each milestone")
    step_epochs: int = option(
        20, api=True, ge=1, le=10_000, doc="step: epochs between two decays (the Keras recipe: 20)"
    )
    step_gamma: float = option(
        0.5,
        api=True,
        gt=0,
        le=1,
        doc="step: factor at each decay (the Keras reproduction: 0.5 for VGG, 0.1 for ResNets)",
    )
    lr_decay: float = option(
        0.0,
        api=True,
        ge=0,
        le=1,
        doc="Keras' time-based decay: the scheduled rate divided by 1 + lr_decay x steps "
        "taken (the Keras reproduction: 1e-4 for ResNets, 1e-6 for VGG); 0: off",
    )
    warmup: str = option(
        "auto",
        choices=WARMUP_MODES,
        doc="`auto`: on for the paper's networks (`resnet`, `plain`) of depth >= 110, as in "
        "the paper (the Keras reproduction has none); `on`; `off`",
    )
    warmup_learning_rate: float = option(
        0.01, gt=0, doc="lr while warming up (section 4.2, ResNet-110)"
    )
    warmup_until_error: float = option(
        0.8, ge=0, le=1, doc="leave warm-up once the training error falls below this"
    )
    warmup_max_iterations: int = option(
        2000, ge=0, doc="leave warm-up after this many steps regardless"
    )
    # --- mode ---
    train_mode: str = option(
        "end_to_end",
        api=True,
        choices=TRAIN_MODES,
        doc="`end_to_end`, or `frozen_base`: only a new classifier learns, on top of the "
        "network of `init_from`",
        resume_must_match=True,
    )
    # --- execution ---
    seed: int = option(
        0,
        api=True,
        ge=0,
        le=SEED_MAX,
        doc="fixes initialisation, data order and augmentation; CPU runs repeat exactly",
    )
    precision: str = option(
        "auto",
        choices=PRECISIONS,
        doc="`auto`: fp32 on the CPU; on CUDA bf16 autocast from Ampere (sm_80) on, before it "
        "fp16 with a gradient scaler; or fixed",
    )
    channels_last: bool = option(True, doc="NHWC memory format for the convolutions")
    compile: str = option(
        "auto",
        api=True,
        choices=COMPILE_MODES,
        doc="torch.compile the training and evaluation steps (CUDA graphs on a GPU): `on`, "
        "`off`, or `auto`: on for CUDA runs of at least 30 epochs, which repay the compile time",
    )
    eval_batch_size: int = option(1000, ge=1, doc="images per evaluation step")

    @property
    def num_classes(self) -> int:
        """A built-in data set's class count. An uploaded one's (issue 19) is in its file, which
        TrainConfig reads; a spec alone has CIFAR-10's 10 stand in for it, which moves only the
        classifier's small share of the memory and FLOPs figures."""
        return DATASETS.get(self.dataset, DATASETS["cifar10"])
