"""The two Dovecot files of a mailbox core: ``dovecot-uidlist`` and ``dovecot-keywords``.

A mixin of :class:`~.core.MailboxCore`: the parsed copy of each file is kept
with the file's (inode, mtime, size) stamp, so an unchanged file is never
read again; new UIDs are appended in place as Dovecot does, and an expunge
rewrites the file from the lines already read instead of formatting every
record again. Every method is called under the locks the docstring names.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from mailsuite.errors import ErrorKind, MailError
from mailsuite.store.maildir.filenames import LETTER_TO_FLAG
from mailsuite.store.maildir.locks import DotLock, atomic_write
from mailsuite.store.maildir.uidlist import (
    MAX_KEYWORDS,
    UidList,
    UidListError,
    format_header,
    format_keywords,
    format_records,
    parse_keywords,
    parse_uidlist,
    read_file,
)

if TYPE_CHECKING:
    from mailsuite.store.maildir.index import IndexDB, IndexRow

__all__ = ["UidFiles"]

_Stamp = tuple[int, int, int]


def base_of(name: str) -> str:
    return name.partition(":")[0]


class UidFiles:
    """Reading and writing ``dovecot-uidlist`` and ``dovecot-keywords`` (a core mixin)."""

    # Provided by MailboxCore.
    path: str
    fsync: bool
    log: Callable[[str], None]
    uidlist_path: str
    _keywords_path: str
    _new_uidvalidity: Callable[[], int]
    rows: dict[int, IndexRow]
    _uidlist_cache: tuple[_Stamp, UidList, bytes | None] | None
    _kw_cache: tuple[_Stamp, list[str | None]] | None

    @property
    def index(self) -> IndexDB:
        raise NotImplementedError

    def where(self) -> str:
        raise NotImplementedError

    # ----------------------------------------------------------- keywords
    def keywords(self) -> list[str | None]:
        path = self._keywords_path
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return []
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        if self._kw_cache is not None and self._kw_cache[0] == key:
            return self._kw_cache[1]
        res = read_file(path)
        kws = parse_keywords(res[0]) if res else []
        self._kw_cache = (key, kws)
        return kws

    def keyword_letters(self, wanted: frozenset[str]) -> dict[str, str]:
        """Letters for keywords, adding new ones to ``dovecot-keywords``; caller holds locks.

        Raises:
            MailError: LIMIT when all 26 letters are taken.
        """
        kws = list(self.keywords())
        out: dict[str, str] = {}
        added = False
        for kw in sorted(wanted):
            if kw in kws:
                out[kw] = chr(ord("a") + kws.index(kw))
                continue
            try:
                slot = kws.index(None)
            except ValueError:
                slot = len(kws)
                if slot >= MAX_KEYWORDS:
                    raise MailError(
                        ErrorKind.LIMIT,
                        "Too many keywords in this mailbox",
                        f"cannot add keyword {kw!r}: all {MAX_KEYWORDS} letters in use "
                        f"({self.where()})",
                    ) from None
                kws.append(None)
            kws[slot] = kw
            out[kw] = chr(ord("a") + slot)
            added = True
        if added:
            atomic_write(self._keywords_path, format_keywords(kws), self.fsync)
        return out

    def flags_of(self, letters: str, kws: list[str | None]) -> str:
        out = []
        for c in letters:
            f = LETTER_TO_FLAG.get(c)
            if f is not None:
                out.append(f)
            elif "a" <= c <= "z":
                i = ord(c) - 97
                if i < len(kws) and kws[i]:
                    out.append(kws[i])  # type: ignore[arg-type]
        return " ".join(sorted(set(out)))

    # ------------------------------------------------------------ uidlist
    def load_uidlist(self) -> tuple[UidList, bool]:
        """The uidlist (a private copy) and whether it must be written; caller holds the dotlock."""
        try:
            st = os.stat(self.uidlist_path)
        except FileNotFoundError:
            st = None
        if st is not None:
            key = (st.st_ino, st.st_mtime_ns, st.st_size)
            if self._uidlist_cache is not None and self._uidlist_cache[0] == key:
                ul = self._uidlist_cache[1]
            else:
                res = read_file(self.uidlist_path)
                if res is None:
                    return self.load_uidlist()
                data, st = res
                try:
                    ul = parse_uidlist(data)
                except UidListError as e:
                    return self._recover_uidlist(str(e)), True
                body = data.partition(b"\n")[2]
                # The lines are reused for in-place appends and removals only when
                # they are whole version 3 records, as we would write them.
                reuse = data.startswith(b"3 ") and (body.endswith(b"\n") or not body)
                self._uidlist_cache = (
                    (st.st_ino, st.st_mtime_ns, st.st_size),
                    ul,
                    body if reuse else None,
                )
            return UidList(ul.uidvalidity, ul.nextuid, ul.guid, dict(ul.records),
                           list(ul.header_extra)), False  # fmt: skip
        if self.rows or self._index_uidvalidity():
            return self._recover_uidlist("file is missing"), True
        return UidList(self._new_uidvalidity(), 1, secrets.token_hex(16)), True

    def write_uidlist(
        self,
        dl: DotLock,
        ul: UidList,
        added: Sequence[int] | None = None,
        removed: Sequence[int] | None = None,
    ) -> None:
        """Write the uidlist (releasing the dotlock); caller no longer changes ``ul``.

        Args:
            added: the only change since :meth:`load_uidlist` is these new UIDs:
                appended in place as Dovecot does (N in the header may then lag).
            removed: the only change since :meth:`load_uidlist` is that these
                UIDs were dropped: the file is rewritten from the lines of the
                copy read, without formatting every record again.
        """
        body = None
        cache = self._uidlist_cache
        if added is not None and cache is not None and cache[2] is not None:
            prev = cache[1]
            # Every UID in a uidlist is below its next UID (parse_uidlist and every
            # writer keep it so): an upper bound of the records without a scan.
            top = prev.nextuid - 1
            if len(ul.records) == len(prev.records) + len(added) and all(u > top for u in added):
                new = format_records(ul, sorted(added))
                body = cache[2] + new
                same = (ul.uidvalidity, ul.guid, ul.header_extra)
                if same == (prev.uidvalidity, prev.guid, prev.header_extra):
                    if dl.append(new, cache[0]):
                        self._remember_uidlist(ul, body)
                        return
        if removed is not None and cache is not None and cache[2] is not None:
            body = _without_lines(cache[2], cache[1], ul, removed)
        if body is None:
            body = format_records(ul, sorted(ul.records))
        dl.replace(format_header(ul) + body)
        self._remember_uidlist(ul, body)

    def _remember_uidlist(self, ul: UidList, body: bytes) -> None:
        try:
            st = os.stat(self.uidlist_path)
        except FileNotFoundError:
            self._uidlist_cache = None
            return
        self._uidlist_cache = ((st.st_ino, st.st_mtime_ns, st.st_size), ul, body)

    def _index_uidvalidity(self) -> int:
        v = self.index.get_meta("uidvalidity")
        return int(v) if v else 0

    def _recover_uidlist(self, why: str) -> UidList:
        """Rebuild a lost or damaged uidlist from the index, keeping UIDs and UIDVALIDITY."""
        uv = self._index_uidvalidity()
        if uv:
            self.log(
                f"{self.uidlist_path} unusable ({why}); recreated from the index ({self.where()})"
            )
            nextuid = max([int(self.index.get_meta("uidnext") or 1)] + [u + 1 for u in self.rows])
            ul = UidList(uv, nextuid, secrets.token_hex(16))
            ul.records = {u: ("", base_of(r.name)) for u, r in sorted(self.rows.items())}
            return ul
        self.log(
            f"{self.uidlist_path} unusable ({why}) and no index to recover it from; "
            f"new UIDVALIDITY, clients will resync ({self.where()})"
        )
        return UidList(self._new_uidvalidity(), 1, secrets.token_hex(16))


def _without_lines(body: bytes, prev: UidList, ul: UidList, removed: Sequence[int]) -> bytes | None:
    """``body`` (the records of ``prev``, one line each) without the lines of ``removed``.

    Returns None unless the result is exactly the records of ``ul`` (the
    caller then formats them all): every removed UID had one line in
    ``body``, and nothing else changed.
    """
    gone = sorted({u for u in removed if u in prev.records})
    if len(ul.records) != len(prev.records) - len(gone) or any(u in ul.records for u in gone):
        return None
    parts = []
    pos = 0
    view = b"\n" + body  # every record line now starts after a newline
    for uid in gone:
        # Lines are in ascending UID order, so each search starts where the last ended.
        start = view.find(b"\n%d " % uid, pos)
        if start < 0:
            return None
        end = view.find(b"\n", start + 1)
        if end < 0:
            return None
        parts.append(view[pos + 1 : start + 1])
        pos = end
    parts.append(view[pos + 1 :])
    return b"".join(parts)
