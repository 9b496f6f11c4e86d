"""Which Sieve scripts run for a user, compiled through the shared cache.

Order (as Pigeonhole's ``sieve_before`` / ``sieve`` / ``sieve_after``): the
global ``[sieve] before`` script, the user's script, the global ``after``
script. The user's script path is the userdb field ``sieve`` when present,
else ``[sieve] script`` with ``%h``/``%u``/``%n``/``%d`` expanded. A missing
file is no script; a script that does not compile is logged with its path
and line and skipped, so the message is still kept.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from twisted.logger import Logger

from mailsuite.auth.expand import expand, user_vars
from mailsuite.auth.interfaces import UserRecord
from mailsuite.config.schema import SieveSettings

__all__ = ["ScriptSource"]

log = Logger()


class ScriptSource:
    """Resolves and loads the scripts for each user.

    Args:
        settings: the ``[sieve]`` section.
        resolve: turns a config-relative path into an absolute one.
        cache: a :class:`mailsuite.sieve.cache.ScriptCache` (a new one when None).
    """

    def __init__(
        self,
        settings: SieveSettings,
        resolve: Callable[[str], str] = os.path.abspath,
        cache: Any = None,
    ) -> None:
        if cache is None:
            from mailsuite.sieve.cache import ScriptCache

            cache = ScriptCache()
        self._settings = settings
        self._resolve = resolve
        self._cache = cache

    def user_script_path(self, record: UserRecord) -> str:
        """The user's script path, or "" when none can be named."""
        template = record.fields.get("sieve") or self._settings.script
        if not template or ("%h" in template and not record.home):
            return ""
        path = expand(template, user_vars(record.username, record.home))
        return path if os.path.isabs(path) else self._resolve(path)

    def paths(self, record: UserRecord) -> list[str]:
        out = []
        if self._settings.before:
            out.append(self._resolve(self._settings.before))
        user = self.user_script_path(record)
        if user:
            out.append(user)
        if self._settings.after:
            out.append(self._resolve(self._settings.after))
        return out

    def __call__(self, record: UserRecord) -> list[tuple[str, Any]]:
        """The compiled scripts to run for ``record`` (blocking: stats and reads files)."""
        if not self._settings.enabled:
            return []
        from mailsuite.sieve import SieveError

        scripts: list[tuple[str, Any]] = []
        for path in self.paths(record):
            try:
                script = self._cache.get(path)
            except SieveError as e:
                # The compiler's own text: path:line: message, as `sieve check` prints it.
                log.error(
                    "sieve({user}): script does not compile, skipped (mail is kept): {err}",
                    user=record.username,
                    err=str(e),
                )
                continue
            if script is not None:
                scripts.append((path, script))
        return scripts
