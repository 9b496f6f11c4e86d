"""SASL CRAM-MD5 against RFC 2195's example."""

from __future__ import annotations

import pytest

from mailsuite.auth import schemes
from mailsuite.auth.base import PassdbEntry
from mailsuite.auth.sasl import Challenge, Complete, Failed
from mailsuite.auth.sasl.cram_md5 import CramMd5Mechanism

RFC_CHALLENGE = b"<1896.697170952@postoffice.reston.mci.net>"
RFC_RESPONSE = b"tim b913a602c7eda7a495b4e6e7334d3890"


def rfc_mech() -> CramMd5Mechanism:
    m = CramMd5Mechanism("host", lambda n: b"\0" * n, lambda: 0.0)
    m.challenge = RFC_CHALLENGE
    return m


def test_rfc2195_example_against_plaintext_and_context() -> None:
    """RFC 2195's answer verifies against {PLAIN} and {CRAM-MD5} stored passwords."""
    m = rfc_mech()
    assert m.step(None) == Challenge(RFC_CHALLENGE)
    done = m.step(RFC_RESPONSE)
    assert isinstance(done, Complete)
    creds = done.credentials
    assert creds.username == "tim"
    assert creds.verify(PassdbEntry("tim", "{PLAIN}tanstaaftanstaaf")) == ""
    assert creds.verify(PassdbEntry("tim", schemes.generate("CRAM-MD5", "tanstaaftanstaaf"))) == ""
    assert creds.verify(PassdbEntry("tim", "{PLAIN}other")) == "Password mismatch"


def test_hashed_password_cannot_answer() -> None:
    """A one-way stored hash cannot check CRAM-MD5; the reason says so."""
    m = rfc_mech()
    m.step(None)
    done = m.step(RFC_RESPONSE)
    assert isinstance(done, Complete)
    assert "SHA512-CRYPT" in done.credentials.verify(PassdbEntry("tim", "{SHA512-CRYPT}$6$a$b"))


def test_challenge_is_msg_id_form() -> None:
    """The challenge looks like <random.timestamp@hostname> (RFC 2195 §2)."""
    m = CramMd5Mechanism("mail.example.org", lambda n: b"\1" * n, lambda: 1234.5)
    c = m.step(None)
    assert isinstance(c, Challenge)
    assert c.data.startswith(b"<") and c.data.endswith(b".1234@mail.example.org>")


@pytest.mark.parametrize("response", [b"tim", b"tim xyz", b" b913a602c7eda7a495b4e6e7334d3890"])
def test_malformed_response_fails(response: bytes) -> None:
    """Responses without a user or a 32-hex-digit digest are refused."""
    m = rfc_mech()
    m.step(None)
    assert isinstance(m.step(response), Failed)


def test_initial_response_refused() -> None:
    """CRAM-MD5 is server-first: a client initial response ends the exchange."""
    assert isinstance(rfc_mech().step(b"tim abc"), Failed)
