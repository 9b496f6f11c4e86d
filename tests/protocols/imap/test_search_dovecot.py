"""Our SEARCH answers equal Dovecot 2.3's (``doveadm search``) on one Maildir, where we agree to."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailsuite.protocols.imap.commands import (
    AllKey,
    AndKey,
    DateKey,
    FlagKey,
    HeaderKey,
    NotKey,
    OrKey,
    SearchKey,
    SetKey,
    SizeKey,
    TextKey,
)
from mailsuite.protocols.imap.search import header_cache_for
from mailsuite.store.maildir import open_user_store
from tests.message.test_dovecot_oracle import CONFIG
from tests.protocols.imap.search_sample import MESSAGES, NESTED, Box, key_of
from tests.protocols.imap.test_search import CASES, NESTED_CASES

DOVEADM = shutil.which("doveadm")

pytestmark = [
    pytest.mark.external,
    pytest.mark.skipif(DOVEADM is None, reason="dovecot-core (doveadm) is not installed"),
    pytest.mark.skipif(
        os.geteuid() != 0, reason="needs root to run doveadm as an unprivileged mail user"
    ),
]

# Where we knowingly differ from Dovecot 2.3, and why (each is checked to still differ):
KNOWN_DIFFERENCES = {
    # Address fields also match their parsed form "Doe, John <john@example.com>".
    b'TO "John <john@example.com>"',
    # Full Unicode case folding: "\u00df" matches "ss".
    b"SUBJECT {11}\r\ngr\xc3\xbcsse aus",
    # A search string with white space matches across any run of white space
    # (folded headers, line breaks in bodies).
    b'SUBJECT "LONG   SUBJECT"',
    b'BODY "in. see"',
    # An encoded word in an unknown charset is searched as written.
    b"SUBJECT strange",
    b"OR (FROM alice BODY numbers) (SUBJECT strange)",
    # A message without a Date: field is sent on its internal date (RFC 5256
    # 2.2); Dovecot takes 1 January 1970.
    b"SENTON 2-Mar-2026",
    b"SENTON 3-Mar-2026",
    b"SENTSINCE 1-Mar-2026",
    b"SENTSINCE 3-Mar-2026",
    b"SENTBEFORE 2-Mar-2026",
    # doveadm reads "*" in a UID set as 4294967295; RFC 3501 9 makes it the
    # last UID in use (so "100:*" includes it), as Dovecot's IMAP server does.
    b"UID *",
    b"UID 100:*",
}
# \Recent is per session and OLDER/YOUNGER depend on the clock: not comparable.
SKIPPED = re.compile(rb"RECENT|\bOLD\b|NEW|OLDER|YOUNGER|MODSEQ|\$")


_FLAG_WORDS = {
    (flag, present): ("" if present else "UN") + flag[1:].upper()
    for flag in ("\\Answered", "\\Deleted", "\\Draft", "\\Flagged", "\\Seen")
    for present in (True, False)
}


def argv_of(key: SearchKey) -> list[str]:
    """The parsed program as doveadm arguments (infix OR, parentheses as their own words)."""
    if isinstance(key, AndKey):
        return ["("] + [a for k in key.keys for a in argv_of(k)] + [")"]
    if isinstance(key, OrKey):
        return ["(", *argv_of(key.left), "OR", *argv_of(key.right), ")"]
    if isinstance(key, NotKey):
        return ["NOT", "(", *argv_of(key.key), ")"]
    if isinstance(key, AllKey):
        return ["ALL"]
    if isinstance(key, FlagKey):
        word = _FLAG_WORDS.get((key.flag, key.present))
        return [word] if word else ["KEYWORD" if key.present else "UNKEYWORD", key.flag]
    if isinstance(key, HeaderKey):
        return ["HEADER", key.field, key.value]
    if isinstance(key, TextKey):
        return [key.where, key.value]
    if isinstance(key, DateKey):
        day = f"{key.date.day}-{key.date.strftime('%b')}-{key.date.year:04d}"
        return [("SENT" if key.sent else "") + key.which, day]
    if isinstance(key, SizeKey):
        return ["LARGER" if key.larger else "SMALLER", str(key.size)]
    if isinstance(key, SetKey):
        seq = key.sequence.to_bytes().decode()
        return ["UID", seq] if key.uid else [seq]
    raise AssertionError(f"not comparable with doveadm: {key!r}")


@pytest.fixture(scope="module")
def oracle() -> Iterator[tuple[Path, Box]]:
    # Not under pytest's tmp dir: that is private to root, and doveadm reads as nobody.
    base = Path(tempfile.mkdtemp(prefix="mailsuite-search-dovecot-"))
    try:
        for d in ("run", "state"):
            (base / d).mkdir()
        (base / "dovecot.conf").write_text(CONFIG.format(base=base))
        os.chmod(base, 0o755)
        store = open_user_store(str(base / "mail"), user="oracle", fsync=False)
        mbox = store.open_mailbox("INBOX")
        gone = mbox.append(b"Subject: gone\n\nx\n", ("\\Deleted",))
        mbox.expunge([gone])
        uids = [mbox.append(data, flags, when) for data, flags, when in MESSAGES]
        uids.append(mbox.append(NESTED))
        box = Box(mbox, mbox.snapshot(), uids)
        subprocess.run(["chown", "-R", "nobody:nogroup", str(base / "mail")], check=True)
        yield base, box
        mbox.close()
    finally:
        shutil.rmtree(base, ignore_errors=True)


def doveadm_search(base: Path, keys: bytes) -> list[int]:
    """UIDs ``doveadm search`` finds in INBOX (its days in UTC, as our side's)."""
    out = subprocess.run(
        [str(DOVEADM), "-c", str(base / "dovecot.conf"), "search", "mailbox", "INBOX"]
        + argv_of(key_of(keys)),
        env={**os.environ, "USER": "oracle", "HOME": str(base / "mail"), "TZ": "UTC"},
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    return sorted(int(line.split()[1]) for line in out.decode().splitlines() if line.strip())


COMPARED = [keys for keys, _ in CASES if not SKIPPED.search(keys)]


@pytest.mark.parametrize("keys", COMPARED, ids=[k.decode().replace("\r\n", " ") for k in COMPARED])
def test_same_as_dovecot(oracle: tuple[Path, Box], keys: bytes) -> None:
    """The sample mailbox gives the same answer as Dovecot, or a difference we chose."""
    base, box = oracle
    ours = box.search(keys, header_cache=header_cache_for(box.mailbox))
    theirs = box.seqs(doveadm_search(base, keys))
    if keys in KNOWN_DIFFERENCES:
        assert ours != theirs, "now agrees with Dovecot: drop the exception"
    else:
        assert ours == theirs


@pytest.mark.parametrize(
    ("keys", "found"), NESTED_CASES, ids=[k.decode().replace("\r\n", " ") for k, _ in NESTED_CASES]
)
def test_nested_parts_same_as_dovecot(oracle: tuple[Path, Box], keys: bytes, found: bool) -> None:
    """Which parts BODY and TEXT look into agrees with Dovecot (message 6 is the nested one)."""
    base, box = oracle
    assert (6 in box.seqs(doveadm_search(base, keys))) is found
