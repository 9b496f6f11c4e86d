"""The TRANSACTION state: one user's INBOX as a fixed, numbered snapshot.

RFC 1939 numbers the messages of a maildrop from 1 at login and those numbers
never change during the session, so the snapshot taken at login is the
session's whole view: mail delivered later waits for the next session (no
cached "empty" answer ever hides it: every login syncs with the disk). DELE
only marks; the marks are carried out in UPDATE (QUIT) and nowhere else, so a
dropped connection deletes nothing. The exclusive lock (RFC 1939 section 8)
keeps a second POP3 session out for as long as this one lives.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure

from mailsuite.errors import ErrorKind, MailError
from mailsuite.protocols.pop3 import commands as c
from mailsuite.protocols.pop3.response import Response
from mailsuite.protocols.pop3.stream import MessageStream
from mailsuite.protocols.pop3.uidl import UidlFormat
from mailsuite.protocols.pop3.wire import MultiLine, Status
from mailsuite.store.api import DELETED, INBOX, SEEN, FlagMode, Mailbox, MailboxSnapshot

__all__ = ["Maildrop"]

RunBlocking = Callable[..., "Deferred[Any]"]


def _open_blocking(avatar: Any, log_prefix: str) -> tuple[Mailbox, Callable[[], None], Any]:
    """Open INBOX, take the POP3 lock and snapshot it, all in one thread hop."""
    store = avatar.open_store()
    mailbox = store.open_mailbox(INBOX)
    try:
        release = mailbox.acquire_exclusive("pop3")
    except BaseException:
        mailbox.close()
        raise
    if release is None:
        mailbox.close()
        raise MailError(
            ErrorKind.IN_USE,
            "Mailbox is locked by another POP3 session.",
            f"{log_prefix}: INBOX of {store.root} is locked by another POP3 session",
        )
    try:
        snapshot = mailbox.snapshot()
    except BaseException:
        release()
        mailbox.close()
        raise
    return mailbox, release, snapshot


class Maildrop:
    """A logged-in user's maildrop; built by :meth:`open`, ended by :meth:`close`."""

    log = Logger()

    def __init__(
        self,
        mailbox: Mailbox,
        release: Callable[[], None],
        snapshot: MailboxSnapshot,
        *,
        run_blocking: RunBlocking,
        uidl_format: UidlFormat,
        retr_marks_seen: bool,
        log_prefix: str,
    ) -> None:
        self._mailbox = mailbox
        self._release: Callable[[], None] | None = release
        self._snapshot = snapshot
        self._messages = snapshot.messages
        self._run = run_blocking
        self._uidl_format = uidl_format
        self._retr_marks_seen = retr_marks_seen
        self._prefix = log_prefix
        self._deleted: set[int] = set()  # message numbers marked by DELE
        self._seen: set[int] = set()  # UIDs fully sent by RETR
        self._uidls: list[str] | None = None
        self._counts = {"top": 0, "top_bytes": 0, "retr": 0, "retr_bytes": 0}
        self.total_size = sum(m.rfc822_size for m in self._messages)

    @classmethod
    async def open(
        cls,
        avatar: Any,
        *,
        run_blocking: RunBlocking,
        uidl_format: UidlFormat,
        retr_marks_seen: bool,
        log_prefix: str,
    ) -> Maildrop:
        """Open the avatar's INBOX as a maildrop.

        Raises:
            MailError: IN_USE when another POP3 session holds it; whatever the
                store raises when it cannot be opened.
        """
        mailbox, release, snapshot = await run_blocking(_open_blocking, avatar, log_prefix)
        return cls(
            mailbox,
            release,
            snapshot,
            run_blocking=run_blocking,
            uidl_format=uidl_format,
            retr_marks_seen=retr_marks_seen,
            log_prefix=log_prefix,
        )

    @property
    def count(self) -> int:
        return len(self._messages)

    # -- commands -------------------------------------------------------------

    async def handle(self, cmd: c.Command) -> Response:
        """Answer a TRANSACTION-state command."""
        match cmd:
            case c.Stat():
                count, size = self._live_totals()
                return Response(Status(True, f"{count} {size}"))
            case c.List(msg=None):
                count, size = self._live_totals()
                lines = tuple(
                    b"%d %d" % (n, m.rfc822_size)
                    for n, m in enumerate(self._messages, 1)
                    if n not in self._deleted
                )
                return Response(MultiLine(Status(True, f"{count} messages ({size} octets)"), lines))
            case c.List(msg=int(n)):
                error = self._check(n)
                if error:
                    return Response(Status(False, error))
                return Response(Status(True, f"{n} {self._messages[n - 1].rfc822_size}"))
            case c.Uidl(msg=None):
                uidls = self._all_uidls()
                lines = tuple(
                    f"{n} {uidls[n - 1]}".encode()
                    for n in range(1, len(self._messages) + 1)
                    if n not in self._deleted
                )
                return Response(MultiLine(Status(True, "Unique-ID listing follows"), lines))
            case c.Uidl(msg=int(n)):
                error = self._check(n)
                if error:
                    return Response(Status(False, error))
                return Response(Status(True, f"{n} {self._all_uidls()[n - 1]}"))
            case c.Retr(msg=n):
                return await self._retrieve(n, None)
            case c.Top(msg=n, lines=lines_wanted):
                return await self._retrieve(n, lines_wanted)
            case c.Dele(msg=n):
                error = self._check(n)
                if error:
                    return Response(Status(False, error))
                self._deleted.add(n)
                return Response(Status(True, f"Message {n} marked to be deleted."))
            case c.Rset():
                self._deleted.clear()
                count, size = self._live_totals()
                return Response(Status(True, f"Maildrop has {count} messages ({size} octets)."))
            case c.Noop():
                return Response(Status(True, ""))
        raise AssertionError(f"unhandled TRANSACTION command {cmd!r}")

    def _check(self, n: int) -> str | None:
        """Why message number ``n`` cannot be used, or None (RFC 1939 section 5)."""
        if n < 1 or n > len(self._messages):
            return f"There is no message {n}."
        if n in self._deleted:
            return f"Message {n} is already deleted."
        return None

    def _live_totals(self) -> tuple[int, int]:
        count = size = 0
        for n, m in enumerate(self._messages, 1):
            if n not in self._deleted:
                count += 1
                size += m.rfc822_size
        return count, size

    def _all_uidls(self) -> list[str]:
        if self._uidls is None:
            fmt, validity = self._uidl_format, self._snapshot.uidvalidity
            self._uidls = [fmt.render(m.uid, validity, m.filename) for m in self._messages]
        return self._uidls

    async def _retrieve(self, n: int, top_lines: int | None) -> Response:
        error = self._check(n)
        if error:
            return Response(Status(False, error))
        record = self._messages[n - 1]

        def open_stream() -> MessageStream:
            stream = MessageStream(self._mailbox.open_message(record.uid), top_lines)
            stream.prefetch()
            return stream

        try:
            stream = await self._run(open_stream)
        except MailError as e:
            if e.kind in (ErrorKind.EXPUNGED, ErrorKind.NOT_FOUND):
                self.log.info(
                    "{prefix}: message {n} (UID {uid}) was expunged by another session",
                    prefix=self._prefix,
                    n=n,
                    uid=record.uid,
                )
                return Response(Status(False, f"Message {n} was removed by another session."))
            raise

        def streamed() -> None:
            if top_lines is None:
                self._counts["retr"] += 1
                self._counts["retr_bytes"] += stream.body_bytes
                if stream.body_bytes != record.rfc822_size:
                    # LIST promised a size RETR did not keep: the index is stale.
                    self.log.warn(
                        "{prefix}: UID {uid}: sent {sent} octets but the index says {size}",
                        prefix=self._prefix,
                        uid=record.uid,
                        sent=stream.body_bytes,
                        size=record.rfc822_size,
                    )
                if self._retr_marks_seen and SEEN not in record.flags:
                    self._seen.add(record.uid)
            else:
                self._counts["top"] += 1
                self._counts["top_bytes"] += stream.body_bytes

        if top_lines is None:
            status = Status(True, f"{record.rfc822_size} octets")
        else:
            status = Status(True, "Top of message follows")
        return Response(status, stream=stream, on_streamed=streamed)

    # -- UPDATE ---------------------------------------------------------------

    def _close_blocking(self, update: bool) -> list[tuple[str, int, Failure]]:
        """Apply DELE (when ``update``) and \\Seen, release; returns what failed.

        Failures are handed back rather than logged here: this runs in the
        thread pool and log events belong on the reactor thread.
        """
        failed: list[tuple[str, int, Failure]] = []
        mailbox = self._mailbox
        deleted_uids = sorted(self._messages[n - 1].uid for n in self._deleted) if update else []
        try:
            if deleted_uids:
                try:
                    # RFC 1939 section 6: remove exactly the marked messages.
                    mailbox.set_flags(deleted_uids, [DELETED], FlagMode.ADD)
                    mailbox.expunge(deleted_uids)
                except Exception:
                    failed.append(("removing", len(deleted_uids), Failure()))
            seen = sorted(self._seen.difference(deleted_uids))
            if seen:
                try:
                    mailbox.set_flags(seen, [SEEN], FlagMode.ADD)
                except Exception:
                    failed.append(("setting \\Seen on", len(seen), Failure()))
        finally:
            release, self._release = self._release, None
            try:
                if release is not None:
                    release()
            finally:
                mailbox.close()
        return failed

    async def close(self, update: bool) -> bool:
        """End the session: carry out DELE marks when ``update``; True on success.

        \\Seen from RETR is kept either way (the client did receive the text).
        """
        if self._release is None:
            return True
        failed = await self._run(self._close_blocking, update)
        for what, count, failure in failed:
            if failure.check(MailError):
                error = failure.value
                self.log.error(
                    "{prefix}: UPDATE: {what} {count} messages failed: {detail}",
                    prefix=self._prefix,
                    what=what,
                    count=count,
                    detail=getattr(error, "detail", str(error)),
                )
            else:
                self.log.failure(
                    "{prefix}: UPDATE: {what} {count} messages failed",
                    failure,
                    prefix=self._prefix,
                    what=what,
                    count=count,
                )
        return not any(what == "removing" for what, _, _ in failed)

    def stats(self) -> str:
        """Dovecot's default ``pop3_logout_format`` figures."""
        deleted_size = sum(self._messages[n - 1].rfc822_size for n in self._deleted)
        k = self._counts
        return (
            f"top={k['top']}/{k['top_bytes']}, retr={k['retr']}/{k['retr_bytes']}, "
            f"del={len(self._deleted)}/{len(self._messages)}, size={self.total_size}"
            f"{'' if deleted_size == 0 else f', del_size={deleted_size}'}"
        )
