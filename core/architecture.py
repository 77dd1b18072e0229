"""Facts about the CIFAR networks that need no torch: allowed depths and exact parameter counts.

The API validates requests and prices them with these; the trainer builds the networks (and
tests/core/test_architecture.py checks every formula here against the built model).
"""

from __future__ import annotations

# "resnet"/"plain": He et al. 2016, section 4.2. "preact_resnet": the pre-activation units of
# He et al. 2016b as the Keras reproduction builds them (issue 12). "vgg": the common CIFAR
# form with batch norm (issue 10); "vgg_keras": the Keras reproduction's VGG (issue 12).
ARCHITECTURES = ("resnet", "plain", "preact_resnet", "vgg", "vgg_keras")
SIX_N_PLUS_TWO = ("resnet", "plain", "preact_resnet")  # depth 6n+2, stages of 16/32/64 filters
SHORTCUTS = ("A", "B")
# Where shortcut "B" (1x1 projections) exists; a plain net accepts and ignores it (it has no
# shortcuts), the pre-activation net always uses its parameter-free pooling shortcut.
PROJECTION_ARCHITECTURES = ("resnet", "plain")
DATASET_CLASSES = {"cifar10": 10, "cifar100": 100}

# VGG: 3x3 convolutions per stage (stages of 64, 128, 256, 512, 512 filters, each ended by
# 2x2 max pooling), by depth = convolutions + the classifier's layers (Simonyan & Zisserman).
VGG_CONVS = {11: (1, 1, 2, 2, 2), 13: (2, 2, 2, 2, 2), 16: (2, 2, 3, 3, 3), 19: (2, 2, 4, 4, 4)}
VGG_WIDTHS = (64, 128, 256, 512, 512)
VGG_KERAS_DENSE = 512  # units of the Keras form's hidden dense layer

# Where an architecture's recipe departs from the TrainConfig defaults (the paper's, for the
# ResNets), by field: a job that leaves the field out gets this value (issue 22).
# vgg: lr 0.01, the rate Simonyan & Zisserman trained VGG with (2015, section 3.1). Its
# classifier sees 512 unpooled ReLU features whose dot products between images are ~640 (the
# ResNet-20's 64 pooled ones: ~120), so one SGD step at the paper's 0.1 moves every logit by
# tens: on the digits it blows up in its first steps (loss 170) and stays at chance, with or
# without the paper's warm-up (which only delays the blow-up to the switch to 0.1), while at
# 0.01 it reaches 67 % test accuracy in 60 steps (VGG-11, batch 32; issue 22).
# vgg_keras: lr 0.01 as well. With the other defaults (the paper's momentum and multistep
# schedule) 0.1 stays near chance from the same start (VGG-11, batch 32: 12 % test accuracy, 17 %
# with the warm-up), while 0.01 learns at once: test accuracy 26 %, 43 %, 42 % in three epochs
# of 47 steps, no watchdog warning. The Keras script's 0.1 works within its whole recipe only
# (Nesterov, decay 1e-6, L2 1e-3 on kernels, x0.5 every 20 epochs; REFERENCE-RESULTS.md):
# 24 %, 44 %, 49 % (issue 22), which the seed002-keras preset spells out. Measured on the digits,
# CPU, seed 0. Its dropout (0.3-0.5) keeps it slower than `vgg`.
RECIPE_DEFAULTS: dict[str, dict[str, object]] = {
    "vgg": {"learning_rate": 0.01},
    "vgg_keras": {"learning_rate": 0.01},
}


def recipe_defaults(architecture: str) -> dict[str, object]:
    """The fields whose default differs for this architecture, with their values."""
    check_architecture(architecture)
    return dict(RECIPE_DEFAULTS.get(architecture, {}))


def recipe_note(field: str) -> str:
    """' except 0.01 for `vgg` (its recipe, ...)' for a field's doc text ("" when no
    architecture overrides it): the docs derived from RECIPE_DEFAULTS, never a copy of it."""
    parts = [
        f"{overrides[field]!r} for `{architecture}`"
        for architecture, overrides in RECIPE_DEFAULTS.items()
        if field in overrides
    ]
    if not parts:
        return ""
    return " except " + ", ".join(parts) + " (the architecture's own recipe)"


def check_architecture(architecture: str) -> None:
    if architecture not in ARCHITECTURES:
        raise ValueError(
            f"architecture must be one of {', '.join(ARCHITECTURES)}, got {architecture!r}"
        )


def depth_rule(architecture: str) -> str:
    """The depths an architecture allows, in words (for error messages and docs)."""
    check_architecture(architecture)
    if architecture in SIX_N_PLUS_TWO:
        return "6n+2 for an integer n >= 1 (8, 14, 20, 32, 44, 56, 110, 1202, ...)"
    return "one of " + ", ".join(map(str, VGG_CONVS))


def depth_problem(architecture: str, depth: object) -> str | None:
    """Why depth does not suit architecture (naming the allowed depths), or None if it does.

    An unknown architecture is not this function's problem (None): its own check reports it.
    """
    if architecture not in ARCHITECTURES:
        return None
    if architecture in SIX_N_PLUS_TWO:
        valid = isinstance(depth, int) and not isinstance(depth, bool)
        if valid and depth >= 8 and (depth - 2) % 6 == 0:  # type: ignore[operator]
            return None
        return f"depth must be {depth_rule(architecture)}, got {depth!r}"
    if isinstance(depth, int) and not isinstance(depth, bool) and depth in VGG_CONVS:
        return None
    return f"depth of {architecture} must be {depth_rule(architecture)}, got {depth!r}"


def check_depth(architecture: str, depth: int) -> None:
    """A ValueError naming the allowed depths unless depth suits architecture."""
    check_architecture(architecture)
    problem = depth_problem(architecture, depth)
    if problem:
        raise ValueError(problem)


def shortcut_problem(architecture: str, shortcut: object) -> str | None:
    """Why shortcut does not suit architecture, or None if it does (or the name is unknown)."""
    if shortcut not in SHORTCUTS:
        return f"shortcut must be one of {', '.join(SHORTCUTS)}, got {shortcut!r}"
    no_projections = architecture in ARCHITECTURES and architecture not in PROJECTION_ARCHITECTURES
    if shortcut != "A" and no_projections:
        return f"shortcut must be 'A' for architecture {architecture!r}, got {shortcut!r}"
    return None


def check_shortcut(architecture: str, shortcut: str) -> None:
    problem = shortcut_problem(architecture, shortcut)
    if problem:
        raise ValueError(problem)


def blocks_per_stage(depth: int) -> int:
    """n for depth = 6n + 2 (section 4.2); a ValueError for any other depth."""
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 8 or (depth - 2) % 6:
        raise ValueError(
            f"depth must be 6n+2 for an integer n >= 1 (8, 14, 20, 32, 44, 56, 110, 1202, ...), "
            f"got {depth!r}"
        )
    return (depth - 2) // 6


def parameter_count(
    depth: int, num_classes: int = 10, shortcut: str = "A", *, architecture: str = "resnet"
) -> int:
    """Trainable parameters of the network `architecture`-`depth` with num_classes outputs.

    ResNet, plain net and pre-activation ResNet have the same count: 3x3 convolutions carry no
    bias, every BN has a weight and a bias per channel, and the pre-activation net's final BN
    (64 channels) matches the ResNet's stem BN (16) plus the 48 channels by which its first BNs
    of the two transition units (16, 32) fall short of the ResNet's (32, 64).
    """
    check_architecture(architecture)
    check_depth(architecture, depth)
    check_shortcut(architecture, shortcut)
    if architecture in ("vgg", "vgg_keras"):
        return _vgg_parameter_count(depth, num_classes, keras=architecture == "vgg_keras")
    n = blocks_per_stage(depth)

    def block(c_in: int, c_out: int) -> int:
        return 9 * c_in * c_out + 2 * c_out + 9 * c_out * c_out + 2 * c_out

    total = 9 * 3 * 16 + 2 * 16  # stem
    total += n * block(16, 16)
    total += block(16, 32) + (n - 1) * block(32, 32)
    total += block(32, 64) + (n - 1) * block(64, 64)
    total += 64 * num_classes + num_classes  # classifier
    if shortcut == "B" and architecture == "resnet":  # 1x1 projections + BN at the transitions
        total += (16 * 32 + 2 * 32) + (32 * 64 + 2 * 64)
    return total


def _vgg_parameter_count(depth: int, num_classes: int, *, keras: bool) -> int:
    """3x3 convolutions with bias, each followed by a BN; then the classifier on 512 features.

    The CIFAR form: one linear layer (14,728,266 for VGG-16 and 10 classes, the common PyTorch
    count). The Keras form: dense 512 + BN, then the linear layer (14,991,946 for VGG-16).
    """
    total = 0
    in_channels = 3
    for convs, width in zip(VGG_CONVS[depth], VGG_WIDTHS, strict=True):
        for _ in range(convs):
            total += 9 * in_channels * width + width + 2 * width
            in_channels = width
    if keras:
        total += in_channels * VGG_KERAS_DENSE + VGG_KERAS_DENSE + 2 * VGG_KERAS_DENSE
        in_channels = VGG_KERAS_DENSE
    return total + in_channels * num_classes + num_classes
