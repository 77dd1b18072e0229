"""`.npz` uploads: uint8 `x_train`, `x_test` (N x 32 x 32 x 3, NHWC as Keras and TensorFlow keep
them), integer `y_train`, `y_test` (N, or N x 1 as Keras' loaders give), optional `class_names`.

Each `.npy` header is read and its declared size checked against the member's before any array
is built (numpy would allocate the declared shape first), and no pickled object is accepted.
"""

from __future__ import annotations

import io
from collections.abc import Iterable

import numpy as np

from core.datasets.archive import Member, ignored
from core.datasets.canonical import Canonical
from core.datasets.errors import DatasetRejected
from core.datasets.limits import MAX_CLASSES, MIN_CLASSES

REQUIRED = ("x_train", "y_train", "x_test", "y_test")
OPTIONAL = ("class_names",)


def _array(name: str, data: bytes) -> np.ndarray:
    file = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(file)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(file)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(file)
    except (ValueError, SyntaxError, TypeError) as error:
        raise DatasetRejected(name, f"not a .npy array ({error})") from error
    if dtype.hasobject:
        raise DatasetRejected(name, "holds Python objects (pickles are not read)")
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    body = data[file.tell() :]
    if len(body) != expected:
        raise DatasetRejected(
            name, f"declares shape {shape} of {dtype} ({expected} bytes) but holds {len(body)}"
        )
    array = np.frombuffer(body, dtype=dtype)
    return array.reshape(shape, order="F" if fortran else "C")


def read(members: Iterable[Member]) -> Canonical:
    arrays: dict[str, np.ndarray] = {}
    for member in members:
        if member.name.endswith("/") or ignored(member.name):
            continue
        key = member.name.removesuffix(".npy")
        if key not in REQUIRED + OPTIONAL:
            raise DatasetRejected(
                member.name, f"unexpected array; an .npz holds {', '.join(REQUIRED + OPTIONAL)}"
            )
        arrays[key] = _array(key, member.read())
    for key in REQUIRED:
        if key not in arrays:
            raise DatasetRejected(key, "missing from the .npz")
    split = {}
    for part in ("train", "test"):
        x, y = arrays[f"x_{part}"], arrays[f"y_{part}"]
        if x.dtype != np.uint8 or x.ndim != 4 or x.shape[1:] != (32, 32, 3):
            raise DatasetRejected(
                f"x_{part}", f"must be uint8 N x 32 x 32 x 3, got {x.dtype} {x.shape}"
            )
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.dtype.kind not in "iu" or y.shape != (x.shape[0],):
            raise DatasetRejected(
                f"y_{part}", f"must be {x.shape[0]} integer labels, got {y.dtype} {y.shape}"
            )
        if y.size and y.dtype.kind == "i" and y.min() < 0:
            raise DatasetRejected(f"y_{part}", f"labels must be >= 0, found {int(y.min())}")
        split[f"x_{part}"] = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
        split[f"y_{part}"] = y.astype(np.int64)
    top = max(int(split["y_train"].max(initial=0)), int(split["y_test"].max(initial=0)))
    if "class_names" in arrays:
        names_array = arrays["class_names"]
        if names_array.dtype.kind not in "US" or names_array.ndim != 1:
            raise DatasetRejected(
                "class_names", f"must be a list of strings, got {names_array.dtype}"
            )
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in names_array.tolist()]
        for part in ("train", "test"):
            labels = split[f"y_{part}"]
            if labels.size and labels.max() >= len(names):
                raise DatasetRejected(
                    f"y_{part}",
                    f"label {int(labels.max())} out of range for {len(names)} class_names",
                )
    else:
        if not MIN_CLASSES <= top + 1 <= MAX_CLASSES:
            raise DatasetRejected(
                "y_train",
                f"labels 0..{top}: between {MIN_CLASSES} and {MAX_CLASSES} classes needed",
            )
        names = [str(i) for i in range(top + 1)]
    return Canonical(
        class_names=names, info={"format": "npz", "resize": None, "split": "archive"}, **split
    )
