"""twisted.cred credentials for every way a client proves who it is.

Each credentials object knows how to check itself against a passdb entry
(the stored ``{SCHEME}hash``), so the checker stays one chain walk for all
mechanisms. Secrets never appear in ``repr`` (they end up in logs and
tracebacks). ``authzid`` is the user to log in *as*; when it differs from
``username`` (the authentication identity) this is a master-user login.
"""

from __future__ import annotations

import hashlib
import hmac

from twisted.cred.credentials import IUsernamePassword
from zope.interface import Attribute, Interface, implementer

from mailsuite.auth import schemes, scramkeys
from mailsuite.auth.base import PassdbEntry

__all__ = [
    "CramMd5Credentials",
    "ExternalCredentials",
    "IMailCredentials",
    "PlainCredentials",
    "ScramCredentials",
    "stored_password",
]


class IMailCredentials(Interface):
    """Credentials that check themselves against a :class:`PassdbEntry`."""

    username = Attribute("authentication identity (str)")
    authzid = Attribute("authorisation identity (str); '' means the same user")
    mechanism = Attribute("SASL mechanism name for logs, or 'LOGIN-CMD' for plain login commands")

    def verify(entry: PassdbEntry) -> str:
        """'' when the entry accepts these credentials, else the reason (for the log)."""

    def is_slow(entry: PassdbEntry) -> bool:
        """Whether verify() must run off the reactor thread."""

    def cache_token(key: bytes) -> bytes | None:
        """A keyed digest identifying exactly this secret (for the auth cache), or None."""


def stored_password(entry: PassdbEntry) -> schemes.StoredPassword | str:
    """The parsed stored password, or the reason it cannot be used."""
    if not entry.password:
        return "no password in passdb"
    try:
        return schemes.parse_stored(entry.password, entry.default_scheme)
    except schemes.UnknownScheme as e:
        return f"{e} ({entry.source})"


@implementer(IMailCredentials, IUsernamePassword)
class PlainCredentials:
    """A plaintext password (IMAP LOGIN, POP3 USER/PASS, SASL PLAIN and LOGIN)."""

    def __init__(self, username: str, password: str, authzid: str = "", mechanism: str = "PLAIN"):
        self.username = username
        self.password = password
        self.authzid = authzid
        self.mechanism = mechanism

    def __repr__(self) -> str:
        return f"PlainCredentials({self.username!r}, authzid={self.authzid!r}, <password hidden>)"

    def checkPassword(self, password: str | bytes) -> bool:  # noqa: N802 - IUsernamePassword
        if isinstance(password, bytes):
            password = password.decode("utf-8", "surrogateescape")
        return hmac.compare_digest(password.encode(), self.password.encode())

    def verify(self, entry: PassdbEntry) -> str:
        if entry.fields.get("nopassword", "").lower() in ("y", "yes", "1", "true"):
            return ""
        stored = stored_password(entry)
        if isinstance(stored, str):
            return stored
        if schemes.verify(stored, self.password, self.username):
            return ""
        return f"Password mismatch (scheme {stored.scheme})"

    def is_slow(self, entry: PassdbEntry) -> bool:
        stored = stored_password(entry)
        return not isinstance(stored, str) and schemes.is_slow(stored)

    def cache_token(self, key: bytes) -> bytes | None:
        msg = b"plain\0" + self.username.encode() + b"\0" + self.password.encode()
        return hmac.new(key, msg, hashlib.sha256).digest()


@implementer(IMailCredentials)
class CramMd5Credentials:
    """An RFC 2195 CRAM-MD5 answer: the server's challenge and the client's hex digest."""

    mechanism = "CRAM-MD5"

    def __init__(self, username: str, challenge: bytes, response: bytes) -> None:
        self.username = username
        self.authzid = ""
        self.challenge = challenge
        self.response = response.lower()

    def __repr__(self) -> str:
        return f"CramMd5Credentials({self.username!r}, <response hidden>)"

    def verify(self, entry: PassdbEntry) -> str:
        stored = stored_password(entry)
        if isinstance(stored, str):
            return stored
        want = schemes.cram_md5_response(stored, self.challenge)
        if want is None:
            return f"CRAM-MD5 needs a PLAIN or CRAM-MD5 stored password, have {stored.scheme}"
        return "" if hmac.compare_digest(want, self.response) else "Password mismatch"

    def is_slow(self, entry: PassdbEntry) -> bool:
        return False

    def cache_token(self, key: bytes) -> bytes | None:
        return None  # a one-time answer: nothing to remember


@implementer(IMailCredentials)
class ScramCredentials:
    """An RFC 5802 client proof over the exchange's AuthMessage."""

    def __init__(
        self,
        username: str,
        authzid: str,
        mechanism: str,
        auth_message: bytes,
        proof: bytes,
        plain_salt: bytes,
    ) -> None:
        self.username = username
        self.authzid = authzid
        self.mechanism = mechanism
        self.auth_message = auth_message
        self.proof = proof
        self.plain_salt = plain_salt
        self.server_signature = b""  # set by verify() for the server-final message

    def __repr__(self) -> str:
        return f"ScramCredentials({self.username!r}, {self.mechanism}, <proof hidden>)"

    def secret(self, entry: PassdbEntry) -> scramkeys.ScramSecret | str:
        stored = stored_password(entry)
        if isinstance(stored, str):
            return stored
        secret = schemes.scram_secret(stored, self.mechanism, self.plain_salt)
        if not isinstance(secret, scramkeys.ScramSecret):
            return (
                f"{self.mechanism} needs a PLAIN or {self.mechanism} stored password, "
                f"have {stored.scheme}"
            )
        return secret

    def verify(self, entry: PassdbEntry) -> str:
        secret = self.secret(entry)
        if isinstance(secret, str):
            return secret
        h = secret.hash_name
        # RFC 5802 §3: ClientKey = ClientProof XOR ClientSignature; StoredKey = H(ClientKey).
        signature = hmac.new(secret.stored_key, self.auth_message, h).digest()
        if len(self.proof) != len(signature):
            return "Password mismatch (malformed proof)"
        client_key = bytes(a ^ b for a, b in zip(self.proof, signature, strict=True))
        if not hmac.compare_digest(hashlib.new(h, client_key).digest(), secret.stored_key):
            return "Password mismatch"
        self.server_signature = hmac.new(secret.server_key, self.auth_message, h).digest()
        return ""

    def is_slow(self, entry: PassdbEntry) -> bool:
        stored = stored_password(entry)
        # From a plaintext password the secret costs a PBKDF2 run.
        return not isinstance(stored, str) and stored.scheme != self.mechanism

    def cache_token(self, key: bytes) -> bytes | None:
        return None


@implementer(IMailCredentials)
class ExternalCredentials:
    """SASL EXTERNAL (RFC 4422 App. A): the verified TLS client certificate names the user."""

    mechanism = "EXTERNAL"

    def __init__(self, username: str, cert_subject: str) -> None:
        self.username = username
        self.authzid = ""
        self.cert_subject = cert_subject

    def __repr__(self) -> str:
        return f"ExternalCredentials({self.username!r}, {self.cert_subject!r})"

    def verify(self, entry: PassdbEntry) -> str:
        # The TLS layer verified the chain; the user must exist and the certificate
        # must name them (CN=user or emailAddress=user in the subject).
        names = set()
        for part in self.cert_subject.replace("/", ",").split(","):
            key, _, value = part.strip().partition("=")
            if key.upper() in ("CN", "EMAILADDRESS", "UID"):
                names.add(value)
        if entry.user in names or self.username in names:
            return ""
        return f"client certificate {self.cert_subject!r} does not name {self.username}"

    def is_slow(self, entry: PassdbEntry) -> bool:
        return False

    def cache_token(self, key: bytes) -> bytes | None:
        return None
