"""Unpickling CIFAR's python-pickle files without running code: the one allow-list, shared by
the trainer (core/trainer/cifar_pickle.py, files in DATA_DIR) and the upload checks
(core/datasets/cifar.py, archives a user sends). Standard library only; numpy comes in only as
the files' arrays are rebuilt."""

from __future__ import annotations

import pickle
from typing import IO, Any

# The published files hold numpy arrays, lists, ints and byte strings; nothing else may be
# built, so that a planted or uploaded file cannot run code (pickle.load alone would run anything).
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),  # numpy arrays pickled by Python 3 at protocol 2
}


class _CifarUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(
                f"unexpected object {module}.{name} in a CIFAR file: not allowed (only numpy "
                "arrays, lists, ints and byte strings are built)"
            )
        if module == "numpy.core.multiarray":  # the name numpy 2 keeps only as a deprecated alias
            module = "numpy._core.multiarray"
        return super().find_class(module, name)


def load_cifar_pickle(file: IO[bytes]) -> Any:
    """The file's object, its keys and names as byte strings (the originals are Python 2
    pickles). Raises pickle.UnpicklingError for anything outside the allow-list, and whatever a
    malformed pickle raises."""
    return _CifarUnpickler(file, encoding="bytes").load()
