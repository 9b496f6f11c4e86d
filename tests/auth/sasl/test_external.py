"""SASL EXTERNAL over a verified client certificate subject."""

from __future__ import annotations

from mailsuite.auth.base import PassdbEntry
from mailsuite.auth.sasl import Challenge, Complete, Failed
from mailsuite.auth.sasl.external import ExternalMechanism, name_from_subject


def test_empty_authzid_uses_certificate_name() -> None:
    """An empty response logs in as the user the certificate names."""
    m = ExternalMechanism("CN=alice,O=Example")
    assert m.step(None) == Challenge(b"")
    done = m.step(b"")
    assert isinstance(done, Complete)
    assert done.credentials.username == "alice"
    assert done.credentials.verify(PassdbEntry("alice", None)) == ""


def test_other_user_refused() -> None:
    """A certificate for alice does not log in as bob."""
    done = ExternalMechanism("CN=alice").step(b"bob")
    assert isinstance(done, Complete)
    assert done.credentials.verify(PassdbEntry("bob", None)) != ""


def test_no_certificate_fails() -> None:
    """Without a verified certificate EXTERNAL fails at once."""
    assert isinstance(ExternalMechanism("").step(b""), Failed)


def test_email_address_preferred() -> None:
    """emailAddress in the subject names the user before CN."""
    assert name_from_subject("/CN=Alice A/emailAddress=alice@example.org") == "alice@example.org"
