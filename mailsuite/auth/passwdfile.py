"""Dovecot's passwd-file, read once and re-read whenever it changes on disk.

Format (one user a line, ``#`` comments)::

    user:{SCHEME}hash:uid:gid:gecos:home:shell:extra_fields

``extra_fields`` is a space-separated ``key=value`` list; keys with a
``userdb_`` prefix are userdb fields, the rest passdb fields (Dovecot's rule).
Trailing fields may be missing. The file is stat()ed on each lookup and
re-parsed when its mtime, size or inode changes, so ``mailsuite pw`` plus an
editor is all an admin needs; a half-written file is never seen because
editors and ``mv`` replace it atomically, and a parse keeps the last good
table when the file vanishes.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field

from mailsuite.auth.base import AuthUnavailable

__all__ = ["PasswdFile", "PasswdLine", "parse_line"]


@dataclass(frozen=True)
class PasswdLine:
    user: str
    password: str
    uid: str = ""
    gid: str = ""
    gecos: str = ""
    home: str = ""
    shell: str = ""
    passdb_fields: dict[str, str] = field(default_factory=dict)
    userdb_fields: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"PasswdLine({self.user!r}, <password hidden>)"


def _split_extra(text: str) -> tuple[dict[str, str], dict[str, str]]:
    passdb: dict[str, str] = {}
    userdb: dict[str, str] = {}
    for item in text.split():
        key, _, value = item.partition("=")
        if key.startswith("userdb_"):
            userdb[key[len("userdb_") :]] = value
        elif key:
            passdb[key] = value
    return passdb, userdb


def parse_line(line: str) -> PasswdLine | None:
    """Parse one line; None for blank lines and comments."""
    line = line.rstrip("\r\n")
    if not line.strip() or line.lstrip().startswith("#"):
        return None
    # The extra fields (7th onwards) may contain ':' (e.g. a mail location).
    parts = line.split(":", 7)
    user = parts[0]
    if not user:
        return None
    parts += [""] * (8 - len(parts))
    passdb, userdb = _split_extra(parts[7])
    return PasswdLine(
        user,
        password=parts[1],
        uid=parts[2],
        gid=parts[3],
        gecos=parts[4],
        home=parts[5],
        shell=parts[6],
        passdb_fields=passdb,
        userdb_fields=userdb,
    )


class PasswdFile:
    """A passwd-file table that reloads itself when the file changes.

    Thread-safe: lookups run in the thread pool.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._users: dict[str, PasswdLine] = {}
        self.reloads = 0  # how many times the file was parsed (for tests and stats)

    def get(self, user: str) -> PasswdLine | None:
        """The line for ``user`` (exact match), re-reading the file first if it changed.

        Raises:
            AuthUnavailable: the file cannot be read (and was never read before).
        """
        self._refresh()
        return self._users.get(user)

    def _refresh(self) -> None:
        try:
            st = os.stat(self.path)
        except OSError as e:
            if self._stamp is None:
                raise AuthUnavailable(
                    f"passwd-file {self.path}: cannot stat: {e.strerror}"
                ) from None
            return  # keep serving the last good table while the file is being replaced
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        if stamp == self._stamp:
            return
        with self._lock:
            if stamp == self._stamp:
                return
            try:
                with open(self.path, encoding="utf-8", errors="surrogateescape") as f:
                    text = f.read()
            except OSError as e:
                if self._stamp is None:
                    raise AuthUnavailable(
                        f"passwd-file {self.path}: cannot read: {e.strerror}"
                    ) from None
                return
            users: dict[str, PasswdLine] = {}
            for line in text.splitlines():
                parsed = parse_line(line)
                if parsed is not None and parsed.user not in users:  # first line wins
                    users[parsed.user] = parsed
            self._users = users
            self._stamp = stamp
            self.reloads += 1
