"""passdb and userdb drivers (sqlite, static, passwd-file) built from settings, in chains."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from mailsuite.auth.drivers import build_driver
from mailsuite.auth.interfaces import AuthFailure, AuthSuccess
from mailsuite.auth.passdb import build_passdb
from mailsuite.auth.userdb import build_userdb
from mailsuite.config.schema import PassdbSettings, Settings, UserdbSettings
from mailsuite.errors import ConfigError
from tests.auth.conftest import DOVECOT_HASHES, LOCAL, build, make_settings, resolve


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Path:
    path = tmp_path / "users.db"
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE users (username TEXT, domain TEXT, password TEXT, home TEXT, "
        "maildir TEXT, quota TEXT, active INT)"
    )
    rows = [
        (
            "carol",
            "example.org",
            DOVECOT_HASHES["SSHA512", "carol-pw"],
            "/srv/carol",
            None,
            "*:storage=10M",
            1,
        ),
        (
            "dan",
            "example.org",
            DOVECOT_HASHES["ARGON2ID", "dan-pw"],
            "/srv/dan",
            "/srv/dan/Mail",
            None,
            1,
        ),
        ("eve", "example.org", "{PLAIN}eve-pw", "/srv/eve", None, None, 0),
    ]
    conn.executemany("INSERT INTO users VALUES (?,?,?,?,?,?,?)", rows)
    conn.commit()
    conn.close()
    return path


def sql_settings(tmp_path: Path) -> Settings:
    return make_settings(
        tmp_path,
        passdb=[
            PassdbSettings(path="users"),
            PassdbSettings(
                driver="sqlite",
                path="users.db",
                password_query=(
                    "SELECT username || '@' || domain AS user, password FROM users "
                    "WHERE username = '%n' AND domain = '%d' AND active = 1"
                ),
            ),
        ],
        userdb=[
            UserdbSettings(path="users"),
            UserdbSettings(
                driver="sqlite",
                path="users.db",
                user_query=(
                    "SELECT home, maildir AS mail, quota AS quota_rule FROM users "
                    "WHERE username = '%n' AND domain = '%d'"
                ),
            ),
        ],
    )


def test_sqlite_chain_after_passwd_file(tmp_path: Path, users_file: Path, sqlite_db: Path) -> None:
    """Users found in the second (sqlite) passdb/userdb log in; the first still serves its own."""
    svc, clock = build(sql_settings(tmp_path))
    ok = resolve(svc.login("carol@example.org", "carol-pw", LOCAL), clock)
    assert isinstance(ok, AuthSuccess)
    rec = ok.user.record
    assert rec.home == "/srv/carol" and rec.mail == str(tmp_path / "var/mail/carol@example.org")
    assert rec.quota_storage_bytes == 10 * 1024 * 1024
    dan = resolve(svc.login("dan@example.org", "dan-pw", LOCAL), clock)
    assert isinstance(dan, AuthSuccess) and dan.user.record.mail == "/srv/dan/Mail"
    assert isinstance(resolve(svc.login("alice", "alice-pw", LOCAL), clock), AuthSuccess)
    assert isinstance(resolve(svc.login("eve@example.org", "eve-pw", LOCAL), clock), AuthFailure)
    assert isinstance(resolve(svc.login("carol@example.org", "x", LOCAL), clock), AuthFailure)


def test_chain_continues_after_mismatch(tmp_path: Path) -> None:
    """A password refused by the first passdb is tried against the next (Dovecot's default)."""
    (tmp_path / "a").write_text("u:{PLAIN}first::::::\n")
    (tmp_path / "b").write_text("u:{PLAIN}second::::::\n")
    svc, clock = build(
        make_settings(
            tmp_path,
            passdb=[PassdbSettings(path="a"), PassdbSettings(path="b")],
            userdb=[UserdbSettings(path="a")],
        )
    )
    assert isinstance(resolve(svc.login("u", "first", LOCAL), clock), AuthSuccess)
    assert isinstance(resolve(svc.login("u", "second", LOCAL), clock), AuthSuccess)
    assert isinstance(resolve(svc.login("u", "third", LOCAL), clock), AuthFailure)


def test_static_passdb_and_userdb(tmp_path: Path) -> None:
    """A static passdb checks one password for all; a static userdb expands its fields per user."""
    s = make_settings(
        tmp_path,
        passdb=[PassdbSettings(driver="static", password="{PLAIN}shared")],
        userdb=[
            UserdbSettings(
                driver="static",
                default_fields={"home": "/srv/%d/%n", "mail": "maildir:~/Maildir", "uid": "5000"},
            )
        ],
    )
    svc, clock = build(s)
    ok = resolve(svc.login("joe@ex.org", "shared", LOCAL), clock)
    assert isinstance(ok, AuthSuccess)
    assert ok.user.record.home == "/srv/ex.org/joe"
    assert ok.user.record.mail == "/srv/ex.org/joe/Maildir"
    assert ok.user.record.uid == 5000
    assert isinstance(resolve(svc.login("joe@ex.org", "other", LOCAL), clock), AuthFailure)


def test_static_userdb_needs_passdb_unless_allow_all(tmp_path: Path, users_file: Path) -> None:
    """A static userdb only knows users some passdb knows, unless allow_all_users is set."""
    s = make_settings(tmp_path, userdb=[UserdbSettings(driver="static")])
    svc, clock = build(s)
    assert resolve(svc.lookup("alice", LOCAL), clock) is not None
    assert resolve(svc.lookup("stranger", LOCAL), clock) is None
    s = make_settings(tmp_path, userdb=[UserdbSettings(driver="static", allow_all_users=True)])
    svc, clock = build(s)
    assert resolve(svc.lookup("stranger", LOCAL), clock) is not None


def test_default_and_override_fields(tmp_path: Path) -> None:
    """default_fields fill gaps; override_fields win over what the database says."""
    (tmp_path / "users").write_text("u:{PLAIN}p:1:1::/home/u::userdb_quota_rule=*:storage=1M\n")
    s = make_settings(
        tmp_path,
        userdb=[
            UserdbSettings(
                path="users",
                default_fields={"mail": "/mail/%u", "home": "/ignored"},
                override_fields={"quota_rule": "*:messages=5"},
            )
        ],
    )
    svc, clock = build(s)
    rec = resolve(svc.lookup("u", LOCAL), clock)
    assert rec.mail == "/mail/u" and rec.home == "/home/u"
    assert rec.quota_messages == 5 and rec.quota_storage_bytes == 0


@pytest.mark.parametrize(
    ("cfg", "message"),
    [
        (PassdbSettings(driver="ldap"), r"\[\[passdb\]\] #1: driver: unknown driver 'ldap'"),
        (PassdbSettings(driver="passwd-file"), "needs 'path'"),
        (PassdbSettings(driver="sqlite"), "needs 'path'"),
        (PassdbSettings(driver="pgsql"), "needs 'dsn'"),
    ],
)
def test_passdb_config_errors(cfg: PassdbSettings, message: str) -> None:
    """A wrong [[passdb]] names the entry and the problem."""
    with pytest.raises(ConfigError, match=message):
        build_passdb(cfg, Settings(), 0)


def test_userdb_config_errors() -> None:
    """A wrong [[userdb]] names the entry and the problem."""
    with pytest.raises(ConfigError, match=r"\[\[userdb\]\] #2: driver: unknown"):
        build_userdb(UserdbSettings(driver="nis"), Settings(), 1)


def test_build_driver_resolves_path_and_picks_the_class(tmp_path: Path) -> None:
    """The shared driver switch resolves a relative path and calls the class for the driver."""
    settings = Settings(base_dir=str(tmp_path))
    made = build_driver(
        "[[userdb]] #1",
        UserdbSettings(driver="passwd-file", path="etc/users"),
        settings,
        passwd_file=lambda cfg, path: ("file", path),
        sql=lambda cfg, db: ("sql", db),
        static=lambda cfg: ("static", cfg.driver),
    )
    assert made == ("file", str(tmp_path / "etc/users"))
    static = build_driver(
        "[[passdb]] #3",
        PassdbSettings(driver="static"),
        settings,
        passwd_file=lambda cfg, path: ("file", path),
        sql=lambda cfg, db: ("sql", db),
        static=lambda cfg: ("static", cfg.driver),
    )
    assert static == ("static", "static")


def test_static_nopassword(tmp_path: Path) -> None:
    """A static passdb with nopassword accepts any password for plaintext logins only."""
    s = make_settings(
        tmp_path,
        passdb=[PassdbSettings(driver="static", default_fields={"nopassword": "y"})],
        userdb=[UserdbSettings(driver="static", allow_all_users=True)],
    )
    svc, clock = build(s)
    assert isinstance(resolve(svc.login("anyone", "anything", LOCAL), clock), AuthSuccess)
    ex = svc.sasl("CRAM-MD5", LOCAL)
    resolve(ex.step(None), clock)
    res = resolve(ex.step(b"anyone 0123456789abcdef0123456789abcdef"), clock)
    assert isinstance(res, AuthFailure)
