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
from tests.message.test_corpus import FILES

DOVEADM = shutil.which("doveadm")

# Where we knowingly differ from Dovecot 2.3, and why:
KNOWN_DIFFERENCES = {
    # RFC 2045 5.2: an invalid Content-Type means text/plain; Dovecot sends "" "".
    ("msg_14.txt", "imap.bodystructure"),
    ("bad_garbage_ctype.eml", "imap.bodystructure"),
    # NUL in an address: we keep the rest (as U+FFFD), Dovecot stops at the NUL.
    ("bad_nul.eml", "imap.envelope"),
    # Past the nesting cap Dovecot reports the opaque part's size as 0; we give its real size.
    ("bad_deep_nesting.eml", "imap.bodystructure"),
}

pytestmark = [
    pytest.mark.external,
    pytest.mark.skipif(DOVEADM is None, reason="dovecot-core (doveadm) is not installed"),
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run doveadm as an unprivileged mail user"),
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


def dovecot_fetch(base: Path, message: Path) -> dict[str, list[object]]:
    mail = base / "mail"
    shutil.rmtree(mail, ignore_errors=True)
    for d in ("cur", "new", "tmp"):
        (mail / d).mkdir(parents=True)
    shutil.copy(message, mail / "new" / "1.msg")
    subprocess.run(["chown", "-R", "nobody:nogroup", str(mail)], check=True)
    out = subprocess.run(
        [str(DOVEADM), "-c", str(base / "dovecot.conf"), "fetch", "imap.envelope imap.bodystructure", "all"],
        env={**os.environ, "USER": "oracle", "HOME": str(mail)},
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
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
            assert ours[field] != theirs[field], f"{path.name} {field} now agrees: drop the exception"
        else:
            assert ours[field] == theirs[field], field
