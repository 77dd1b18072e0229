"""The canonical form every format is converted to, its checks, its fingerprint and its file.

Images uint8 N x 3 x 32 x 32 (NCHW, CIFAR's row order, what the trainer reads as is), labels
int64 N in 0..C-1, C class names. The file is an uncompressed `.npz` (numpy's zip of `.npy`
arrays), read without pickles.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.datasets.errors import DatasetRejected
from core.datasets.limits import MAX_CLASSES, MIN_CLASSES

FINGERPRINT_VERSION = b"crs-dataset/1\n"
ARRAYS = ("x_train", "y_train", "x_test", "y_test")
IMAGE_SHAPE = (3, 32, 32)


@dataclass(frozen=True)
class Canonical:
    """A data set as training reads it; `info` says where it came from (not fingerprinted)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str]
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def class_counts(self) -> dict[str, list[int]]:
        """Images per class, by split, in class order."""
        size = self.num_classes
        return {
            "train": np.bincount(self.y_train, minlength=size).tolist(),
            "test": np.bincount(self.y_test, minlength=size).tolist(),
        }


def check(data: Canonical) -> None:
    """Refuse arrays that break the canonical form, naming the array at fault."""
    names = data.class_names
    if not MIN_CLASSES <= len(names) <= MAX_CLASSES:
        raise DatasetRejected(
            "class_names", f"{len(names)} classes; between {MIN_CLASSES} and {MAX_CLASSES} needed"
        )
    if len(set(names)) != len(names) or not all(isinstance(n, str) and n for n in names):
        raise DatasetRejected("class_names", "class names must be distinct, non-empty strings")
    for x_name, y_name in (("x_train", "y_train"), ("x_test", "y_test")):
        images, labels = getattr(data, x_name), getattr(data, y_name)
        if images.dtype != np.uint8 or images.shape[1:] != IMAGE_SHAPE:
            raise DatasetRejected(
                x_name, f"must be uint8 N x 3 x 32 x 32, got {images.dtype} {images.shape}"
            )
        if labels.dtype != np.int64 or labels.shape != (images.shape[0],):
            raise DatasetRejected(
                y_name,
                f"must be int64 of length {images.shape[0]}, got {labels.dtype} {labels.shape}",
            )
        if labels.size and (labels.min() < 0 or labels.max() >= len(names)):
            raise DatasetRejected(
                y_name,
                f"labels must be in 0..{len(names) - 1} ({len(names)} classes), found "
                f"{int(labels.min())}..{int(labels.max())}",
            )
    if data.y_train.size == 0:
        raise DatasetRejected("train", "no training images")
    if data.y_test.size == 0:
        raise DatasetRejected("test", "no test images")
    present = np.unique(data.y_train).size
    if present < MIN_CLASSES:
        raise DatasetRejected(
            "train", f"the training images hold {present} class; at least {MIN_CLASSES} needed"
        )


def fingerprint(data: Canonical) -> str:
    """sha256 of the arrays, labels and class names in canonical order: the same images and
    labels give the same fingerprint whatever archive or format they came in."""
    digest = hashlib.sha256(FINGERPRINT_VERSION)
    for name in ARRAYS:
        array = np.ascontiguousarray(getattr(data, name))
        if name.startswith("y"):
            array = array.astype("<i8", copy=False)
        digest.update(f"{name} {array.dtype.str} {array.shape}\n".encode())
        digest.update(array.data)
    digest.update(json.dumps(data.class_names, ensure_ascii=False).encode())
    return digest.hexdigest()


def save(data: Canonical, path: str | Path) -> None:
    """Write the canonical `.npz` (uncompressed: the images are noise to a compressor, and a
    worker reads it straight into memory)."""
    with Path(path).open("wb") as f:
        np.savez(
            f,
            **{name: getattr(data, name) for name in ARRAYS},
            class_names=np.array(data.class_names, dtype=np.str_),
        )


def load(path: str | Path) -> Canonical:
    """Read a canonical `.npz` back (no pickles), checked."""
    with np.load(path, allow_pickle=False) as content:
        arrays = {name: content[name] for name in ARRAYS}
        names = [str(n) for n in content["class_names"]]
    data = Canonical(class_names=names, **arrays)
    check(data)
    return data
