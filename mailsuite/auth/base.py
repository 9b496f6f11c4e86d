"""What passdb and userdb drivers return, and the seams the drivers implement.

A passdb answers "what is this user's stored password (and extra fields)";
verifying it is the checker's job, so every scheme and SASL mechanism works
with every driver (Dovecot's ``lookup_credentials``). A userdb answers "where
does this user's mail live". Both are synchronous and may block (files, SQL):
the checker and realm call them through ``run_blocking``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["AuthUnavailable", "Clock", "Passdb", "PassdbEntry", "Userdb", "apply_fields"]


class Clock(Protocol):
    """The part of IReactorTime auth uses (a reactor, or task.Clock in tests)."""

    def seconds(self) -> float: ...


class AuthUnavailable(Exception):
    """A passdb or userdb cannot answer now (database down, file unreadable).

    The text is for the admin's log: which driver, which user, why.
    """


@dataclass(frozen=True)
class PassdbEntry:
    """One passdb's answer for one user."""

    user: str  # the user name as the passdb knows it
    password: str | None  # the stored password, with or without "{SCHEME}"; None: none
    default_scheme: str = "CRYPT"
    fields: Mapping[str, str] = field(default_factory=dict)  # extra fields: proxy, nologin...
    source: str = ""  # "passwd-file(/etc/users)", for logs

    def __repr__(self) -> str:  # never show the stored password, even hashed
        return f"PassdbEntry({self.user!r}, source={self.source!r}, fields={dict(self.fields)!r})"


class Passdb(Protocol):
    """A password database driver."""

    name: str  # for logs: "passwd-file(/path)"
    master: bool  # a master-user passdb ("user*master" logins)

    def lookup(self, user: str) -> PassdbEntry | None:
        """The user's entry, or None when this passdb does not know the user.

        Raises:
            AuthUnavailable: the database cannot be asked now.
        """
        ...


class Userdb(Protocol):
    """A user database driver."""

    name: str

    def lookup(self, user: str) -> dict[str, str] | None:
        """The user's fields (home, mail, uid, gid, quota_rule...), or None if unknown.

        Raises:
            AuthUnavailable: the database cannot be asked now.
        """
        ...


def apply_fields(
    found: Mapping[str, str], defaults: Mapping[str, str], overrides: Mapping[str, str]
) -> dict[str, str]:
    """Dovecot's default_fields/override_fields: defaults under, overrides over."""
    out = dict(defaults)
    out.update(found)
    out.update(overrides)
    return out
