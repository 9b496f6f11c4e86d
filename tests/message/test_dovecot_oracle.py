"""Our ENVELOPE/BODYSTRUCTURE equal Dovecot 2.3's for every corpus message (where we agree to)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailsuite.message import Message
from tests.message.imapform import bodystructure_form, envelope_form, parse_imap_values
from tests.message.test_corpus import FILES, part_paths

DOVEADM = shutil.which("doveadm")

# Where we knowingly differ from Dovecot 2.3, and why:
KNOWN_DIFFERENCES = {
    # RFC 2045 5.2: an invalid Content-Type means text/plain; Dovecot sends "" "".
    ("msg_14.txt", "imap.bodystructure"),
    ("bad_garbage_ctype.eml", "imap.bodystructure"),
    # NUL in an address: we keep the rest (as U+FFFD), Dovecot stops at the NUL.
    ("bad_nul.eml", "imap.envelope"),
    # A quoted local part stays quoted ("john smith"@x) so replies work; Dovecot
    # unquotes it. After a broken address (bad@@) we keep parsing; Dovecot stops.
    ("own_envelope_edges.eml", "imap.envelope"),
    ("own_digest.eml", "imap.envelope"),
}

pytestmark = [
    pytest.mark.external,
    pytest.mark.skipif(DOVEADM is None, reason="dovecot-core (doveadm) is not installed"),
    pytest.mark.skipif(
        os.geteuid() != 0, reason="needs root to run doveadm as an unprivileged mail user"
    ),
]

CONFIG = """\
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/log
mail_location = maildir:{base}/mail:INDEX=MEMORY
ssl = no
mail_uid = nobody
mail_gid = nogroup
first_valid_uid = 0
first_valid_gid = 0
userdb {{
  driver = static
  args = home={base}/mail
}}
passdb {{
  driver = static
  args = password=unused
}}
"""


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Path]:
    # Not under pytest's tmp dir: that is private to root, and doveadm reads as nobody.
    base = Path(tempfile.mkdtemp(prefix="mailsuite-dovecot-"))
    try:
        for d in ("run", "state"):
            (base / d).mkdir()
        (base / "dovecot.conf").write_text(CONFIG.format(base=base))
        os.chmod(base, 0o755)
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


def doveadm_fetch(base: Path, message: Path, fields: str) -> bytes:
    """Run ``doveadm fetch FIELDS all`` on a one-message Maildir holding ``message``."""
    mail = base / "mail"
    shutil.rmtree(mail, ignore_errors=True)
    for d in ("cur", "new", "tmp"):
        (mail / d).mkdir(parents=True)
    shutil.copy(message, mail / "new" / "1.msg")
    subprocess.run(["chown", "-R", "nobody:nogroup", str(mail)], check=True)
    return subprocess.run(
        [str(DOVEADM), "-c", str(base / "dovecot.conf"), "fetch", fields, "all"],
        env={**os.environ, "USER": "oracle", "HOME": str(mail)},
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout


def dovecot_fetch(base: Path, message: Path) -> dict[str, list[object]]:
    out = doveadm_fetch(base, message, "imap.envelope imap.bodystructure")
    env_part, bs_part = out.split(b"\nimap.bodystructure: ", 1)
    assert env_part.startswith(b"imap.envelope: ")
    return {
        "imap.envelope": parse_imap_values(env_part[len(b"imap.envelope: ") :]),
        "imap.bodystructure": parse_imap_values(bs_part),
    }


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_same_as_dovecot(dovecot: Path, path: Path) -> None:
    """ENVELOPE and BODYSTRUCTURE match what Dovecot 2.3 computes for the same file."""
    msg = Message.from_path(str(path))
    ours = {
        "imap.envelope": envelope_form(msg.envelope()),
        "imap.bodystructure": bodystructure_form(msg.bodystructure()),
    }
    theirs = dovecot_fetch(dovecot, path)
    for field in ours:
        if (path.name, field) in KNOWN_DIFFERENCES:
            assert ours[field] != theirs[field], (
                f"{path.name} {field} now agrees: drop the exception"
            )
        else:
            assert ours[field] == theirs[field], field


# Not compared: "N.1" of a leaf part, which Dovecot answers with the part itself
# and we with nothing (RFC 3501 6.4.5 numbers only multiparts and messages).
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_sections_same_as_dovecot(dovecot: Path, path: Path) -> None:
    """BODY[HEADER], [TEXT], [n], [n.MIME] and message parts' [n.HEADER]/[n.TEXT] match Dovecot."""
    msg = Message.from_path(str(path))
    wanted: list[tuple[str, bytes | None]] = [
        ("body.header", msg.section((), "HEADER")),
        ("body.text", msg.section((), "TEXT")),
    ]
    for part, sub in part_paths(msg.bodystructure()):
        if msg.section(part) is None:
            continue  # the stand-in part of an empty multipart
        name = "body." + ".".join(map(str, part))
        wanted.append((name, msg.section(part)))
        wanted.append((name + ".mime", msg.section(part, "MIME")))
        if sub.is_message:
            wanted.append((name + ".header", msg.section(part, "HEADER")))
            wanted.append((name + ".text", msg.section(part, "TEXT")))
    out = doveadm_fetch(dovecot, path, " ".join(name for name, _ in wanted))
    expected = b"".join(name.encode() + b":\n" + (data or b"") for name, data in wanted)
    assert out == expected
