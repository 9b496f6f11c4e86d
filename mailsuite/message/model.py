"""ENVELOPE and BODYSTRUCTURE data (RFC 3501 section 7.4.2) as frozen dataclasses.

Strings hold the raw header text, not RFC 2047-decoded: the bytes of the
header decoded as UTF-8 with ``surrogateescape``, so
``s.encode("utf-8", "surrogateescape")`` gives the exact bytes to send
(8-bit headers included: send those as literals). ``None`` is IMAP NIL.
They are already cleaned the way Dovecot 2.3 sends them, so the renderer
only quotes: no CR, LF or NUL (NUL became U+FFFD); the subject and display
names have tabs and runs of white space collapsed to one space; other header
strings keep their white space but lose line breaks.

Rendering (RFC 3501 section 7.4.2, as Dovecot writes it; the test helper
``tests/message/imapform.py`` builds exactly this shape):

* ENVELOPE: ``(date subject from sender reply-to to cc bcc in-reply-to
  message-id)``; an address list is ``((name adl mailbox host)...)`` or NIL.
* multipart: ``(part)(part)... "subtype"`` then, for BODYSTRUCTURE only,
  ``params disposition language location``.
* other bodies: ``"type" "subtype" params id description encoding size``,
  then ``envelope (body) lines`` for message/rfc822 or ``lines`` for text/*;
  for BODYSTRUCTURE only, then ``md5 disposition language location``.
* params: ``("name" "value" ...)`` or NIL; disposition: ``("type" params)``
  or NIL; language: ``("en" ...)`` (a list even for one tag) or NIL.

Cache forms (the store keeps one blob per message and kind):

* ``to_blob``/``from_blob``: format 2, :data:`BLOB_TAG` then one flat JSON
  array in the layouts of :mod:`mailsuite.message.blob` (a fifth smaller
  than format 1: no tags, Sender/Reply-To equal to From written once).
  ``from_blob`` also reads format 1 (its first byte is ``[``), so an index
  written by an older version is served as it is, without a rebuild.
* ``to_json``/``from_json``: format 1, ``[JSON_VERSION, value]``.

Both formats are read the same way: the C scanner of :mod:`json` (without
``json.loads``' Python wrapper), then checked and built by
:mod:`mailsuite.message.blob` without dataclass ``__init__``.

Both loaders raise ``ValueError`` on anything they did not write (and on a
blob whose shape or types are wrong), never another exception, so a cache
that fails to load is simply rebuilt from the message file. (``marshal`` is
faster still, but a single flipped byte can make it allocate gigabytes: a
tuple length read from string data. JSON's work is bounded by its length.)

Each object also has a ``memo`` slot, outside equality, hashing and repr,
owned by the one wire encoder of these structures (IMAP's FETCH renderer):
it keeps its encoding of that (immutable) value there with ``memoize``, so a
value shared by several messages (``from_blob`` hands out one object per
distinct address) or rendered twice is encoded once. No other code writes it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, Self

__all__ = [
    "BLOB_TAG",
    "JSON_VERSION",
    "SAME_AS_FROM",
    "Address",
    "BodyStructure",
    "Disposition",
    "Envelope",
    "Params",
]

JSON_VERSION = 1
#: First byte of a :meth:`Envelope.to_blob` / :meth:`BodyStructure.to_blob` blob
#: (format 2; format 1, ``to_json``, starts with ``[``).
BLOB_TAG: Final = b"\x02"
#: In a blob's envelope, Sender or Reply-To that is From's list again.
SAME_AS_FROM: Final = 0
# The C scanner behind json.loads, without its Python wrapper (a third of the
# cost for a blob this small). It keeps no state between calls.
_scan: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]

# Ordered (name, value) pairs, as the header gave them (RFC 2231 pieces merged).
Params = tuple[tuple[str, str], ...]
# (disposition type, parameters or None)
Disposition = tuple[str, "Params | None"]


class _Memo:
    """The ``memo`` slot's setter, shared by every class here."""

    __slots__ = ()

    def memoize(self, value: Any) -> Any:
        """Keep ``value`` (an encoder's encoding of this value) in ``memo``; returns it.

        The objects are immutable, so the encoding never goes stale; it is
        not part of equality, hashing or repr.
        """
        object.__setattr__(self, "memo", value)
        return value


@dataclass(frozen=True, slots=True)
class Address(_Memo):
    """One RFC 3501 address: ``(name adl mailbox host)``.

    A group starts with ``Address(None, None, "group name", None)`` and ends
    with ``Address(None, None, None, None)`` (RFC 3501 section 7.4.2).
    """

    name: str | None
    adl: str | None
    mailbox: str | None
    host: str | None
    memo: Any = field(default=None, init=False, repr=False, compare=False)

    def to_list(self) -> list[str | None]:
        return [self.name, self.adl, self.mailbox, self.host]

    @classmethod
    def from_list(cls, data: Any) -> Address:
        if not isinstance(data, list) or len(data) != 4:
            raise ValueError("bad address")
        return cls(*(_nstr(x) for x in data))


AddressList = tuple[Address, ...]


class _CacheBlob(_Memo):
    """The store's cache forms, over a class's ``_to_obj``/``_from_obj`` (JSON) and
    ``_to_tuple``/``_from_tuple`` (blob)."""

    __slots__ = ()

    def _to_obj(self) -> list[Any]:
        raise NotImplementedError

    @classmethod
    def _from_obj(cls, o: Any) -> Self:
        raise NotImplementedError

    def _to_tuple(self) -> tuple[Any, ...]:
        raise NotImplementedError

    @classmethod
    def _from_tuple(cls, t: Any) -> Self:
        raise NotImplementedError

    def to_blob(self) -> bytes:
        """Serialise for the store's cache in the fast form (:data:`BLOB_TAG` + JSON array)."""
        return BLOB_TAG + _dump(self._to_tuple())

    @classmethod
    def from_blob(cls, data: bytes) -> Self:
        """Load what :meth:`to_blob` or :meth:`to_json` wrote.

        Raises:
            ValueError: the blob is damaged or not one this version wrote
                (the store then rebuilds the entry from the message file).
        """
        head = data[:1]
        if head == b"[":
            return cls.from_json(data)
        if head != BLOB_TAG:
            raise ValueError("not a cached structure: unknown format")
        return _decoded(cls._from_tuple, _parse(data, 1))

    def to_json(self) -> bytes:
        """Serialise for the store's cache."""
        return _dump([JSON_VERSION, self._to_obj()])

    @classmethod
    def from_json(cls, data: bytes) -> Self:
        """Load what :meth:`to_json` wrote.

        Raises:
            ValueError: the blob is not one this version wrote.
        """
        o = _parse(data, 0)
        if type(o) is not list or len(o) != 2 or o[0] != JSON_VERSION:
            raise ValueError("not a cached structure of this version")
        return _decoded(cls._from_obj, o[1])


@dataclass(frozen=True, slots=True)
class Envelope(_CacheBlob):
    """RFC 3501 ENVELOPE fields in wire order.

    ``sender`` and ``reply_to`` already hold ``from_`` when the header lacks
    them or they are empty (RFC 3501 section 7.4.2).
    """

    date: str | None
    subject: str | None
    from_: AddressList | None
    sender: AddressList | None
    reply_to: AddressList | None
    to: AddressList | None
    cc: AddressList | None
    bcc: AddressList | None
    in_reply_to: str | None
    message_id: str | None
    memo: Any = field(default=None, init=False, repr=False, compare=False)

    def _to_tuple(self) -> tuple[Any, ...]:
        # Sender and Reply-To are usually From again: SAME_AS_FROM, decoded as
        # From's own tuple (RFC 3501 7.4.2 fills them from From).
        fr = alist_tuple(self.from_)
        sender = SAME_AS_FROM if self.sender == self.from_ else alist_tuple(self.sender)
        reply_to = SAME_AS_FROM if self.reply_to == self.from_ else alist_tuple(self.reply_to)
        return (
            self.date,
            self.subject,
            fr,
            sender,
            reply_to,
            alist_tuple(self.to),
            alist_tuple(self.cc),
            alist_tuple(self.bcc),
            self.in_reply_to,
            self.message_id,
        )

    @classmethod
    def _from_tuple(cls, t: Any) -> Envelope:
        return decode_envelope(t)

    def _to_obj(self) -> list[Any]:
        return [
            self.date,
            self.subject,
            _alist_out(self.from_),
            _alist_out(self.sender),
            _alist_out(self.reply_to),
            _alist_out(self.to),
            _alist_out(self.cc),
            _alist_out(self.bcc),
            self.in_reply_to,
            self.message_id,
        ]

    @classmethod
    def _from_obj(cls, o: Any) -> Envelope:
        return decode_envelope_v1(o)


@dataclass(frozen=True, slots=True)
class BodyStructure(_CacheBlob):
    """One body of RFC 3501 BODYSTRUCTURE, with its extension data.

    A multipart has ``type == "multipart"`` (case as in the header),
    non-empty ``parts`` and its own ``subtype``, ``params``, ``disposition``,
    ``language`` and ``location``; ``id``/``description``/``md5`` are None
    and ``encoding``/``size`` are unused there. Every other body is "basic":
    ``lines`` is set for ``text/*`` and ``message/rfc822``, and
    ``envelope``/``body`` only for ``message/rfc822``. ``size`` is the body's
    octet count in CRLF form; ``lines`` its CRLF line count.
    """

    type: str
    subtype: str
    params: Params | None = None
    id: str | None = None
    description: str | None = None
    encoding: str = "7bit"
    size: int = 0
    lines: int | None = None
    envelope: Envelope | None = None
    body: BodyStructure | None = None
    parts: tuple[BodyStructure, ...] = ()
    md5: str | None = None
    disposition: Disposition | None = None
    language: tuple[str, ...] | None = None
    location: str | None = None
    memo: Any = field(default=None, init=False, repr=False, compare=False)

    @property
    def is_multipart(self) -> bool:
        """True for a multipart body (the renderer writes ``(body)(body) "subtype" ...``)."""
        return bool(self.parts)

    @property
    def is_text(self) -> bool:
        """True for a ``text/*`` body (which carries ``lines``)."""
        return not self.parts and self.type.lower() == "text"

    @property
    def is_message(self) -> bool:
        """True for ``message/rfc822`` with its envelope, body and lines."""
        return self.envelope is not None and self.body is not None

    def _to_obj(self) -> list[Any]:
        if self.parts:
            return [
                "m",
                self.type,
                self.subtype,
                [p._to_obj() for p in self.parts],
                _params_out(self.params),
                _disp_out(self.disposition),
                None if self.language is None else list(self.language),
                self.location,
            ]
        return [
            "s",
            self.type,
            self.subtype,
            _params_out(self.params),
            self.id,
            self.description,
            self.encoding,
            self.size,
            self.lines,
            None if self.envelope is None else self.envelope._to_obj(),
            None if self.body is None else self.body._to_obj(),
            self.md5,
            _disp_out(self.disposition),
            None if self.language is None else list(self.language),
            self.location,
        ]

    def _to_tuple(self) -> tuple[Any, ...]:
        if self.parts:
            return (
                self.type,
                self.subtype,
                tuple(p._to_tuple() for p in self.parts),
                params_tuple(self.params),
                disposition_tuple(self.disposition),
                None if self.language is None else tuple(self.language),
                self.location,
            )
        return (
            self.type,
            self.subtype,
            params_tuple(self.params),
            self.id,
            self.description,
            self.encoding,
            self.size,
            self.lines,
            None if self.envelope is None else self.envelope._to_tuple(),
            None if self.body is None else self.body._to_tuple(),
            self.md5,
            disposition_tuple(self.disposition),
            None if self.language is None else tuple(self.language),
            self.location,
        )

    @classmethod
    def _from_tuple(cls, t: Any) -> BodyStructure:
        return decode_body(t)

    @classmethod
    def _from_obj(cls, o: Any) -> BodyStructure:
        return decode_body_v1(o)


# -- JSON text -----------------------------------------------------------------


def _dump(o: Any) -> bytes:
    # ensure_ascii keeps surrogate escapes (8-bit header bytes) as \udcXX escapes,
    # which json.loads turns back into the same lone surrogates.
    return json.dumps(o, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def _parse(data: bytes, start: int) -> Any:
    """The JSON value in ``data[start:]`` (ASCII, nothing after it)."""
    try:
        text = str(data[start:], "ascii")  # bytes, bytearray or memoryview
        o, end = _scan(text, 0)
    except (UnicodeDecodeError, StopIteration, ValueError, RecursionError) as e:
        raise ValueError(f"not a cached structure: {type(e).__name__}") from None
    if end != len(text):
        raise ValueError("not a cached structure: data after the value")
    return o


def _decoded(decode: Callable[[Any], Any], o: Any) -> Any:
    try:
        return decode(o)
    except (TypeError, IndexError, AttributeError, RecursionError) as e:
        # Mis-shaped pieces: a blob this version did not write.
        raise ValueError(f"bad cached structure: {type(e).__name__}") from None


def _nstr(x: Any) -> str | None:
    if x is not None and not isinstance(x, str):
        raise ValueError("expected a string or null")
    return x


def _alist_out(a: AddressList | None) -> list[Any] | None:
    return None if a is None else [x.to_list() for x in a]


def _params_out(p: Params | None) -> list[str] | None:
    if p is None:
        return None
    return [s for kv in p for s in kv]


def _disp_out(d: Disposition | None) -> list[Any] | None:
    return None if d is None else [d[0], _params_out(d[1])]


# The blob decoders build the classes above, so they are imported once those exist
# (the package's __init__ always imports this module first).
from mailsuite.message.blob import (  # noqa: E402
    alist_tuple,
    decode_body,
    decode_body_v1,
    decode_envelope,
    decode_envelope_v1,
    disposition_tuple,
    params_tuple,
)
