"""Per-user quota usage in the Maildir++ ``maildirsize`` file (Dovecot's format).

Line one holds the limits (``<bytes>S,<count>C``), each further line a
change ``<bytes> <count>`` (negative on removal), appended with a single
O_APPEND write so concurrent writers never interleave. The usage is the sum
of all lines after the first. As the Maildir++ spec says, when the file grows
past 5120 bytes, is missing or cannot be read, it is recalculated from the
files (the ``,S=`` size in the name or ``stat``) and replaced atomically.
"""

from __future__ import annotations

import os
import re

from mailsuite.store.maildir.filenames import parse_name
from mailsuite.store.maildir.locks import atomic_write

__all__ = ["MaildirSize", "QUOTA_FILE"]

QUOTA_FILE = "maildirsize"
_RECALC_AFTER_BYTES = 5120  # Maildir++ spec
_LIMITS = re.compile(r"^(?:(\d+)S)?,?(?:(\d+)C)?$")


def _dir_usage(path: str) -> tuple[int, int]:
    size = count = 0
    for sub in ("new", "cur"):
        try:
            it = os.scandir(os.path.join(path, sub))
        except FileNotFoundError:
            continue
        with it:
            for e in it:
                if e.name.startswith(".") or not e.is_file():
                    continue
                s = parse_name(e.name).size
                if s is None:
                    try:
                        s = e.stat().st_size
                    except FileNotFoundError:
                        continue
                size += s
                count += 1
    return size, count


class MaildirSize:
    """The quota file of one user's Maildir++ root."""

    def __init__(self, root: str, storage_limit: int = 0, message_limit: int = 0) -> None:
        self.root = root
        self.path = os.path.join(root, QUOTA_FILE)
        self.storage_limit = storage_limit
        self.message_limit = message_limit

    def _limits_line(self) -> str:
        parts = []
        if self.storage_limit:
            parts.append(f"{self.storage_limit}S")
        if self.message_limit:
            parts.append(f"{self.message_limit}C")
        return ",".join(parts) or "0S"

    def usage(self) -> tuple[int, int]:
        """(bytes, messages) in use, recalculating when the file is missing or too long."""
        try:
            with open(self.path, "rb") as f:
                data = f.read(_RECALC_AFTER_BYTES + 1)
        except FileNotFoundError:
            return self.recalculate()
        if len(data) > _RECALC_AFTER_BYTES:
            return self.recalculate()
        lines = data.decode("ascii", "replace").split("\n")
        size = count = 0
        for line in lines[1:]:
            if not line.strip():
                continue
            parts = line.split()
            try:
                size += int(parts[0])
                count += int(parts[1]) if len(parts) > 1 else 0
            except ValueError:
                return self.recalculate()
        if not data.endswith(b"\n") or size < 0 or count < 0:
            # A torn last line or impossible totals: trust the files instead.
            return self.recalculate()
        return size, count

    def add(self, size: int, count: int) -> None:
        """Record a change; one short O_APPEND write is atomic against other writers."""
        if not size and not count:
            return
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        except FileNotFoundError:
            self.recalculate()  # counts the change already on disk
            return
        try:
            os.write(fd, f"{size} {count}\n".encode("ascii"))
            too_long = os.fstat(fd).st_size > _RECALC_AFTER_BYTES
        finally:
            os.close(fd)
        if too_long:
            self.recalculate()  # keep the file short even when nobody asks for the usage

    def recalculate(self) -> tuple[int, int]:
        """Sum every message file of every mailbox and replace the file."""
        size, count = _dir_usage(self.root)
        try:
            entries = list(os.scandir(self.root))
        except FileNotFoundError:
            entries = []
        for e in entries:
            # "..name" directories are mailboxes being created or deleted right now.
            if e.name.startswith(".") and not e.name.startswith("..") and e.is_dir():
                s, c = _dir_usage(e.path)
                size += s
                count += c
        atomic_write(self.path, f"{self._limits_line()}\n{size} {count}\n".encode("ascii"))
        return size, count
