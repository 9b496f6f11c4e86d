"""Test helper: ENVELOPE/BODYSTRUCTURE as nested lists, and an IMAP value reader.

Both our dataclasses and Dovecot's IMAP text become the same plain shape
(lists, ``bytes`` strings, ``int`` numbers, ``None`` for NIL), so they can be
compared exactly without depending on quoting choices.
"""

from __future__ import annotations

from typing import Any

from mailsuite.message import Address, BodyStructure, Envelope

__all__ = ["body_form", "bodystructure_form", "envelope_form", "parse_imap_values"]


def _s(value: str | None) -> bytes | None:
    return None if value is None else value.encode("utf-8", "surrogateescape")


def _addresses(addrs: tuple[Address, ...] | None) -> list[Any] | None:
    if addrs is None:
        return None
    return [[_s(a.name), _s(a.adl), _s(a.mailbox), _s(a.host)] for a in addrs]


def envelope_form(env: Envelope) -> list[Any]:
    """RFC 3501 ENVELOPE field order."""
    return [
        _s(env.date),
        _s(env.subject),
        _addresses(env.from_),
        _addresses(env.sender),
        _addresses(env.reply_to),
        _addresses(env.to),
        _addresses(env.cc),
        _addresses(env.bcc),
        _s(env.in_reply_to),
        _s(env.message_id),
    ]


def _params(params: tuple[tuple[str, str], ...] | None) -> list[Any] | None:
    if params is None:
        return None
    return [_s(x) for kv in params for x in kv]


def _ext(bs: BodyStructure) -> list[Any]:
    disp = None if bs.disposition is None else [_s(bs.disposition[0]), _params(bs.disposition[1])]
    lang: Any = None
    if bs.language is not None:
        lang = [_s(x) for x in bs.language]
    return [disp, lang, _s(bs.location)]


def bodystructure_form(bs: BodyStructure) -> list[Any]:
    """RFC 3501 BODYSTRUCTURE (with extension data) field order."""
    if bs.is_multipart:
        return (
            [bodystructure_form(p) for p in bs.parts]
            + [_s(bs.subtype), _params(bs.params)]
            + _ext(bs)
        )
    out: list[Any] = [
        _s(bs.type),
        _s(bs.subtype),
        _params(bs.params),
        _s(bs.id),
        _s(bs.description),
        _s(bs.encoding),
        bs.size,
    ]
    if bs.is_message:
        assert bs.envelope is not None and bs.body is not None
        out += [envelope_form(bs.envelope), bodystructure_form(bs.body), bs.lines]
    elif bs.is_text:
        out.append(bs.lines)
    return out + [_s(bs.md5)] + _ext(bs)


def parse_imap_values(data: bytes) -> list[Any]:
    """Read a sequence of IMAP values (atoms, numbers, NIL, strings, literals, lists)."""
    pos = 0
    stack: list[list[Any]] = [[]]
    n = len(data)
    while pos < n:
        c = data[pos : pos + 1]
        if c in b" \r\n":
            pos += 1
        elif c == b"(":
            stack.append([])
            pos += 1
        elif c == b")":
            done = stack.pop()
            stack[-1].append(done)
            pos += 1
        elif c == b'"':
            pos += 1
            buf = bytearray()
            while data[pos : pos + 1] != b'"':
                if data[pos : pos + 1] == b"\\":
                    pos += 1
                buf += data[pos : pos + 1]
                pos += 1
            pos += 1
            stack[-1].append(bytes(buf))
        elif c == b"{":
            end = data.index(b"}", pos)
            size = int(data[pos + 1 : end])
            pos = end + 1
            if data[pos : pos + 2] == b"\r\n":
                pos += 2
            elif data[pos : pos + 1] == b"\n":
                pos += 1
            stack[-1].append(data[pos : pos + size])
            pos += size
        else:
            end = pos
            while end < n and data[end : end + 1] not in b" ()\r\n":
                end += 1
            atom = data[pos:end]
            pos = end
            if atom == b"NIL":
                stack[-1].append(None)
            elif atom.isdigit():
                stack[-1].append(int(atom))
            else:
                stack[-1].append(atom)
    return stack[0]


def body_form(bs: BodyStructure) -> list[Any]:
    """RFC 3501 BODY (non-extensible BODYSTRUCTURE) field order."""
    if bs.is_multipart:
        return [body_form(p) for p in bs.parts] + [_s(bs.subtype)]
    out: list[Any] = [
        _s(bs.type),
        _s(bs.subtype),
        _params(bs.params),
        _s(bs.id),
        _s(bs.description),
        _s(bs.encoding),
        bs.size,
    ]
    if bs.is_message:
        assert bs.envelope is not None and bs.body is not None
        out += [envelope_form(bs.envelope), body_form(bs.body), bs.lines]
    elif bs.is_text:
        out.append(bs.lines)
    return out
