"""The code stays ruff-clean and ruff-formatted, as STYLE.md asks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TREES = ["mailsuite", "tests", "bench", "twisted"]


def _ruff(*args: str) -> subprocess.CompletedProcess[str]:
    ruff = os.path.join(os.path.dirname(sys.executable), "ruff")
    return subprocess.run(
        [ruff, *args, *TREES], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def test_ruff_check_is_clean() -> None:
    """ruff's lint rules from pyproject.toml report nothing."""
    proc = _ruff("check")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_format_is_clean() -> None:
    """Every file is formatted as ruff format would write it."""
    proc = _ruff("format", "--check")
    assert proc.returncode == 0, proc.stdout + proc.stderr
