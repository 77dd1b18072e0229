"""Reading the CIFAR python-pickle files safely. No torch (numpy comes in only as the files'
arrays are rebuilt), so that the Celery worker can count a data set's images too."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

# The official files hold numpy arrays, lists, ints and strings; nothing else may be built, so a
# planted file cannot run code (pickle.load alone would run anything).
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
            raise pickle.UnpicklingError(f"unexpected object {module}.{name} in a CIFAR file")
        if module == "numpy.core.multiarray":  # the name numpy 2 keeps only as a deprecated alias
            module = "numpy._core.multiarray"
        return super().find_class(module, name)


def read_pickle(path: Path) -> dict[bytes, Any]:
    try:
        with path.open("rb") as f:
            # bytes: the originals are Python 2 pickles whose keys and names are byte strings.
            content = _CifarUnpickler(f, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as error:
        raise ValueError(f"{path} is not a CIFAR python-pickle file: {error}") from error
    if not isinstance(content, dict):
        raise ValueError(f"{path} is not a CIFAR python-pickle file: expected a dict")
    # Accept str keys as well, for files written by Python 3 tools.
    return {k.encode() if isinstance(k, str) else k: v for k, v in content.items()}
