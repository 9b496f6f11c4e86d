"""Shared pieces for the auth tests: settings builders, a clock, Deferred helpers."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.task import Clock
from twisted.python.failure import Failure

from mailsuite.auth.factory import build_auth_service
from mailsuite.auth.interfaces import LoginContext
from mailsuite.auth.service import MailAuthService
from mailsuite.config.schema import AuthSettings, PassdbSettings, Settings, UserdbSettings

DOVEADM = shutil.which("doveadm")
needs_doveadm = pytest.mark.skipif(DOVEADM is None, reason="doveadm (dovecot-core) not installed")

# Hashes made by Dovecot 2.3's `doveadm pw` (an independent implementation), so every
# backend test checks passwords written by Dovecot, not by our own schemes module.
DOVECOT_HASHES = {
    ("SHA512-CRYPT", "bob-pw"): "{SHA512-CRYPT}$6$yFqMZsEkt9HjgxeX$rL1k9lbQpzYFIF9uBWAVmJfQPZIwu"
    "CUJWn7VLb0GrFtG5PxjlMRuQScMsgbKKDgjYdPp7Yw3GyH71wcsHEMG51",
    ("SSHA512", "carol-pw"): "{SSHA512}E4z/VwQ+nieMhGvdBiUws//Z/3UtIGOfYRrumrkbfJo1xXWDMEYVbvK"
    "M+T05qPrGQKKqQPMVZttKkvxKOYd9aQwjaY4=",
    ("ARGON2ID", "dan-pw"): "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$8cvMH1ysYHrhV8+sVjKSfw$UX3"
    "duNioLyc7on7PCDh/GNA9QXPDS7tltM3xMh13+rs",
    ("SHA512-CRYPT", "ann-pw"): "{SHA512-CRYPT}$6$8WYzYTcvD7zPBWMD$U/ZRBCY2EtnZHtAdA9e.j5ejhZI.93"
    "j6oiLw.eAloKGADg4hM5bLczGGBndcuR93C7KZmrPM/fJAbDsccDALJ1",
    ("ARGON2ID", "ben-pw"): "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$L+riNfFt/UcEV2gVDUgnZA$xJa"
    "9Arqqf8dCHB0OKlIV4ca3lbGT+4sqifQO17j+g+E",
    ("BLF-CRYPT", "ann-pw"): "{BLF-CRYPT}$2y$05$ckYAF7nKhtkS66bLQgkGReyqG9tPxng8h05ZjaD8MxVjpT1pX"
    "gd.y",
}

LOCAL = LoginContext(service="imap", remote_ip="127.0.0.1", session_id="t1")
REMOTE = LoginContext(service="imap", remote_ip="192.0.2.7", session_id="t2")
REMOTE_TLS = LoginContext(service="imap", remote_ip="192.0.2.7", secured=True, session_id="t3")


def doveadm_pw(scheme: str, password: str, user: str = "user") -> str:
    """A hash made by Dovecot's own implementation."""
    assert DOVEADM is not None
    out = subprocess.run(
        [DOVEADM, "pw", "-s", scheme, "-p", password, "-u", user],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def doveadm_verifies(stored: str, password: str, user: str = "user") -> bool:
    """Whether Dovecot accepts ``password`` for a hash we made."""
    assert DOVEADM is not None
    out = subprocess.run(
        [DOVEADM, "pw", "-t", stored, "-p", password, "-u", user], capture_output=True, text=True
    )
    return out.returncode == 0 and "(verified)" in out.stdout


def inline(f: Any, *args: Any, **kw: Any) -> Deferred[Any]:
    """run_blocking for unit tests: run now, on this thread."""
    return maybeDeferred(f, *args, **kw)


def resolve(d: Deferred[Any], clock: Clock | None = None, max_s: float = 120.0) -> Any:
    """The result of ``d``, advancing ``clock`` (penalty delays) until it fires."""
    box: list[Any] = []
    d.addBoth(box.append)
    waited = 0.0
    while not box and clock is not None and waited < max_s:
        clock.advance(0.5)
        waited += 0.5
    assert box, "Deferred did not fire"
    if isinstance(box[0], Failure):
        box[0].raiseException()
    return box[0]


def make_settings(
    base: Path,
    passdb: list[PassdbSettings] | None = None,
    userdb: list[UserdbSettings] | None = None,
    **auth: Any,
) -> Settings:
    s = Settings()
    return dataclasses.replace(
        s,
        base_dir=str(base),
        passdb=passdb if passdb is not None else [PassdbSettings(path="users")],
        userdb=userdb if userdb is not None else [UserdbSettings(path="users")],
        auth=dataclasses.replace(AuthSettings(), **auth),
    )


def build(settings: Settings, clock: Clock | None = None) -> tuple[MailAuthService, Clock]:
    clock = clock or Clock()
    svc = build_auth_service(
        settings, reactor=clock, run_blocking=inline, store_factory=lambda rec: ("store", rec)
    )
    return svc, clock


@pytest.fixture
def users_file(tmp_path: Path) -> Path:
    """A passwd-file with alice (PLAIN) and bob (SHA512-CRYPT made by doveadm)."""
    path = tmp_path / "users"
    path.write_text(
        "# test users\n"
        "alice:{PLAIN}alice-pw:1000:1000::/home/alice::userdb_mail=maildir:~/Maildir\n"
        f"bob:{DOVECOT_HASHES['SHA512-CRYPT', 'bob-pw']}::::::\n"
    )
    return path


@pytest.fixture(scope="session")
def pg_dsn() -> Any:
    """A private PostgreSQL 15 on loopback for the whole test session (skips when absent)."""
    from tests.auth.pgserver import pg_missing_reason, private_postgres

    reason = pg_missing_reason()
    if reason:
        pytest.skip(reason)
    with private_postgres() as dsn:
        yield dsn
