"""The userdb chain as a twisted.cred ``IRealm``: avatar ID in, :class:`MailUser` out.

The realm asks the userdbs in order (the first that knows the user wins),
expands ``%`` variables in the fields it got, works out the Maildir++ root
(userdb ``mail`` or ``[mail] location``) and the quota, and builds the avatar
with the store factory it was given. A passdb ``proxy`` field skips the
userdb: the mail lives on another backend.
"""

from __future__ import annotations

import os
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from twisted.cred.portal import IRealm
from twisted.internet.defer import Deferred
from zope.interface import Interface, implementer

from mailsuite.auth.base import AuthUnavailable, Userdb
from mailsuite.auth.cache import AuthCache
from mailsuite.auth.checker import LoginFailed
from mailsuite.auth.expand import expand, user_vars
from mailsuite.auth.interfaces import IMailUser, UserRecord
from mailsuite.config.load import resolve_path
from mailsuite.config.schema import Settings
from mailsuite.errors import ErrorKind, MailError

__all__ = ["MailRealm", "MailUser", "make_user_record", "parse_quota_rule"]

StoreFactory = Callable[[UserRecord], Any]

# Dovecot quota sizes: a bare number is kilobytes; suffixes B, K, M, G, T.
_SIZE_RE = re.compile(r"^\s*(\d+)\s*([bkmgt]?)b?\s*$", re.IGNORECASE)
_UNITS = {"b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4, "": 1024}


def parse_quota_rule(rule: str) -> tuple[int | None, int | None]:
    """(storage bytes, messages) from Dovecot's ``*:storage=1G:messages=1000``; None: not set."""
    storage = messages = None
    for part in rule.split(":"):
        key, _, value = part.partition("=")
        key = key.strip().lower()
        if key in ("storage", "bytes"):
            m = _SIZE_RE.match(value)
            if m:
                unit = m.group(2).lower() if key == "storage" else "b"
                storage = int(m.group(1)) * _UNITS[unit or ("" if key == "storage" else "b")]
        elif key == "messages" and value.strip().isdigit():
            messages = int(value)
    return storage, messages


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value and value.strip().isdigit() else None


def _mail_root(location: str, home: str, settings: Settings) -> str:
    # Dovecot writes "maildir:~/Maildir:LAYOUT=fs"; we take the path part.
    if location.lower().startswith("maildir:"):
        location = location[len("maildir:") :]
    location = location.split(":", 1)[0]
    if location == "~" or location.startswith("~/"):
        location = os.path.join(home, location[2:]) if home else location[2:]
    return resolve_path(settings, location)


def make_user_record(user: str, fields: dict[str, str], settings: Settings) -> UserRecord:
    """Turn userdb fields into a UserRecord: expand variables, find the mail root and quota."""
    values = user_vars(user)
    home = expand(fields.get("home", ""), values)
    home = resolve_path(settings, home) if home else ""
    values["h"] = home
    expanded = {k: expand(v, values) for k, v in fields.items()}
    expanded["home"] = home
    mail = _mail_root(
        expanded.get("mail") or expand(settings.mail.location, values), home, settings
    )
    storage = settings.quota.storage_bytes
    messages = settings.quota.messages
    if "quota_rule" in expanded:
        s, m = parse_quota_rule(expanded["quota_rule"])
        storage = s if s is not None else storage
        messages = m if m is not None else messages
    storage = _int_or_none(expanded.get("quota_storage_bytes")) or storage
    messages = _int_or_none(expanded.get("quota_messages")) or messages
    return UserRecord(
        username=user,
        home=home,
        mail=mail,
        uid=_int_or_none(expanded.get("uid")),
        gid=_int_or_none(expanded.get("gid")),
        quota_storage_bytes=storage,
        quota_messages=messages,
        fields=expanded,
    )


@implementer(IMailUser)
class MailUser:
    """The avatar: who logged in, where their mail is, and how to open it."""

    def __init__(
        self,
        record: UserRecord,
        passdb_fields: dict[str, str],
        store_factory: StoreFactory,
        master_user: str = "",
    ) -> None:
        self.username = record.username
        self.record = record
        self.passdb_fields = passdb_fields
        self.master_user = master_user
        self._store_factory = store_factory

    def __repr__(self) -> str:
        return f"MailUser({self.username!r})"

    def open_store(self) -> Any:
        return self._store_factory(self.record)


@implementer(IRealm)
class MailRealm:
    """Joins the userdb chain and the store factory into avatars.

    Args:
        userdbs: the userdb chain, in order.
        settings: for the mail location, quota defaults and base directory.
        store_factory: UserRecord -> MailStore (blocking).
        run_blocking: runs blocking lookups in the thread pool.
        passdb_knows: async ``user -> bool`` used by a static userdb without
            ``allow_all_users`` to decide whether a user exists.
    """

    def __init__(
        self,
        userdbs: Sequence[Userdb],
        settings: Settings,
        store_factory: StoreFactory,
        run_blocking: Callable[..., Deferred[Any]],
        passdb_knows: Callable[[str], Awaitable[bool]] | None = None,
        cache: AuthCache | None = None,
    ) -> None:
        self.userdbs = list(userdbs)
        self.settings = settings
        self.store_factory = store_factory
        self.run_blocking = run_blocking
        self.passdb_knows = passdb_knows
        self.cache = cache

    async def find(self, user: str, authenticated: bool = False) -> UserRecord | None:
        """The user's record from the first userdb that knows them; None if none does.

        Raises:
            MailError: (TEMP) a userdb could not be asked and none knew the user.
        """
        cache = self.cache if self.cache is not None and self.cache.enabled else None
        if cache is not None:
            hit = cache.get("userdb", user)
            if hit is not None and hit.entries:
                cached: UserRecord = hit.entries[0]
                return cached
            if hit is not None and not authenticated:
                return None
        record = await self._find_uncached(user, authenticated)
        if cache is not None and (record is not None or not authenticated):
            cache.put("userdb", user, (record,) if record is not None else ())
        return record

    async def _find_uncached(self, user: str, authenticated: bool) -> UserRecord | None:
        errors: list[str] = []
        for db in self.userdbs:
            try:
                fields = await self.run_blocking(db.lookup, user)
            except AuthUnavailable as e:
                errors.append(str(e))
                continue
            if fields is None:
                continue
            if getattr(db, "allow_all_users", True) is False and not authenticated:
                if self.passdb_knows is None or not await self.passdb_knows(user):
                    continue
            name = fields.pop("user", None) or user
            return make_user_record(name, fields, self.settings)
        if errors:
            raise MailError(
                ErrorKind.TEMP,
                "Temporary user lookup failure.",
                f"userdb lookup for {user} failed: {'; '.join(errors)}",
            )
        return None

    def requestAvatar(  # noqa: N802 - IRealm
        self, avatarId: Any, mind: Any, *interfaces: Any
    ) -> Deferred[tuple[type[Interface], object, Callable[[], None]]]:
        if IMailUser not in interfaces:
            raise NotImplementedError("mailsuite's realm only gives IMailUser avatars")
        return Deferred.fromCoroutine(self._avatar(avatarId))

    async def _avatar(self, avatar_id: Any) -> tuple[type[Interface], object, Callable[[], None]]:
        fields = dict(getattr(avatar_id, "passdb_fields", {}))
        master_user = getattr(avatar_id, "master_user", "")
        user = str(avatar_id)
        if "proxy" in fields:
            # The user's mail lives elsewhere; the front end proxies without a userdb lookup.
            record = UserRecord(username=user, fields={})
        else:
            try:
                found = await self.find(user, authenticated=not master_user)
            except MailError as e:
                raise LoginFailed(
                    "unavailable", e.detail, "Temporary authentication failure."
                ) from None
            if found is None:
                raise LoginFailed("authfailed", f"user {user} not found in any userdb")
            record = found
        return IMailUser, MailUser(record, fields, self.store_factory, master_user), lambda: None
