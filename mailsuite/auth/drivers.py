"""Choosing and opening the driver a ``[[passdb]]`` or ``[[userdb]]`` section names.

Both chains offer the same drivers with the same settings (``path`` for
passwd-file and sqlite, ``dsn`` for pgsql, nothing for static), so one
function checks them and opens the shared resource; the passdb and userdb
packages only say which class wraps it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from mailsuite.auth.sql import SqlDatabase
from mailsuite.config.load import resolve_path
from mailsuite.config.schema import Settings
from mailsuite.errors import ConfigError

__all__ = ["DRIVERS", "DriverSettings", "build_driver"]

DRIVERS = ("passwd-file", "sqlite", "pgsql", "static")


class DriverSettings(Protocol):
    """What both ``PassdbSettings`` and ``UserdbSettings`` say about their driver."""

    @property
    def driver(self) -> str: ...

    @property
    def path(self) -> str: ...

    @property
    def dsn(self) -> str: ...


C = TypeVar("C", bound=DriverSettings)
F = TypeVar("F")
Q = TypeVar("Q")
S = TypeVar("S")


def build_driver(
    where: str,
    cfg: C,
    settings: Settings,
    *,
    passwd_file: Callable[[C, str], F],
    sql: Callable[[C, SqlDatabase], Q],
    static: Callable[[C], S],
) -> F | Q | S:
    """The driver ``cfg.driver`` names, made by the matching class.

    Args:
        where: the section for errors, e.g. ``"[[passdb]] #2"``.
        cfg: the section (relative paths resolve against the config's base).
        settings: the whole settings (for ``resolve_path``).
        passwd_file: makes a passwd-file driver from the section and resolved path.
        sql: makes an SQL driver from the section and the opened database handle.
        static: makes the static driver from the section.

    Raises:
        ConfigError: unknown driver, a missing path/dsn, or pgsql without psycopg2.
    """
    driver, path, dsn = cfg.driver, cfg.path, cfg.dsn
    if driver == "passwd-file":
        if not path:
            raise ConfigError(f"{where}: driver passwd-file needs 'path'")
        return passwd_file(cfg, resolve_path(settings, path))
    if driver == "sqlite":
        if not path:
            raise ConfigError(f"{where}: driver sqlite needs 'path' (the database file)")
        return sql(cfg, SqlDatabase("sqlite", resolve_path(settings, path)))
    if driver == "pgsql":
        if not dsn:
            raise ConfigError(f"{where}: driver pgsql needs 'dsn' (a libpq connection string)")
        try:
            db = SqlDatabase("pgsql", dsn)
        except ImportError:
            raise ConfigError(
                f"{where}: driver pgsql needs psycopg2 (pip install psycopg2-binary)"
            ) from None
        return sql(cfg, db)
    if driver == "static":
        return static(cfg)
    raise ConfigError(f"{where}: driver: unknown driver {driver!r} ({', '.join(DRIVERS)})")
