"""Maildir file names: unique names, ``,S=``/``,W=`` size fields, ``:2,`` flag letters.

A Maildir file name is ``<base>[:2,<info>]``. The base never changes after
delivery (it is what ``dovecot-uidlist`` records); the info part holds the
flag letters in ASCII order: upper-case letters are the standard Maildir
flags, lower-case ``a``-``z`` are keywords numbered by ``dovecot-keywords``.
Dovecot appends ``,S=<physical size>`` and ``,W=<size with CRLF>`` to the
base; we write and honour both so sizes need no ``stat`` or read.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from mailsuite.store.api import ANSWERED, DELETED, DRAFT, FLAGGED, SEEN

__all__ = [
    "INFO_SEP",
    "FLAG_TO_LETTER",
    "LETTER_TO_FLAG",
    "ParsedName",
    "NameGenerator",
    "parse_name",
    "join_name",
    "letters_for",
]

INFO_SEP = ":2,"
# The letters every Maildir reader (mutt, Dovecot, Courier) agrees on; "P"
# (passed) has no IMAP flag and is kept untouched on rename.
FLAG_TO_LETTER = {DRAFT: "D", FLAGGED: "F", ANSWERED: "R", SEEN: "S", DELETED: "T"}
LETTER_TO_FLAG = {v: k for k, v in FLAG_TO_LETTER.items()}
_SIZE_FIELD = re.compile(r",([SW])=(\d+)")


@dataclass(frozen=True, slots=True)
class ParsedName:
    """A Maildir file name taken apart."""

    base: str
    info: str | None  # the letters after ":2,", None when the name has no info part
    size: int | None  # ,S= physical size
    vsize: int | None  # ,W= size with CRLF line ends

    @property
    def letters(self) -> str:
        return self.info or ""


def parse_name(name: str) -> ParsedName:
    """Split a Maildir file name into base, flag letters and size fields."""
    base, sep, info = name.partition(INFO_SEP)
    if not sep:
        # Some writers use ":1,..." (experimental semantics) or nothing at all;
        # the whole ":..." tail is not part of the base (Maildir spec, "info").
        base, _, _ = name.partition(":")
        info_opt: str | None = None
    else:
        info_opt = info
    size = vsize = None
    for m in _SIZE_FIELD.finditer(base):
        if m.group(1) == "S":
            size = int(m.group(2))
        else:
            vsize = int(m.group(2))
    return ParsedName(base, info_opt, size, vsize)


def join_name(base: str, letters: str | None) -> str:
    """The file name for ``base`` with the given info letters (sorted, unique)."""
    if letters is None:
        return base
    return base + INFO_SEP + "".join(sorted(set(letters)))


def letters_for(
    flags: Iterable[str], keyword_letter: Callable[[str], str | None], keep: str = ""
) -> str:
    """Info letters for IMAP flags.

    Args:
        flags: IMAP system flags and keywords.
        keyword_letter: maps a keyword to its letter (``None``: not mapped).
        keep: existing letters without an IMAP meaning (e.g. "P") to preserve.
    """
    out = {c for c in keep if c.isupper() and c not in LETTER_TO_FLAG}
    for f in flags:
        letter = FLAG_TO_LETTER.get(f)
        if letter is None:
            letter = keyword_letter(f)
        if letter is not None:
            out.add(letter)
    return "".join(sorted(out))


def _safe_host(host: str) -> str:
    # Maildir spec: "/" and ":" in the host name are written as \057 and \072.
    return host.replace("/", "\\057").replace(":", "\\072") or "localhost"


class NameGenerator:
    """Makes unique base names ``<sec>.M<usec>P<pid>Q<n>.<host>`` (Dovecot's style).

    Unique per host: time + pid + a per-process counter. Time and host are
    injected so tests can pin them.
    """

    def __init__(
        self,
        clock: Callable[[], float] = time.time,
        host: str | None = None,
        pid: Callable[[], int] = os.getpid,
    ) -> None:
        self._clock = clock
        self._host = _safe_host(host if host is not None else socket.gethostname())
        self._pid = pid
        self._lock = threading.Lock()
        self._counter = 0

    def new_base(self, size: int, vsize: int) -> str:
        """A fresh base name carrying the message's sizes."""
        now = self._clock()
        sec = int(now)
        usec = int((now - sec) * 1_000_000)
        with self._lock:
            self._counter += 1
            n = self._counter
        return f"{sec}.M{usec}P{self._pid()}Q{n}.{self._host},S={size},W={vsize}"
