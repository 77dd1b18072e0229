"""Facts about the CIFAR ResNets that need no torch: allowed depths and exact parameter counts.

The API validates requests and prices them with these; the trainer builds the networks.
"""

from __future__ import annotations

ARCHITECTURES = ("resnet", "plain")
SHORTCUTS = ("A", "B")
DATASET_CLASSES = {"cifar10": 10, "cifar100": 100}


def blocks_per_stage(depth: int) -> int:
    """n for depth = 6n + 2 (section 4.2); a ValueError for any other depth."""
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 8 or (depth - 2) % 6:
        raise ValueError(
            f"depth must be 6n+2 for an integer n >= 1 (8, 14, 20, 32, 44, 56, 110, 1202, ...), "
            f"got {depth!r}"
        )
    return (depth - 2) // 6


def parameter_count(depth: int, num_classes: int = 10, shortcut: str = "A") -> int:
    """Trainable parameters of ResNet-depth (the plain net has the same count).

    3x3 convolutions carry no bias; every BN has a weight and a bias per channel.
    """
    n = blocks_per_stage(depth)
    if shortcut not in SHORTCUTS:
        raise ValueError(f"shortcut must be one of {', '.join(SHORTCUTS)}, got {shortcut!r}")

    def block(c_in: int, c_out: int) -> int:
        return 9 * c_in * c_out + 2 * c_out + 9 * c_out * c_out + 2 * c_out

    total = 9 * 3 * 16 + 2 * 16  # stem
    total += n * block(16, 16)
    total += block(16, 32) + (n - 1) * block(32, 32)
    total += block(32, 64) + (n - 1) * block(64, 64)
    total += 64 * num_classes + num_classes  # classifier
    if shortcut == "B":  # 1x1 projections with BN where the shape changes
        total += (16 * 32 + 2 * 32) + (32 * 64 + 2 * 64)
    return total
