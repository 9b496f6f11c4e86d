"""mailsuite index check/rebuild."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailsuite.cli.main import main

from .storehelp import make_config, seed


def test_index_check_reports_damage_and_rebuild_fixes_index(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """index check exits 0 when clean and 1 on a damaged message file; rebuild keeps UIDs."""
    config = make_config(tmp_path)
    root = seed(tmp_path)
    assert main(["-c", config, "index", "check", "alice@example.org"]) == 0
    assert "INBOX: 3 messages, ok" in capsys.readouterr().out
    victim = next(Path(root, "new").iterdir())
    victim.write_bytes(victim.read_bytes().replace(b"body", b"bodY"))
    assert main(["-c", config, "index", "check", "alice@example.org", "INBOX"]) == 1
    out = capsys.readouterr().out
    assert "message file damaged" in out and str(victim) in out
    assert main(["-c", config, "index", "rebuild", "alice@example.org", "INBOX"]) == 0
    assert "INBOX: index rebuilt, 3 messages" in capsys.readouterr().out
