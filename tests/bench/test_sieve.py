"""The benchmark's Sieve script: valid for both engines, and it files and flags as meant."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from bench.sieve import LIST_FOLDER, SIEVE_SCRIPT, folder_count, install_scripts, remove_scripts
from bench.workloads.lmtp_sieve import sieve_message
from mailsuite.message import Message
from mailsuite.sieve import FileInto, Keep, MessageContext, compile_script, evaluate


def _actions(raw: bytes) -> list[object]:
    msg = Message.from_bytes(raw)
    ctx = MessageContext(
        header_values=msg.header_values,
        size=len(raw),
        envelope_from="sender@bench.test",
        envelope_to="sink00@localhost",
    )
    return list(evaluate(compile_script(SIEVE_SCRIPT, "bench.sieve"), ctx))


def test_list_posts_are_filed_and_direct_mail_is_flagged_and_kept() -> None:
    """mailsuite's Sieve files odd (list) messages into Lists and keeps even ones with Flagged."""
    assert _actions(sieve_message(1)) == [FileInto(LIST_FOLDER)]
    assert _actions(sieve_message(2)) == [Keep(frozenset({"\\Flagged"}))]


@pytest.mark.external
def test_pigeonhole_compiles_the_same_script(tmp_path: Path) -> None:
    """Dovecot's sievec accepts the script byte for byte, so both servers run the same filter."""
    sievec = shutil.which("sievec")
    if sievec is None:
        pytest.skip("sievec (Debian dovecot-sieve) not installed")
    src = tmp_path / "bench.sieve"
    src.write_text(SIEVE_SCRIPT)
    done = subprocess.run([sievec, str(src)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "bench.svbin").exists()


def test_scripts_come_and_go_and_folders_are_counted(tmp_path: Path) -> None:
    """Scripts are installed per user and all removed after; folder counts read new/ and cur/."""
    sieve_dir = tmp_path / "sieve"
    sieve_dir.mkdir()
    install_scripts(str(sieve_dir), ["sink00", "sink01"])
    assert sorted(p.name for p in sieve_dir.iterdir()) == ["sink00.sieve", "sink01.sieve"]
    assert (sieve_dir / "sink00.sieve").read_text() == SIEVE_SCRIPT
    remove_scripts(str(sieve_dir))
    assert list(sieve_dir.iterdir()) == []
    for sub, n in (("new", 2), ("cur", 1), ("tmp", 5)):
        d = tmp_path / "mail" / "sink00" / f".{LIST_FOLDER}" / sub
        d.mkdir(parents=True)
        for i in range(n):
            (d / f"m{i}").write_bytes(b"x")
    assert folder_count(str(tmp_path / "mail"), "sink00", LIST_FOLDER) == 3
