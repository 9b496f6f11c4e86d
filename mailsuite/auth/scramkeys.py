"""SCRAM key derivation (RFC 5802 §3) and Dovecot's stored ``{SCRAM-SHA-*}`` secret.

Shared by the password schemes (store and verify a SCRAM secret like any other
hash) and the SASL SCRAM mechanisms (answer a client from the stored keys
without ever learning the password).

Dovecot 2.3 writes the secret as ``ITERATIONS,SALT,STOREDKEY,SERVERKEY`` with
the last three in base64, e.g. ``{SCRAM-SHA-256}4096,c2FsdA==,...,...``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass

__all__ = ["ScramSecret", "SCRAM_HASHES", "derive_secret", "parse_secret", "format_secret"]

# SASL mechanism / password scheme name -> hashlib name.
SCRAM_HASHES: dict[str, str] = {"SCRAM-SHA-1": "sha1", "SCRAM-SHA-256": "sha256"}

DEFAULT_ITERATIONS = 4096  # RFC 7677 §4 minimum and Dovecot's default
MAX_ITERATIONS = 1_000_000  # refuse absurd stored values (a CPU exhaustion vector)


@dataclass(frozen=True)
class ScramSecret:
    """What a server needs to run SCRAM for one user (RFC 5802 §3)."""

    hash_name: str  # hashlib name: "sha1" or "sha256"
    iterations: int
    salt: bytes
    stored_key: bytes
    server_key: bytes

    def __repr__(self) -> str:  # the keys are password-equivalent for SCRAM
        return f"ScramSecret({self.hash_name}, i={self.iterations}, <keys hidden>)"


def derive_secret(
    hash_name: str, password: str, salt: bytes, iterations: int = DEFAULT_ITERATIONS
) -> ScramSecret:
    """Derive StoredKey and ServerKey from a plaintext password (RFC 5802 §3).

    The password should already be SASLprep-ed; Dovecot (and we) use it as UTF-8 as is.
    """
    salted = hashlib.pbkdf2_hmac(hash_name, password.encode("utf-8"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hash_name).digest()
    stored_key = hashlib.new(hash_name, client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hash_name).digest()
    return ScramSecret(hash_name, iterations, salt, stored_key, server_key)


def parse_secret(hash_name: str, text: str) -> ScramSecret | None:
    """Parse Dovecot's ``ITER,SALT,STOREDKEY,SERVERKEY``; None when malformed."""
    parts = text.strip().split(",")
    if len(parts) != 4 or not parts[0].isdigit():
        return None
    iterations = int(parts[0])
    if not 1 <= iterations <= MAX_ITERATIONS:
        return None
    try:
        salt, stored, server = (base64.b64decode(p, validate=True) for p in parts[1:])
    except (binascii.Error, ValueError):
        return None
    size = hashlib.new(hash_name).digest_size
    if len(stored) != size or len(server) != size:
        return None
    return ScramSecret(hash_name, iterations, salt, stored, server)


def format_secret(secret: ScramSecret) -> str:
    """Write a secret the way Dovecot does (without the ``{SCHEME}`` prefix)."""
    b64 = base64.b64encode
    return (
        f"{secret.iterations},{b64(secret.salt).decode()},"
        f"{b64(secret.stored_key).decode()},{b64(secret.server_key).decode()}"
    )
