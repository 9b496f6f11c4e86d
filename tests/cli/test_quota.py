"""mailsuite quota get/recalc."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailsuite.cli.main import main

from .storehelp import make_config, seed


def test_quota_get_and_recalc(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """quota get prints usage against the configured limits; recalc recounts the files."""
    config = make_config(tmp_path)
    root = seed(tmp_path)
    Path(root, "maildirsize").write_text("1000000S,10C\n999 99\n")
    assert main(["-c", config, "quota", "get", "alice@example.org"]) == 0
    assert "alice@example.org\tMESSAGE\t99\t10\t990" in capsys.readouterr().out
    assert main(["-c", config, "quota", "recalc", "alice@example.org"]) == 0
    out = capsys.readouterr().out
    assert "alice@example.org\tMESSAGE\t3\t10\t30" in out
