"""Logging in to a backend as the client, sans-IO: POP3 and IMAP client state machines.

The front end owns the connection to the backend; these machines decide what
to send and read the answers until the backend says the user is logged in.
Each ``feed`` returns actions in order: :class:`Send` bytes, :class:`StartTls`
(the caller starts TLS, then calls :meth:`tls_started`), and finally one
:class:`LoggedIn` (relay from here on; ``leftover`` are bytes already read
past the login answer) or :class:`Refused`.

IMAP uses ``ID`` (RFC 2971) to pass the client's address and session ID,
pipelined before the login, as Dovecot's proxy does, and ``AUTHENTICATE
PLAIN`` with an initial response (RFC 4959) when offered, so no password ever
needs IMAP quoting; otherwise ``LOGIN`` with quoted strings or literals.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Final

__all__ = [
    "Action",
    "BackendCredentials",
    "ImapBackendLogin",
    "LoggedIn",
    "MAX_BACKEND_LINE_BYTES",
    "Pop3BackendLogin",
    "Refused",
    "Send",
    "StartTls",
]

MAX_BACKEND_LINE_BYTES: Final = 16 * 1024
_CAPS_CODE: Final = re.compile(rb"\[CAPABILITY ([^\]]*)\]", re.IGNORECASE)
_RESP_CODE: Final = re.compile(rb"^\[([^\]]*)\]")


@dataclass(frozen=True)
class BackendCredentials:
    """Who to log in as; ``master`` set means ``user*master`` with the master's password."""

    user: str
    password: str
    master: str = ""
    separator: str = "*"

    def __repr__(self) -> str:
        return f"BackendCredentials({self.user!r}, master={self.master!r})"

    @property
    def login_name(self) -> str:
        return f"{self.user}{self.separator}{self.master}" if self.master else self.user


@dataclass(frozen=True, slots=True)
class Send:
    data: bytes


@dataclass(frozen=True, slots=True)
class StartTls:
    """Start TLS on the backend connection now (the backend said go ahead)."""


@dataclass(frozen=True)
class LoggedIn:
    """The backend accepted the login; ``reply`` is its success line (tag not included)."""

    reply: bytes
    leftover: bytes = b""
    capabilities: tuple[str, ...] = ()


@dataclass(frozen=True)
class Refused:
    """The backend did not log the user in.

    ``temporary``: a server-side problem (tell the client to retry later);
    otherwise the backend rejected the credentials. ``detail`` is the
    backend's line, for the admin's log.
    """

    temporary: bool
    detail: str


Action = Send | StartTls | LoggedIn | Refused


def _show(line: bytes) -> str:
    return line[:200].decode("utf-8", "replace")


class _Lines:
    def __init__(self) -> None:
        self.buf = bytearray()

    def feed(self, data: bytes) -> list[bytes] | None:
        """Complete lines (CRLF stripped); None when a line exceeds the limit."""
        self.buf += data
        lines = []
        while True:
            end = self.buf.find(b"\n")
            if end < 0:
                break
            line = bytes(self.buf[:end]).rstrip(b"\r")
            del self.buf[: end + 1]
            lines.append(line)
        if len(self.buf) > MAX_BACKEND_LINE_BYTES:
            return None
        return lines

    def rest(self) -> bytes:
        out = bytes(self.buf)
        self.buf.clear()
        return out


class Pop3BackendLogin:
    """Log in to a POP3 backend: greeting, optional STLS, USER and PASS (RFC 1939, 2595)."""

    def __init__(self, creds: BackendCredentials, starttls: bool = False) -> None:
        self.creds = creds
        self.starttls = starttls
        self._lines = _Lines()
        self._step = "greeting"

    def start(self) -> list[Action]:
        return []

    def tls_started(self) -> list[Action]:
        return self._user()

    def _user(self) -> list[Action]:
        self._step = "user"
        return [Send(f"USER {self.creds.login_name}\r\n".encode())]

    def feed(self, data: bytes) -> list[Action]:
        lines = self._lines.feed(data)
        if lines is None:
            return [Refused(True, "backend sent an over-long line")]
        actions: list[Action] = []
        for i, line in enumerate(lines):
            ok = line.startswith(b"+OK")
            if not ok:
                text = line[4:].lstrip() if line.startswith(b"-ERR") else line
                code = _RESP_CODE.match(text)
                # RFC 3206: [AUTH] is the credentials; anything else is the server's trouble.
                auth = self._step == "pass" and (code is None or code.group(1).upper() == b"AUTH")
                return actions + [Refused(not auth, f"{self._step}: {_show(line)}")]
            if self._step == "greeting":
                if self.starttls:
                    self._step = "stls"
                    actions.append(Send(b"STLS\r\n"))
                else:
                    actions += self._user()
            elif self._step == "stls":
                # RFC 2595 4: nothing read before TLS may be used after it.
                self._lines.buf.clear()
                return actions + [StartTls()]
            elif self._step == "user":
                self._step = "pass"
                actions.append(Send(f"PASS {self.creds.password}\r\n".encode()))
            elif self._step == "pass":
                self._step = "done"
                rest = b"".join(x + b"\r\n" for x in lines[i + 1 :]) + self._lines.rest()
                return actions + [LoggedIn(line, rest)]
        return actions


def _quoted_ok(value: str) -> bool:
    return all(0x20 <= ord(ch) < 0x7F for ch in value)


def _quote(value: str) -> bytes:
    return b'"' + value.replace("\\", "\\\\").replace('"', '\\"').encode() + b'"'


def _caps(text: bytes) -> tuple[str, ...] | None:
    m = _CAPS_CODE.search(text)
    if m is None:
        return None
    return tuple(m.group(1).decode("ascii", "replace").split())


class ImapBackendLogin:
    """Log in to an IMAP backend (RFC 3501): greeting, STARTTLS, ID, then the login.

    Args:
        creds: who to log in as.
        id_fields: ID pairs to send before the login (x-originating-ip...);
            empty: send no ID.
        starttls: issue STARTTLS first.
    """

    def __init__(
        self,
        creds: BackendCredentials,
        id_fields: tuple[tuple[str, str], ...] = (),
        starttls: bool = False,
    ) -> None:
        self.creds = creds
        self.id_fields = id_fields
        self.starttls = starttls
        self.capabilities: tuple[str, ...] = ()
        self._lines = _Lines()
        self._step = "greeting"
        self._login_tag = b"L3"
        self._pending_literal: list[bytes] = []

    def start(self) -> list[Action]:
        return []

    def tls_started(self) -> list[Action]:
        # RFC 3501 6.2.1: capabilities from before TLS are stale; ask again.
        self.capabilities = ()
        self._step = "capability"
        return [Send(b"L1 CAPABILITY\r\n")]

    def _login(self) -> list[Action]:
        out = b""
        if self.id_fields:
            pairs = " ".join(
                _quote(k).decode() + " " + _quote(v).decode() for k, v in self.id_fields
            )
            out += f"L2 ID ({pairs})\r\n".encode()
        caps = {c.upper() for c in self.capabilities}
        name, password = self.creds.login_name, self.creds.password
        self._step = "login"
        if "AUTH=PLAIN" in caps and "SASL-IR" in caps:
            blob = base64.b64encode(f"\0{name}\0{password}".encode())
            return [Send(out + b"L3 AUTHENTICATE PLAIN " + blob + b"\r\n")]
        if _quoted_ok(name) and _quoted_ok(password):
            return [Send(out + b"L3 LOGIN " + _quote(name) + b" " + _quote(password) + b"\r\n")]
        raw_name, raw_password = name.encode(), password.encode()
        if "LITERAL+" in caps:
            return [
                Send(
                    out
                    + b"L3 LOGIN {%d+}\r\n%s {%d+}\r\n%s\r\n"
                    % (len(raw_name), raw_name, len(raw_password), raw_password)
                )
            ]
        # Synchronizing literals: each waits for the backend's "+" (RFC 3501 7.5).
        self._pending_literal = [
            raw_name + b" {%d}\r\n" % len(raw_password),
            raw_password + b"\r\n",
        ]
        return [Send(out + b"L3 LOGIN {%d}\r\n" % len(raw_name))]

    def feed(self, data: bytes) -> list[Action]:
        lines = self._lines.feed(data)
        if lines is None:
            return [Refused(True, "backend sent an over-long line")]
        actions: list[Action] = []
        for i, line in enumerate(lines):
            if self._step == "greeting":
                if not line.upper().startswith(b"* OK"):
                    return actions + [Refused(True, f"greeting: {_show(line)}")]
                caps = _caps(line)
                if self.starttls:
                    self._step = "starttls"
                    actions.append(Send(b"L0 STARTTLS\r\n"))
                elif caps is None:
                    self._step = "capability"
                    actions.append(Send(b"L1 CAPABILITY\r\n"))
                else:
                    self.capabilities = caps
                    actions += self._login()
                continue
            if line.startswith(b"* "):
                if line[2:13].upper() == b"CAPABILITY ":
                    self.capabilities = tuple(line[13:].decode("ascii", "replace").split())
                elif line.upper().startswith(b"* BYE"):
                    return actions + [Refused(True, f"{self._step}: {_show(line)}")]
                continue
            if line.startswith(b"+"):
                if self._pending_literal:
                    actions.append(Send(self._pending_literal.pop(0)))
                continue
            tag, _, rest = line.partition(b" ")
            status, _, text = rest.partition(b" ")
            ok = status.upper() == b"OK"
            if tag == b"L0":
                if not ok:
                    return actions + [Refused(True, f"STARTTLS: {_show(line)}")]
                self._lines.buf.clear()
                return actions + [StartTls()]
            if tag == b"L1":
                if not ok:
                    return actions + [Refused(True, f"CAPABILITY: {_show(line)}")]
                actions += self._login()
            elif tag == b"L2":
                continue  # an ID the backend dislikes must not stop the login
            elif tag == self._login_tag:
                if not ok:
                    upper = text.upper()
                    temporary = upper.startswith(b"[UNAVAILABLE]") or upper.startswith(
                        b"[SERVERBUG]"
                    )
                    if status.upper() == b"BAD":
                        temporary = True
                    return actions + [Refused(temporary, f"login: {_show(line)}")]
                caps = _caps(text)
                if caps is not None:
                    self.capabilities = caps
                rest_bytes = b"".join(x + b"\r\n" for x in lines[i + 1 :]) + self._lines.rest()
                return actions + [LoggedIn(b"OK " + text, rest_bytes, self.capabilities)]
        return actions
