"""FETCH item values, byte-exact: ENVELOPE, BODY/BODYSTRUCTURE, sections, flags, dates.

RFC 3501 section 7.4.2 and the ``envelope``/``body`` grammar of section 9.
Strings in :mod:`mailsuite.message` objects hold raw header bytes decoded
with ``surrogateescape``; they are encoded back to the same bytes here, so
an 8-bit header goes out unchanged (as a literal).
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterable, Sequence
from json.encoder import encode_basestring_ascii as _quote_printable_ascii
from typing import Any, Final

from mailsuite.message import Address, BodyStructure, Envelope

from .encode import (
    QUOTED_MAX_BYTES,
    encode_flags,
    encode_internaldate,
    encode_literal,
    encode_string,
)
from .reader import MONTHS

__all__ = [
    "literal_header",
    "partial_range",
    "render_binary",
    "render_body",
    "render_envelope",
    "render_flags",
    "render_internaldate",
    "render_modseq",
    "render_section",
]


#: Rendered body tokens (types, subtypes, encodings) and parameter lists kept
#: for reuse: a mailbox holds few distinct ones ("text" "plain" ("charset"
#: "utf-8")). Cleared when full, so one-off values (boundaries, file names)
#: cannot grow it without bound.
RENDER_CACHE_MAX: Final = 2048
_tokens: dict[str, bytes] = {}
_param_lists: dict[Any, bytes] = {}
_flag_lists: dict[tuple[frozenset[str], bool], bytes] = {}


def _raw(value: str) -> bytes:
    return value.encode("utf-8", "surrogateescape")


def _nstring(value: str | None) -> bytes:
    """An nstring from header text (str holding raw bytes via ``surrogateescape``).

    Printable ASCII (most header text) is quoted here directly; everything
    else (8-bit bytes, tabs, control characters, long values) goes through
    :func:`encode_string`'s rules, so the output is the same either way.
    """
    if value is None:
        return b"NIL"
    if value.isascii() and value.isprintable() and len(value) <= QUOTED_MAX_BYTES:
        # For printable ASCII, JSON's string escaping (in C) is exactly RFC 3501's
        # quoted form: only '"' and '\\' are escaped, with a backslash.
        return _quote_printable_ascii(value).encode("ascii")
    return encode_string(_raw(value))


def _string(value: str) -> bytes:
    return _nstring(value)


def _remember(cache: dict[Any, bytes], key: Any, out: bytes) -> bytes:
    """Keep ``out`` under ``key``; a full cache starts over (bounded memory, no LRU cost)."""
    if len(cache) >= RENDER_CACHE_MAX:
        cache.clear()
    cache[key] = out
    return out


def _token(value: str) -> bytes:
    """A string that repeats across messages (type, subtype, encoding), from the cache."""
    out = _tokens.get(value)
    if out is None:
        out = _remember(_tokens, value, _nstring(value))
    return out


def _address(a: Address) -> bytes:
    """``(name adl mailbox host)``, kept on the (immutable, often shared) address."""
    out = a.memo
    if type(out) is not bytes:
        out = a.memoize(
            b"(%s %s %s %s)"
            % (_nstring(a.name), _nstring(a.adl), _nstring(a.mailbox), _nstring(a.host))
        )
    return out


def _addresses(addresses: Sequence[Address] | None) -> bytes:
    """An address list: NIL or ``((name adl mailbox host)...)`` with no spaces between."""
    if not addresses:
        return b"NIL"
    if len(addresses) == 1:
        return b"(" + _address(addresses[0]) + b")"
    return b"(" + b"".join([_address(a) for a in addresses]) + b")"


def render_envelope(env: Envelope) -> bytes:
    """``(date subject from sender reply-to to cc bcc in-reply-to message-id)``.

    The result is kept on the (immutable) envelope, so a second rendering is free.
    """
    out = env.memo
    if type(out) is bytes:
        return out
    from_ = _addresses(env.from_)
    # Sender and Reply-To are From itself when the header lacks them (RFC 3501 7.4.2).
    sender = from_ if env.sender is env.from_ else _addresses(env.sender)
    reply_to = from_ if env.reply_to is env.from_ else _addresses(env.reply_to)
    return env.memoize(
        b"(%s %s %s %s %s %s %s %s %s %s)"
        % (
            _nstring(env.date),
            _nstring(env.subject),
            from_,
            sender,
            reply_to,
            _addresses(env.to),
            _addresses(env.cc),
            _addresses(env.bcc),
            _nstring(env.in_reply_to),
            _nstring(env.message_id),
        )
    )


def _params(params: Sequence[tuple[str, str]] | None) -> bytes:
    """``body-fld-param``: NIL, or ``("name" "value" ...)`` (never an empty list)."""
    if not params:
        return b"NIL"
    return b"(" + b" ".join([_string(k) + b" " + _string(v) for k, v in params]) + b")"


def _leaf_params(params: Sequence[tuple[str, str]] | None) -> bytes:
    """A single part's Content-Type parameters, from the cache.

    Only these repeat (``("charset" "utf-8")``); a multipart's boundary and a
    disposition's file name are one-offs and would only churn the cache.
    """
    if not params:
        return b"NIL"
    try:
        out = _param_lists.get(params)
    except TypeError:  # lists, not tuples: render them, just do not keep them
        return _params(params)
    if out is None:
        out = _remember(_param_lists, params, _params(params))
    return out


def _disposition(bs: BodyStructure) -> bytes:
    if bs.disposition is None:
        return b"NIL"
    kind, params = bs.disposition
    return b"(" + _token(kind) + b" " + _params(params) + b")"


def _language(bs: BodyStructure) -> bytes:
    if not bs.language:
        return b"NIL"
    if len(bs.language) == 1:
        return _string(bs.language[0])
    return b"(" + b" ".join(_string(x) for x in bs.language) + b")"


def _extension(bs: BodyStructure) -> bytes:
    """``disposition language location`` (after md5 or the multipart's params)."""
    if bs.disposition is None and not bs.language and bs.location is None:
        return b"NIL NIL NIL"
    return b"%s %s %s" % (_disposition(bs), _language(bs), _nstring(bs.location))


def _body(bs: BodyStructure, extensible: bool) -> bytes:
    if bs.parts:
        parts = b"".join([_body(p, extensible) for p in bs.parts])
        if not extensible:
            return b"(%s %s)" % (parts, _token(bs.subtype))
        return b"(%s %s %s %s)" % (parts, _token(bs.subtype), _params(bs.params), _extension(bs))
    if bs.envelope is not None and bs.body is not None:
        # message/rfc822 (RFC 3501 7.4.2): envelope, body, lines.
        lines = b" %s %s %d" % (
            render_envelope(bs.envelope),
            _body(bs.body, extensible),
            bs.lines or 0,
        )
    elif bs.lines is not None or bs.type.lower() == "text":
        lines = b" %d" % (bs.lines or 0)
    else:
        lines = b""
    if not extensible:
        extension = b""
    elif bs.md5 is None and bs.disposition is None and not bs.language and bs.location is None:
        extension = b" NIL NIL NIL NIL"
    else:
        extension = b" %s %s" % (_nstring(bs.md5), _extension(bs))
    return b"(%s %s %s %s %s %s %d%s%s)" % (
        _token(bs.type),
        _token(bs.subtype),
        _leaf_params(bs.params),
        _nstring(bs.id),
        _nstring(bs.description),
        _token(bs.encoding),
        bs.size,
        lines,
        extension,
    )


def render_body(bs: BodyStructure, *, extensible: bool = True) -> bytes:
    """BODYSTRUCTURE (``extensible``) or BODY (without extension data).

    Multipart: ``(part)(part) "subtype"`` plus, for BODYSTRUCTURE,
    ``params disposition language location``. One part: type, subtype,
    params, id, description, encoding, size, then lines (text/*), or
    envelope, body and lines (message/rfc822), then for BODYSTRUCTURE
    ``md5 disposition language location``. Both forms are kept on the
    (immutable) structure, so a second rendering is free.
    """
    memo = bs.memo
    if type(memo) is not dict:
        memo = bs.memoize({})
    out = memo.get(extensible)
    if out is None:
        out = memo[extensible] = _body(bs, extensible)
    return out


def partial_range(total: int, partial: tuple[int, int] | None) -> tuple[int, int]:
    """The (start, length) a ``<origin.length>`` partial selects from ``total`` octets.

    RFC 3501 6.4.5: an origin past the end gives an empty string; a length
    past the end gives what there is.
    """
    if partial is None:
        return 0, total
    origin, length = partial
    if origin >= total:
        return total, 0
    return origin, min(length, total - origin)


def render_section(data: bytes | None, partial: tuple[int, int] | None = None) -> bytes:
    """A ``BODY[...]`` value: the (partial) octets as a literal, NIL for a missing section."""
    if data is None:
        return b"NIL"
    start, length = partial_range(len(data), partial)
    return encode_literal(data[start : start + length])


def literal_header(size: int, *, binary: bool = False) -> bytes:
    """``{n}CRLF`` (``~{n}`` for BINARY with NULs), for streaming a body after it."""
    return (b"~{%d}\r\n" if binary else b"{%d}\r\n") % size


def render_binary(data: bytes | None, partial: tuple[int, int] | None = None) -> bytes:
    """A ``BINARY[...]`` value: literal8 only when the data holds NUL (RFC 3516 4.3)."""
    if data is None:
        return b"NIL"
    start, length = partial_range(len(data), partial)
    chunk = data[start : start + length]
    return literal_header(len(chunk), binary=b"\x00" in chunk) + chunk


def render_flags(flags: Iterable[str], *, recent: bool = False) -> bytes:
    """``FLAGS`` value; \\Recent is session state, added when ``recent``.

    A mailbox has few distinct flag sets, and the index hands them out as
    frozensets: their encodings are kept (FETCH, STORE and unsolicited FETCH
    responses all ask again and again).
    """
    if type(flags) is not frozenset:
        return _encode_flags(flags, recent)
    key = (flags, recent)
    out = _flag_lists.get(key)
    if out is None:
        out = _remember(_flag_lists, key, _encode_flags(flags, recent))
    return out


def _encode_flags(flags: Iterable[str], recent: bool) -> bytes:
    flag_set = set(flags)
    if recent:
        flag_set.add("\\Recent")
    return encode_flags(flag_set)


_MONTHS: Final = tuple(m.encode("ascii") for m in MONTHS)


def render_internaldate(timestamp: float, tz: datetime.tzinfo | None = None) -> bytes:
    """``INTERNALDATE`` value: ``"17-Jul-1996 02:44:25 -0700"``.

    In UTC (no ``tz``) it is formatted from ``time.gmtime``, a fraction of
    what building an aware datetime costs; the bytes are
    :func:`encode_internaldate`'s (``date-day-fixed``: space-padded day).
    """
    if tz is not None:
        return encode_internaldate(timestamp, tz)
    try:
        t = time.gmtime(int(timestamp))
    except (OverflowError, OSError, ValueError):
        return encode_internaldate(timestamp, tz)  # out of range: its own answer
    if not 1 <= t.tm_year <= 9999:
        return encode_internaldate(timestamp, tz)
    return b'"%2d-%s-%04d %02d:%02d:%02d +0000"' % (
        t.tm_mday,
        _MONTHS[t.tm_mon - 1],
        t.tm_year,
        t.tm_hour,
        t.tm_min,
        t.tm_sec,
    )


def render_modseq(modseq: int) -> bytes:
    """``MODSEQ`` value: ``(n)`` (RFC 7162 3.1.4.1)."""
    return b"(%d)" % modseq
