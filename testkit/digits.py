"""A small real data set in the CIFAR-10 file layout: scikit-learn's scanned handwritten digits.

1,797 8x8 greyscale digits (UCI, 16 grey levels), upscaled 4x to 32x32 and repeated over the
three channels; the first 1,497 (shuffled with a fixed seed) train, the last 300 test. Real
images, unlike testkit's generated stripes, so a recipe that cannot learn shows it (issue 22).
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

from testkit.cifar_files import CIFAR10_CLASSES

TEST_IMAGES = 300


def _dump(path: Path, content: dict[bytes, object]) -> None:
    with path.open("wb") as f:
        pickle.dump(content, f, protocol=2)


def write_digits(root: str | Path, *, seed: int = 0, train_images: int | None = None) -> Path:
    """Write root/cifar-10-batches-py/ (5 training batches, test batch, meta); return it.
    `train_images`: only the first that many of the 1,497 training images (the test set is the
    same 300 either way)."""
    digits = load_digits()
    order = np.random.default_rng(seed).permutation(digits.target.shape[0])
    # Grey levels 0..16 -> 0..255; each pixel becomes a 4x4 block, the same in R, G and B.
    grey = np.rint(digits.images[order] * (255 / 16)).astype(np.uint8)
    big = grey.repeat(4, axis=1).repeat(4, axis=2)
    images = np.repeat(big[:, None], 3, axis=1).reshape(len(order), 3 * 32 * 32)
    labels = digits.target[order].astype(np.int64)
    folder = Path(root) / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    train = np.arange(len(order) - TEST_IMAGES)[:train_images]
    for index, part in enumerate(np.array_split(train, 5), start=1):
        _dump(folder / f"data_batch_{index}", _batch(images[part], labels[part], index))
    test = np.arange(len(order) - TEST_IMAGES, len(order))
    _dump(folder / "test_batch", _batch(images[test], labels[test], 0))
    # CIFAR-10's class names: the file layout needs ten; the labels are the digits 0-9.
    meta = {b"label_names": [n.encode() for n in CIFAR10_CLASSES], b"num_vis": 3072}
    _dump(folder / "batches.meta", meta)
    return folder


def _batch(images: np.ndarray, labels: np.ndarray, index: int) -> dict[bytes, object]:
    name = f"training batch {index} of 5" if index else "testing batch 1 of 1"
    return {
        b"batch_label": name.encode(),
        b"labels": [int(v) for v in labels],
        b"data": np.ascontiguousarray(images),
        b"filenames": [f"digit_{i:05d}.png".encode() for i in range(labels.shape[0])],
    }
