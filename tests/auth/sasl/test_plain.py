"""SASL PLAIN (RFC 4616) and LOGIN state machines."""

from __future__ import annotations

import pytest

from mailsuite.auth.sasl import Challenge, Complete, Failed
from mailsuite.auth.sasl.plain import LoginMechanism, PlainMechanism


def test_rfc4616_examples() -> None:
    """RFC 4616 §4's two examples decode to the right identities and password."""
    done = PlainMechanism().step(b"\0tim\0tanstaaftanstaaf")
    assert isinstance(done, Complete)
    c = done.credentials
    assert (c.username, c.authzid, c.password) == ("tim", "", "tanstaaftanstaaf")
    done = PlainMechanism().step(b"Ursel\0Kurt\0xipj3plmq")
    assert isinstance(done, Complete)
    c = done.credentials
    assert (c.username, c.authzid, c.password) == ("Kurt", "Ursel", "xipj3plmq")


def test_no_initial_response_then_message() -> None:
    """Without SASL-IR, PLAIN sends an empty challenge then takes the message."""
    m = PlainMechanism()
    assert m.step(None) == Challenge(b"")
    assert isinstance(m.step(b"\0u\0p"), Complete)


@pytest.mark.parametrize(
    "message", [b"", b"\0\0pw", b"\0user\0", b"user\0pw", b"a\0b\0c\0d", b"\0us\xffer\0pw"]
)
def test_malformed_plain_fails(message: bytes) -> None:
    """Wrong field counts, empty identities or passwords and bad UTF-8 are refused."""
    assert isinstance(PlainMechanism().step(message), Failed)


def test_plain_credentials_hide_password() -> None:
    """The credentials' repr never contains the password."""
    done = PlainMechanism().step(b"\0tim\0tanstaaftanstaaf")
    assert isinstance(done, Complete)
    assert "tanstaaf" not in repr(done.credentials)


def test_login_challenges_username_then_password() -> None:
    """LOGIN asks Username: then Password: and yields plain credentials."""
    m = LoginMechanism()
    assert m.step(None) == Challenge(b"Username:")
    assert m.step(b"alice") == Challenge(b"Password:")
    done = m.step(b"alice-pw")
    assert isinstance(done, Complete)
    assert (done.credentials.username, done.credentials.password) == ("alice", "alice-pw")


def test_login_initial_response_is_username() -> None:
    """With SASL-IR the initial response is the user name."""
    m = LoginMechanism()
    assert m.step(b"alice") == Challenge(b"Password:")
    assert isinstance(m.step(b"pw"), Complete)


def test_login_empty_fields_fail() -> None:
    """An empty user name or password ends LOGIN with a failure."""
    assert isinstance(LoginMechanism().step(b""), Failed)
    m = LoginMechanism()
    m.step(b"alice")
    assert isinstance(m.step(b""), Failed)
