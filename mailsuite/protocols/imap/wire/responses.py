"""Server responses as bytes: status lines, continuations and response codes.

RFC 3501 section 7.1 (status responses), RFC 5530 (the extended codes),
RFC 4315 (APPENDUID/COPYUID), RFC 7162 (HIGHESTMODSEQ, NOMODSEQ, MODIFIED,
CLOSED), RFC 9208 (OVERQUOTA). Every function returns complete lines with
their CRLF.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from typing import Final

from .encode import encode_flags, encode_text
from .framer import InputOverflow, LineTooLong, LiteralTooLarge
from .seqset import format_numbers, format_uid_pairs

__all__ = [
    "BAD",
    "BYE",
    "NO",
    "OK",
    "PREAUTH",
    "Code",
    "code_appenduid",
    "code_badcharset",
    "code_capability",
    "code_copyuid",
    "code_highestmodseq",
    "code_modified",
    "code_permanentflags",
    "code_uidnext",
    "code_uidvalidity",
    "code_unseen",
    "continuation",
    "continuation_data",
    "framing_error",
    "tagged",
    "untagged",
    "untagged_status",
]

OK: Final = b"OK"
NO: Final = b"NO"
BAD: Final = b"BAD"
BYE: Final = b"BYE"
PREAUTH: Final = b"PREAUTH"
_STATUSES: Final = frozenset({OK, NO, BAD, BYE, PREAUTH})


class Code:
    """Response codes without arguments (RFC 3501 7.1, RFC 5530, RFC 7162, RFC 9208)."""

    ALERT: Final = b"ALERT"
    PARSE: Final = b"PARSE"
    READ_ONLY: Final = b"READ-ONLY"
    READ_WRITE: Final = b"READ-WRITE"
    TRYCREATE: Final = b"TRYCREATE"
    UIDNOTSTICKY: Final = b"UIDNOTSTICKY"
    NOMODSEQ: Final = b"NOMODSEQ"
    CLOSED: Final = b"CLOSED"
    NONEXISTENT: Final = b"NONEXISTENT"
    ALREADYEXISTS: Final = b"ALREADYEXISTS"
    OVERQUOTA: Final = b"OVERQUOTA"
    INUSE: Final = b"INUSE"
    LIMIT: Final = b"LIMIT"
    TOOBIG: Final = b"TOOBIG"
    UNAVAILABLE: Final = b"UNAVAILABLE"
    AUTHENTICATIONFAILED: Final = b"AUTHENTICATIONFAILED"
    AUTHORIZATIONFAILED: Final = b"AUTHORIZATIONFAILED"
    EXPIRED: Final = b"EXPIRED"
    PRIVACYREQUIRED: Final = b"PRIVACYREQUIRED"
    CONTACTADMIN: Final = b"CONTACTADMIN"
    NOPERM: Final = b"NOPERM"
    CANNOT: Final = b"CANNOT"
    SERVERBUG: Final = b"SERVERBUG"
    CLIENTBUG: Final = b"CLIENTBUG"
    EXPUNGEISSUED: Final = b"EXPUNGEISSUED"
    CORRUPTION: Final = b"CORRUPTION"
    HASCHILDREN: Final = b"HASCHILDREN"
    COMPRESSIONACTIVE: Final = b"COMPRESSIONACTIVE"


def _status_line(prefix: bytes, status: bytes, text: str, code: bytes | None) -> bytes:
    if status not in _STATUSES:
        raise ValueError(f"not a status: {status!r}")
    middle = b"[" + code + b"] " if code else b""
    return prefix + b" " + status + b" " + middle + encode_text(text) + b"\r\n"


def tagged(tag: bytes, status: bytes, text: str, code: bytes | None = None) -> bytes:
    """A tagged completion, e.g. ``a1 OK [READ-WRITE] SELECT completed``."""
    return _status_line(tag, status, text, code)


def untagged_status(status: bytes, text: str, code: bytes | None = None) -> bytes:
    """An untagged status, e.g. ``* OK [UIDVALIDITY 3857529045] UIDs valid`` or ``* BYE ...``."""
    return _status_line(b"*", status, text, code)


def untagged(payload: bytes) -> bytes:
    """An untagged data response: ``* `` + payload + CRLF (payload may hold literals)."""
    return b"* " + payload + b"\r\n"


def continuation(text: str = "Ready") -> bytes:
    """A continuation request with text (``+ Ready``), e.g. for a synchronizing literal or IDLE."""
    return b"+ " + encode_text(text) + b"\r\n"


def continuation_data(challenge: bytes) -> bytes:
    """A SASL challenge, base64-encoded (RFC 3501 6.2.2; an empty one is ``+ ``)."""
    return b"+ " + base64.b64encode(challenge) + b"\r\n"


def code_uidnext(uidnext: int) -> bytes:
    """``UIDNEXT n``."""
    return b"UIDNEXT %d" % uidnext


def code_uidvalidity(uidvalidity: int) -> bytes:
    """``UIDVALIDITY n``."""
    return b"UIDVALIDITY %d" % uidvalidity


def code_unseen(seq: int) -> bytes:
    """``UNSEEN n``: the sequence number of the first unseen message."""
    return b"UNSEEN %d" % seq


def code_highestmodseq(modseq: int) -> bytes:
    """``HIGHESTMODSEQ n`` (RFC 7162 3.1.2.1)."""
    return b"HIGHESTMODSEQ %d" % modseq


def code_permanentflags(flags: Iterable[str], *, new_keywords: bool = True) -> bytes:
    """``PERMANENTFLAGS (...)``, with ``\\*`` when clients may create keywords."""
    inner = encode_flags(flags)[:-1]
    if new_keywords:
        inner += b" \\*" if len(inner) > 1 else b"\\*"
    return b"PERMANENTFLAGS " + inner + b")"


def code_capability(capabilities: Iterable[str]) -> bytes:
    """``CAPABILITY IMAP4rev1 ...``."""
    return b"CAPABILITY " + " ".join(capabilities).encode("ascii")


def code_badcharset(charsets: Iterable[str] = ("UTF-8", "US-ASCII")) -> bytes:
    """``BADCHARSET (UTF-8 US-ASCII)``: the charsets SEARCH accepts."""
    return b"BADCHARSET (" + " ".join(charsets).encode("ascii") + b")"


def code_appenduid(uidvalidity: int, uids: Sequence[int]) -> bytes:
    """``APPENDUID uidvalidity uid-set`` (RFC 4315 3; a set for MULTIAPPEND, in append order)."""
    _, dst = format_uid_pairs([(u, u) for u in uids])
    return b"APPENDUID %d " % uidvalidity + dst


def code_copyuid(uidvalidity: int, pairs: Sequence[tuple[int, int]]) -> bytes:
    """``COPYUID uidvalidity source-set dest-set`` with both sets in matching order (RFC 4315 3)."""
    src, dst = format_uid_pairs(pairs)
    return b"COPYUID %d " % uidvalidity + src + b" " + dst


def code_modified(uids: Iterable[int]) -> bytes:
    """``MODIFIED set``: messages that failed STORE UNCHANGEDSINCE (RFC 7162 3.1.3)."""
    return b"MODIFIED " + format_numbers(uids)


def framing_error(event: LineTooLong | LiteralTooLarge | InputOverflow) -> bytes:
    """The answer to a framer limit event.

    A too-long line is a tagged BAD (the session goes on); past the hard
    limit the connection gets BYE and is closed. A synchronizing literal
    over the limit gets NO [TOOBIG] (the client never got "+", so it sends
    nothing); a non-synchronizing one is already on its way, so RFC 7888
    section 4 lets us end the connection with BYE [TOOBIG] instead of
    reading it.
    """
    if isinstance(event, LineTooLong):
        return tagged(event.tag, BAD, f"Command line too long (over {event.limit_bytes} octets)")
    if isinstance(event, InputOverflow):
        return untagged_status(BYE, f"Command line too long (over {event.limit_bytes} octets)")
    text = f"Literal of {event.size} octets is over the limit of {event.limit_bytes} octets"
    if event.fatal:
        return untagged_status(BYE, text, Code.TOOBIG)
    return tagged(event.tag, NO, text, Code.TOOBIG)
