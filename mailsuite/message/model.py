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

``to_json``/``from_json`` give the compact form the store caches. The first
element of every blob is :data:`JSON_VERSION`; ``from_json`` raises
``ValueError`` on anything it did not write, so a cache that fails to load is
simply rebuilt from the message file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Self

__all__ = ["Address", "BodyStructure", "Envelope", "Params", "Disposition", "JSON_VERSION"]

JSON_VERSION = 1

# Ordered (name, value) pairs, as the header gave them (RFC 2231 pieces merged).
Params = tuple[tuple[str, str], ...]
# (disposition type, parameters or None)
Disposition = tuple[str, "Params | None"]


@dataclass(frozen=True, slots=True)
class Address:
    """One RFC 3501 address: ``(name adl mailbox host)``.

    A group starts with ``Address(None, None, "group name", None)`` and ends
    with ``Address(None, None, None, None)`` (RFC 3501 section 7.4.2).
    """

    name: str | None
    adl: str | None
    mailbox: str | None
    host: str | None

    def to_list(self) -> list[str | None]:
        return [self.name, self.adl, self.mailbox, self.host]

    @classmethod
    def from_list(cls, data: Any) -> Address:
        if not isinstance(data, list) or len(data) != 4:
            raise ValueError("bad address")
        return cls(*(_nstr(x) for x in data))


AddressList = tuple[Address, ...]


class _CacheBlob:
    """``to_json``/``from_json`` for the store's cache, over a class's ``_to_obj``/``_from_obj``."""

    __slots__ = ()

    def _to_obj(self) -> list[Any]:
        raise NotImplementedError

    @classmethod
    def _from_obj(cls, o: Any) -> Self:
        raise NotImplementedError

    def to_json(self) -> bytes:
        """Serialise for the store's cache."""
        return _dump([JSON_VERSION, self._to_obj()])

    @classmethod
    def from_json(cls, data: bytes) -> Self:
        """Load what :meth:`to_json` wrote.

        Raises:
            ValueError: the blob is not one this version wrote.
        """
        return cls._from_obj(_load(data)[1])


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
        if not isinstance(o, list) or len(o) != 10:
            raise ValueError("bad envelope")
        return cls(
            _nstr(o[0]),
            _nstr(o[1]),
            _alist_in(o[2]),
            _alist_in(o[3]),
            _alist_in(o[4]),
            _alist_in(o[5]),
            _alist_in(o[6]),
            _alist_in(o[7]),
            _nstr(o[8]),
            _nstr(o[9]),
        )


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

    @classmethod
    def _from_obj(cls, o: Any) -> BodyStructure:
        if not isinstance(o, list) or not o:
            raise ValueError("bad body structure")
        if o[0] == "m" and len(o) == 8:
            parts = o[3]
            if not isinstance(parts, list) or not parts:
                raise ValueError("bad multipart")
            return cls(
                type=_str(o[1]),
                subtype=_str(o[2]),
                parts=tuple(cls._from_obj(p) for p in parts),
                params=_params_in(o[4]),
                disposition=_disp_in(o[5]),
                language=_lang_in(o[6]),
                location=_nstr(o[7]),
            )
        if o[0] == "s" and len(o) == 15:
            if not isinstance(o[7], int) or (o[8] is not None and not isinstance(o[8], int)):
                raise ValueError("bad sizes")
            return cls(
                type=_str(o[1]),
                subtype=_str(o[2]),
                params=_params_in(o[3]),
                id=_nstr(o[4]),
                description=_nstr(o[5]),
                encoding=_str(o[6]),
                size=o[7],
                lines=o[8],
                envelope=None if o[9] is None else Envelope._from_obj(o[9]),
                body=None if o[10] is None else cls._from_obj(o[10]),
                md5=_nstr(o[11]),
                disposition=_disp_in(o[12]),
                language=_lang_in(o[13]),
                location=_nstr(o[14]),
            )
        raise ValueError("bad body structure")


def _dump(o: Any) -> bytes:
    # ensure_ascii keeps surrogate escapes (8-bit header bytes) as \udcXX escapes,
    # which json.loads turns back into the same lone surrogates.
    return json.dumps(o, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def _load(data: bytes) -> list[Any]:
    try:
        o = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"not a cached structure: {e}") from None
    if not isinstance(o, list) or len(o) != 2 or o[0] != JSON_VERSION:
        raise ValueError("not a cached structure of this version")
    return o


def _str(x: Any) -> str:
    if not isinstance(x, str):
        raise ValueError("expected a string")
    return x


def _nstr(x: Any) -> str | None:
    if x is not None and not isinstance(x, str):
        raise ValueError("expected a string or null")
    return x


def _alist_out(a: AddressList | None) -> list[Any] | None:
    return None if a is None else [x.to_list() for x in a]


def _alist_in(o: Any) -> AddressList | None:
    if o is None:
        return None
    if not isinstance(o, list):
        raise ValueError("bad address list")
    return tuple(Address.from_list(x) for x in o)


def _params_out(p: Params | None) -> list[str] | None:
    if p is None:
        return None
    return [s for kv in p for s in kv]


def _params_in(o: Any) -> Params | None:
    if o is None:
        return None
    if not isinstance(o, list) or len(o) % 2:
        raise ValueError("bad parameters")
    return tuple((_str(o[i]), _str(o[i + 1])) for i in range(0, len(o), 2))


def _disp_out(d: Disposition | None) -> list[Any] | None:
    return None if d is None else [d[0], _params_out(d[1])]


def _disp_in(o: Any) -> Disposition | None:
    if o is None:
        return None
    if not isinstance(o, list) or len(o) != 2:
        raise ValueError("bad disposition")
    return (_str(o[0]), _params_in(o[1]))


def _lang_in(o: Any) -> tuple[str, ...] | None:
    if o is None:
        return None
    if not isinstance(o, list):
        raise ValueError("bad language")
    return tuple(_str(x) for x in o)
