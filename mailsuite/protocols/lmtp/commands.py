"""LMTP commands: one command line in, one typed command (or a precise error reply) out.

Syntax only; whether a command is allowed now is the session's business.
Grammar from RFC 5321 section 4.1 (commands, paths, ESMTP parameters),
RFC 2033 (LHLO), RFC 1870 (SIZE), RFC 6152 (BODY=8BITMIME) and RFC 3030
(BDAT). Every error carries an enhanced status code (RFC 3463).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Final

from mailsuite.protocols.lmtp.wire import Reply

__all__ = [
    "Bdat",
    "Command",
    "CommandError",
    "Data",
    "Lhlo",
    "MailFrom",
    "Noop",
    "Path",
    "Quit",
    "RcptTo",
    "Rset",
    "Vrfy",
    "parse_command",
    "parse_path",
]

# RFC 5321 4.1.2: Dot-string atoms (atext) and a domain / address literal.
_ATOM: Final = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_DOT_STRING: Final = re.compile(rf"{_ATOM}(?:\.{_ATOM})*\Z")
_QUOTED: Final = re.compile(r'"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*"\Z')
_DOMAIN: Final = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.?\Z"
)
_ADDR_LITERAL: Final = re.compile(r"\[[\x21-\x5a\x5e-\x7e]+\]\Z")
_PARAM_KEY: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*\Z")
_XTEXT_VALUE: Final = re.compile(r"[\x21-\x3c\x3e-\x7e]+\Z")  # esmtp-value: no "=", no SP
MAX_LOCAL_PART_BYTES: Final = 64  # RFC 5321 4.5.3.1.1
MAX_PATH_BYTES: Final = 256  # RFC 5321 4.5.3.1.3


class CommandError(Exception):
    """A command line that cannot be accepted; ``reply`` says why."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.text)
        self.reply = reply


@dataclass(frozen=True, slots=True)
class Path:
    """A reverse-path or forward-path: ``local@domain``, or the null path ``<>``."""

    local: str = ""
    domain: str = ""

    @property
    def null(self) -> bool:
        return not self.local and not self.domain

    @property
    def address(self) -> str:
        """The mailbox as RFC 5321 4.1.2 writes it: a local part that is not a
        dot-string is quoted again, so it survives into headers and lookups."""
        if self.null:
            return ""
        local = self.local
        if not _DOT_STRING.match(local):
            escaped = local.replace("\\", "\\\\").replace('"', '\\"')
            local = f'"{escaped}"'
        return f"{local}@{self.domain}" if self.domain else local

    def __str__(self) -> str:
        return f"<{self.address}>"


class Command:
    """Base of all commands; ``name`` is the verb."""

    name: ClassVar[str] = ""


@dataclass(frozen=True, slots=True)
class Lhlo(Command):
    name: ClassVar[str] = "LHLO"
    domain: str


@dataclass(frozen=True, slots=True)
class MailFrom(Command):
    name: ClassVar[str] = "MAIL"
    sender: Path
    size: int | None = None  # RFC 1870 SIZE=, the client's estimate
    body: str = "7BIT"  # RFC 6152 BODY=7BIT | 8BITMIME
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RcptTo(Command):
    name: ClassVar[str] = "RCPT"
    recipient: Path
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Data(Command):
    name: ClassVar[str] = "DATA"


@dataclass(frozen=True, slots=True)
class Bdat(Command):
    name: ClassVar[str] = "BDAT"
    size: int
    last: bool = False


@dataclass(frozen=True, slots=True)
class Rset(Command):
    name: ClassVar[str] = "RSET"


@dataclass(frozen=True, slots=True)
class Noop(Command):
    name: ClassVar[str] = "NOOP"


@dataclass(frozen=True, slots=True)
class Quit(Command):
    name: ClassVar[str] = "QUIT"


@dataclass(frozen=True, slots=True)
class Vrfy(Command):
    name: ClassVar[str] = "VRFY"
    argument: str


def _syntax(text: str, enhanced: str = "5.5.4", code: int = 501) -> CommandError:
    return CommandError(Reply.of(code, enhanced, text))


def parse_path(text: str, *, allow_null: bool, what: str) -> Path:
    """Parse ``<local@domain>`` (RFC 5321 4.1.2), dropping a source route.

    Args:
        text: the path including its angle brackets.
        allow_null: whether ``<>`` is acceptable (reverse-path only).
        what: "sender" or "recipient", for the error text and code.

    Raises:
        CommandError: 501 with 5.1.7 (sender) or 5.1.3 (recipient).
    """
    enhanced = "5.1.7" if what == "sender" else "5.1.3"
    if len(text) < 2 or text[0] != "<" or text[-1] != ">":
        raise _syntax(f"Invalid {what} address syntax: missing <>", enhanced)
    inner = text[1:-1]
    if len(inner.encode("utf-8")) > MAX_PATH_BYTES:
        raise _syntax(f"Invalid {what} address: path too long", enhanced)
    if inner == "":
        if allow_null:
            return Path()
        raise _syntax(f"Invalid {what} address: empty", enhanced)
    # RFC 5321 4.1.2 / C: an obsolete source route "@a,@b:" is accepted and ignored.
    if inner.startswith("@"):
        colon = inner.find(":")
        if colon == -1:
            raise _syntax(f"Invalid {what} address syntax: bad source route", enhanced)
        inner = inner[colon + 1 :]
    at = inner.rfind("@")
    if at == -1:
        local, domain = inner, ""  # "postmaster" or a local-only name; the session decides
    else:
        local, domain = inner[:at], inner[at + 1 :]
        if not (_DOMAIN.match(domain) or _ADDR_LITERAL.match(domain)):
            raise _syntax(f"Invalid {what} address syntax: bad domain", enhanced)
    if _QUOTED.match(local):
        local = re.sub(r"\\(.)", r"\1", local[1:-1])
        if not local:
            raise _syntax(f"Invalid {what} address syntax: empty local part", enhanced)
    elif not _DOT_STRING.match(local):
        raise _syntax(f"Invalid {what} address syntax: bad local part", enhanced)
    if len(local.encode("utf-8")) > MAX_LOCAL_PART_BYTES:
        raise _syntax(f"Invalid {what} address: local part too long", enhanced)
    return Path(local, domain.rstrip(".").lower())


def _split_path_and_params(rest: str, prefix: str, verb: str) -> tuple[str, list[str]]:
    if rest[: len(prefix)].upper() != prefix:
        raise _syntax(f"Syntax: {verb} {prefix}<address> [parameters]", code=501)
    rest = rest[len(prefix) :].lstrip(" ")  # some clients put a space after the colon
    if rest.startswith("<"):
        end = _find_path_end(rest)
        if end == -1:
            raise _syntax(f"Syntax: {verb} {prefix}<address> [parameters]: unterminated <")
        path, tail = rest[: end + 1], rest[end + 1 :]
    else:
        path, _, tail = rest.partition(" ")
    if tail and not tail.startswith(" "):
        raise _syntax(f"Syntax: {verb} {prefix}<address> [parameters]")
    return path, tail.split()


def _find_path_end(text: str) -> int:
    """Index of the ">" closing the path, skipping quoted strings in the local part."""
    quoted = False
    i = 1
    while i < len(text):
        c = text[i]
        if quoted and c == "\\":
            i += 2
            continue
        if c == '"':
            quoted = not quoted
        elif c == ">" and not quoted:
            return i
        i += 1
    return -1


def _params(words: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for word in words:
        key, eq, value = word.partition("=")
        if not _PARAM_KEY.match(key) or (eq and not _XTEXT_VALUE.match(value)):
            raise _syntax(f"Invalid parameter syntax: {word[:40]}")
        ukey = key.upper()
        if ukey in params:
            raise _syntax(f"Duplicate parameter: {ukey}")
        params[ukey] = value
    return params


def _unsupported(key: str) -> CommandError:
    # RFC 5321 4.1.1.11 / 4.5.2 (reply 555): unrecognized parameters.
    return CommandError(Reply.of(555, "5.5.4", f"Unsupported parameter: {key}"))


def _mail(rest: str) -> MailFrom:
    text, words = _split_path_and_params(rest, "FROM:", "MAIL")
    sender = parse_path(text, allow_null=True, what="sender")
    params = _params(words)
    size: int | None = None
    body = "7BIT"
    for key, value in params.items():
        if key == "SIZE":
            # RFC 1870 section 3: size-value is 1*20DIGIT.
            if not value.isdigit() or len(value) > 20:
                raise _syntax("Invalid SIZE parameter")
            size = int(value)
        elif key == "BODY":
            body = value.upper()
            if body == "BINARYMIME":
                # RFC 3030 section 3: only when advertised; we do not offer it.
                raise CommandError(Reply.of(555, "5.5.4", "BINARYMIME not supported"))
            if body not in ("7BIT", "8BITMIME"):
                raise _syntax("Invalid BODY parameter (7BIT or 8BITMIME)")
        elif key == "AUTH":
            pass  # RFC 4954 section 5: a trusted client's submitter; nothing to do
        else:
            raise _unsupported(key)
    return MailFrom(sender, size, body, params)


def _rcpt(rest: str) -> RcptTo:
    text, words = _split_path_and_params(rest, "TO:", "RCPT")
    recipient = parse_path(text, allow_null=False, what="recipient")
    params = _params(words)
    for key in params:
        raise _unsupported(key)
    return RcptTo(recipient, params)


def _lhlo(rest: str) -> Lhlo:
    domain = rest.strip()
    if not domain or " " in domain:
        raise _syntax("Syntax: LHLO hostname")
    return Lhlo(domain)


def _bdat(rest: str) -> Bdat:
    # RFC 3030 section 2: "BDAT" SP chunk-size [ SP end-marker ]
    words = rest.split(" ")
    if not 1 <= len(words) <= 2 or not words[0].isdigit() or len(words[0]) > 20:
        raise _syntax("Syntax: BDAT size [LAST]")
    last = False
    if len(words) == 2:
        if words[1].upper() != "LAST":
            raise _syntax("Syntax: BDAT size [LAST]")
        last = True
    return Bdat(int(words[0]), last)


def _no_args(cls: type[Command]) -> Callable[[str], Command]:
    def parse(rest: str) -> Command:
        if rest.strip():
            raise _syntax(f"Syntax: {cls.name} takes no arguments")
        return cls()

    return parse


def _vrfy(rest: str) -> Vrfy:
    if not rest.strip():
        raise _syntax("Syntax: VRFY address")
    return Vrfy(rest.strip())


# Control characters other than TAB (checked with one regex, not per character).
_CONTROL: Final = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")

_PARSERS: Final[Mapping[str, Callable[[str], Command]]] = {
    "LHLO": _lhlo,
    "MAIL": _mail,
    "RCPT": _rcpt,
    "DATA": _no_args(Data),
    "BDAT": _bdat,
    "RSET": _no_args(Rset),
    "NOOP": lambda rest: Noop(),  # RFC 5321 4.1.1.9: any argument is ignored
    "QUIT": _no_args(Quit),
    "VRFY": _vrfy,
}


def parse_command(line: bytes) -> Command:
    """Parse one command line (without CRLF).

    Raises:
        CommandError: unknown verb (500 5.5.1), HELO/EHLO (500 5.5.1: RFC 2033
            section 4.1 forbids them in LMTP), or bad syntax (501, 555).
    """
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        # SMTPUTF8 is not offered, so 8-bit in a command line is a client error.
        raise CommandError(Reply.of(501, "5.6.7", "Non-UTF-8 bytes in command line")) from None
    if _CONTROL.search(text):
        raise CommandError(Reply.of(501, "5.5.2", "Control characters in command line"))
    verb, _, rest = text.partition(" ")
    verb = verb.upper()
    parser = _PARSERS.get(verb)
    if parser is None:
        if verb in ("HELO", "EHLO"):
            raise CommandError(Reply.of(500, "5.5.1", "This is LMTP: use LHLO (RFC 2033)"))
        if not verb:
            raise CommandError(Reply.of(500, "5.5.2", "Empty command line"))
        raise CommandError(Reply.of(500, "5.5.1", "Unknown command"))
    return parser(rest)
