"""Listing ``new/`` and ``cur/`` and deciding whether a listing is needed at all.

A directory's (mtime, size, inode) changes whenever a file is added, renamed
or removed inside it, so an unchanged stamp means an unchanged listing
(Dovecot's maildir sync relies on the same). File systems keep mtimes with
a coarse clock, so a stamp taken within ``TRUST_AFTER_S`` of the
directory's last change is not trusted: a second change in the same clock
tick would leave the mtime as it was.
"""

from __future__ import annotations

import os
import time

from mailsuite.store.maildir.filenames import ParsedName, parse_name

__all__ = [
    "SUBDIRS",
    "TRUST_AFTER_S",
    "dir_stamp",
    "stamp_string",
    "list_dir",
    "list_names",
    "Listing",
]

SUBDIRS = ("new", "cur")
TRUST_AFTER_S = 2.0
_MAX_RESCANS = 5

# base name -> (subdir, file name, parsed name)
Listing = dict[str, tuple[str, str, ParsedName]]


def dir_stamp(path: str) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def stamp_string(stamp: tuple[int, int, int] | None, now: float | None = None) -> str:
    """The stamp as stored in the index; "dirty" when it is too recent to be trusted."""
    if stamp is None:
        return "missing"
    now = time.time() if now is None else now
    if now - stamp[0] / 1e9 < TRUST_AFTER_S:
        return "dirty"
    return f"{stamp[0]}:{stamp[1]}:{stamp[2]}"


def list_dir(mailbox_path: str, sub: str) -> tuple[Listing, tuple[int, int, int] | None]:
    """List one of ``new``/``cur``, repeating while it changes under us.

    Returns:
        The listing by base name and the stamp taken *before* the listing that
        was used (so a change racing the listing makes the next sync look again).
    """
    path = os.path.join(mailbox_path, sub)
    out: Listing = {}
    before = dir_stamp(path)
    for _ in range(_MAX_RESCANS):
        out = {}
        try:
            names = os.listdir(path)
        except FileNotFoundError:
            return {}, None
        for name in names:
            if name.startswith("."):
                continue  # not a message (Maildir spec: hidden files are ignored)
            p = parse_name(name)
            out[p.base] = (sub, name, p)
        after = dir_stamp(path)
        if after == before:
            break
        before = after
    return out, before


def list_names(mailbox_path: str, sub: str) -> tuple[list[str], tuple[int, int, int] | None]:
    """The message file names in ``new``/``cur``, unparsed, and the stamp from before listing.

    Lists again while the directory changes under us, so a rename racing the
    listing cannot make a message look removed.
    """
    path = os.path.join(mailbox_path, sub)
    before = dir_stamp(path)
    names: list[str] = []
    for _ in range(_MAX_RESCANS):
        try:
            names = [n for n in os.listdir(path) if not n.startswith(".")]
        except FileNotFoundError:
            return [], None
        after = dir_stamp(path)
        if after == before:
            break
        before = after
    return names, before
