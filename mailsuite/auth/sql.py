"""SQL access for the sqlite and pgsql drivers: safe parameters, one connection per thread.

Admins write Dovecot-style queries::

    SELECT username AS user, password FROM users WHERE username = '%u'

The ``%`` variables are never pasted into the SQL text. :func:`parameterise`
turns each one (with the quotes an admin may have put around it) into a bound
placeholder, so a user name like ``x' OR '1'='1`` is just a name that does not
exist. Queries run in the thread pool; each thread keeps its own connection
(sqlite3 and libpq connections are not shared across threads) and a broken
pgsql connection is reopened once before the lookup is reported unavailable.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Callable, Sequence
from typing import Any

from mailsuite.auth.base import AuthUnavailable
from mailsuite.auth.expand import VARIABLE_RE, expand

__all__ = ["SqlDatabase", "parameterise"]

# A quoted SQL string literal, or a variable outside one.
_TOKEN_RE = re.compile(r"'(?:[^']|'')*'|%(?:[LU]?[undh]|\{[a-z_]+\})|%%?")


def parameterise(query: str, values: dict[str, str], style: str) -> tuple[str, list[str]]:
    """Replace ``%`` variables with bound placeholders; return the SQL and its parameters.

    A variable inside a string literal (``'%u'``, ``'%n@%d'``) becomes a
    placeholder, or a ``||`` concatenation of placeholders and the literal's
    other text, so no value is ever pasted into the SQL text.

    Args:
        query: the admin's query.
        values: variable values (``user_vars``).
        style: "qmark" (sqlite3 ``?``) or "format" (psycopg2 ``%s``).
    """
    params: list[str] = []
    ph = "?" if style == "qmark" else "%s"
    pct = "%%" if style == "format" else "%"

    def literal(text: str) -> str:
        return "'" + text.replace("%", pct) + "'"

    def repl(m: re.Match[str]) -> str:
        tok = m.group(0)
        if tok in ("%", "%%"):
            return pct  # a literal percent sign (modulo, or Dovecot's %% escape)
        if not tok.startswith("'"):
            params.append(expand(tok, values))
            return ph
        body = tok[1:-1]
        pieces: list[str] = []
        pos = 0
        for v in VARIABLE_RE.finditer(body):
            if v.group(0) == "%%":
                continue
            if v.start() > pos:
                pieces.append(literal(body[pos : v.start()].replace("%%", "%")))
            params.append(expand(v.group(0), values))
            pieces.append(ph)
            pos = v.end()
        if not pieces:
            return literal(body.replace("%%", "%"))
        if pos < len(body):
            pieces.append(literal(body[pos:].replace("%%", "%")))
        return pieces[0] if len(pieces) == 1 else "(" + " || ".join(pieces) + ")"

    return _TOKEN_RE.sub(repl, query), params


class SqlDatabase:
    """A per-thread connection to sqlite3 or PostgreSQL.

    Args:
        driver: "sqlite" or "pgsql".
        target: the sqlite file path or the libpq DSN.
    """

    def __init__(self, driver: str, target: str) -> None:
        if driver not in ("sqlite", "pgsql"):
            raise ValueError(f"unknown SQL driver {driver!r}")
        self.driver = driver
        self.target = target
        self.style = "qmark" if driver == "sqlite" else "format"
        self._local = threading.local()
        self._connect: Callable[[], Any]
        if driver == "sqlite":
            self._connect = self._connect_sqlite
        else:
            import psycopg2  # optional dependency: only needed for pgsql

            self._pg = psycopg2
            self._connect = self._connect_pgsql

    def describe(self) -> str:
        if self.driver == "sqlite":
            return f"sqlite({self.target})"
        # Never log a DSN's password.
        safe = re.sub(r"password\s*=\s*\S+", "password=***", self.target)
        return f"pgsql({safe})"

    def _connect_sqlite(self) -> Any:
        # mode=ro: the auth code never writes the user database.
        conn = sqlite3.connect(f"file:{self.target}?mode=ro", uri=True, timeout=5.0)
        conn.row_factory = sqlite3.Row
        return conn

    def _connect_pgsql(self) -> Any:
        conn = self._pg.connect(self.target, connect_timeout=5)
        conn.autocommit = True  # lookups only; no transaction held open between logins
        return conn

    def _conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - closing a broken connection may fail too
                pass

    def query_one(self, query: str, values: dict[str, str]) -> dict[str, str | None] | None:
        """Run ``query`` with ``values`` bound and return its first row as a dict.

        Raises:
            AuthUnavailable: the database cannot be reached or the query fails.
        """
        sql, params = parameterise(query, values, self.style)
        for attempt in (1, 2):
            try:
                conn = self._conn()
                cur = conn.cursor()
                try:
                    cur.execute(sql, params)
                    row = cur.fetchone()
                    names: Sequence[str] = [d[0] for d in cur.description or ()]
                finally:
                    cur.close()
            except sqlite3.Error as e:
                self._drop()
                raise AuthUnavailable(f"{self.describe()}: query failed: {e}") from None
            except Exception as e:  # psycopg2.Error and friends
                if self.driver == "pgsql" and isinstance(e, self._pg.Error):
                    self._drop()
                    if attempt == 1 and isinstance(e, self._pg.OperationalError):
                        continue  # a dropped connection: reconnect once
                    msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                    raise AuthUnavailable(f"{self.describe()}: query failed: {msg}") from None
                raise
            if row is None:
                return None
            return {
                name.lower(): (None if v is None else str(v))
                for name, v in zip(names, tuple(row), strict=False)
            }
        return None  # pragma: no cover - loop always returns or raises

    def close(self) -> None:
        self._drop()
