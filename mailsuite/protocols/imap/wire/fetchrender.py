"""FETCH item values, byte-exact: ENVELOPE, BODY/BODYSTRUCTURE, sections, flags, dates.

RFC 3501 section 7.4.2 and the ``envelope``/``body`` grammar of section 9.
Strings in :mod:`mailsuite.message` objects hold raw header bytes decoded
with ``surrogateescape``; they are encoded back to the same bytes here, so
an 8-bit header goes out unchanged (as a literal).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from mailsuite.message import Address, BodyStructure, Envelope

from .encode import encode_flags, encode_internaldate, encode_literal, encode_string

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


def _raw(value: str) -> bytes:
    return value.encode("utf-8", "surrogateescape")


def _nstring(value: str | None) -> bytes:
    return b"NIL" if value is None else encode_string(_raw(value))


def _string(value: str) -> bytes:
    return encode_string(_raw(value))


def _addresses(addresses: Iterable[Address] | None) -> bytes:
    """An address list: NIL or ``((name adl mailbox host)...)`` with no spaces between."""
    if addresses is None:
        return b"NIL"
    parts = [
        b"("
        + b" ".join((_nstring(a.name), _nstring(a.adl), _nstring(a.mailbox), _nstring(a.host)))
        + b")"
        for a in addresses
    ]
    return b"(" + b"".join(parts) + b")" if parts else b"NIL"


def render_envelope(env: Envelope) -> bytes:
    """``(date subject from sender reply-to to cc bcc in-reply-to message-id)``."""
    return (
        b"("
        + b" ".join(
            (
                _nstring(env.date),
                _nstring(env.subject),
                _addresses(env.from_),
                _addresses(env.sender),
                _addresses(env.reply_to),
                _addresses(env.to),
                _addresses(env.cc),
                _addresses(env.bcc),
                _nstring(env.in_reply_to),
                _nstring(env.message_id),
            )
        )
        + b")"
    )


def _params(params: Iterable[tuple[str, str]] | None) -> bytes:
    """``body-fld-param``: NIL, or ``("name" "value" ...)`` (never an empty list)."""
    if not params:
        return b"NIL"
    return b"(" + b" ".join(_string(k) + b" " + _string(v) for k, v in params) + b")"


def _disposition(bs: BodyStructure) -> bytes:
    if bs.disposition is None:
        return b"NIL"
    kind, params = bs.disposition
    return b"(" + _string(kind) + b" " + _params(params) + b")"


def _language(bs: BodyStructure) -> bytes:
    if not bs.language:
        return b"NIL"
    if len(bs.language) == 1:
        return _string(bs.language[0])
    return b"(" + b" ".join(_string(x) for x in bs.language) + b")"


def render_body(bs: BodyStructure, *, extensible: bool = True) -> bytes:
    """BODYSTRUCTURE (``extensible``) or BODY (without extension data).

    Multipart: ``(part)(part) "subtype"`` plus, for BODYSTRUCTURE,
    ``params disposition language location``. One part: type, subtype,
    params, id, description, encoding, size, then lines (text/*), or
    envelope, body and lines (message/rfc822), then for BODYSTRUCTURE
    ``md5 disposition language location``.
    """
    if bs.is_multipart:
        out = b"".join(render_body(p, extensible=extensible) for p in bs.parts)
        out += b" " + _string(bs.subtype)
        if extensible:
            out += b" " + b" ".join(
                (_params(bs.params), _disposition(bs), _language(bs), _nstring(bs.location))
            )
        return b"(" + out + b")"
    fields = [
        _string(bs.type),
        _string(bs.subtype),
        _params(bs.params),
        _nstring(bs.id),
        _nstring(bs.description),
        _string(bs.encoding),
        b"%d" % bs.size,
    ]
    if bs.is_message:
        assert bs.envelope is not None and bs.body is not None  # is_message checked both
        fields.append(render_envelope(bs.envelope))
        fields.append(render_body(bs.body, extensible=extensible))
        fields.append(b"%d" % (bs.lines or 0))
    elif bs.is_text or bs.lines is not None:
        fields.append(b"%d" % (bs.lines or 0))
    if extensible:
        fields.extend((_nstring(bs.md5), _disposition(bs), _language(bs), _nstring(bs.location)))
    return b"(" + b" ".join(fields) + b")"


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
    """``FLAGS`` value; \\Recent is session state, added when ``recent``."""
    flag_set = set(flags)
    if recent:
        flag_set.add("\\Recent")
    return encode_flags(flag_set)


def render_internaldate(timestamp: float, tz: datetime.tzinfo | None = None) -> bytes:
    """``INTERNALDATE`` value: ``"17-Jul-1996 02:44:25 -0700"``."""
    return encode_internaldate(timestamp, tz)


def render_modseq(modseq: int) -> bytes:
    """``MODSEQ`` value: ``(n)`` (RFC 7162 3.1.4.1)."""
    return b"(%d)" % modseq
