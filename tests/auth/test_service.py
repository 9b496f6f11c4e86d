"""The auth service: plaintext policy, logins, SASL exchanges, penalties, limits and logs."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from twisted.internet.defer import Deferred
from twisted.logger import formatEvent, globalLogPublisher

from mailsuite.auth import schemes
from mailsuite.auth.interfaces import AuthFailure, AuthSuccess, LoginContext, SaslChallenge
from mailsuite.config.schema import PassdbSettings, ServerSettings, UserdbSettings
from tests.auth.conftest import LOCAL, REMOTE, REMOTE_TLS, build, make_settings, resolve


@pytest.fixture
def logs() -> Iterator[list[str]]:
    lines: list[str] = []

    def observe(event: dict[str, Any]) -> None:
        if event.get("log_namespace") == "mailsuite.auth":
            lines.append(formatEvent(event))

    globalLogPublisher.addObserver(observe)
    yield lines
    globalLogPublisher.removeObserver(observe)


def service(tmp_path: Path, users_file: Path, **auth: Any) -> Any:
    return build(make_settings(tmp_path, **auth))


def test_plaintext_policy(tmp_path: Path, users_file: Path) -> None:
    """Plaintext auth: allowed on loopback, TLS and listed networks; refused elsewhere."""
    svc, _ = service(tmp_path, users_file)
    assert svc.plaintext_allowed(LOCAL)
    assert svc.plaintext_allowed(LoginContext("imap", "::1"))
    assert svc.plaintext_allowed(LoginContext("imap", "::ffff:127.0.0.1"))
    assert svc.plaintext_allowed(REMOTE_TLS)
    assert not svc.plaintext_allowed(REMOTE)
    assert not svc.plaintext_allowed(LoginContext("imap", "not-an-ip"))
    import dataclasses

    s = make_settings(tmp_path)
    s = dataclasses.replace(s, server=ServerSettings(plaintext_auth_networks=["192.0.2.0/24"]))
    assert build(s)[0].plaintext_allowed(REMOTE)
    s = dataclasses.replace(s, server=ServerSettings(disable_plaintext_auth=False))
    assert build(s)[0].plaintext_allowed(LoginContext("imap", "198.51.100.1"))


def test_mechanisms_follow_policy(tmp_path: Path, users_file: Path) -> None:
    """No PLAIN/LOGIN advertised without TLS off loopback; EXTERNAL only with a client cert."""
    svc, _ = service(
        tmp_path, users_file, mechanisms=["PLAIN", "LOGIN", "SCRAM-SHA-256", "EXTERNAL"]
    )
    assert svc.mechanisms(LOCAL) == ["PLAIN", "LOGIN", "SCRAM-SHA-256"]
    assert svc.mechanisms(REMOTE) == ["SCRAM-SHA-256"]
    cert = LoginContext("imap", "192.0.2.7", secured=True, client_cert_subject="CN=alice")
    assert "EXTERNAL" in svc.mechanisms(cert)
    assert svc.sasl("PLAIN", REMOTE) is None
    assert svc.sasl("plain", LOCAL) is not None
    assert svc.sasl("NOPE", LOCAL) is None


def test_login_success_gives_avatar_with_mail_root(tmp_path: Path, users_file: Path) -> None:
    """A right password yields the avatar; its record carries the expanded mail root."""
    svc, clock = service(tmp_path, users_file)
    ok = resolve(svc.login("alice", "alice-pw", LOCAL), clock)
    assert isinstance(ok, AuthSuccess)
    assert ok.user.username == "alice"
    assert ok.user.record.mail == "/home/alice/Maildir"
    assert ok.user.open_store() == ("store", ok.user.record)
    ok2 = resolve(svc.login("bob", "bob-pw", LOCAL), clock)
    assert isinstance(ok2, AuthSuccess)
    assert ok2.user.record.mail == str(tmp_path / "var/mail/bob")


def test_plaintext_login_refused_without_tls(tmp_path: Path, users_file: Path) -> None:
    """LOGIN on a remote cleartext connection fails with "privacy", even with the right password."""
    svc, clock = service(tmp_path, users_file)
    res = resolve(svc.login("alice", "alice-pw", REMOTE), clock)
    assert res == AuthFailure("privacy", svc_privacy_message())
    assert isinstance(resolve(svc.login("alice", "alice-pw", REMOTE_TLS), clock), AuthSuccess)


def svc_privacy_message() -> str:
    from mailsuite.auth.service import PRIVACY_MESSAGE

    return PRIVACY_MESSAGE


def test_failure_waits_for_penalty_and_logs(
    tmp_path: Path, users_file: Path, logs: list[str]
) -> None:
    """A failed login is answered only after the IP's delay, and logged without the password."""
    svc, clock = service(tmp_path, users_file)
    d = svc.login("alice", "Sekrit-Wrong", LOCAL)
    box: list[Any] = []
    d.addBoth(box.append)
    assert not box  # 2 s penalty still running
    clock.advance(1.9)
    assert not box
    clock.advance(0.2)
    assert box == [AuthFailure("authfailed", "Authentication failed.")]
    line = logs[-1]
    assert "alice" in line and "127.0.0.1" in line and "PLAIN" in line and "mismatch" in line
    assert "Sekrit-Wrong" not in "".join(logs)
    # The second failure from the same IP waits longer (4 s).
    d = svc.login("alice", "x", LOCAL)
    box2: list[Any] = []
    d.addBoth(box2.append)
    clock.advance(3.9)
    assert not box2
    clock.advance(0.2)
    assert box2


def test_unknown_user_and_wrong_password_look_alike(
    tmp_path: Path, users_file: Path, logs: list[str]
) -> None:
    """The client sees the same answer for a missing user and a wrong password; the log differs."""
    svc, clock = service(tmp_path, users_file)
    a = resolve(svc.login("nobody", "x", LOCAL), clock)
    b = resolve(svc.login("alice", "x", LOCAL), clock)
    assert a == b
    assert "unknown user" in logs[0]


def test_success_clears_penalty(tmp_path: Path, users_file: Path) -> None:
    """A successful login from an IP resets its failure count."""
    svc, clock = service(tmp_path, users_file)
    resolve(svc.login("alice", "x", LOCAL), clock)
    assert svc.penalty.failures("127.0.0.1") == 1
    resolve(svc.login("alice", "alice-pw", LOCAL), clock)
    assert svc.penalty.failures("127.0.0.1") == 0


def test_connection_limit_per_user_ip(tmp_path: Path, users_file: Path) -> None:
    """Past the per-user+IP limit a login fails with "limit" until a session logs out."""
    svc, clock = service(tmp_path, users_file, max_connections_per_user_ip=2)
    first = resolve(svc.login("alice", "alice-pw", LOCAL), clock)
    resolve(svc.login("alice", "alice-pw", LOCAL), clock)
    third = resolve(svc.login("alice", "alice-pw", LOCAL), clock)
    assert isinstance(third, AuthFailure) and third.code == "limit"
    other_ip = LoginContext("imap", "127.0.0.2")
    assert isinstance(resolve(svc.login("alice", "alice-pw", other_ip), clock), AuthSuccess)
    first.logout()
    first.logout()  # a second call changes nothing
    assert isinstance(resolve(svc.login("alice", "alice-pw", LOCAL), clock), AuthSuccess)
    assert isinstance(resolve(svc.login("alice", "alice-pw", LOCAL), clock), AuthFailure)


def test_username_format_lowercases(tmp_path: Path, users_file: Path) -> None:
    """With username_format = %Lu, ALICE logs in as alice."""
    svc, clock = service(tmp_path, users_file, username_format="%Lu")
    ok = resolve(svc.login("ALICE", "alice-pw", LOCAL), clock)
    assert isinstance(ok, AuthSuccess) and ok.user.username == "alice"


@pytest.mark.parametrize("name", ["", "a:b", "a\nb", "x" * 300, "a\0b"])
def test_invalid_user_names_fail_cleanly(tmp_path: Path, users_file: Path, name: str) -> None:
    """Empty, over-long or control-character user names are refused, not looked up."""
    svc, clock = service(tmp_path, users_file)
    res = resolve(svc.login(name, "pw", LOCAL), clock)
    assert isinstance(res, AuthFailure) and res.code == "authfailed"
    assert resolve(svc.lookup(name, LOCAL), clock) is None


def test_nologin_and_proxy_fields(tmp_path: Path) -> None:
    """nologin refuses with the passdb's reason; proxy logs in without a userdb entry."""
    (tmp_path / "users").write_text(
        "carol:{PLAIN}pw::::::nologin=y reason=Moved\\ to\\ new\\ server\n"
        "dave:{PLAIN}pw::::::proxy=y host=10.0.0.2\n"
    )
    svc, clock = build(make_settings(tmp_path, userdb=[UserdbSettings(path="empty")]))
    (tmp_path / "empty").write_text("")
    res = resolve(svc.login("carol", "pw", LOCAL), clock)
    assert isinstance(res, AuthFailure) and res.code == "nologin"
    ok = resolve(svc.login("dave", "pw", LOCAL), clock)
    assert isinstance(ok, AuthSuccess)
    assert ok.user.passdb_fields["host"] == "10.0.0.2"


def test_user_missing_from_userdb_fails(tmp_path: Path, users_file: Path) -> None:
    """A passdb success for a user no userdb knows is a failed login."""
    (tmp_path / "empty").write_text("")
    svc, clock = build(make_settings(tmp_path, userdb=[UserdbSettings(path="empty")]))
    res = resolve(svc.login("alice", "alice-pw", LOCAL), clock)
    assert isinstance(res, AuthFailure) and res.code == "authfailed"


def test_unreadable_passdb_is_temporary(tmp_path: Path, logs: list[str]) -> None:
    """A passdb file that cannot be read gives "unavailable" (no penalty) and names the path."""
    svc, clock = build(make_settings(tmp_path, passdb=[PassdbSettings(path="missing")]))
    d = svc.login("alice", "pw", LOCAL)
    res = resolve(d)  # fires at once: no penalty delay
    assert res == AuthFailure("unavailable", "Temporary authentication failure.")
    assert str(tmp_path / "missing") in logs[-1]


def test_slow_hash_runs_in_thread_pool(tmp_path: Path, users_file: Path) -> None:
    """SHA512-CRYPT verification goes through run_blocking; PLAIN is checked inline."""
    from twisted.internet.defer import maybeDeferred
    from twisted.internet.task import Clock

    from mailsuite.auth.factory import build_auth_service

    calls: list[str] = []

    def run_blocking(f: Any, *a: Any, **kw: Any) -> Deferred[Any]:
        calls.append(getattr(f, "__name__", repr(f)))
        return maybeDeferred(f, *a, **kw)

    svc = build_auth_service(
        make_settings(tmp_path, cache_size=0),
        reactor=Clock(),
        run_blocking=run_blocking,
        store_factory=lambda r: None,
    )
    resolve(svc.login("alice", "alice-pw", LOCAL))
    assert "verify" not in calls
    resolve(svc.login("bob", "bob-pw", LOCAL))
    assert "verify" in calls and "lookup" in calls


def test_master_user_login(tmp_path: Path, users_file: Path) -> None:
    """alice*admin with admin's password logs in as alice; a wrong master password fails."""
    (tmp_path / "masters").write_text(f"admin:{schemes.generate('SSHA256', 'admin-pw')}::::::\n")
    svc, clock = build(
        make_settings(
            tmp_path,
            passdb=[PassdbSettings(path="users"), PassdbSettings(path="masters", master=True)],
        )
    )
    ok = resolve(svc.login("alice*admin", "admin-pw", LOCAL), clock)
    assert isinstance(ok, AuthSuccess)
    assert ok.user.username == "alice" and ok.user.master_user == "admin"
    assert isinstance(resolve(svc.login("alice*admin", "alice-pw", LOCAL), clock), AuthFailure)
    # The master is not a normal user.
    assert isinstance(resolve(svc.login("admin", "admin-pw", LOCAL), clock), AuthFailure)
    # SASL PLAIN with authzid does the same.
    ex = svc.sasl("PLAIN", LOCAL)
    ok = resolve(ex.step(b"alice\0admin\0admin-pw"), clock)
    assert isinstance(ok, AuthSuccess) and ok.user.username == "alice"


def test_authzid_without_master_passdb_refused(tmp_path: Path, users_file: Path) -> None:
    """PLAIN with an authzid for another user fails when no master passdb exists."""
    svc, clock = service(tmp_path, users_file)
    res = resolve(svc.sasl("PLAIN", LOCAL).step(b"bob\0alice\0alice-pw"), clock)
    assert isinstance(res, AuthFailure)


def test_lookup(tmp_path: Path, users_file: Path) -> None:
    """lookup() finds a user's record without a password and None for strangers."""
    svc, clock = service(tmp_path, users_file)
    rec = resolve(svc.lookup("alice", LOCAL), clock)
    assert rec.username == "alice" and rec.uid == 1000 and rec.home == "/home/alice"
    assert resolve(svc.lookup("nobody", LOCAL), clock) is None


def test_sasl_plain_and_login_exchanges(tmp_path: Path, users_file: Path) -> None:
    """PLAIN (with and without SASL-IR) and LOGIN log in through the same service."""
    svc, clock = service(tmp_path, users_file)
    assert isinstance(
        resolve(svc.sasl("PLAIN", LOCAL).step(b"\0alice\0alice-pw"), clock), AuthSuccess
    )
    ex = svc.sasl("PLAIN", LOCAL)
    assert resolve(ex.step(None), clock) == SaslChallenge(b"")
    assert isinstance(resolve(ex.step(b"\0bob\0bob-pw"), clock), AuthSuccess)
    ex = svc.sasl("LOGIN", LOCAL)
    assert resolve(ex.step(None), clock) == SaslChallenge(b"Username:")
    assert resolve(ex.step(b"alice"), clock) == SaslChallenge(b"Password:")
    assert isinstance(resolve(ex.step(b"alice-pw"), clock), AuthSuccess)
    ex = svc.sasl("PLAIN", LOCAL)
    res = resolve(ex.step(b"garbage"), clock)
    assert isinstance(res, AuthFailure)
    assert isinstance(resolve(ex.step(b"\0alice\0alice-pw"), clock), AuthFailure)  # over


def test_sasl_cram_md5_exchange(tmp_path: Path, users_file: Path) -> None:
    """A CRAM-MD5 client answering the server's challenge with HMAC-MD5 logs in."""
    svc, clock = service(tmp_path, users_file)
    ex = svc.sasl("CRAM-MD5", REMOTE)
    challenge = resolve(ex.step(None), clock).data
    digest = hmac.new(b"alice-pw", challenge, "md5").hexdigest()
    assert isinstance(resolve(ex.step(b"alice " + digest.encode()), clock), AuthSuccess)
    ex = svc.sasl("CRAM-MD5", REMOTE)
    challenge = resolve(ex.step(None), clock).data
    digest = hmac.new(b"bob-pw", challenge, "md5").hexdigest()
    res = resolve(ex.step(b"bob " + digest.encode()), clock)
    assert isinstance(res, AuthFailure)  # bob's SHA512-CRYPT hash cannot answer CRAM-MD5


def scram_client(
    ex: Any, clock: Any, name: str, user: str, password: str, authzid: str = ""
) -> Any:
    """Run a SCRAM client (RFC 5802 §3) against an exchange; returns the last answer."""
    h = {"SCRAM-SHA-1": "sha1", "SCRAM-SHA-256": "sha256"}[name]
    gs2 = f"n,{'a=' + authzid if authzid else ''},"
    bare = f"n={user},r=clientnonce123"
    first = resolve(ex.step((gs2 + bare).encode()), clock)
    assert isinstance(first, SaslChallenge), first
    attrs = dict(item.split("=", 1) for item in first.data.decode().split(","))
    salted = hashlib.pbkdf2_hmac(
        h, password.encode(), base64.b64decode(attrs["s"]), int(attrs["i"])
    )
    client_key = hmac.new(salted, b"Client Key", h).digest()
    stored_key = hashlib.new(h, client_key).digest()
    without = f"c={base64.b64encode(gs2.encode()).decode()},r={attrs['r']}"
    auth_message = f"{bare},{first.data.decode()},{without}".encode()
    sig = hmac.new(stored_key, auth_message, h).digest()
    proof = bytes(a ^ b for a, b in zip(client_key, sig, strict=True))
    final = resolve(ex.step(f"{without},p={base64.b64encode(proof).decode()}".encode()), clock)
    if not isinstance(final, SaslChallenge):
        return final
    server_key = hmac.new(salted, b"Server Key", h).digest()
    want = b"v=" + base64.b64encode(hmac.new(server_key, auth_message, h).digest())
    assert final.data == want  # the server proved it knows the secret
    return resolve(ex.step(b""), clock)


@pytest.mark.parametrize("name", ["SCRAM-SHA-1", "SCRAM-SHA-256"])
def test_sasl_scram_with_plain_and_scram_stored(tmp_path: Path, name: str) -> None:
    """SCRAM logs in users stored as PLAIN or as a Dovecot SCRAM secret; others cannot."""
    (tmp_path / "users").write_text(
        "alice:{PLAIN}alice-pw::::::\n"
        f"carol:{schemes.generate(name, 'carol-pw')}::::::\n"
        f"bob:{schemes.generate('SHA512-CRYPT', 'bob-pw')}::::::\n"
    )
    svc, clock = build(make_settings(tmp_path))
    assert isinstance(
        scram_client(svc.sasl(name, REMOTE), clock, name, "alice", "alice-pw"), AuthSuccess
    )
    assert isinstance(
        scram_client(svc.sasl(name, REMOTE), clock, name, "carol", "carol-pw"), AuthSuccess
    )
    assert isinstance(
        scram_client(svc.sasl(name, REMOTE), clock, name, "carol", "wrong"), AuthFailure
    )
    assert isinstance(
        scram_client(svc.sasl(name, REMOTE), clock, name, "bob", "bob-pw"), AuthFailure
    )
    assert isinstance(scram_client(svc.sasl(name, REMOTE), clock, name, "ghost", "x"), AuthFailure)


def test_scram_cancel_after_server_final_releases_slot(tmp_path: Path, users_file: Path) -> None:
    """A client that cancels after server-final does not keep a connection slot."""
    svc, clock = service(tmp_path, users_file)
    ex = svc.sasl("SCRAM-SHA-256", LOCAL)
    first = resolve(ex.step(b"n,,n=alice,r=abc"), clock)
    attrs = dict(item.split("=", 1) for item in first.data.decode().split(","))
    h = "sha256"
    salted = hashlib.pbkdf2_hmac(h, b"alice-pw", base64.b64decode(attrs["s"]), int(attrs["i"]))
    ck = hmac.new(salted, b"Client Key", h).digest()
    without = f"c=biws,r={attrs['r']}"
    am = f"n=alice,r=abc,{first.data.decode()},{without}".encode()
    proof = bytes(
        a ^ b
        for a, b in zip(ck, hmac.new(hashlib.sha256(ck).digest(), am, h).digest(), strict=True)
    )
    final = resolve(ex.step(f"{without},p={base64.b64encode(proof).decode()}".encode()), clock)
    assert isinstance(final, SaslChallenge)
    assert svc.limiter.count("alice", "127.0.0.1") == 1
    ex.cancel()
    assert svc.limiter.count("alice", "127.0.0.1") == 0


def test_sasl_oversized_response_fails(tmp_path: Path, users_file: Path) -> None:
    """A SASL response beyond the size limit ends the exchange."""
    svc, clock = service(tmp_path, users_file)
    res = resolve(svc.sasl("PLAIN", LOCAL).step(b"\0a\0" + b"x" * 20000), clock)
    assert isinstance(res, AuthFailure)


def test_external_with_client_cert(tmp_path: Path, users_file: Path) -> None:
    """EXTERNAL logs in the user named by the verified client certificate."""
    svc, clock = service(tmp_path, users_file, mechanisms=["EXTERNAL"])
    ctx = LoginContext("imap", "192.0.2.7", secured=True, client_cert_subject="CN=alice")
    ok = resolve(svc.sasl("EXTERNAL", ctx).step(b""), clock)
    assert isinstance(ok, AuthSuccess) and ok.user.username == "alice"
    res = resolve(svc.sasl("EXTERNAL", ctx).step(b"bob"), clock)
    assert isinstance(res, AuthFailure)


def test_master_login_keeps_target_routing_fields(tmp_path: Path) -> None:
    """A master login as a proxied user carries that user's proxy/host fields."""
    (tmp_path / "users").write_text("pat:{PLAIN}pw::::::proxy=y host=10.9.9.9\n")
    (tmp_path / "masters").write_text("admin:{PLAIN}admin-pw::::::\n")
    svc, clock = build(
        make_settings(
            tmp_path,
            passdb=[PassdbSettings(path="users"), PassdbSettings(path="masters", master=True)],
        )
    )
    ok = resolve(svc.login("pat*admin", "admin-pw", LOCAL), clock)
    assert isinstance(ok, AuthSuccess)
    assert ok.user.passdb_fields["host"] == "10.9.9.9" and ok.user.master_user == "admin"


def test_slow_hashes_limited_to_hash_workers(tmp_path: Path, users_file: Path) -> None:
    """With hash_workers = 1 a second slow verification waits until the first is done."""
    from twisted.internet.defer import maybeDeferred
    from twisted.internet.task import Clock

    from mailsuite.auth.factory import build_auth_service

    held: list[tuple[Deferred[Any], Any, tuple[Any, ...]]] = []

    def run_blocking(f: Any, *a: Any) -> Deferred[Any]:
        if getattr(f, "__name__", "") == "verify":
            d: Deferred[Any] = Deferred()
            held.append((d, f, a))
            return d
        return maybeDeferred(f, *a)

    svc = build_auth_service(
        make_settings(tmp_path, hash_workers=1),
        reactor=Clock(),
        run_blocking=run_blocking,
        store_factory=lambda r: None,
    )
    first = svc.login("bob", "bob-pw", LOCAL)
    second = svc.login("bob", "bob-pw", LOCAL)
    assert len(held) == 1  # the second waits for a hash worker
    d, f, a = held.pop()
    d.callback(f(*a))
    assert isinstance(resolve(first), AuthSuccess)
    assert len(held) == 1
    d, f, a = held.pop()
    d.callback(f(*a))
    assert isinstance(resolve(second), AuthSuccess)


def test_log_line_cannot_be_forged(tmp_path: Path, users_file: Path, logs: list[str]) -> None:
    """A user name with a newline is logged escaped, on one line."""
    svc, clock = service(tmp_path, users_file)
    resolve(svc.login("evil\nauth: admin login ok", "x", LOCAL), clock)
    assert "\n" not in logs[-1] and "evil\\x0a" in logs[-1]


def test_unknown_user_costs_a_hash_too(tmp_path: Path, users_file: Path) -> None:
    """Once a slow scheme is in use, an unknown user's password is also run through it."""
    from twisted.internet.defer import maybeDeferred
    from twisted.internet.task import Clock

    from mailsuite.auth.factory import build_auth_service

    calls: list[str] = []

    def run_blocking(f: Any, *a: Any) -> Deferred[Any]:
        calls.append(getattr(f, "__name__", ""))
        return maybeDeferred(f, *a)

    svc = build_auth_service(
        make_settings(tmp_path, failure_delay_s=0.0, failure_delay_max_s=0.0),
        reactor=Clock(),
        run_blocking=run_blocking,
        store_factory=lambda r: None,
    )
    resolve(svc.login("bob", "bob-pw", LOCAL))
    calls.clear()
    res = resolve(svc.login("nobody", "guess", LOCAL))
    assert isinstance(res, AuthFailure)
    assert calls.count("verify") == 1
