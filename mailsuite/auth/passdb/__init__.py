"""passdb drivers: passwd-file, sqlite, pgsql and static, built from ``[[passdb]]`` settings.

Each driver only *looks up* the stored password and extra fields; the checker
verifies it with the scheme named in the hash, so every driver supports every
scheme and every SASL mechanism the stored form allows.
"""

from __future__ import annotations

from mailsuite.auth.base import AuthUnavailable, PassdbEntry, apply_fields
from mailsuite.auth.drivers import build_driver
from mailsuite.auth.expand import user_vars
from mailsuite.auth.passwdfile import PasswdFile
from mailsuite.auth.sql import SqlDatabase
from mailsuite.config.schema import PassdbSettings, Settings

__all__ = [
    "DEFAULT_PASSWORD_QUERY",
    "PasswdFilePassdb",
    "SqlPassdb",
    "StaticPassdb",
    "build_passdb",
]

DEFAULT_PASSWORD_QUERY = "SELECT username AS user, password FROM users WHERE username = '%u'"


class _Fields:
    def __init__(self, cfg: PassdbSettings) -> None:
        self.master = cfg.master
        self.default_scheme = cfg.default_password_scheme.upper()
        self._defaults = dict(cfg.default_fields)
        self._overrides = dict(cfg.override_fields)

    def entry(
        self, user: str, password: str | None, found: dict[str, str], source: str
    ) -> PassdbEntry:
        fields = apply_fields(found, self._defaults, self._overrides)
        return PassdbEntry(user, password, self.default_scheme, fields, source)


class PasswdFilePassdb(_Fields):
    """Dovecot's passwd-file as a passdb (re-read when the file changes)."""

    def __init__(self, cfg: PassdbSettings, path: str) -> None:
        super().__init__(cfg)
        self.file = PasswdFile(path)
        self.name = f"passwd-file({path})"

    def lookup(self, user: str) -> PassdbEntry | None:
        line = self.file.get(user)
        if line is None:
            return None
        return self.entry(line.user, line.password or None, line.passdb_fields, self.name)


class SqlPassdb(_Fields):
    """An SQL passdb: ``password_query`` returns a ``password`` column and extra fields.

    A ``user`` column, when returned, is the canonical user name (Dovecot's rule).
    """

    def __init__(self, cfg: PassdbSettings, db: SqlDatabase) -> None:
        super().__init__(cfg)
        self.db = db
        self.query = cfg.password_query or DEFAULT_PASSWORD_QUERY
        self.name = db.describe()

    def lookup(self, user: str) -> PassdbEntry | None:
        row = self.db.query_one(self.query, user_vars(user))
        if row is None:
            return None
        if "password" not in row:
            raise AuthUnavailable(
                f"{self.name}: password_query returned no 'password' column (user {user})"
            )
        password = row.pop("password")
        canonical = row.pop("user", None) or row.pop("username", None) or user
        found = {k: v for k, v in row.items() if v is not None}
        return self.entry(canonical, password or None, found, self.name)


class StaticPassdb(_Fields):
    """Every user has the same password (or, with ``nopassword`` in default_fields, none)."""

    def __init__(self, cfg: PassdbSettings) -> None:
        super().__init__(cfg)
        self.password = cfg.password or None
        self.name = "static"

    def lookup(self, user: str) -> PassdbEntry | None:
        return self.entry(user, self.password, {}, self.name)


def build_passdb(
    cfg: PassdbSettings, settings: Settings, index: int
) -> PasswdFilePassdb | SqlPassdb | StaticPassdb:
    """Make the driver ``[[passdb]]`` number ``index`` asks for.

    Raises:
        ConfigError: unknown driver or a missing path/dsn.
    """
    return build_driver(
        f"[[passdb]] #{index + 1}",
        cfg,
        settings,
        passwd_file=PasswdFilePassdb,
        sql=SqlPassdb,
        static=StaticPassdb,
    )
