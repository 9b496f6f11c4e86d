"""IDLE (RFC 2177): push mailbox changes as they happen until the client says DONE.

While idling, the session listens on the ChangeHub for its mailbox (changes
by this process arrive from the store, changes by other processes through
inotify); each wake-up takes a fresh snapshot and writes what changed.
Expunges may be sent: no command that forbids them is running (RFC 3501
7.4.1).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from twisted.internet.defer import Deferred

from .. import commands as c
from ..selected import UidValidityChanged
from ..session import Mode, Outcome
from ..wire import responses as r
from ..wire.responses import BAD, OK

if TYPE_CHECKING:
    from ..session import ImapSession

__all__ = ["do_idle", "idle_line"]


async def do_idle(session: ImapSession, cmd: c.Idle) -> Outcome:
    session.mode = Mode.IDLE
    session.idle_tag = cmd.tag
    session.out.write(r.continuation("idling"))
    if session.selected is not None:
        # Whatever changed since the last command; later changes come from the
        # session's ChangeHub subscription (ImapSession._changed).
        changed(session)
    return Outcome()


def changed(session: ImapSession) -> None:
    """ChangeHub callback (reactor thread): sync now, or once more after the running sync."""
    if session.mode is not Mode.IDLE:
        return
    if session.idle_sync is not None:
        session.idle_dirty = True
        return
    d = Deferred.fromCoroutine(_idle_sync(session))
    if not d.called:  # finished at once (inline run_blocking): nothing to wait for
        session.idle_sync = d


async def _idle_sync(session: ImapSession) -> None:
    try:
        while True:
            session.idle_dirty = False
            try:
                await session.sync(allow_expunge=True)
            except UidValidityChanged as e:
                session.log.warn("{prefix}: {why}", prefix=session.log_prefix, why=str(e))
                return  # the next command ends the session with BYE
            except Exception:
                session.log.failure("{prefix}: IDLE update failed", prefix=session.log_prefix)
                return
            if not (session.idle_dirty and session.mode is Mode.IDLE):
                return
    finally:
        session.idle_sync = None


async def idle_line(session: ImapSession, line: bytes) -> Outcome:
    """The line that ends IDLE: DONE, or anything else (answered BAD, RFC 2177 3)."""
    tag = session.idle_tag
    running = session.idle_sync
    session.stop_idle()
    if running is not None:
        done: Deferred[None] = Deferred()
        running.addBoth(lambda _: done.callback(None))
        await done
    if not c.is_idle_done(line):
        return Outcome(r.tagged(tag, BAD, "Expected DONE to end IDLE."))
    if session.selected is not None:
        await session.sync(allow_expunge=True)
    return Outcome(r.tagged(tag, OK, "Idle completed."))
