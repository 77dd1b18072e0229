"""What GET /datasets/{id} shows of a data set: a few training images per class, as PNG."""

from __future__ import annotations

import base64

import numpy as np

from core.datasets.canonical import Canonical
from core.datasets.images import encode_png

PER_CLASS = 4
MAX_CLASSES_SHOWN = 100  # 1,000 classes x 4 images would make a 10 MB answer


def sample_images(data: Canonical, per_class: int = PER_CLASS) -> dict[str, list[str]]:
    """Class name -> the first `per_class` training images of that class, base64 PNG (the first
    MAX_CLASSES_SHOWN classes)."""
    shown: dict[str, list[str]] = {}
    for label, name in enumerate(data.class_names[:MAX_CLASSES_SHOWN]):
        picks = np.flatnonzero(data.y_train == label)[:per_class]
        shown[name] = [base64.b64encode(encode_png(data.x_train[i])).decode() for i in picks]
    return shown
