"""Compiled scripts, cached until their file changes.

Every delivery asks :meth:`ScriptCache.get` for the recipient's script; the
file is compiled once and served from memory while its identity and
timestamps (device, inode, size, mtime and ctime in nanoseconds) stay the
same. Editing the file in place, replacing it by rename, or deleting it is
seen at the next delivery. A broken script is remembered as broken too, so a
typo costs one compile, not one per message.

This is the one module of the package that touches the filesystem.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Final

from mailsuite.sieve.ast import Script
from mailsuite.sieve.compiler import compile_script
from mailsuite.sieve.errors import SieveError
from mailsuite.sieve.lexer import MAX_SCRIPT_CHARS

__all__ = ["DEFAULT_MAX_ENTRIES", "ScriptCache", "decode_script"]

# One entry per user script plus the global ones; Dovecot-class sites have
# thousands of users, and an entry is small.
DEFAULT_MAX_ENTRIES: Final = 10_000

_Key = tuple[int, int, int, int, int]


def _key(st: os.stat_result) -> _Key:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


@dataclass(frozen=True, slots=True)
class _Entry:
    key: _Key
    script: Script | None
    error: SieveError | None


class ScriptCache:
    """A thread-safe, size-bounded cache of compiled scripts by path.

    Args:
        max_entries: scripts kept; the least recently used goes first.
    """

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self._max = max_entries
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self.compiles = 0  # how many times a file was compiled (for tests and stats)

    def get(self, path: str) -> Script | None:
        """The compiled script at ``path``; None when there is no such file.

        Raises:
            SieveError: the script does not compile or cannot be read; the
                error names the path and line.
        """
        try:
            st = os.stat(path)
        except FileNotFoundError:
            self._forget(path)
            return None
        except OSError as e:
            raise SieveError(f"cannot stat script: {e.strerror}", path, 0) from None
        with self._lock:
            entry = self._entries.get(path)
            if entry is not None and entry.key == _key(st):
                self._entries.move_to_end(path)
                return self._answer(entry)
        entry = self._load(path)
        if entry is None:
            return None
        with self._lock:
            self._entries[path] = entry
            self._entries.move_to_end(path)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
        return self._answer(entry)

    def clear(self) -> None:
        """Forget every script (e.g. on a reload)."""
        with self._lock:
            self._entries.clear()

    def _forget(self, path: str) -> None:
        with self._lock:
            self._entries.pop(path, None)

    @staticmethod
    def _answer(entry: _Entry) -> Script:
        if entry.error is not None:
            raise entry.error
        assert entry.script is not None
        return entry.script

    def _load(self, path: str) -> _Entry | None:
        try:
            with open(path, "rb") as f:
                # The key comes from the open file, so the text and the key
                # describe the same file even if it is replaced meanwhile.
                key = _key(os.fstat(f.fileno()))
                data = f.read(MAX_SCRIPT_CHARS * 4 + 1)
        except FileNotFoundError:
            self._forget(path)
            return None
        except IsADirectoryError:
            raise SieveError("is a directory, not a script", path, 0) from None
        except OSError as e:
            raise SieveError(f"cannot read script: {e.strerror}", path, 0) from None
        self.compiles += 1
        if len(data) > MAX_SCRIPT_CHARS * 4:
            too_big = SieveError(f"script is larger than {MAX_SCRIPT_CHARS * 4} bytes", path, 0)
            return _Entry(key, None, too_big)
        try:
            return _Entry(key, compile_script(decode_script(data, path), path), None)
        except SieveError as e:
            return _Entry(key, None, e)


def decode_script(data: bytes, path: str) -> str:
    """Decode script bytes as UTF-8 (RFC 5228 1: scripts are UTF-8), dropping a BOM.

    Raises:
        SieveError: the bytes are not UTF-8, naming the line.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise SieveError("script is not valid UTF-8", path, line) from None
