"""SASL CRAM-MD5 (RFC 2195): server sends ``<random.time@host>``, client ``user hexdigest``."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from mailsuite.auth.credentials import CramMd5Credentials
from mailsuite.auth.sasl import Challenge, Complete, Failed, StepResult, decode_utf8

__all__ = ["CramMd5Mechanism"]


class CramMd5Mechanism:
    """Server-first: an initial response is refused (RFC 4422 §3.3).

    Args:
        hostname: the server's name in the challenge.
        rng: returns n random bytes.
        clock: returns the current time in seconds.
    """

    name: ClassVar[str] = "CRAM-MD5"

    def __init__(self, hostname: str, rng: Callable[[int], bytes], clock: Callable[[], float]):
        self.challenge = f"<{int.from_bytes(rng(8), 'big')}.{int(clock())}@{hostname}>".encode(
            "ascii"
        )
        self._sent = False

    def step(self, response: bytes | None) -> StepResult:
        if not self._sent:
            if response:
                return Failed("CRAM-MD5: initial response not allowed (server speaks first)")
            self._sent = True
            return Challenge(self.challenge)
        if response is None:
            return Failed("CRAM-MD5: no response")
        text = decode_utf8(response)
        if text is None or " " not in text:
            return Failed("CRAM-MD5: malformed response (want 'user digest')")
        # The user name may contain spaces; the digest is the last word (RFC 2195 §2).
        user, _, digest = text.rpartition(" ")
        if not user or len(digest) != 32 or any(c not in "0123456789abcdefABCDEF" for c in digest):
            return Failed("CRAM-MD5: malformed response (want 'user digest')")
        return Complete(CramMd5Credentials(user, self.challenge, digest.encode("ascii")))
