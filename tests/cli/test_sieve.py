"""``mailsuite sieve check`` and ``sieve test``, run as the real installed command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

MAILSUITE = os.path.join(os.path.dirname(sys.executable), "mailsuite")


def mailsuite(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MAILSUITE, *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_check_good_script_is_silent(tmp_path: Path) -> None:
    """A script that compiles passes silently with exit status 0."""
    path = tmp_path / "good.sieve"
    path.write_text('require ["fileinto"];\nif header :contains "subject" "x" { fileinto "X"; }\n')
    proc = mailsuite("sieve", "check", str(path))
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


def test_check_reports_every_error_compiler_style(tmp_path: Path) -> None:
    """Each error is printed as file:line: message and the exit status is non-zero."""
    path = tmp_path / "bad.sieve"
    path.write_text(
        'require ["fileinto", "bogus"];\nif true {\n  fileinto 42;\n}\nredirect "nobody";\n'
    )
    proc = mailsuite("sieve", "check", str(path))
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        f'{path}:1: unknown capability "bogus" in require (not supported here)',
        f"{path}:3: mailbox of 'fileinto' must be a string",
        f"{path}:5: 'redirect' needs a valid mail address, got 'nobody'",
    ]


def test_check_syntax_error(tmp_path: Path) -> None:
    """A syntax error is reported with its line."""
    path = tmp_path / "syntax.sieve"
    path.write_text("keep;\nif true {\n  stop;\n")
    proc = mailsuite("sieve", "check", str(path))
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"{path}:4: expected '}}'")


def test_check_several_files_and_missing_file(tmp_path: Path) -> None:
    """Several files are checked in one run; an unreadable one gives exit status 66."""
    good = tmp_path / "good.sieve"
    good.write_text("keep;")
    proc = mailsuite("sieve", "check", str(good), str(tmp_path / "missing.sieve"))
    assert proc.returncode == 66
    assert (
        proc.stderr.strip()
        == f"{tmp_path / 'missing.sieve'}: cannot read: No such file or directory"
    )


def test_check_non_utf8(tmp_path: Path) -> None:
    """A script that is not UTF-8 is an error on the line of the bad byte."""
    path = tmp_path / "latin1.sieve"
    path.write_bytes(b"keep;\n\n# \xe9t\xe9\n")
    proc = mailsuite("sieve", "check", str(path))
    assert (proc.returncode, proc.stderr.strip()) == (1, f"{path}:3: script is not valid UTF-8")


def test_test_prints_actions(tmp_path: Path) -> None:
    """sieve test prints what the script would do with a message."""
    script = tmp_path / "s.sieve"
    script.write_text(
        'require ["fileinto", "imap4flags", "copy"];\n'
        'if header :contains "subject" "report" { fileinto :copy :flags "\\\\Seen" "Reports"; }\n'
    )
    msg = tmp_path / "m.eml"
    msg.write_text("From: a@example.org\nTo: me@example.com\nSubject: Weekly report\n\nhi\n")
    proc = mailsuite("sieve", "test", str(script), str(msg))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["fileinto 'Reports' flags=\\Seen", "keep"]


def test_test_runtime_error_says_message_is_kept(tmp_path: Path) -> None:
    """A runtime error is printed with file:line and the note that the message is kept."""
    script = tmp_path / "s.sieve"
    script.write_text('require "reject";\nkeep;\nreject "no";\n')
    msg = tmp_path / "m.eml"
    msg.write_text("Subject: x\n\nhi\n")
    proc = mailsuite("sieve", "test", str(script), str(msg))
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"{script}:3: reject cannot be combined")
    assert "would be kept" in proc.stderr


def test_help_lists_sieve() -> None:
    """The sieve command family is registered with the admin command."""
    proc = mailsuite("--help")
    assert proc.returncode == 0 and "sieve" in proc.stdout


def test_capabilities_lists_what_require_accepts() -> None:
    """sieve capabilities prints every supported capability on one line."""
    proc = mailsuite("sieve", "capabilities")
    assert proc.returncode == 0
    caps = proc.stdout.split()
    assert {"fileinto", "envelope", "imap4flags", "copy", "vacation", "reject"} <= set(caps)
    assert caps == sorted(caps) and "body" not in caps and "variables" in caps
