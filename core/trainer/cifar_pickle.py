"""Reading the CIFAR python-pickle files safely. No torch (numpy comes in only as the files'
arrays are rebuilt), so that the Celery worker can count a data set's images too."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from core.cifar_unpickler import load_cifar_pickle


def read_pickle(path: Path) -> dict[bytes, Any]:
    try:
        with path.open("rb") as f:
            content = load_cifar_pickle(f)
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as error:
        raise ValueError(f"{path} is not a CIFAR python-pickle file: {error}") from error
    if not isinstance(content, dict):
        raise ValueError(f"{path} is not a CIFAR python-pickle file: expected a dict")
    # Accept str keys as well, for files written by Python 3 tools.
    return {k.encode() if isinstance(k, str) else k: v for k, v in content.items()}
