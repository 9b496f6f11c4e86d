"""TLS contexts for the listeners, and the self-signed certificate made on first start."""

from __future__ import annotations

import datetime
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from twisted.internet import ssl
from twisted.logger import Logger

from mailsuite.config import Settings, resolve_path
from mailsuite.errors import ConfigError

__all__ = ["ensure_certificate", "server_tls_options"]

log = Logger()


def ensure_certificate(settings: Settings) -> tuple[str, str]:
    """Return (cert path, key path), making a self-signed pair when both are missing.

    A configured pair where only one file exists is a mistake we refuse to
    paper over: silently replacing a real certificate would break clients.
    """
    cert = resolve_path(settings, settings.tls.cert)
    key = resolve_path(settings, settings.tls.key)
    have_cert, have_key = os.path.exists(cert), os.path.exists(key)
    if have_cert and have_key:
        return cert, key
    if have_cert != have_key:
        missing = key if have_cert else cert
        raise ConfigError(
            f"[tls] {'key' if have_cert else 'cert'}: {missing} does not exist "
            "(the other half of the pair does; refusing to replace it)"
        )
    make_self_signed(cert, key, settings.server.hostname)
    log.warn(
        "tls: made a self-signed certificate for {hostname} in {cert} "
        "(replace it with a real one for production)",
        hostname=settings.server.hostname,
        cert=cert,
    )
    return cert, key


def make_self_signed(cert_path: str, key_path: str, hostname: str) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = datetime.datetime.now(datetime.UTC)
    sans: list[x509.GeneralName] = [x509.DNSName(hostname)]
    if hostname != "localhost":
        sans.append(x509.DNSName("localhost"))
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    for path in (cert_path, key_path):
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    with open(cert_path, "wb") as f:
        f.write(certificate.public_bytes(serialization.Encoding.PEM))


def server_tls_options(settings: Settings) -> ssl.CertificateOptions:
    """CertificateOptions for implicit TLS listeners and STARTTLS."""
    cert_path, key_path = ensure_certificate(settings)
    try:
        with open(cert_path, "rb") as f:
            cert_pem = f.read()
        with open(key_path, "rb") as f:
            key_pem = f.read()
        private = ssl.PrivateCertificate.loadPEM(cert_pem + b"\n" + key_pem)
    except Exception as e:  # a damaged PEM must stop start-up with the path named
        raise ConfigError(f"[tls] cert/key: cannot load {cert_path} / {key_path}: {e}") from None
    versions = {"TLSv1.2": ssl.TLSVersion.TLSv1_2, "TLSv1.3": ssl.TLSVersion.TLSv1_3}
    if settings.tls.min_version not in versions:
        raise ConfigError(
            f"[tls] min_version: expected one of {', '.join(versions)}, "
            f"got {settings.tls.min_version!r}"
        )
    return ssl.CertificateOptions(
        privateKey=private.privateKey.original,
        certificate=private.original,
        raiseMinimumTo=versions[settings.tls.min_version],
    )
