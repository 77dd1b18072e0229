"""The API process never imports torch (nor the trainer): it runs on machines without them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import sys
import api.app
import ops.keys
heavy = ("torch", "torchvision", "core.trainer")
print(sorted(name for name in sys.modules if name.split(".")[0] in heavy or name.startswith(heavy)))
"""


def test_api_import_loads_no_torch(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'service.db'}",
        "BROKER_URL": f"filesystem://{tmp_path / 'broker'}",
    }
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
