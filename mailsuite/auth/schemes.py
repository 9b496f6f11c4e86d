"""Password schemes: verify a stored ``{SCHEME}hash`` and make new ones, as Dovecot does.

The stored form is Dovecot's: ``{SCHEME}data`` where a digest scheme may carry
an encoding suffix (``{SHA256.HEX}``, ``{PLAIN.b64}``). A hash without a prefix
uses the passdb's ``default_password_scheme``. Every comparison is constant
time (``hmac.compare_digest``). Slow schemes (crypt family, bcrypt, Argon2,
PBKDF2) must be called off the reactor thread; :func:`is_slow` tells which.

Libraries: argon2-cffi for ARGON2I/ARGON2ID, bcrypt for ``$2y$``, passlib (C
``crypt`` backend where present) for MD5/SHA256/SHA512-CRYPT and DES crypt,
hashlib for the digests, PBKDF2 and SCRAM.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import struct
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import argon2
import bcrypt

from mailsuite.auth import md5state, scramkeys

with warnings.catch_warnings():
    # passlib imports the deprecated stdlib crypt module for its fast C backend.
    warnings.simplefilter("ignore", DeprecationWarning)
    from passlib.hash import des_crypt, md5_crypt, sha256_crypt, sha512_crypt

__all__ = [
    "SCHEMES",
    "StoredPassword",
    "UnknownScheme",
    "cram_md5_response",
    "generate",
    "is_slow",
    "parse_stored",
    "scram_secret",
    "verify",
]

# Schemes whose verification costs milliseconds or more: never on the reactor.
_SLOW = frozenset(
    {
        "CRYPT",
        "DES-CRYPT",
        "MD5",
        "MD5-CRYPT",
        "SHA256-CRYPT",
        "SHA512-CRYPT",
        "BLF-CRYPT",
        "ARGON2I",
        "ARGON2ID",
        "PBKDF2",
        "SCRAM-SHA-1",
        "SCRAM-SHA-256",
    }
)

# name -> (hashlib name, salted?) for the raw digest family.
_DIGESTS: dict[str, tuple[str, bool]] = {
    "SHA": ("sha1", False),
    "SHA1": ("sha1", False),
    "SHA256": ("sha256", False),
    "SHA512": ("sha512", False),
    "LDAP-MD5": ("md5", False),
    "PLAIN-MD5": ("md5", False),
    "SSHA": ("sha1", True),
    "SSHA256": ("sha256", True),
    "SSHA512": ("sha512", True),
    "SMD5": ("md5", True),
}
# PLAIN-MD5 is written in hex by default, the others in base64 (Dovecot's password-scheme.c).
_HEX_DEFAULT = frozenset({"PLAIN-MD5"})

_ARGON2_PARAMS = {  # Dovecot 2.3's defaults for doveadm pw
    "ARGON2I": (argon2.Type.I, 32768, 4, 1),
    "ARGON2ID": (argon2.Type.ID, 65536, 3, 1),
}
BCRYPT_COST = 5  # Dovecot's default cost for BLF-CRYPT
PBKDF2_ROUNDS = 5000
SHA_CRYPT_ROUNDS = 5000  # glibc's implicit default: no "rounds=" in the hash


class UnknownScheme(ValueError):
    """The ``{SCHEME}`` is not one we know."""


@dataclass(frozen=True)
class StoredPassword:
    """A stored password split into scheme, encoding and data."""

    scheme: str  # upper case, without the encoding suffix
    encoding: str  # "" (scheme default), "HEX" or "B64"
    data: str

    def __repr__(self) -> str:
        return f"StoredPassword({self.scheme}, <hidden>)"


def parse_stored(stored: str, default_scheme: str = "CRYPT") -> StoredPassword:
    """Split ``{SCHEME.ENC}data``; data without a prefix uses ``default_scheme``."""
    scheme, data = default_scheme, stored
    if stored.startswith("{"):
        end = stored.find("}")
        if end > 1:
            scheme, data = stored[1:end], stored[end + 1 :]
    scheme = scheme.upper()
    encoding = ""
    if "." in scheme:
        scheme, _, enc = scheme.partition(".")
        encoding = {"HEX": "HEX", "B64": "B64", "BASE64": "B64"}.get(enc, "?")
        if encoding == "?":
            raise UnknownScheme(f"unknown encoding .{enc} in scheme {scheme}")
    if scheme not in SCHEMES:
        raise UnknownScheme(f"unknown password scheme {scheme}")
    return StoredPassword(scheme, encoding, data)


def is_slow(stored: StoredPassword) -> bool:
    """Whether verifying this hash is slow enough to need the thread pool."""
    return stored.scheme in _SLOW


def verify(stored: StoredPassword, password: str, user: str = "") -> bool:
    """Check ``password`` against a stored hash in constant time.

    Args:
        stored: the parsed stored password.
        password: what the client sent.
        user: the login name (only DIGEST-MD5 hashes it in).

    Returns:
        True when the password matches; False on a mismatch or a malformed hash.
    """
    try:
        return _VERIFY[stored.scheme](stored, password, user)
    except (ValueError, TypeError, binascii.Error, argon2.exceptions.InvalidHashError):
        return False


def generate(scheme: str, password: str, user: str = "", *, rounds: int = 0) -> str:
    """Make a new ``{SCHEME}hash`` for ``password``, formatted as Dovecot writes it.

    Raises:
        UnknownScheme: ``scheme`` is not known or cannot be generated.
    """
    parsed = parse_stored("{" + scheme + "}")
    text = _GENERATE[parsed.scheme](password, user, rounds)
    if parsed.encoding and (parsed.scheme in _DIGESTS or parsed.scheme == "PLAIN"):
        raw = _decode(text, parsed.scheme, "")
        text = raw.hex() if parsed.encoding == "HEX" else base64.b64encode(raw).decode()
    return "{" + scheme.upper() + "}" + text


# --- helpers -------------------------------------------------------------------------------


def _eq(a: bytes | str, b: bytes | str) -> bool:
    if isinstance(a, str):
        a = a.encode("utf-8", "surrogateescape")
    if isinstance(b, str):
        b = b.encode("utf-8", "surrogateescape")
    return hmac.compare_digest(a, b)


def _decode(data: str, scheme: str, encoding: str) -> bytes:
    """Raw bytes of a digest, honouring an explicit or default encoding."""
    if encoding == "HEX" or (not encoding and scheme in _HEX_DEFAULT):
        try:
            return bytes.fromhex(data)
        except ValueError:
            if encoding:
                raise
    if scheme == "PLAIN" and not encoding:
        return data.encode("utf-8", "surrogateescape")
    try:
        return base64.b64decode(data, validate=True)
    except binascii.Error:
        # Dovecot also accepts hex where base64 is the default, by length.
        return bytes.fromhex(data)


def _salt(n: int = 16) -> bytes:
    return secrets.token_bytes(n)


# --- verification ---------------------------------------------------------------------------


def _v_plain(s: StoredPassword, pw: str, user: str) -> bool:
    if s.encoding:
        return _eq(_decode(s.data, "PLAIN", s.encoding), pw)
    return _eq(s.data, pw)


def _v_digest(s: StoredPassword, pw: str, user: str) -> bool:
    hname, salted = _DIGESTS[s.scheme]
    raw = _decode(s.data, s.scheme, s.encoding)
    size = hashlib.new(hname).digest_size
    if salted:
        if len(raw) <= size:
            return False
        digest, salt = raw[:size], raw[size:]
        return _eq(hashlib.new(hname, pw.encode() + salt).digest(), digest)
    return _eq(hashlib.new(hname, pw.encode()).digest(), raw)


def _v_crypt(s: StoredPassword, pw: str, user: str) -> bool:
    data = s.data
    if data.startswith(("$2a$", "$2b$", "$2y$", "$2x$")):
        # bcrypt looks only at the first 72 bytes, as crypt(3) does.
        return bool(bcrypt.checkpw(pw.encode()[:72], data.encode()))
    if data.startswith("$argon2"):
        return _v_argon2(s, pw, user)
    for handler in (md5_crypt, sha256_crypt, sha512_crypt, des_crypt):
        if handler.identify(data):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return bool(handler.verify(pw, data))
    return False


def _v_argon2(s: StoredPassword, pw: str, user: str) -> bool:
    try:
        return bool(argon2.PasswordHasher().verify(s.data, pw))
    except argon2.exceptions.VerifyMismatchError:
        return False
    except argon2.exceptions.VerificationError:
        return False


def _v_pbkdf2(s: StoredPassword, pw: str, user: str) -> bool:
    # Dovecot: $1$SALT$ROUNDS$HEX(PBKDF2-HMAC-SHA1, 20 bytes), the salt used as text.
    parts = s.data.split("$")
    if len(parts) != 5 or parts[0] or parts[1] != "1" or not parts[3].isdigit():
        return False
    rounds = int(parts[3])
    if not 1 <= rounds <= 10_000_000:
        return False
    want = bytes.fromhex(parts[4])
    got = hashlib.pbkdf2_hmac("sha1", pw.encode(), parts[2].encode(), rounds, len(want) or 20)
    return _eq(got, want)


def _v_cram(s: StoredPassword, pw: str, user: str) -> bool:
    return _eq(_cram_context(pw).hex(), s.data.lower())


def _v_digest_md5(s: StoredPassword, pw: str, user: str) -> bool:
    # RFC 2831 §2.1.2.1: A1 secret = MD5(user:realm:password); Dovecot's realm is empty
    # unless the user name carries @realm.
    name, _, realm = user.partition("@")
    secret = hashlib.md5(f"{user}::{pw}".encode()).hexdigest()
    alt = hashlib.md5(f"{name}:{realm}:{pw}".encode()).hexdigest()
    data = s.data.lower()
    return _eq(secret, data) | _eq(alt, data)


def _v_scram(s: StoredPassword, pw: str, user: str) -> bool:
    secret = scramkeys.parse_secret(scramkeys.SCRAM_HASHES[s.scheme], s.data)
    if secret is None:
        return False
    mine = scramkeys.derive_secret(secret.hash_name, pw, secret.salt, secret.iterations)
    return _eq(mine.stored_key, secret.stored_key) & _eq(mine.server_key, secret.server_key)


_VERIFY: dict[str, Callable[[StoredPassword, str, str], bool]] = {
    "PLAIN": _v_plain,
    "CLEAR": _v_plain,
    "CLEARTEXT": _v_plain,
    **{name: _v_digest for name in _DIGESTS},
    "CRYPT": _v_crypt,
    "DES-CRYPT": _v_crypt,
    "MD5": _v_crypt,
    "MD5-CRYPT": _v_crypt,
    "SHA256-CRYPT": _v_crypt,
    "SHA512-CRYPT": _v_crypt,
    "BLF-CRYPT": _v_crypt,
    "ARGON2I": _v_argon2,
    "ARGON2ID": _v_argon2,
    "PBKDF2": _v_pbkdf2,
    "CRAM-MD5": _v_cram,
    "HMAC-MD5": _v_cram,
    "DIGEST-MD5": _v_digest_md5,
    "SCRAM-SHA-1": _v_scram,
    "SCRAM-SHA-256": _v_scram,
}
SCHEMES = frozenset(_VERIFY)


# --- generation -----------------------------------------------------------------------------


def _g_plain(pw: str, user: str, rounds: int) -> str:
    return pw


def _g_digest(name: str) -> Callable[[str, str, int], str]:
    hname, salted = _DIGESTS[name]

    def gen(pw: str, user: str, rounds: int) -> str:
        salt = _salt(4 if hname in ("md5", "sha1") else 8) if salted else b""
        raw = hashlib.new(hname, pw.encode() + salt).digest() + salt
        return raw.hex() if name in _HEX_DEFAULT else base64.b64encode(raw).decode()

    return gen


def _g_bcrypt(pw: str, user: str, rounds: int) -> str:
    hashed = bcrypt.hashpw(pw.encode()[:72], bcrypt.gensalt(rounds or BCRYPT_COST)).decode()
    return "$2y$" + hashed[4:]  # Dovecot writes the $2y$ variant


def _g_passlib(handler: object) -> Callable[[str, str, int], str]:
    def gen(pw: str, user: str, rounds: int) -> str:
        h = handler
        if handler in (sha256_crypt, sha512_crypt):
            h = handler.using(rounds=rounds or SHA_CRYPT_ROUNDS)  # type: ignore[attr-defined]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return str(h.hash(pw))  # type: ignore[attr-defined]

    return gen


def _g_argon2(name: str) -> Callable[[str, str, int], str]:
    kind, memory, time_cost, lanes = _ARGON2_PARAMS[name]

    def gen(pw: str, user: str, rounds: int) -> str:
        hasher = argon2.PasswordHasher(
            time_cost=rounds or time_cost, memory_cost=memory, parallelism=lanes, type=kind
        )
        return str(hasher.hash(pw))

    return gen


def _g_pbkdf2(pw: str, user: str, rounds: int) -> str:
    alphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    salt = "".join(secrets.choice(alphabet) for _ in range(16))
    n = rounds or PBKDF2_ROUNDS
    return f"$1${salt}${n}${hashlib.pbkdf2_hmac('sha1', pw.encode(), salt.encode(), n).hex()}"


def _cram_context(pw: str) -> bytes:
    # RFC 2104 §2: key longer than the block is hashed first; pad to 64 bytes.
    key = pw.encode()
    if len(key) > 64:
        key = hashlib.md5(key).digest()
    key = key.ljust(64, b"\x00")
    inner = md5state.md5_compress(md5state.MD5_INITIAL_STATE, bytes(k ^ 0x36 for k in key))
    outer = md5state.md5_compress(md5state.MD5_INITIAL_STATE, bytes(k ^ 0x5C for k in key))
    # Dovecot's hmac_md5_get_cram_context: outer state first, each word little-endian.
    return struct.pack("<4I", *outer) + struct.pack("<4I", *inner)


def _g_cram(pw: str, user: str, rounds: int) -> str:
    return _cram_context(pw).hex()


def _g_digest_md5(pw: str, user: str, rounds: int) -> str:
    return hashlib.md5(f"{user}::{pw}".encode()).hexdigest()


def _g_scram(name: str) -> Callable[[str, str, int], str]:
    def gen(pw: str, user: str, rounds: int) -> str:
        secret = scramkeys.derive_secret(
            scramkeys.SCRAM_HASHES[name], pw, _salt(16), rounds or scramkeys.DEFAULT_ITERATIONS
        )
        return scramkeys.format_secret(secret)

    return gen


_GENERATE: dict[str, Callable[[str, str, int], str]] = {
    "PLAIN": _g_plain,
    "CLEAR": _g_plain,
    "CLEARTEXT": _g_plain,
    **{name: _g_digest(name) for name in _DIGESTS},
    # Dovecot 2.3's doveadm writes bcrypt for plain CRYPT; crypt(3) verifies it everywhere.
    "CRYPT": _g_bcrypt,
    "BLF-CRYPT": _g_bcrypt,
    "DES-CRYPT": _g_passlib(des_crypt),
    "MD5": _g_passlib(md5_crypt),
    "MD5-CRYPT": _g_passlib(md5_crypt),
    "SHA256-CRYPT": _g_passlib(sha256_crypt),
    "SHA512-CRYPT": _g_passlib(sha512_crypt),
    "ARGON2I": _g_argon2("ARGON2I"),
    "ARGON2ID": _g_argon2("ARGON2ID"),
    "PBKDF2": _g_pbkdf2,
    "CRAM-MD5": _g_cram,
    "HMAC-MD5": _g_cram,
    "DIGEST-MD5": _g_digest_md5,
    "SCRAM-SHA-1": _g_scram("SCRAM-SHA-1"),
    "SCRAM-SHA-256": _g_scram("SCRAM-SHA-256"),
}


def cram_md5_response(stored: StoredPassword, challenge: bytes) -> bytes | None:
    """The expected RFC 2195 digest (hex, as bytes) for ``challenge``, or None.

    Works from a plaintext password or a ``{CRAM-MD5}`` context; other schemes
    cannot answer CRAM-MD5 (the server would need the plaintext).
    """
    if stored.scheme in ("PLAIN", "CLEAR", "CLEARTEXT"):
        key = _decode(stored.data, "PLAIN", stored.encoding)
        return hmac.new(key, challenge, "md5").hexdigest().encode()
    if stored.scheme in ("CRAM-MD5", "HMAC-MD5"):
        ctx = bytes.fromhex(stored.data)
        if len(ctx) != 32:
            return None
        outer = struct.unpack("<4I", ctx[:16])
        inner = struct.unpack("<4I", ctx[16:])
        inner_digest = md5state.md5_continue(inner, 64, challenge)
        return md5state.md5_continue(outer, 64, inner_digest).hex().encode()
    return None


def scram_secret(stored: StoredPassword, mechanism: str, salt_for_plain: bytes) -> object:
    """The SCRAM secret for ``mechanism`` from a stored password, or None if impossible.

    A plaintext password is turned into a secret with ``salt_for_plain`` (stable
    per user so that a client's cached SaltedPassword keeps working).
    """
    hname = scramkeys.SCRAM_HASHES[mechanism]
    if stored.scheme == mechanism:
        return scramkeys.parse_secret(hname, stored.data)
    if stored.scheme in ("PLAIN", "CLEAR", "CLEARTEXT"):
        pw = _decode(stored.data, "PLAIN", stored.encoding).decode("utf-8", "surrogateescape")
        return scramkeys.derive_secret(hname, pw, salt_for_plain)
    return None
