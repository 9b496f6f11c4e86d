"""SASL EXTERNAL (RFC 4422 Appendix A) over a verified TLS client certificate."""

from __future__ import annotations

from typing import ClassVar

from mailsuite.auth.credentials import ExternalCredentials
from mailsuite.auth.sasl import Challenge, Complete, Failed, StepResult, decode_utf8

__all__ = ["ExternalMechanism", "name_from_subject"]


def name_from_subject(subject: str) -> str:
    """The user a certificate subject names: emailAddress, else CN."""
    fields: dict[str, str] = {}
    for part in subject.replace("/", ",").split(","):
        key, _, value = part.strip().partition("=")
        fields.setdefault(key.upper(), value)
    return fields.get("EMAILADDRESS") or fields.get("CN", "")


class ExternalMechanism:
    """The response is the authzid to log in as (empty: the certificate's own name)."""

    name: ClassVar[str] = "EXTERNAL"

    def __init__(self, cert_subject: str) -> None:
        self.cert_subject = cert_subject
        self._asked = False

    def step(self, response: bytes | None) -> StepResult:
        if not self.cert_subject:
            return Failed("EXTERNAL: no verified client certificate")
        if response is None:
            if self._asked:
                return Failed("EXTERNAL: no response")
            self._asked = True
            return Challenge(b"")
        authzid = decode_utf8(response)
        if authzid is None:
            return Failed("EXTERNAL: invalid UTF-8")
        user = authzid or name_from_subject(self.cert_subject)
        if not user:
            return Failed("EXTERNAL: certificate names no user")
        return Complete(ExternalCredentials(user, self.cert_subject))
