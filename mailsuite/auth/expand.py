"""Dovecot-style ``%`` variables in mail locations, homes and queries.

``%u`` user, ``%n`` local part, ``%d`` domain, ``%h`` home, ``%%`` a percent
sign; a ``L``/``U`` modifier lowercases/uppercases (``%Lu``), and the long
forms ``%{user}``, ``%{username}``, ``%{domain}``, ``%{home}`` work too.
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["VARIABLE_RE", "expand", "substitute", "user_vars"]

# One variable: %[L|U](u|n|d|h|%) or %{name}.
VARIABLE_RE = re.compile(r"%(?:(?P<mod>[LU]?)(?P<short>[undh%])|\{(?P<long>[a-z_]+)\})")
_LONG = {"user": "u", "username": "n", "domain": "d", "home": "h"}


def user_vars(user: str, home: str = "") -> dict[str, str]:
    """The variables for one user name (``local@domain`` or just ``local``)."""
    local, _, domain = user.partition("@")
    return {"u": user, "n": local, "d": domain, "h": home}


def _resolve(m: re.Match[str], values: dict[str, str]) -> str:
    if m.group("short") == "%":
        return "%"
    key = m.group("short") or _LONG.get(m.group("long") or "", "")
    if not key:
        return m.group(0)  # unknown long variable: leave it for the admin to see
    value = values.get(key, "")
    mod = m.group("mod")
    return value.lower() if mod == "L" else value.upper() if mod == "U" else value


def expand(template: str, values: dict[str, str]) -> str:
    """Replace every variable in ``template`` with its value."""
    return VARIABLE_RE.sub(lambda m: _resolve(m, values), template)


def substitute(template: str, repl: Callable[[re.Match[str]], str]) -> str:
    """Run ``repl`` on each variable (used by the SQL parameteriser)."""
    return VARIABLE_RE.sub(repl, template)
