"""Untagged data responses (RFC 3501 section 7.2-7.4 and the extensions' additions).

Each builder returns one complete ``* ...`` line (with CRLF; literals inline).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from .encode import encode_astring, encode_flags, encode_mailbox, encode_nstring, encode_string
from .responses import untagged
from .seqset import format_numbers

__all__ = [
    "capability",
    "enabled",
    "esearch",
    "exists",
    "expunge",
    "fetch",
    "flags",
    "id_response",
    "list_response",
    "namespace",
    "quota",
    "quotaroot",
    "recent",
    "search",
    "status",
    "vanished",
]


def capability(capabilities: Iterable[str]) -> bytes:
    """``* CAPABILITY IMAP4rev1 ...``."""
    return untagged(b"CAPABILITY " + " ".join(capabilities).encode("ascii"))


def enabled(capabilities: Iterable[str]) -> bytes:
    """``* ENABLED ...`` (RFC 5161 3.2; may list nothing)."""
    names = " ".join(capabilities).encode("ascii")
    return untagged(b"ENABLED" + (b" " + names if names else b""))


def exists(count: int) -> bytes:
    """``* n EXISTS``."""
    return untagged(b"%d EXISTS" % count)


def recent(count: int) -> bytes:
    """``* n RECENT``."""
    return untagged(b"%d RECENT" % count)


def expunge(seq: int) -> bytes:
    """``* n EXPUNGE``."""
    return untagged(b"%d EXPUNGE" % seq)


def vanished(uids: Iterable[int], *, earlier: bool = False) -> bytes:
    """``* VANISHED [(EARLIER)] uid-set`` (RFC 7162 3.2.10)."""
    return untagged(b"VANISHED " + (b"(EARLIER) " if earlier else b"") + format_numbers(uids))


def flags(flag_names: Iterable[str]) -> bytes:
    """``* FLAGS (...)``: the flags defined in the mailbox."""
    return untagged(b"FLAGS " + encode_flags(flag_names))


def list_response(
    name: str,
    attributes: Iterable[str] = (),
    *,
    delimiter: str | None = ".",
    kind: bytes = b"LIST",
    child_info: Sequence[str] = (),
    old_name: str | None = None,
    utf7_name: bool = True,
) -> bytes:
    """``* LIST (attrs) "." name`` with RFC 5258 extended data when given.

    Args:
        name: the mailbox name (Unicode).
        attributes: ``\\HasChildren``, ``\\Subscribed``, ``\\Sent``... in the order to print.
        delimiter: the hierarchy delimiter, None for a flat namespace (NIL).
        kind: ``LIST``, ``LSUB`` or ``XLIST``.
        child_info: RFC 5258 CHILDINFO selection criteria (``("SUBSCRIBED",)``).
        old_name: RFC 5465 OLDNAME data.
        utf7_name: encode the name in modified UTF-7 (always, until UTF8=ACCEPT).
    """
    attrs = b"(" + " ".join(attributes).encode("ascii") + b")"
    delim = b"NIL" if delimiter is None else encode_string(delimiter)
    mbox = encode_mailbox(name) if utf7_name else encode_astring(name)
    out = kind + b" " + attrs + b" " + delim + b" " + mbox
    ext: list[bytes] = []
    if child_info:
        ext.append(b'"CHILDINFO" (' + b" ".join(encode_string(c) for c in child_info) + b")")
    if old_name is not None:
        ext.append(b'"OLDNAME" (' + encode_mailbox(old_name) + b")")
    if ext:
        out += b" (" + b" ".join(ext) + b")"
    return untagged(out)


def status(name: str, items: Sequence[tuple[str, int]]) -> bytes:
    """``* STATUS name (MESSAGES 2 UIDNEXT 7)`` with items in the order given."""
    body = b" ".join(b"%s %d" % (k.encode("ascii"), v) for k, v in items)
    return untagged(b"STATUS " + encode_mailbox(name) + b" (" + body + b")")


def search(numbers: Iterable[int], *, modseq: int | None = None) -> bytes:
    """``* SEARCH 2 3 6`` (RFC 3501 7.2.5), with ``(MODSEQ n)`` for CONDSTORE (RFC 7162 3.1.5)."""
    nums = b" ".join(b"%d" % n for n in numbers)
    out = b"SEARCH" + (b" " + nums if nums else b"")
    if modseq is not None and nums:
        out += b" (MODSEQ %d)" % modseq
    return untagged(out)


def esearch(
    tag: bytes | None,
    *,
    uid: bool,
    results: Sequence[int],
    returns: Iterable[str],
    modseq: int | None = None,
) -> bytes:
    """``* ESEARCH (TAG "a1") UID MIN 2 MAX 9 ALL 2,4:9 COUNT 7`` (RFC 4731 3.1).

    MIN, MAX and ALL are omitted when nothing matched; COUNT is always given
    when asked for. Items come in the order MIN MAX ALL COUNT, then MODSEQ.

    Args:
        tag: the command's tag for the search correlator, or None.
        uid: results are UIDs (UID SEARCH).
        results: the matching numbers.
        returns: the requested RETURN options (MIN, MAX, ALL, COUNT; SAVE is silent).
        modseq: the highest MODSEQ of the matches (RFC 7162 3.1.5), when MODSEQ was searched.
    """
    wanted = {r.upper() for r in returns}
    out = b"ESEARCH"
    if tag is not None:
        out += b" (TAG " + encode_string(tag) + b")"
    if uid:
        out += b" UID"
    if results:
        if "MIN" in wanted:
            out += b" MIN %d" % min(results)
        if "MAX" in wanted:
            out += b" MAX %d" % max(results)
        if "ALL" in wanted:
            out += b" ALL " + format_numbers(results)
    if "COUNT" in wanted:
        out += b" COUNT %d" % len(results)
    if modseq is not None and results:
        out += b" MODSEQ %d" % modseq
    return untagged(out)


def fetch(seq: int, items: Sequence[tuple[bytes, bytes]]) -> bytes:
    """``* n FETCH (NAME value ...)`` from already-encoded (name, value) pairs."""
    body = b" ".join(name + b" " + value for name, value in items)
    return untagged(b"%d FETCH (" % seq + body + b")")


def namespace(
    personal: Sequence[tuple[str, str | None]] = (("", "."),),
    other: Sequence[tuple[str, str | None]] = (),
    shared: Sequence[tuple[str, str | None]] = (),
) -> bytes:
    """``* NAMESPACE (("" ".")) NIL NIL`` (RFC 2342 5)."""

    def group(entries: Sequence[tuple[str, str | None]]) -> bytes:
        if not entries:
            return b"NIL"
        return (
            b"("
            + b"".join(
                b"(" + encode_string(prefix) + b" " + encode_nstring(delim) + b")"
                for prefix, delim in entries
            )
            + b")"
        )

    return untagged(b"NAMESPACE " + group(personal) + b" " + group(other) + b" " + group(shared))


def id_response(fields: Mapping[str, str | None] | None) -> bytes:
    """``* ID ("name" "mailsuite" ...)`` or ``* ID NIL`` (RFC 2971 3.2)."""
    if not fields:
        return untagged(b"ID NIL")
    pairs = b" ".join(encode_string(k) + b" " + encode_nstring(v) for k, v in fields.items())
    return untagged(b"ID (" + pairs + b")")


def quota(root: str, resources: Sequence[tuple[str, int, int]]) -> bytes:
    """``* QUOTA "" (STORAGE 10 512 MESSAGE 3 1000)`` (RFC 9208 5.1; STORAGE in KiB)."""
    body = b" ".join(b"%s %d %d" % (n.encode("ascii"), used, limit) for n, used, limit in resources)
    return untagged(b"QUOTA " + encode_astring(root) + b" (" + body + b")")


def quotaroot(mailbox: str, roots: Iterable[str]) -> bytes:
    """``* QUOTAROOT INBOX ""`` (RFC 9208 5.2)."""
    out = b"QUOTAROOT " + encode_mailbox(mailbox)
    for root in roots:
        out += b" " + encode_astring(root)
    return untagged(out)
