"""Vacation: whom a user has already answered (RFC 5230 section 4.2), and the answer itself.

The memory lives under ``[server] state_dir``/vacation, one directory per user
and one small file per (handle, sender) pair holding the time until which that
sender is not answered again. Files survive restarts, are shared by every
process delivering for the user (a per-user lock serialises check-and-set),
and a lost file costs at most one extra answer.
"""

from __future__ import annotations

import email.utils
import fcntl
import hashlib
import os
import time
from collections.abc import Callable
from email.message import EmailMessage
from email.policy import SMTP

__all__ = ["VacationMemory", "build_vacation_reply"]


PRUNE_INTERVAL_S = 24 * 3600.0


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()


class VacationMemory:
    """Remembers vacation answers per user, sender and handle.

    Args:
        state_dir: ``[server] state_dir``; the memory goes in its ``vacation/``.
        clock: POSIX time source (injected for tests).
    """

    def __init__(self, state_dir: str, clock: Callable[[], float] = time.time) -> None:
        self._root = os.path.join(state_dir, "vacation")
        self._clock = clock

    def _user_dir(self, user: str) -> str:
        d = _digest(user)
        return os.path.join(self._root, d[:2], d)

    def check_and_record(self, user: str, handle: str, sender: str, days_s: int) -> bool:
        """True when ``sender`` should be answered now; then remembers it for ``days_s``.

        RFC 5230 section 4.2: the same sender is answered at most once per period
        per handle; addresses compare case-insensitively.
        """
        udir = self._user_dir(user)
        os.makedirs(udir, exist_ok=True)
        path = os.path.join(udir, _digest(handle, sender.lower()))
        now = self._clock()
        lock_fd = os.open(os.path.join(udir, ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
            try:
                with open(path, encoding="ascii") as f:
                    until = float(f.read().strip() or "0")
                if until > now:
                    return False
            except (FileNotFoundError, ValueError):
                pass  # never answered, or a damaged entry: answer and rewrite
            tmp = f"{path}.{os.getpid()}.tmp"
            with open(tmp, "w", encoding="ascii") as f:
                f.write(f"{now + days_s:.0f}\n")
            os.replace(tmp, path)
            self._prune(udir, now)
            return True
        finally:
            os.close(lock_fd)

    def _prune(self, udir: str, now: float) -> None:
        """Drop expired entries, at most once a day per user (under the user's lock).

        Without it a user on vacation for years would keep one file per sender forever.
        """
        stamp = os.path.join(udir, ".pruned")
        try:
            if now - os.stat(stamp).st_mtime < PRUNE_INTERVAL_S:
                return
        except FileNotFoundError:
            pass
        for name in os.listdir(udir):
            if name.startswith("."):
                continue
            path = os.path.join(udir, name)
            try:
                with open(path, encoding="ascii") as f:
                    until = float(f.read().strip() or "0")
                if until <= now:
                    os.unlink(path)
            except (OSError, ValueError):
                continue
        with open(stamp, "w", encoding="ascii"):
            pass
        os.utime(stamp, (now, now))

    def forget(self, user: str) -> None:
        """Drop every entry of ``user`` (e.g. when the vacation script changes)."""
        udir = self._user_dir(user)
        try:
            names = os.listdir(udir)
        except FileNotFoundError:
            return
        for name in names:
            if not name.startswith("."):
                try:
                    os.unlink(os.path.join(udir, name))
                except FileNotFoundError:
                    pass


def build_vacation_reply(
    *,
    from_addr: str,
    to_addr: str,
    subject: str,
    body: str,
    mime: bool,
    in_reply_to: str,
    references: str,
    hostname: str,
) -> bytes:
    """The auto-reply as CRLF bytes (RFC 5230 section 5, RFC 3834 section 3).

    Args:
        from_addr: our user's address (or the script's :from).
        to_addr: whom we answer (the envelope sender).
        subject: the reply subject, already computed by Sieve.
        body: plain text, or with ``mime`` a MIME entity (headers, blank line, body).
        in_reply_to: the original Message-ID ("" when it had none).
        references: the original References ("" when none).
        hostname: for our Message-ID.
    """
    msg = EmailMessage(policy=SMTP)
    msg["From"] = from_addr
    msg["To"] = to_addr
    msg["Subject"] = subject
    msg["Date"] = email.utils.formatdate(localtime=False)
    msg["Message-ID"] = email.utils.make_msgid(domain=hostname)
    # RFC 3834 section 5.1: the answer declares itself, so other responders stay quiet.
    msg["Auto-Submitted"] = "auto-replied (vacation)"
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = f"{references} {in_reply_to}".strip()
    if not mime:
        msg.set_content(body, subtype="plain", charset="utf-8", cte="quoted-printable")
        return msg.as_bytes()
    # RFC 5230 section 4.4 (:mime): the reason is a whole MIME entity; its own
    # headers become the body part's headers.
    head = msg.as_bytes(policy=SMTP).rstrip(b"\r\n") + b"\r\nMIME-Version: 1.0\r\n"
    entity = body.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")
    if not entity.startswith(b"\r\n") and b"\r\n\r\n" not in entity:
        entity = b"\r\n" + entity  # no header block at all: plain body
    return head + entity
