"""SASL PLAIN (RFC 4616) and LOGIN (draft-murchison-sasl-login, as every server does it)."""

from __future__ import annotations

from typing import ClassVar

from mailsuite.auth.credentials import PlainCredentials
from mailsuite.auth.sasl import Challenge, Complete, Failed, StepResult, decode_utf8

__all__ = ["LoginMechanism", "PlainMechanism"]


class PlainMechanism:
    """``[authzid] NUL authcid NUL passwd`` in one message (RFC 4616 §2)."""

    name: ClassVar[str] = "PLAIN"

    def __init__(self) -> None:
        self._asked = False

    def step(self, response: bytes | None) -> StepResult:
        if response is None:
            if self._asked:
                return Failed("PLAIN: no response")
            self._asked = True
            return Challenge(b"")  # RFC 4422 §5: empty challenge asks for the message
        parts = response.split(b"\0")
        if len(parts) != 3:
            return Failed("PLAIN: malformed message (want authzid NUL authcid NUL passwd)")
        authzid, authcid, passwd = (decode_utf8(p) for p in parts)
        if authzid is None or authcid is None or passwd is None:
            return Failed("PLAIN: invalid UTF-8")
        if not authcid or not passwd:
            return Failed("PLAIN: empty authentication identity or password")
        return Complete(PlainCredentials(authcid, passwd, authzid, mechanism=self.name))


class LoginMechanism:
    """``Username:`` then ``Password:`` challenges; an initial response is the user name."""

    name: ClassVar[str] = "LOGIN"

    def __init__(self) -> None:
        self._user: str | None = None

    def step(self, response: bytes | None) -> StepResult:
        if self._user is None:
            if response is None:
                self._user = ""
                return Challenge(b"Username:")
            return self._take_user(response)
        if not self._user:
            if response is None:
                return Failed("LOGIN: no user name")
            return self._take_user(response)
        if response is None:
            return Failed("LOGIN: no password")
        password = decode_utf8(response)
        if not password:
            return Failed("LOGIN: empty or invalid password")
        return Complete(PlainCredentials(self._user, password, "", mechanism=self.name))

    def _take_user(self, response: bytes) -> StepResult:
        user = decode_utf8(response)
        if not user:
            return Failed("LOGIN: empty or invalid user name")
        self._user = user
        return Challenge(b"Password:")
