"""Image-folder archives: `train/<class>/<image>` and optionally `test/<class>/<image>`, under
the archive's root or one top folder. Without `test/`, a seeded split per class.

Classes are the folder names in sorted order; each class's images are taken in sorted member
order, so the same files give the same data set (and fingerprint) from a zip or a tar.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from core.datasets import images
from core.datasets.archive import Member, ignored
from core.datasets.canonical import Canonical
from core.datasets.errors import DatasetRejected
from core.datasets.limits import MAX_CLASSES, MIN_CLASSES, Limits

SPLITS = ("train", "test")


@dataclass
class _Collected:
    # (split, class) -> [(member name, image)]
    images: dict[tuple[str, str], list[tuple[str, np.ndarray]]] = field(default_factory=dict)
    folders: set[tuple[str, str]] = field(default_factory=set)  # (split, class) seen as folders
    sizes: Counter[str] = field(default_factory=Counter)  # "WxH" -> images
    count: int = 0


def _place(name: str, root: str | None) -> tuple[str | None, list[str]]:
    """The archive's root folder (decided by the first member) and the path below it."""
    parts = name.rstrip("/").split("/")
    if root is None:
        root = "" if parts[0] in SPLITS else parts[0]
    if root:
        if parts[0] != root:
            raise DatasetRejected(name, f"outside the archive's top folder {root!r}")
        parts = parts[1:]
    return root, parts


def read(members: Iterable[Member], limits: Limits, test_fraction: float, seed: int) -> Canonical:
    found = _Collected()
    root: str | None = None
    for member in members:
        if ignored(member.name):
            continue
        root, parts = _place(member.name, root)
        if member.name.endswith("/"):
            if len(parts) == 2 and parts[0] in SPLITS:
                found.folders.add((parts[0], parts[1]))
            elif parts and (parts[0] not in SPLITS or len(parts) > 2):
                raise DatasetRejected(member.name, "folders go train/<class>/ and test/<class>/")
            continue
        if len(parts) != 3 or parts[0] not in SPLITS:
            raise DatasetRejected(
                member.name, "images go at train/<class>/<image> or test/<class>/<image>"
            )
        found.count += 1
        if found.count > limits.max_images:
            raise DatasetRejected(member.name, f"more than {limits.max_images} images")
        pixels, (width, height) = images.decode(member.name, member.read(), limits.max_image_pixels)
        found.folders.add((parts[0], parts[1]))
        found.images.setdefault((parts[0], parts[1]), []).append((member.name, pixels))
        found.sizes[f"{width}x{height}"] += 1
    return _assemble(found, root or "", test_fraction, seed)


def _assemble(found: _Collected, root: str, test_fraction: float, seed: int) -> Canonical:
    prefix = f"{root}/" if root else ""
    for split, name in sorted(found.folders):
        if not found.images.get((split, name)):
            raise DatasetRejected(f"{prefix}{split}/{name}/", "a class folder with no images")
    classes = sorted(name for split, name in found.folders if split == "train")
    if not classes:
        raise DatasetRejected(f"{prefix}train/", "no train/<class>/ folders with images")
    if len(classes) < MIN_CLASSES:
        raise DatasetRejected(
            f"{prefix}train/", f"one class only ({classes[0]}); at least {MIN_CLASSES} needed"
        )
    if len(classes) > MAX_CLASSES:
        raise DatasetRejected(f"{prefix}train/", f"{len(classes)} classes; at most {MAX_CLASSES}")
    index = {name: i for i, name in enumerate(classes)}
    for split, name in sorted(found.folders):
        if split == "test" and name not in index:
            raise DatasetRejected(f"{prefix}test/{name}/", "a test class with no train/ folder")

    def stacked(split: str, name: str) -> list[np.ndarray]:
        return [pixels for _, pixels in sorted(found.images.get((split, name), []), key=_first)]

    has_test = any(split == "test" for split, _ in found.folders)
    rng = np.random.default_rng(seed)
    parts: dict[str, list[tuple[np.ndarray, int]]] = {"train": [], "test": []}
    for name in classes:
        train = stacked("train", name)
        if has_test:
            test = stacked("test", name)
        else:
            order = rng.permutation(len(train))
            cut = round(len(train) * test_fraction)
            if cut >= len(train):
                raise DatasetRejected(
                    "test_fraction",
                    f"{test_fraction} of class {name}'s {len(train)} images leaves none to "
                    "train on",
                )
            test = [train[i] for i in order[:cut]]
            train = [train[i] for i in sorted(order[cut:])]
        parts["train"] += [(p, index[name]) for p in train]
        parts["test"] += [(p, index[name]) for p in test]
    if not parts["test"]:
        raise DatasetRejected(
            "test_fraction", f"{test_fraction} of the images is no image at all; raise it"
        )
    arrays = {}
    for split, rows in parts.items():
        arrays[f"x_{split}"] = np.stack([p for p, _ in rows]).astype(np.uint8, copy=False)
        arrays[f"y_{split}"] = np.array([label for _, label in rows], dtype=np.int64)
    info = {
        "format": "image_folder",
        "resize": images.RESIZE_METHOD,
        "original_sizes": dict(found.sizes.most_common(20)),
        "resized_images": sum(n for size, n in found.sizes.items() if size != "32x32"),
        "split": "archive" if has_test else f"seeded: test_fraction {test_fraction}, seed {seed}",
    }
    return Canonical(class_names=classes, info=info, **arrays)


def _first(pair: tuple[str, np.ndarray]) -> str:
    return pair[0]
