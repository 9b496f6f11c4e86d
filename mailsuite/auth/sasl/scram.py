"""SASL SCRAM-SHA-1 (RFC 5802) and SCRAM-SHA-256 (RFC 7677), without channel binding.

Flow: client-first (``n,[a=authzid],n=user,r=cnonce``) -> the driver looks up
the user's secret -> server-first (``r=cnonce+snonce,s=salt,i=iterations``)
-> client-final (``c=biws,r=nonce,p=proof``) -> credentials checked by the
portal -> server-final (``v=signature``) -> the client's empty response.
An unknown user gets a made-up salt (stable per user name), so the exchange
looks the same whether or not the user exists.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable
from typing import ClassVar

from mailsuite.auth import scramkeys
from mailsuite.auth.credentials import ScramCredentials
from mailsuite.auth.sasl import Challenge, Complete, Failed, NeedSecret, StepResult, decode_utf8

__all__ = ["ScramMechanism", "decode_saslname"]

NONCE_BYTES = 18


def decode_saslname(text: str) -> str | None:
    """RFC 5802 §5.1: ``=2C`` is ',' and ``=3D`` is '='; any other '=' is an error."""
    out = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "=":
            code = text[i + 1 : i + 3]
            if code == "2C":
                out.append(",")
            elif code == "3D":
                out.append("=")
            else:
                return None
            i += 3
            continue
        if c == ",":
            return None
        out.append(c)
        i += 1
    return "".join(out)


def _attrs(message: str) -> list[tuple[str, str]]:
    out = []
    for item in message.split(","):
        if len(item) < 2 or item[1] != "=":
            raise ValueError(f"malformed attribute {item[:16]!r}")
        out.append((item[0], item[2:]))
    return out


class ScramMechanism:
    """One SCRAM exchange.

    Args:
        mechanism: "SCRAM-SHA-1" or "SCRAM-SHA-256".
        rng: returns n random bytes (for the server nonce).
        salt_key: secret for made-up salts (unknown users, plaintext passwords).
        make_nonce: the server nonce part (tests pin it to the RFC vectors);
            default: base64 of 18 bytes from ``rng``.
    """

    name: ClassVar[str] = "SCRAM"

    def __init__(
        self,
        mechanism: str,
        rng: Callable[[int], bytes],
        salt_key: bytes,
        make_nonce: Callable[[], str] | None = None,
    ) -> None:
        self.mechanism = mechanism
        self._make_nonce = make_nonce or (
            lambda: base64.b64encode(rng(NONCE_BYTES)).decode("ascii")
        )
        self.hash_name = scramkeys.SCRAM_HASHES[mechanism]
        self._salt_key = salt_key
        self._state = "start"
        self._gs2 = ""
        self._first_bare = ""
        self._server_first = ""
        self._nonce = ""
        self.authcid = ""
        self.authzid = ""
        self.credentials: ScramCredentials | None = None

    def plain_salt(self, user: str) -> bytes:
        """A stable salt per user name, for users whose stored password has none."""
        return hmac.new(self._salt_key, user.encode(), hashlib.sha256).digest()[:16]

    def step(self, response: bytes | None) -> StepResult:
        try:
            if self._state == "start":
                if response is None:
                    self._state = "want-first"
                    return Challenge(b"")
                return self._client_first(response)
            if self._state == "want-first":
                if response is None:
                    return Failed(f"{self.mechanism}: no client-first message")
                return self._client_first(response)
            if self._state == "want-final":
                if response is None:
                    return Failed(f"{self.mechanism}: no client-final message")
                return self._client_final(response)
        except ValueError as e:
            return Failed(f"{self.mechanism}: {e}")
        return Failed(f"{self.mechanism}: unexpected message")

    def _client_first(self, response: bytes) -> StepResult:
        text = decode_utf8(response)
        if text is None:
            return Failed(f"{self.mechanism}: invalid UTF-8")
        # RFC 5802 §7: gs2-cbind-flag "," [authzid] "," client-first-message-bare
        parts = text.split(",", 2)
        if len(parts) != 3:
            return Failed(f"{self.mechanism}: malformed client-first message")
        flag, authz, bare = parts
        if flag.startswith("p="):
            return Failed(f"{self.mechanism}: channel binding not supported")
        if flag not in ("n", "y"):
            return Failed(f"{self.mechanism}: bad gs2 channel binding flag")
        authzid = ""
        if authz:
            if not authz.startswith("a="):
                return Failed(f"{self.mechanism}: bad authzid")
            decoded = decode_saslname(authz[2:])
            if decoded is None:
                return Failed(f"{self.mechanism}: bad authzid encoding")
            authzid = decoded
        attrs = _attrs(bare)
        if len(attrs) < 2 or attrs[0][0] != "n" or attrs[1][0] != "r":
            if attrs and attrs[0][0] == "m":
                return Failed(f"{self.mechanism}: mandatory extension not supported")
            return Failed(f"{self.mechanism}: client-first wants n=user,r=nonce")
        user = decode_saslname(attrs[0][1])
        if not user or not attrs[1][1]:
            return Failed(f"{self.mechanism}: empty or badly encoded user name or nonce")
        self._gs2 = f"{flag},{authz},"
        self._first_bare = bare
        if any(c == "," or not 0x21 <= ord(c) <= 0x7E for c in attrs[1][1]):
            return Failed(f"{self.mechanism}: nonce has characters RFC 5802 §7 forbids")
        self._nonce = attrs[1][1] + self._make_nonce()
        self.authcid = user
        self.authzid = authzid
        self._state = "want-secret"
        return NeedSecret(user, authzid)

    def provide(self, secret: scramkeys.ScramSecret | None) -> Challenge:
        """Answer client-first with the user's salt and iterations (made up when None)."""
        if self._state != "want-secret":
            raise RuntimeError("provide() called out of order")
        salt = secret.salt if secret else self.plain_salt(self.authcid)
        iterations = secret.iterations if secret else scramkeys.DEFAULT_ITERATIONS
        b64salt = base64.b64encode(salt).decode()
        self._server_first = f"r={self._nonce},s={b64salt},i={iterations}"
        self._state = "want-final"
        return Challenge(self._server_first.encode())

    def _client_final(self, response: bytes) -> StepResult:
        text = decode_utf8(response)
        if text is None:
            return Failed(f"{self.mechanism}: invalid UTF-8")
        without_proof, sep, proof_b64 = text.rpartition(",p=")
        if not sep:
            return Failed(f"{self.mechanism}: client-final has no proof")
        attrs = _attrs(without_proof)
        if len(attrs) < 2 or attrs[0][0] != "c" or attrs[1][0] != "r":
            return Failed(f"{self.mechanism}: client-final wants c=...,r=...,p=...")
        try:
            cbind = base64.b64decode(attrs[0][1], validate=True).decode("utf-8")
            proof = base64.b64decode(proof_b64, validate=True)
        except (binascii.Error, UnicodeDecodeError):
            return Failed(f"{self.mechanism}: bad base64 in client-final")
        if cbind != self._gs2:
            return Failed(f"{self.mechanism}: channel binding data does not match gs2 header")
        if not hmac.compare_digest(attrs[1][1].encode(), self._nonce.encode()):
            return Failed(f"{self.mechanism}: nonce mismatch")
        auth_message = f"{self._first_bare},{self._server_first},{without_proof}".encode()
        self.credentials = ScramCredentials(
            self.authcid,
            self.authzid,
            self.mechanism,
            auth_message,
            proof,
            self.plain_salt(self.authcid),
        )
        self._state = "checking"
        return Complete(self.credentials)

    def server_final(self) -> Challenge:
        """``v=ServerSignature`` once the portal accepted the proof (RFC 5802 §3)."""
        assert self.credentials is not None
        sig = base64.b64encode(self.credentials.server_signature).decode()
        self._state = "done"
        return Challenge(f"v={sig}".encode())
