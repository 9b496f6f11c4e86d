"""Dovecot's ``dovecot-uidlist`` (version 3) and ``dovecot-keywords`` files.

``dovecot-uidlist``, as Dovecot 2.3 writes it::

    3 V1795441070 N3 G41ff2b26ae41046ba12c000083ecc375
    1 :1795441070.M640132P11425.vm,S=28,W=32
    2 W1034 :1795441070.M660365P11426.vm,S=28

The header holds the version, UIDVALIDITY (V), the next UID (N) and the
mailbox GUID (G); each record is a UID, optional extension fields (one
letter + value, kept verbatim) and ``:`` + the file's base name. Version 1
files (``1 <uidvalidity> <nextuid>`` / ``<uid> <filename>``) are read too.

``dovecot-keywords`` maps letters to keywords: ``<n> <keyword>`` where 0 is
``a``, 1 is ``b`` ... 25 is ``z``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = [
    "UidList",
    "UidListError",
    "parse_uidlist",
    "format_uidlist",
    "format_header",
    "format_records",
    "parse_keywords",
    "format_keywords",
    "MAX_KEYWORDS",
]

MAX_KEYWORDS = 26  # one letter a-z each in the file name


class UidListError(ValueError):
    """The uidlist file cannot be understood."""


@dataclass
class UidList:
    """The parsed UID map of one mailbox."""

    uidvalidity: int
    nextuid: int
    guid: str = ""
    # uid -> (extension fields as written, base name)
    records: dict[int, tuple[str, str]] = field(default_factory=dict)
    header_extra: list[str] = field(default_factory=list)  # header fields we do not interpret

    def by_base(self) -> dict[str, int]:
        return {base: uid for uid, (_ext, base) in self.records.items()}


def parse_uidlist(data: bytes) -> UidList:
    """Parse a ``dovecot-uidlist`` file.

    Raises:
        UidListError: the header is missing or malformed.
    """
    text = data.decode("utf-8", "surrogateescape")
    lines = text.split("\n")
    header = lines[0].split(" ")
    if not header or not header[0].isdigit():
        raise UidListError("missing header")
    version = int(header[0])
    out: UidList
    if version == 1:
        if len(header) < 3 or not header[1].isdigit() or not header[2].isdigit():
            raise UidListError("bad version 1 header")
        out = UidList(int(header[1]), int(header[2]))
    elif version == 3:
        uidvalidity = nextuid = None
        guid = ""
        extra: list[str] = []
        for f in header[1:]:
            if not f:
                continue
            key, val = f[0], f[1:]
            if key == "V" and val.isdigit():
                uidvalidity = int(val)
            elif key == "N" and val.isdigit():
                nextuid = int(val)
            elif key == "G":
                guid = val
            else:
                extra.append(f)
        if uidvalidity is None or nextuid is None:
            raise UidListError("header lacks V or N")
        out = UidList(uidvalidity, nextuid, guid, header_extra=extra)
    else:
        raise UidListError(f"unsupported version {version}")
    last = 0
    for line in lines[1:]:
        if not line:
            continue
        if version == 1:
            uid_s, _, base = line.partition(" ")
            ext = ""
        else:
            head, sep, base = line.partition(" :")
            if not sep:
                # A record may also have no extensions: "<uid> :<name>" always has " :".
                raise UidListError(f"record without ' :' separator: {line[:80]!r}")
            uid_s, _, ext = head.partition(" ")
        if not uid_s.isdigit() or not base:
            raise UidListError(f"bad record {line[:80]!r}")
        uid = int(uid_s)
        if uid <= last:
            # Dovecot requires ascending UIDs; anything else means corruption.
            raise UidListError(f"UID {uid} not ascending")
        last = uid
        # Version 1 names may carry ":2,flags"; only the base identifies the message.
        base = base.partition(":")[0]
        out.records[uid] = (ext, base)
    if out.records and out.nextuid <= last:
        out.nextuid = last + 1
    return out


def format_header(ul: UidList) -> bytes:
    head = [f"3 V{ul.uidvalidity} N{ul.nextuid}"]
    if ul.guid:
        head.append(f"G{ul.guid}")
    head.extend(ul.header_extra)
    return (" ".join(head) + "\n").encode("utf-8", "surrogateescape")


def format_records(ul: UidList, uids: Iterable[int]) -> bytes:
    parts = []
    for uid in uids:
        ext, base = ul.records[uid]
        parts.append(f"{uid} {ext} :{base}\n" if ext else f"{uid} :{base}\n")
    return "".join(parts).encode("utf-8", "surrogateescape")


def format_uidlist(ul: UidList) -> bytes:
    """Serialise as version 3, exactly as Dovecot writes it."""
    return format_header(ul) + format_records(ul, sorted(ul.records))


def parse_keywords(data: bytes) -> list[str | None]:
    """Parse ``dovecot-keywords`` into a list indexed by letter number."""
    out: list[str | None] = []
    for line in data.decode("utf-8", "replace").split("\n"):
        idx_s, _, kw = line.partition(" ")
        if not idx_s.isdigit() or not kw:
            continue
        idx = int(idx_s)
        if idx >= MAX_KEYWORDS:
            continue
        while len(out) <= idx:
            out.append(None)
        out[idx] = kw
    return out


def format_keywords(keywords: list[str | None]) -> bytes:
    return "".join(f"{i} {kw}\n" for i, kw in enumerate(keywords) if kw).encode("utf-8")


def read_file(path: str) -> tuple[bytes, os.stat_result] | None:
    """Content and stat of a small file, None when it does not exist."""
    try:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            return f.read(), st
    except FileNotFoundError:
        return None
