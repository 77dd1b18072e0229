"""The CIFAR-10 and CIFAR-100 python archives exactly as published (`cifar-10-python.tar.gz`,
`cifar-100-python.tar.gz`): Python 2 dict pickles, read without running code.

Other members of the folder (the published archives hold a `readme.html` or `file.txt~`) are
skipped; a missing file is refused by name.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

import numpy as np

from core.cifar_layout import LAYOUTS, CifarLayout
from core.cifar_unpickler import load_cifar_pickle
from core.datasets.archive import Member, ignored
from core.datasets.canonical import Canonical
from core.datasets.errors import DatasetRejected


def layout_of(name: str) -> CifarLayout | None:
    """The CIFAR layout whose folder the member is in, if any."""
    top = name.split("/", 1)[0]
    return next((layout for layout in LAYOUTS.values() if layout.folder == top), None)


def _unpickle(name: str, data: bytes) -> dict[bytes, Any]:
    try:
        content = load_cifar_pickle(io.BytesIO(data))
    except Exception as error:  # a hostile pickle raises anything; each is a refusal
        raise DatasetRejected(name, f"not a CIFAR python pickle ({error})") from error
    if not isinstance(content, dict):
        raise DatasetRejected(name, "not a CIFAR python pickle (expected a dict)")
    return {k.encode() if isinstance(k, str) else k: v for k, v in content.items()}


def _batch(name: str, data: bytes, label_key: bytes) -> tuple[np.ndarray, np.ndarray]:
    content = _unpickle(name, data)
    if b"data" not in content or label_key not in content:
        raise DatasetRejected(name, f"lacks the keys b'data' and {label_key!r}")
    images = content[b"data"]
    if (
        not isinstance(images, np.ndarray)
        or images.dtype != np.uint8
        or images.ndim != 2
        or (images.shape[1] != 3072)
    ):
        shape = getattr(images, "shape", type(images).__name__)
        raise DatasetRejected(name, f"b'data' must be uint8 N x 3072, got {shape}")
    try:
        labels = np.asarray(content[label_key], dtype=np.int64)
    except (TypeError, ValueError, OverflowError) as error:
        raise DatasetRejected(name, f"{label_key!r} must be integers ({error})") from error
    if labels.shape != (images.shape[0],):
        raise DatasetRejected(name, f"{images.shape[0]} images but {labels.size} labels")
    # Each row: 1024 red, 1024 green, 1024 blue values, row-major: N x 3 x 32 x 32 as is.
    return images.reshape(-1, 3, 32, 32), labels


def read(members: Iterable[Member], layout: CifarLayout) -> Canonical:
    wanted = {
        f"{layout.folder}/{n}" for n in (*layout.train_files, layout.test_file, layout.meta_file)
    }
    found: dict[str, bytes] = {}
    for member in members:
        if member.name.endswith("/") or ignored(member.name):
            continue
        if layout_of(member.name) is not layout:
            raise DatasetRejected(member.name, f"outside the CIFAR folder {layout.folder}/")
        if member.name in wanted:
            found[member.name] = member.read()
    missing = sorted(wanted - set(found))
    if missing:
        raise DatasetRejected(missing[0], "missing from the CIFAR archive")
    path = f"{layout.folder}/"
    batches = [_batch(path + n, found[path + n], layout.label_key) for n in layout.train_files]
    x_test, y_test = _batch(
        path + layout.test_file, found[path + layout.test_file], layout.label_key
    )
    meta = _unpickle(path + layout.meta_file, found[path + layout.meta_file])
    names = meta.get(layout.names_key)
    if not isinstance(names, list) or not all(isinstance(n, (bytes, str)) for n in names):
        raise DatasetRejected(
            path + layout.meta_file, f"{layout.names_key!r} must list class names"
        )
    classes = [n.decode() if isinstance(n, bytes) else n for n in names]
    for (_, labels), n in [
        *zip(batches, layout.train_files, strict=True),
        ((None, y_test), layout.test_file),
    ]:
        if labels.size and (labels.min() < 0 or labels.max() >= len(classes)):
            raise DatasetRejected(
                path + n, f"labels outside 0..{len(classes) - 1} ({len(classes)} classes)"
            )
    return Canonical(
        x_train=np.concatenate([x for x, _ in batches]),
        y_train=np.concatenate([y for _, y in batches]),
        x_test=x_test,
        y_test=y_test,
        class_names=classes,
        info={"format": layout.folder, "resize": None, "split": "archive"},
    )
