"""SQL queries are parameterised, never string-built, and sqlite lookups work."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from mailsuite.auth.base import AuthUnavailable
from mailsuite.auth.expand import user_vars
from mailsuite.auth.sql import SqlDatabase, parameterise

V = user_vars("a@b.org")


@pytest.mark.parametrize(
    ("query", "style", "sql", "params"),
    [
        ("SELECT p FROM u WHERE n = '%u'", "qmark", "SELECT p FROM u WHERE n = ?", ["a@b.org"]),
        ("SELECT p FROM u WHERE n = '%u'", "format", "SELECT p FROM u WHERE n = %s", ["a@b.org"]),
        (
            "SELECT p FROM u WHERE n=%n AND d=%d",
            "qmark",
            "SELECT p FROM u WHERE n=? AND d=?",
            ["a", "b.org"],
        ),
        (
            "SELECT 1 WHERE x = '%n@%d'",
            "qmark",
            "SELECT 1 WHERE x = (? || '@' || ?)",
            ["a", "b.org"],
        ),
        ("SELECT 1 WHERE y LIKE 'a%'", "format", "SELECT 1 WHERE y LIKE 'a%%'", []),
        (
            "SELECT 1 WHERE z = 'it''s' AND n='%Lu'",
            "qmark",
            "SELECT 1 WHERE z = 'it''s' AND n=?",
            ["a@b.org"],
        ),
        ("SELECT 5 %% 2", "qmark", "SELECT 5 % 2", []),
    ],
)
def test_parameterise(query: str, style: str, sql: str, params: list[str]) -> None:
    """Each variable becomes a bound placeholder; literal text is kept, escaped for the driver."""
    assert parameterise(query, V, style) == (sql, params)


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = tmp_path / "users.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE users (username TEXT, password TEXT, home TEXT, quota TEXT)")
    conn.execute("INSERT INTO users VALUES ('alice', '{PLAIN}pw', '/h/alice', NULL)")
    conn.commit()
    conn.close()
    return str(path)


@pytest.mark.parametrize(
    "name", ["x' OR '1'='1", "alice'--", "alice\\", "%u", "' UNION SELECT 1,2,3,4 --"]
)
def test_injection_attempts_find_nothing(db: str, name: str) -> None:
    """User names full of SQL find no row: they are data, never SQL."""
    sql = SqlDatabase("sqlite", db)
    assert sql.query_one("SELECT * FROM users WHERE username = '%u'", user_vars(name)) is None
    assert sql.query_one("SELECT * FROM users WHERE username = %u", user_vars(name)) is None


def test_row_as_lowercase_dict(db: str) -> None:
    """The first row comes back as a dict with lower-case column names, NULL as None."""
    row = SqlDatabase("sqlite", db).query_one(
        "SELECT username AS USER, password, quota FROM users WHERE username = '%u'",
        user_vars("alice"),
    )
    assert row == {"user": "alice", "password": "{PLAIN}pw", "quota": None}


def test_bad_query_is_unavailable(db: str) -> None:
    """A broken query reports the database and the error, as AuthUnavailable."""
    with pytest.raises(AuthUnavailable, match=r"sqlite\(.*users.db\): query failed"):
        SqlDatabase("sqlite", db).query_one("SELECT * FROM nope WHERE x = '%u'", V)


def test_missing_database_is_unavailable(tmp_path: Path) -> None:
    """A missing sqlite file is unavailable, never created (read-only open)."""
    with pytest.raises(AuthUnavailable):
        SqlDatabase("sqlite", str(tmp_path / "none.db")).query_one("SELECT 1", V)
    assert not (tmp_path / "none.db").exists()


def test_dsn_password_hidden() -> None:
    """A pgsql DSN's password is masked in log descriptions."""
    pytest.importorskip("psycopg2")
    assert "hunter2" not in SqlDatabase("pgsql", "host=x password=hunter2").describe()
