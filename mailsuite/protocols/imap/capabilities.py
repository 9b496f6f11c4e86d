"""The capability list (RFC 3501 7.2.1) and the greeting, built once per variant.

Every connection's greeting and every LOGIN's ``OK [CAPABILITY ...]`` used to
rebuild the same list and bytes. What they depend on is small (logged in or
not, STARTTLS offered, plaintext LOGIN allowed, the SASL mechanisms, APPENDLIMIT,
COMPRESS still available), so the results are cached by exactly that key:
a handful of entries per listener.
"""

from __future__ import annotations

from typing import Any, Final

from .wire import responses as r
from .wire.responses import OK

__all__ = [
    "CapabilityKey",
    "authed_key",
    "capability_code",
    "capability_list",
    "greeting",
    "preauth_key",
]

#: (False, starttls, plaintext_allowed, mechanisms) before login,
#: (True, append_limit_bytes, compress) after.
CapabilityKey = tuple[Any, ...]

BASE: Final = ("IMAP4rev1", "SASL-IR", "LITERAL+", "ID", "ENABLE", "IDLE")
AFTER_LOGIN: Final = (
    "NAMESPACE",
    "UIDPLUS",
    "MOVE",
    "UNSELECT",
    "CHILDREN",
    "LIST-EXTENDED",
    "LIST-STATUS",
    "SPECIAL-USE",
    "XLIST",
    "CONDSTORE",
    "QRESYNC",
    "ESEARCH",
    "SEARCHRES",
    "SORT",
    "SORT=DISPLAY",
    "THREAD=ORDEREDSUBJECT",
    "THREAD=REFERENCES",
    "QUOTA",
    "QUOTA=RES-STORAGE",
    "QUOTA=RES-MESSAGE",
    "STATUS=SIZE",
)
CACHE_MAX_ENTRIES: Final = 256  # a bound, should an auth policy vary per client

_lists: dict[CapabilityKey, tuple[str, ...]] = {}
_codes: dict[CapabilityKey, bytes] = {}
_greetings: dict[tuple[CapabilityKey, str], bytes] = {}


def preauth_key(
    *, starttls: bool, plaintext_allowed: bool, mechanisms: tuple[str, ...]
) -> CapabilityKey:
    """The key before login."""
    return (False, starttls, plaintext_allowed, mechanisms)


def authed_key(*, append_limit_bytes: int, compress: bool) -> CapabilityKey:
    """The key after login (RFC 3501 7.1: the list may change at login)."""
    return (True, append_limit_bytes, compress)


def capability_list(key: CapabilityKey) -> tuple[str, ...]:
    """The capabilities for ``key``, in the order clients have always seen them."""
    found = _lists.get(key)
    if found is None:
        found = _remember(_lists, key, tuple(_build(key)))
    return found


def capability_code(key: CapabilityKey) -> bytes:
    """``CAPABILITY ...`` as a response code."""
    found = _codes.get(key)
    if found is None:
        found = _remember(_codes, key, r.code_capability(list(capability_list(key))))
    return found


def greeting(key: CapabilityKey, implementation: str) -> bytes:
    """``* OK [CAPABILITY ...] <implementation> ready.`` (RFC 3501 7.1.1)."""
    found = _greetings.get((key, implementation))
    if found is None:
        line = r.untagged_status(OK, f"{implementation} ready.", capability_code(key))
        found = _remember(_greetings, (key, implementation), line)
    return found


def _remember(cache: dict[Any, Any], key: Any, value: Any) -> Any:
    if len(cache) >= CACHE_MAX_ENTRIES:
        cache.clear()
    cache[key] = value
    return value


def _build(key: CapabilityKey) -> list[str]:
    caps = list(BASE)
    if not key[0]:
        _authed, starttls, plaintext_allowed, mechanisms = key
        if starttls:
            caps.append("STARTTLS")
        if not plaintext_allowed:
            # RFC 3501 6.2.3: LOGIN is refused, so say so before the client tries.
            caps.append("LOGINDISABLED")
        caps.extend("AUTH=" + m for m in mechanisms)
        return caps
    _authed, append_limit_bytes, compress = key
    caps.extend(AFTER_LOGIN)
    if append_limit_bytes:
        caps.append(f"APPENDLIMIT={append_limit_bytes}")
    if compress:
        caps.append("COMPRESS=DEFLATE")
    return caps
