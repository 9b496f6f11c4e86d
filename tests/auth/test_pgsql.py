"""PostgreSQL passdb and userdb over a real server (a private PostgreSQL 15 on loopback)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mailsuite.auth.base import AuthUnavailable
from mailsuite.auth.expand import user_vars
from mailsuite.auth.interfaces import AuthFailure, AuthSuccess
from mailsuite.auth.sql import SqlDatabase
from mailsuite.config.schema import PassdbSettings, UserdbSettings
from tests.auth.conftest import DOVECOT_HASHES, LOCAL, build, make_settings, resolve

pytestmark = pytest.mark.external

PASSWORD_QUERY = (
    "SELECT local_part || '@' || domain AS user, password, proxy_host AS host "
    "FROM mailbox WHERE local_part = '%n' AND domain = '%d' AND active"
)
USER_QUERY = (
    "SELECT '/srv/vmail/' || domain || '/' || local_part AS home, "
    "'maildir:~/Maildir' AS mail, 5000 AS uid, 5000 AS gid, "
    "'*:storage=' || quota_mb || 'M' AS quota_rule "
    "FROM mailbox WHERE local_part = '%n' AND domain = '%d'"
)


@pytest.fixture(scope="module")
def dsn(pg_dsn: str) -> str:
    import psycopg2

    conn = psycopg2.connect(pg_dsn)
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("DROP TABLE IF EXISTS mailbox")
    cur.execute(
        "CREATE TABLE mailbox (local_part text, domain text, password text, "
        "proxy_host text, quota_mb int, active boolean)"
    )
    rows = [
        ("ann", "example.org", DOVECOT_HASHES["SHA512-CRYPT", "ann-pw"], None, 100, True),
        ("ben", "example.org", DOVECOT_HASHES["ARGON2ID", "ben-pw"], None, 5, True),
        ("amy", "example.org", DOVECOT_HASHES["BLF-CRYPT", "ann-pw"], None, 1, True),
        ("cid", "example.org", "{PLAIN}cid-pw", None, 1, False),
        ("o'hara", "example.org", "{PLAIN}irish", "10.1.2.3", 1, True),
    ]
    cur.executemany("INSERT INTO mailbox VALUES (%s,%s,%s,%s,%s,%s)", rows)
    conn.close()
    return pg_dsn


def service(tmp_path: Path, dsn: str, **auth: Any) -> Any:
    return build(
        make_settings(
            tmp_path,
            passdb=[PassdbSettings(driver="pgsql", dsn=dsn, password_query=PASSWORD_QUERY)],
            userdb=[UserdbSettings(driver="pgsql", dsn=dsn, user_query=USER_QUERY)],
            **auth,
        )
    )


def test_login_and_userdb(tmp_path: Path, dsn: str) -> None:
    """Users in PostgreSQL log in and get home, mail root, uid and quota from user_query."""
    svc, clock = service(tmp_path, dsn)
    ok = resolve(svc.login("ann@example.org", "ann-pw", LOCAL), clock)
    assert isinstance(ok, AuthSuccess)
    rec = ok.user.record
    assert rec.home == "/srv/vmail/example.org/ann"
    assert rec.mail == "/srv/vmail/example.org/ann/Maildir"
    assert (rec.uid, rec.gid, rec.quota_storage_bytes) == (5000, 5000, 100 * 1024 * 1024)
    assert isinstance(resolve(svc.login("ben@example.org", "ben-pw", LOCAL), clock), AuthSuccess)
    assert isinstance(resolve(svc.login("ben@example.org", "ann-pw", LOCAL), clock), AuthFailure)
    assert isinstance(resolve(svc.login("cid@example.org", "cid-pw", LOCAL), clock), AuthFailure)
    assert isinstance(resolve(svc.login("amy@example.org", "ann-pw", LOCAL), clock), AuthSuccess)


def test_quote_in_name_and_extra_fields(tmp_path: Path, dsn: str) -> None:
    """A quote in a user name is data, and non-NULL extra columns become passdb fields."""
    svc, clock = service(tmp_path, dsn)
    ok = resolve(svc.login("o'hara@example.org", "irish", LOCAL), clock)
    assert isinstance(ok, AuthSuccess)
    assert ok.user.passdb_fields == {"host": "10.1.2.3"}


@pytest.mark.parametrize("name", ["x' OR '1'='1", "ann@example.org' --", "%' OR 1=1 --"])
def test_injection_finds_nothing(dsn: str, name: str) -> None:
    """SQL in a user name finds no row in PostgreSQL either."""
    db = SqlDatabase("pgsql", dsn)
    assert db.query_one(PASSWORD_QUERY, user_vars(name)) is None


def test_lookup_without_password(tmp_path: Path, dsn: str) -> None:
    """LMTP-style lookup finds PostgreSQL users and not strangers."""
    svc, clock = service(tmp_path, dsn)
    assert resolve(svc.lookup("ben@example.org", LOCAL), clock).quota_storage_bytes == 5 * 1024**2
    assert resolve(svc.lookup("nobody@example.org", LOCAL), clock) is None


def test_reconnects_after_server_side_disconnect(dsn: str) -> None:
    """A connection killed by the server is reopened once, transparently."""
    import psycopg2

    db = SqlDatabase("pgsql", dsn)
    assert db.query_one(PASSWORD_QUERY, user_vars("ann@example.org")) is not None
    admin = psycopg2.connect(dsn)
    admin.autocommit = True
    admin.cursor().execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE pid <> pg_backend_pid() AND datname = 'mail'"
    )
    admin.close()
    assert db.query_one(PASSWORD_QUERY, user_vars("ann@example.org")) is not None


def test_unreachable_server_is_temporary(tmp_path: Path) -> None:
    """A database nobody listens on gives "unavailable", and the DSN password is not logged."""
    bad = "host=127.0.0.1 port=1 user=x password=hunter2 dbname=x connect_timeout=2"
    with pytest.raises(AuthUnavailable) as info:
        SqlDatabase("pgsql", bad).query_one("SELECT 1 WHERE '%u' = ''", user_vars("a"))
    assert "hunter2" not in str(info.value)
    svc, clock = service(tmp_path, bad)
    res = resolve(svc.login("a@b", "pw", LOCAL), clock)
    assert res == AuthFailure("unavailable", "Temporary authentication failure.")
