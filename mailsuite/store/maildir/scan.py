"""Listing ``new/`` and ``cur/`` and deciding whether a listing is needed at all.

A directory's (mtime, size, inode) changes whenever a file is added, renamed
or removed inside it, so an unchanged stamp means an unchanged listing
(Dovecot's maildir sync relies on the same). File systems keep mtimes with
a coarse clock, so a stamp taken within ``TRUST_AFTER_S`` of the
directory's last change is not trusted: a second change in the same clock
tick would leave the mtime as it was.

What the index stores per directory (meta ``stamp_new`` / ``stamp_cur``):

* ``M:S:I`` (mtime ns, size, inode): listed, and the stamp was old enough to
  trust; listed again only when the stamp changes.
* ``dirty``: listed while the stamp was fresh (an external change just
  happened); listed at every sync until the stamp is old enough.
* ``own:M:S:I:F``: our own changes (made under ``mailsuite.lock``, starting
  from a stamp we knew) moved the directory to stamp ``M:S:I``, so its
  content is what the index says without listing it (Dovecot keeps the same
  record of its own changes). Any other change moves the stamp away from
  ``M:S:I`` and forces a listing at the next sync. The one thing a stamp
  cannot show is another agent's change in the *same* clock tick as ours;
  so once ``TRUST_AFTER_S`` has passed since ``F`` (the oldest own change
  not yet confirmed by a listing) the next sync lists once more. On a busy
  mailbox that listing may find our own latest change still fresh; it then
  stays an own record confirmed up to that change, so a mailbox changed by us
  every second is listed once per window, never after every change.
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
    "needs_listing",
    "listed_stamp",
    "own_change_stamp",
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


def _raw(stamp: tuple[int, int, int]) -> str:
    return f"{stamp[0]}:{stamp[1]}:{stamp[2]}"


def needs_listing(stored: str | None, stamp: tuple[int, int, int] | None, now: float) -> bool:
    """Whether a directory must be listed, given what the index stored and its stamp now."""
    if stored is None or stored == "dirty" or stamp is None:
        return True
    if stored.startswith("own:"):
        raw, _, first = stored[4:].rpartition(":")
        if raw != _raw(stamp):
            return True  # someone else changed it after our last own change
        # Confirm once per window that no change hid in the clock tick of ours.
        return now - int(first) / 1e9 >= TRUST_AFTER_S
    return stored != stamp_string(stamp, now)


def own_change_stamp(
    stored: str | None,
    before: tuple[int, int, int] | None,
    after: tuple[int, int, int] | None,
) -> str | None:
    """What to store after our own change turned stamp ``before`` into ``after``.

    Returns None when the directory had changed in a way the index does not
    know yet (the stored value stays, so the next sync lists the directory).
    The caller holds ``mailsuite.lock``, so no other mailsuite process changed it
    between ``before`` and ``after``.
    """
    if stored is None or stored == "dirty" or before is None or after is None:
        return None
    if before == after:
        return None  # not touched: what is stored stays right
    if stored.startswith("own:"):
        raw, _, first = stored[4:].rpartition(":")
        if raw != _raw(before):
            return None
        return f"own:{_raw(after)}:{first}"
    if stored != _raw(before):
        return None  # changed by someone else since it was listed (or "missing")
    return f"own:{_raw(after)}:{after[0]}"


def listed_stamp(stored: str | None, stamp: tuple[int, int, int] | None, now: float) -> str:
    """What to store for a directory just listed, its stamp taken before the listing.

    A fresh stamp after an external change is ``dirty`` (listed at every sync
    until it is old enough). A fresh stamp that is still our own last change
    (a confirming listing on a busy mailbox) stays an own-change record
    confirmed up to its own tick, so our further changes need no listing and
    the next confirmation comes one window later.
    """
    value = stamp_string(stamp, now)
    if (
        value == "dirty"
        and stamp is not None
        and stored is not None
        and stored.startswith("own:")
        and stored[4:].rpartition(":")[0] == _raw(stamp)
    ):
        return f"own:{_raw(stamp)}:{stamp[0]}"
    return value


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
