"""userdb drivers: passwd-file, sqlite, pgsql and static, built from ``[[userdb]]`` settings.

A userdb returns raw fields (``home``, ``mail``, ``uid``, ``gid``,
``quota_rule``...); the realm expands ``%`` variables and turns them into a
:class:`~mailsuite.auth.interfaces.UserRecord`.
"""

from __future__ import annotations

from mailsuite.auth.base import apply_fields
from mailsuite.auth.drivers import build_driver
from mailsuite.auth.expand import user_vars
from mailsuite.auth.passwdfile import PasswdFile
from mailsuite.auth.sql import SqlDatabase
from mailsuite.config.schema import Settings, UserdbSettings

__all__ = [
    "DEFAULT_USER_QUERY",
    "PasswdFileUserdb",
    "SqlUserdb",
    "StaticUserdb",
    "build_userdb",
]

DEFAULT_USER_QUERY = "SELECT home, mail, uid, gid FROM users WHERE username = '%u'"


class _Fields:
    def __init__(self, cfg: UserdbSettings) -> None:
        self._defaults = dict(cfg.default_fields)
        self._overrides = dict(cfg.override_fields)

    def fields(self, found: dict[str, str]) -> dict[str, str]:
        return apply_fields(found, self._defaults, self._overrides)


class PasswdFileUserdb(_Fields):
    """uid, gid and home from the columns; ``userdb_*`` extra fields, prefix removed."""

    def __init__(self, cfg: UserdbSettings, path: str) -> None:
        super().__init__(cfg)
        self.file = PasswdFile(path)
        self.name = f"passwd-file({path})"

    def lookup(self, user: str) -> dict[str, str] | None:
        line = self.file.get(user)
        if line is None:
            return None
        found = {k: v for k, v in (("uid", line.uid), ("gid", line.gid), ("home", line.home)) if v}
        found.update(line.userdb_fields)
        out = self.fields(found)
        out.setdefault("user", line.user)
        return out


class SqlUserdb(_Fields):
    """An SQL userdb: every non-NULL column of ``user_query``'s first row is a field."""

    def __init__(self, cfg: UserdbSettings, db: SqlDatabase) -> None:
        super().__init__(cfg)
        self.db = db
        self.query = cfg.user_query or DEFAULT_USER_QUERY
        self.name = db.describe()

    def lookup(self, user: str) -> dict[str, str] | None:
        row = self.db.query_one(self.query, user_vars(user))
        if row is None:
            return None
        return self.fields({k: v for k, v in row.items() if v is not None})


class StaticUserdb(_Fields):
    """The same fields (with ``%`` variables) for everyone, e.g. ``home = /srv/mail/%d/%n``.

    Unless ``allow_all_users`` is set, a user exists only when a passdb knows
    them (checked by the realm), so LMTP does not accept mail for anyone at all.
    """

    def __init__(self, cfg: UserdbSettings) -> None:
        super().__init__(cfg)
        self.allow_all_users = cfg.allow_all_users
        self.name = "static"

    def lookup(self, user: str) -> dict[str, str] | None:
        return self.fields({})


def build_userdb(
    cfg: UserdbSettings, settings: Settings, index: int
) -> PasswdFileUserdb | SqlUserdb | StaticUserdb:
    """Make the driver ``[[userdb]]`` number ``index`` asks for.

    Raises:
        ConfigError: unknown driver or a missing path/dsn.
    """
    return build_driver(
        f"[[userdb]] #{index + 1}",
        cfg,
        settings,
        passwd_file=PasswdFileUserdb,
        sql=SqlUserdb,
        static=StaticUserdb,
    )
