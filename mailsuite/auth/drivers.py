"""Choosing and opening the driver a ``[[passdb]]`` or ``[[userdb]]`` section names.

Both chains offer the same drivers with the same settings (``path`` for
passwd-file and sqlite, ``dsn`` for pgsql, nothing for static), so one
function checks them and opens the shared resource; the passdb and userdb
packages only say which class wraps it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from mailsuite.auth.sql import SqlDatabase
from mailsuite.config.load import resolve_path
from mailsuite.config.schema import Settings
from mailsuite.errors import ConfigError

__all__ = ["DRIVERS", "build_driver"]

DRIVERS = ("passwd-file", "sqlite", "pgsql", "static")

D = TypeVar("D")


def build_driver(
    where: str,
    driver: str,
    path: str,
    dsn: str,
    settings: Settings,
    *,
    passwd_file: Callable[[str], D],
    sql: Callable[[SqlDatabase], D],
    static: Callable[[], D],
) -> D:
    """The driver ``driver`` names, built by the matching callable.

    Args:
        where: the section for errors, e.g. ``"[[passdb]] #2"``.
        driver: the section's ``driver`` value.
        path: its ``path`` (relative paths resolve against the config's base).
        dsn: its ``dsn``.
        settings: the whole settings (for ``resolve_path``).
        passwd_file: builds a passwd-file driver from the resolved path.
        sql: builds an SQL driver from the opened database handle.
        static: builds the static driver.

    Raises:
        ConfigError: unknown driver, a missing path/dsn, or pgsql without psycopg2.
    """
    if driver == "passwd-file":
        if not path:
            raise ConfigError(f"{where}: driver passwd-file needs 'path'")
        return passwd_file(resolve_path(settings, path))
    if driver == "sqlite":
        if not path:
            raise ConfigError(f"{where}: driver sqlite needs 'path' (the database file)")
        return sql(SqlDatabase("sqlite", resolve_path(settings, path)))
    if driver == "pgsql":
        if not dsn:
            raise ConfigError(f"{where}: driver pgsql needs 'dsn' (a libpq connection string)")
        try:
            db = SqlDatabase("pgsql", dsn)
        except ImportError:
            raise ConfigError(
                f"{where}: driver pgsql needs psycopg2 (pip install psycopg2-binary)"
            ) from None
        return sql(db)
    if driver == "static":
        return static()
    raise ConfigError(f"{where}: driver: unknown driver {driver!r} ({', '.join(DRIVERS)})")
