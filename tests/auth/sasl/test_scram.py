"""SCRAM-SHA-1 and SCRAM-SHA-256 against the RFC 5802 and RFC 7677 example exchanges."""

from __future__ import annotations

import base64

import pytest

from mailsuite.auth import scramkeys
from mailsuite.auth.base import PassdbEntry
from mailsuite.auth.sasl import Challenge, Complete, Failed, NeedSecret
from mailsuite.auth.sasl.scram import ScramMechanism, decode_saslname

# (mechanism, client-first, server nonce part, salt, client-final, server-final)
VECTORS = [
    (  # RFC 5802 §5
        "SCRAM-SHA-1",
        b"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
        "3rfcNHYJY1ZVvWVs7j",
        "QSXCR+Q6sek8bf92",
        b"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
        b"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
        b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
    ),
    (  # RFC 7677 §3
        "SCRAM-SHA-256",
        b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
        "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
        "W22ZaJ0SNY7soEsUEjb6gQ==",
        b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
        b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
        b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
        b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
    ),
]


def mech(name: str, nonce: str = "SERVERNONCE") -> ScramMechanism:
    return ScramMechanism(name, lambda n: b"\0" * n, b"k" * 32, make_nonce=lambda: nonce)


def entry_for(secret: scramkeys.ScramSecret, name: str) -> PassdbEntry:
    return PassdbEntry("user", "{" + name + "}" + scramkeys.format_secret(secret))


@pytest.mark.parametrize("vector", VECTORS, ids=[v[0] for v in VECTORS])
def test_rfc_example_exchange(vector: tuple) -> None:
    """The RFC's example conversation runs byte for byte, ending in its server signature."""
    name, first, snonce, salt, server_first, final, server_final = vector
    m = mech(name, snonce)
    assert m.step(first) == NeedSecret("user", "")
    secret = scramkeys.derive_secret(
        scramkeys.SCRAM_HASHES[name], "pencil", base64.b64decode(salt), 4096
    )
    assert m.provide(secret) == Challenge(server_first)
    done = m.step(final)
    assert isinstance(done, Complete)
    assert done.credentials.verify(entry_for(secret, name)) == ""
    assert m.server_final() == Challenge(server_final)


@pytest.mark.parametrize("vector", VECTORS, ids=[v[0] for v in VECTORS])
def test_rfc_example_from_plaintext_password(vector: tuple) -> None:
    """A PLAIN stored password also answers SCRAM (secret derived with the salt sent)."""
    name, first, snonce, salt, server_first, final, _ = vector
    m = ScramMechanism(name, lambda n: b"\0" * n, b"k" * 32, make_nonce=lambda: snonce)
    m.plain_salt = lambda user: base64.b64decode(salt)  # type: ignore[method-assign]
    m.step(first)
    m.provide(
        scramkeys.derive_secret(scramkeys.SCRAM_HASHES[name], "pencil", base64.b64decode(salt))
    )
    done = m.step(final)
    assert isinstance(done, Complete)
    assert done.credentials.verify(PassdbEntry("user", "{PLAIN}pencil")) == ""
    assert done.credentials.verify(PassdbEntry("user", "{PLAIN}pencil2")) != ""


def test_wrong_password_proof_rejected() -> None:
    """A proof made with another password does not verify."""
    name, first, snonce, salt, _, final, _ = VECTORS[1]
    m = mech(name, snonce)
    m.step(first)
    other = scramkeys.derive_secret("sha256", "crayon", base64.b64decode(salt))
    m.provide(other)
    done = m.step(final)
    assert isinstance(done, Complete)
    assert done.credentials.verify(entry_for(other, name)).startswith("Password mismatch")


def test_stored_scheme_without_scram_refused() -> None:
    """A SHA512-CRYPT user cannot do SCRAM: the reason names the stored scheme."""
    name, first, snonce, salt, _, final, _ = VECTORS[1]
    m = mech(name, snonce)
    m.step(first)
    m.provide(None)
    done = m.step(final)
    assert isinstance(done, Complete)
    reason = done.credentials.verify(PassdbEntry("user", "{SHA512-CRYPT}$6$x$y"))
    assert "SHA512-CRYPT" in reason


def test_unknown_user_gets_stable_fake_salt() -> None:
    """Without a secret the server still answers, with a salt that is stable per user."""
    a, b = mech("SCRAM-SHA-256"), mech("SCRAM-SHA-256")
    a.step(b"n,,n=ghost,r=abc")
    b.step(b"n,,n=ghost,r=abc")
    assert a.provide(None) == b.provide(None)


def test_authzid_and_escaped_names() -> None:
    """a=authzid in the gs2 header and =2C/=3D escapes in names are decoded (RFC 5802 §5.1)."""
    m = mech("SCRAM-SHA-1")
    assert m.step(b"n,a=us=2Cer,n=ma=3Dster,r=x") == NeedSecret("ma=ster", "us,er")
    assert decode_saslname("a=2Cb=3Dc") == "a,b=c"
    assert decode_saslname("bad=41") is None


@pytest.mark.parametrize(
    "first",
    [
        b"p=tls-unique,,n=user,r=x",  # channel binding: not offered
        b"x,,n=user,r=x",
        b"n,,r=x,n=user",
        b"n,,n=,r=x",
        b"n,,n=user,r=",
        b"n,,m=ext,n=user,r=x",
        b"n,,n=user",
        b"garbage",
        b"n,,n=us\xffer,r=x",
        b"n,,n=user,r=a b",
    ],
)
def test_malformed_client_first_fails(first: bytes) -> None:
    """Malformed or unsupported client-first messages end the exchange with a reason."""
    assert isinstance(mech("SCRAM-SHA-256").step(first), Failed)


def test_client_final_checks_binding_and_nonce() -> None:
    """A client-final with a wrong c= or r= value, or no proof, fails before any check."""
    for final in (
        b"c=eSws,r=abcSERVERNONCE,p=AAAA",  # y,, instead of n,,
        b"c=biws,r=abcOTHER,p=AAAA",
        b"c=biws,r=abcSERVERNONCE",
        b"c=biws,r=abcSERVERNONCE,p=!!",
    ):
        m = mech("SCRAM-SHA-256")
        m.step(b"n,,n=user,r=abc")
        m.provide(None)
        assert isinstance(m.step(final), Failed), final


def test_no_initial_response_gets_empty_challenge() -> None:
    """Without SASL-IR the server first sends an empty challenge."""
    m = mech("SCRAM-SHA-1")
    assert m.step(None) == Challenge(b"")
    assert isinstance(m.step(b"n,,n=user,r=x"), NeedSecret)


def test_secret_repr_hides_keys() -> None:
    """A SCRAM secret's repr does not show its password-equivalent keys."""
    secret = scramkeys.derive_secret("sha1", "pencil", b"salt")
    assert base64.b64encode(secret.stored_key).decode() not in repr(secret)
