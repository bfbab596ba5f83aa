"""The project's own Python is ruff-clean and ruff-formatted (the generated packages are
checked by their own tests)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

RUFF = str(Path(sys.executable).parent / "ruff")
PATHS = ["tools", "tests", "bench", "examples"]


@pytest.mark.parametrize("args", [["check"], ["format", "--check"]], ids=["lint", "format"])
def test_ruff(root, args):
    proc = subprocess.run([RUFF, *args, *PATHS], cwd=root, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
