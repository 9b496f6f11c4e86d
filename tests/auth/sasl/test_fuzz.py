"""Garbage never crashes a SASL mechanism or a scheme check: it gets a clean answer."""

from __future__ import annotations

import random

import pytest

from mailsuite.auth import schemes, scramkeys
from mailsuite.auth.sasl import Challenge, Complete, Failed, NeedSecret
from mailsuite.auth.sasl.cram_md5 import CramMd5Mechanism
from mailsuite.auth.sasl.external import ExternalMechanism
from mailsuite.auth.sasl.plain import LoginMechanism, PlainMechanism
from mailsuite.auth.sasl.scram import ScramMechanism

ALPHABET = b"\0\xff=,nr ap:c" + bytes(range(32, 127))


def garbage(rng: random.Random) -> bytes:
    return bytes(rng.choice(ALPHABET) for _ in range(rng.randrange(0, 80)))


def mechanisms() -> list:
    return [
        PlainMechanism(),
        LoginMechanism(),
        CramMd5Mechanism("h", lambda n: b"\0" * n, lambda: 0.0),
        ScramMechanism("SCRAM-SHA-1", lambda n: b"\0" * n, b"k"),
        ScramMechanism("SCRAM-SHA-256", lambda n: b"\0" * n, b"k"),
        ExternalMechanism("CN=x"),
    ]


@pytest.mark.parametrize("seed", range(40))
def test_random_responses(seed: int) -> None:
    """Random byte strings fed to every mechanism only ever give a step result."""
    rng = random.Random(seed)
    for mech in mechanisms():
        for _ in range(4):
            out = mech.step(garbage(rng) if rng.random() < 0.9 else None)
            if isinstance(out, NeedSecret):
                secret = scramkeys.derive_secret(mech.hash_name, "pw", b"salt", 4096)
                out = mech.provide(secret if rng.random() < 0.5 else None)
            assert isinstance(out, Challenge | Complete | Failed)
            if not isinstance(out, Challenge):
                break


@pytest.mark.parametrize("scheme", sorted(schemes.SCHEMES))
def test_random_stored_data(scheme: str) -> None:
    """Random stored data under every scheme verifies False, never raises."""
    rng = random.Random(scheme)
    for _ in range(10):
        data = garbage(rng).decode("latin-1")
        assert schemes.verify(schemes.StoredPassword(scheme, "", data), "pw", "u") is False
