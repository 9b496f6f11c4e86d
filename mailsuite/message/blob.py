"""The fast cache form of ENVELOPE/BODYSTRUCTURE data (format 2): flat JSON arrays.

:meth:`mailsuite.message.model.Envelope.to_blob` writes these layouts (from
the tuples built here) and ``from_blob`` hands what the JSON scanner read to
:func:`decode_envelope` / :func:`decode_body`, which check every piece's type
and shape and build the objects (the caller turns any error into
``ValueError``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from mailsuite.message.model import (
    SAME_AS_FROM,
    Address,
    AddressList,
    BodyStructure,
    Disposition,
    Envelope,
    Params,
)

__all__ = [
    "ADDRESS_CACHE_MAX",
    "alist_tuple",
    "decode_body",
    "decode_body_v1",
    "decode_envelope",
    "decode_envelope_v1",
    "disposition_tuple",
    "params_tuple",
]

# Layouts (JSON arrays; null is NIL throughout):
#   address:   [name, adl, mailbox, host]
#   envelope:  [date, subject, from, sender, reply-to, to, cc, bcc, in-reply-to,
#               message-id]; an address list is [address, ...] or null; sender
#               and reply-to are SAME_AS_FROM (0) when they equal from
#   multipart: [type, subtype, [part, ...], params, disposition, language, location]
#   basic:     [type, subtype, params, id, description, encoding, size, lines,
#               envelope, body, md5, disposition, language, location]
#   params:    [[name, value], ...]; disposition: [type, params]; language: [tag, ...]
# A frozen dataclass's __init__ sets each field through object.__setattr__;
# setting the slots directly costs half as much, and a FETCH of cached
# ENVELOPE/BODYSTRUCTURE builds several objects per message.

_NoneType = type(None)
_OPT_STR: Final = frozenset((str, _NoneType))
_OPT_INT: Final = frozenset((int, _NoneType))
#: Distinct addresses kept for sharing between decoded envelopes (a sender
#: appears in many messages): a lookup costs less than checking and building
#: one, and the IMAP renderer keeps its bytes on the shared object. Cleared
#: when full.
ADDRESS_CACHE_MAX: Final = 2048
_addresses: dict[tuple[Any, ...], Address] = {}
_new = object.__new__


def _slot_setters(cls: type, names: str) -> tuple[Any, ...]:
    return tuple(getattr(cls, n).__set__ for n in names.split())


_ADDRESS_SET: Final = _slot_setters(Address, "name adl mailbox host memo")
_ENVELOPE_SET: Final = _slot_setters(
    Envelope, "date subject from_ sender reply_to to cc bcc in_reply_to message_id memo"
)
_BODY_SET: Final = _slot_setters(
    BodyStructure,
    "type subtype params id description encoding size lines envelope body parts md5"
    " disposition language location memo",
)


def _address(o: Any) -> Address:
    if type(o) is not list or len(o) != 4:
        raise ValueError("bad address")
    key = tuple(o)
    # A hit equals a key that was checked, so it is valid too (JSON gives plain
    # str and None, and nothing else compares equal to those).
    a = _addresses.get(key)
    if a is not None:
        return a
    name, adl, mailbox, host = key
    ok = _OPT_STR
    if type(name) not in ok or type(adl) not in ok or type(mailbox) not in ok:
        raise ValueError("bad address")
    if type(host) not in ok:
        raise ValueError("bad address")
    a = _new(Address)
    s_name, s_adl, s_mailbox, s_host, s_memo = _ADDRESS_SET
    s_name(a, name)
    s_adl(a, adl)
    s_mailbox(a, mailbox)
    s_host(a, host)
    s_memo(a, None)
    if len(_addresses) >= ADDRESS_CACHE_MAX:
        _addresses.clear()
    _addresses[key] = a
    return a


def _alist(o: Any) -> AddressList | None:
    if o is None:
        return None
    if type(o) is not list:
        raise ValueError("bad address list")
    return tuple(map(_address, o))


def _same_or_alist(o: Any, fr: AddressList | None) -> AddressList | None:
    if type(o) is int and o == SAME_AS_FROM:
        return fr
    return _alist(o)


def _envelope(
    date: Any,
    subject: Any,
    fr: AddressList | None,
    sender: AddressList | None,
    reply_to: AddressList | None,
    to: AddressList | None,
    cc: AddressList | None,
    bcc: AddressList | None,
    in_reply_to: Any,
    message_id: Any,
) -> Envelope:
    ok = _OPT_STR
    if type(date) not in ok or type(subject) not in ok:
        raise ValueError("bad envelope")
    if type(in_reply_to) not in ok or type(message_id) not in ok:
        raise ValueError("bad envelope")
    e = _new(Envelope)
    s = _ENVELOPE_SET
    s[0](e, date)
    s[1](e, subject)
    s[2](e, fr)
    s[3](e, sender)
    s[4](e, reply_to)
    s[5](e, to)
    s[6](e, cc)
    s[7](e, bcc)
    s[8](e, in_reply_to)
    s[9](e, message_id)
    s[10](e, None)
    return e


def decode_envelope(t: Any) -> Envelope:
    """Build an :class:`Envelope` from its format 2 layout.

    Raises:
        ValueError, TypeError: the layout or a type is wrong.
    """
    return _decode_envelope(t, v1=False)


def decode_envelope_v1(t: Any) -> Envelope:
    """Build an :class:`Envelope` from the format 1 (``to_json``) layout.

    Raises:
        ValueError, TypeError: the layout or a type is wrong.
    """
    return _decode_envelope(t, v1=True)


def _decode_envelope(t: Any, v1: bool) -> Envelope:
    if type(t) is not list or len(t) != 10:
        raise ValueError("bad envelope")
    date, subject, fr, sender, reply_to, to, cc, bcc, in_reply_to, message_id = t
    fr_list = _alist(fr)
    if v1:
        # Equal to From's (checked) list: the same addresses, so From's tuple.
        sender_list = fr_list if sender == fr else _alist(sender)
        reply_list = fr_list if reply_to == fr else _alist(reply_to)
    else:
        sender_list = _same_or_alist(sender, fr_list)
        reply_list = _same_or_alist(reply_to, fr_list)
    return _envelope(
        date, subject, fr_list, sender_list, reply_list, _alist(to), _alist(cc), _alist(bcc),
        in_reply_to, message_id,
    )  # fmt: skip


def _params(o: Any) -> Params | None:
    if o is None:
        return None
    if type(o) is not list:
        raise ValueError("bad parameters")
    out = []
    for kv in o:
        if type(kv) is not list or len(kv) != 2:
            raise ValueError("bad parameters")
        k, v = kv
        if type(k) is not str or type(v) is not str:
            raise ValueError("bad parameters")
        out.append((k, v))
    return tuple(out)


def _params_v1(o: Any) -> Params | None:
    # Format 1 keeps parameters flat: [name, value, name, value, ...].
    if o is None:
        return None
    if type(o) is not list or len(o) % 2:
        raise ValueError("bad parameters")
    for x in o:
        if type(x) is not str:
            raise ValueError("bad parameters")
    if len(o) == 2:  # the usual single parameter (charset=...), without zip's set-up
        return ((o[0], o[1]),)
    pairs = iter(o)
    return tuple(zip(pairs, pairs, strict=False))  # length checked even above


def _disposition(o: Any, params: Callable[[Any], Params | None]) -> Disposition | None:
    if o is None:
        return None
    if type(o) is not list or len(o) != 2 or type(o[0]) is not str:
        raise ValueError("bad disposition")
    return (o[0], params(o[1]))


def _language(o: Any) -> tuple[str, ...] | None:
    if o is None:
        return None
    if type(o) is not list or any(type(x) is not str for x in o):
        raise ValueError("bad language")
    return tuple(o)


def _leaf(
    kind: Any,
    subtype: Any,
    params: Params | None,
    bid: Any,
    desc: Any,
    enc: Any,
    size: Any,
    lines: Any,
    env: Envelope | None,
    body: BodyStructure | None,
    md5: Any,
    disp: Disposition | None,
    lang: tuple[str, ...] | None,
    loc: Any,
) -> BodyStructure:
    ok = _OPT_STR
    if type(kind) is not str or type(subtype) is not str or type(enc) is not str:
        raise ValueError("bad body structure")
    if type(bid) not in ok or type(desc) not in ok or type(md5) not in ok:
        raise ValueError("bad body structure")
    if type(loc) not in ok or type(size) is not int or type(lines) not in _OPT_INT:
        raise ValueError("bad sizes")
    b = _new(BodyStructure)
    s = _BODY_SET
    s[0](b, kind)
    s[1](b, subtype)
    s[2](b, params)
    s[3](b, bid)
    s[4](b, desc)
    s[5](b, enc)
    s[6](b, size)
    s[7](b, lines)
    s[8](b, env)
    s[9](b, body)
    s[10](b, ())
    s[11](b, md5)
    s[12](b, disp)
    s[13](b, lang)
    s[14](b, loc)
    s[15](b, None)
    return b


def _multipart(
    kind: Any,
    subtype: Any,
    parts: tuple[BodyStructure, ...],
    params: Params | None,
    disp: Disposition | None,
    lang: tuple[str, ...] | None,
    loc: Any,
) -> BodyStructure:
    if type(kind) is not str or type(subtype) is not str or type(loc) not in _OPT_STR:
        raise ValueError("bad multipart")
    b = _new(BodyStructure)
    s = _BODY_SET
    s[0](b, kind)
    s[1](b, subtype)
    s[2](b, params)
    s[3](b, None)
    s[4](b, None)
    s[5](b, "7bit")
    s[6](b, 0)
    s[7](b, None)
    s[8](b, None)
    s[9](b, None)
    s[10](b, parts)
    s[11](b, None)
    s[12](b, disp)
    s[13](b, lang)
    s[14](b, loc)
    s[15](b, None)
    return b


def _parts(o: Any, decode: Callable[[Any], BodyStructure]) -> tuple[BodyStructure, ...]:
    if type(o) is not list or not o:
        raise ValueError("bad multipart")
    return tuple(map(decode, o))


def decode_body(t: Any) -> BodyStructure:
    """Build a :class:`BodyStructure` (and its parts) from its format 2 layout.

    Raises:
        ValueError, TypeError, RecursionError: the layout or a type is wrong.
    """
    if type(t) is not list:
        raise ValueError("bad body structure")
    return _decode_body(t, v1=False)


def decode_body_v1(t: Any) -> BodyStructure:
    """Build a :class:`BodyStructure` from the format 1 (``to_json``) layout:
    ``["s", ...]`` for a single part, ``["m", ...]`` for a multipart; after the
    tag the fields are those of format 2.

    Raises:
        ValueError, TypeError, RecursionError: the layout or a type is wrong.
    """
    if type(t) is not list or not t or (t[0], len(t)) not in (("s", 15), ("m", 8)):
        raise ValueError("bad body structure")
    return _decode_body(t[1:], v1=True)


def _decode_body(t: list[Any], v1: bool) -> BodyStructure:
    params = _params_v1 if v1 else _params
    if len(t) == 14:
        (kind, subtype, prm, bid, desc, enc, size, lines, env, body, md5, disp, lang, loc) = t
        return _leaf(
            kind, subtype, None if prm is None else params(prm), bid, desc, enc, size, lines,
            None if env is None else _decode_envelope(env, v1),
            None if body is None else (decode_body_v1 if v1 else decode_body)(body),
            md5,
            None if disp is None else _disposition(disp, params),
            None if lang is None else _language(lang),
            loc,
        )  # fmt: skip
    if len(t) == 7:
        kind, subtype, parts, prm, disp, lang, loc = t
        return _multipart(
            kind, subtype, _parts(parts, decode_body_v1 if v1 else decode_body), params(prm),
            _disposition(disp, params), _language(lang), loc,
        )  # fmt: skip
    raise ValueError("bad body structure")
    if t[0] == "s" and len(t) == 15:
        (_s, kind, subtype, params, bid, desc, enc, size, lines, env, body, md5, disp, lang,
         loc) = t  # fmt: skip
        return _leaf(
            kind, subtype, None if params is None else _params_v1(params), bid, desc, enc, size,
            lines,
            None if env is None else decode_envelope_v1(env),
            None if body is None else decode_body_v1(body),
            md5,
            None if disp is None else _disposition(disp, _params_v1),
            None if lang is None else _language(lang),
            loc,
        )  # fmt: skip
    if t[0] == "m" and len(t) == 8:
        _m, kind, subtype, parts, params, disp, lang, loc = t
        return _multipart(
            kind, subtype, _parts(parts, decode_body_v1), _params_v1(params),
            _disposition(disp, _params_v1), _language(lang), loc,
        )  # fmt: skip
    raise ValueError("bad body structure")


def alist_tuple(a: AddressList | None) -> tuple[tuple[str | None, ...], ...] | None:
    """An address list in the blob layout."""
    return None if a is None else tuple((x.name, x.adl, x.mailbox, x.host) for x in a)


def params_tuple(p: Params | None) -> Params | None:
    """Parameters in the blob layout."""
    return None if p is None else tuple((k, v) for k, v in p)


def disposition_tuple(d: Disposition | None) -> tuple[Any, ...] | None:
    """A disposition in the blob layout."""
    return None if d is None else (d[0], params_tuple(d[1]))
