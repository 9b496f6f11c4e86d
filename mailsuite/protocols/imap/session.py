"""The IMAP state machine (RFC 3501 section 3), with no transport.

The server feeds each framed command (``CommandBytes.data``) to
:meth:`ImapSession.handle`; the session parses it, checks the state in one
place, runs the command's handler (``handlers/``) and returns an
:class:`Outcome` (the tagged line, and whether to start TLS or close).
Untagged responses go to the :class:`Output` the server gave it as they are
made, so a FETCH of a large mailbox never sits in memory whole; large bodies
are handed over as :class:`BodySource` windows the server streams.

Lines that are not commands (a SASL response during AUTHENTICATE, DONE
during IDLE) also come through :meth:`handle`; the session knows which
it is waiting for. Every blocking store call goes through ``run_blocking``.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Awaitable, Callable, Generator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol

from twisted.internet.defer import Deferred
from twisted.logger import Logger

from mailsuite.auth.interfaces import AuthService, AuthSuccess, LoginContext, SaslExchange
from mailsuite.errors import ErrorKind, MailError
from mailsuite.limits import IMAP_MAX_BAD_COMMANDS, IMAP_MAX_PREAUTH_COMMANDS
from mailsuite.message import crlf_chunks
from mailsuite.store.api import Mailbox, MailboxSnapshot, MailStore

from . import capabilities as caps
from . import commands as c
from .commands import BadCommand, Command, State, parse_command
from .selected import SelectedView, UidValidityChanged, expunge_allowed_during
from .wire import responses as r
from .wire.responses import BAD, BYE, NO, Code

if TYPE_CHECKING:
    from .handlers import Handler
    from .wire.framer import LiteralSink

__all__ = [
    "BodySource",
    "ImapSession",
    "Mode",
    "Outcome",
    "Output",
    "Selected",
    "SessionConfig",
    "mail_error_code",
]

RunBlocking = Callable[..., "Deferred[Any]"]
INTERNAL_ERROR = "Internal error occurred. Refer to server log."
STREAM_CHUNK_BYTES = 64 * 1024

# RFC 5530 codes for the store's neutral error kinds (STYLE.md habit 4).
_MAIL_CODES: dict[ErrorKind, bytes] = {
    ErrorKind.TEMP: Code.UNAVAILABLE,
    ErrorKind.NOT_POSSIBLE: Code.CANNOT,
    ErrorKind.PARAMS: Code.CANNOT,
    ErrorKind.PERM: Code.NOPERM,
    ErrorKind.NO_QUOTA: Code.OVERQUOTA,
    ErrorKind.NOT_FOUND: Code.NONEXISTENT,
    ErrorKind.EXISTS: Code.ALREADYEXISTS,
    ErrorKind.EXPUNGED: Code.EXPUNGEISSUED,
    ErrorKind.IN_USE: Code.INUSE,
    ErrorKind.LIMIT: Code.LIMIT,
    ErrorKind.CORRUPTED: Code.CORRUPTION,
}


# Commands after which the session does not look for changes: SELECT has just
# looked, LOGOUT is leaving.
_SKIP_SYNC: Final = (c.Select, c.Logout)
# Commands that change nothing in the selected mailbox themselves (FETCH may set
# \Seen, but it reports that in its own responses).
_READERS: Final = (
    c.Fetch,
    c.Search,
    c.Status,
    c.List,
    c.Lsub,
    c.Xlist,
    c.Capability,
    c.Id,
    c.Namespace,
    c.Enable,
    c.Sort,
    c.Thread,
    c.GetQuota,
    c.GetQuotaRoot,
)


def mail_error_code(e: MailError) -> bytes | None:
    """The RFC 5530 response code for a store error."""
    return _MAIL_CODES.get(e.kind)


class Mode(enum.Enum):
    """What the next client line is: a command, a SASL response, or IDLE's DONE."""

    COMMAND = "command"
    SASL = "sasl"
    IDLE = "idle"


@dataclass(frozen=True, slots=True)
class BodySource:
    """A window of a message's CRLF form, streamed by the server as literal octets.

    The literal header ``{length}`` was already written; the server must
    write exactly ``length`` octets (RFC 3501 4.3), read in the thread pool.
    """

    mailbox: Mailbox
    uid: int
    start: int
    length: int

    def chunks(self) -> Generator[bytes, None, None]:
        """Blocking: the window's octets in chunks, padded if the file shrank under us.

        Padding keeps the literal's promised length, so the connection stays
        in sync; it can only happen if a message file changed after delivery.
        """
        left = self.length
        skip = self.start
        try:
            with self.mailbox.open_message(self.uid) as f:
                for chunk in crlf_chunks(f, STREAM_CHUNK_BYTES):
                    if skip:
                        if len(chunk) <= skip:
                            skip -= len(chunk)
                            continue
                        chunk = chunk[skip:]
                        skip = 0
                    piece = chunk[:left]
                    left -= len(piece)
                    yield piece
                    if not left:
                        return
        except MailError:
            pass  # expunged meanwhile: pad below
        if left:
            yield b" " * left


class Output(Protocol):
    """Where untagged responses go (the server's transport, or a list in tests)."""

    def write(self, data: bytes) -> None: ...

    def stream(self, source: BodySource) -> Awaitable[None]:
        """Write ``source.length`` octets of the message (after its literal header)."""
        ...

    def drain(self) -> Awaitable[None]:
        """Wait until the client has taken enough of what was written (backpressure)."""
        ...


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a command ended: the tagged line (empty when none yet) and what follows."""

    line: bytes = b""
    close: bool = False
    start_tls: bool = False
    #: COMPRESS DEFLATE: compress both directions from the byte after ``line`` (RFC 4978 3).
    start_compress: bool = False


@dataclass(frozen=True)
class SessionConfig:
    """What the session needs from the settings and the listener."""

    tls_available: bool = False  # STARTTLS offered (a TLS context exists, not yet secured)
    tls_active: bool = False  # the connection is already TLS (IMAPS)
    implementation: str = "mailsuite"
    version: str = "0.1.0"
    hostname: str = "localhost"
    #: The largest APPEND literal accepted (RFC 7889 APPENDLIMIT); 0: not advertised.
    append_limit_bytes: int = 0
    #: COMPRESS=DEFLATE offered (the server can install the compressing transport).
    compress_available: bool = False


@dataclass
class Selected:
    """The selected mailbox: the store handle and the client's view of it."""

    mailbox: Mailbox
    view: SelectedView
    readonly: bool


class ImapSession:
    """One IMAP connection's state, from greeting to LOGOUT.

    Args:
        auth: the auth service (LOGIN, AUTHENTICATE).
        context: where the connection comes from (``secured`` is updated by
            :meth:`tls_started`).
        run_blocking: runs a blocking callable in the thread pool (inline in tests).
        out: where untagged responses are written.
        config: protocol settings.
        changes: the ChangeHub (``subscribe(key, paths, callback)``) for IDLE; None: IDLE
            reports changes only when the client ends it.
    """

    log = Logger()

    def __init__(
        self,
        auth: AuthService,
        context: LoginContext,
        run_blocking: RunBlocking,
        out: Output,
        config: SessionConfig | None = None,
        changes: Any = None,
    ) -> None:
        self.auth = auth
        self.context = context
        self.run = run_blocking
        self.out = out
        self.config = config or SessionConfig()
        self.changes = changes
        self.state = State.NOT_AUTHENTICATED
        self.mode = Mode.COMMAND
        self.tls_active = self.config.tls_active
        self.username: str | None = None
        self.store: MailStore | None = None
        self.selected: Selected | None = None
        self.enabled: set[str] = set()
        self.compressed = False  # COMPRESS DEFLATE is active (RFC 4978)
        self.client_id: dict[str, str | None] = {}
        self.current: Command | None = None  # the command running now (RFC 3501 7.4.1)
        # AUTHENTICATE in progress: the exchange and the command's tag.
        self.sasl: SaslExchange | None = None
        self.sasl_tag = b""
        # IDLE in progress: its tag and the running sync.
        self.idle_tag = b""
        self.idle_sync: Deferred[None] | None = None
        self.idle_dirty = False
        # The selected mailbox's ChangeHub subscription, and whether it fired since
        # the last sync; a handler's own snapshot taken in its thread hop.
        self._unwatch: Callable[[], None] | None = None
        self.dirty = True
        self.fresh: MailboxSnapshot | None = None
        self._logout: Callable[[], object] | None = None
        #: Set by the server: "in=N out=M" for the log line at the end, like Dovecot's.
        self.traffic: Callable[[], str] | None = None
        self._bad_commands = 0
        self._preauth_commands = 0
        self._finished = False

    # -- what the server calls ------------------------------------------------

    @property
    def log_prefix(self) -> str:
        return f"imap({self.username or ''})<{self.context.session_id}>"

    def greeting(self) -> bytes:
        """``* OK [CAPABILITY ...] mailsuite ready.`` (RFC 3501 7.1.1), built once per variant."""
        return caps.greeting(self._capability_key(), self.config.implementation)

    def capability_code(self) -> bytes:
        """``CAPABILITY ...`` for a response code (the LOGIN OK, RFC 3501 7.1), cached."""
        return caps.capability_code(self._capability_key())

    def capabilities(self) -> list[str]:
        """The capabilities for the current state (RFC 3501 7.2.1: they may change at login)."""
        return list(caps.capability_list(self._capability_key()))

    def _capability_key(self) -> caps.CapabilityKey:
        """Everything the capability list depends on now (the cache key)."""
        if self.state is State.NOT_AUTHENTICATED:
            return caps.preauth_key(
                starttls=self.config.tls_available and not self.tls_active,
                plaintext_allowed=self.auth.plaintext_allowed(self.context),
                mechanisms=tuple(self.auth.mechanisms(self.context)),
            )
        return caps.authed_key(
            append_limit_bytes=self.config.append_limit_bytes,
            compress=self.config.compress_available and not self.compressed,
        )

    @property
    def condstore(self) -> bool:
        """CONDSTORE is enabled on this connection (RFC 7162 3.1)."""
        return "CONDSTORE" in self.enabled

    @property
    def qresync(self) -> bool:
        """QRESYNC is enabled on this connection (RFC 7162 3.2.3)."""
        return "QRESYNC" in self.enabled

    @property
    def finished(self) -> bool:
        """Whether :meth:`disconnected` already ran (the client is gone or logged out)."""
        return self._finished

    @property
    def authenticated(self) -> bool:
        return self.state in (State.AUTHENTICATED, State.SELECTED)

    def tls_started(self) -> None:
        """The transport is now TLS (after STARTTLS): plaintext auth may be allowed now."""
        self.context = dataclasses.replace(self.context, secured=True)
        self.tls_active = True

    async def handle(
        self, data: bytes, spooled: Mapping[int, LiteralSink] | None = None
    ) -> Outcome:
        """Answer one framed line: a command, or the SASL/IDLE continuation awaited.

        ``spooled`` is the framer's ``CommandBytes.spooled`` (large APPEND
        messages on disk); the caller closes them once this returns.
        """
        if self.mode is Mode.SASL:
            from .handlers.connection import sasl_continue

            return await self._guarded(b"AUTHENTICATE", self.sasl_tag, sasl_continue(self, data))
        if self.mode is Mode.IDLE:
            from .handlers.idle import idle_line

            return await self._guarded(b"IDLE", self.idle_tag, idle_line(self, data))
        cmd = parse_command(data, spooled)
        if cmd is None:
            return Outcome()
        if not self.authenticated:
            self._preauth_commands += 1
            if self._preauth_commands > IMAP_MAX_PREAUTH_COMMANDS:
                self.log.info(
                    "{prefix}: too many commands before login from {ip}",
                    prefix=self.log_prefix,
                    ip=self.context.remote_ip,
                )
                return self.bye("Too many commands before login.")
        if isinstance(cmd, BadCommand):
            return self.bad_input(cmd.response(), cmd.status == BAD)
        # RFC 3501 section 3: the one place the state is checked (STYLE.md habit 3).
        if self.state not in type(cmd).allowed:
            name = cmd.name.decode("ascii")
            line = r.tagged(cmd.tag, BAD, f"{name} is not allowed {self.state.value}.")
            return self.bad_input(line, True)
        self._bad_commands = 0
        from .handlers import HANDLERS

        handler: Handler = HANDLERS[type(cmd)]
        self.current = cmd
        self.fresh = None
        try:
            outcome = await self._guarded(cmd.name, cmd.tag, handler(self, cmd))
            if outcome.line and not outcome.close and self.mode is Mode.COMMAND:
                outcome = await self._guarded(cmd.name, cmd.tag, self._after(cmd, outcome))
            return outcome
        finally:
            self.current = None

    async def _after(self, cmd: Command, outcome: Outcome) -> Outcome:
        """Report changes to the selected mailbox before the tagged line (RFC 3501 7).

        With a ChangeHub, a command that changes nothing (FETCH, SEARCH, LIST...)
        looks only when the hub said the mailbox changed; NOOP, CHECK and every
        command that writes always look. The hub wakes us within its coalescing
        delay, so a change is reported by the next command at the latest.
        """
        if isinstance(cmd, _SKIP_SYNC):
            return outcome
        if (
            self.changes is not None
            and not self.dirty
            and self.fresh is None
            and isinstance(cmd, _READERS)
        ):
            return outcome
        if self.selected is not None:
            try:
                await self.sync(allow_expunge=expunge_allowed_during(cmd))
            except MailError as e:
                if e.kind is not ErrorKind.NOT_FOUND:
                    raise
                # The selected mailbox was deleted or renamed by another session: its
                # sequence numbers mean nothing now (Dovecot disconnects the same way).
                self.log.info("{prefix}: {detail}", prefix=self.log_prefix, detail=e.detail)
                self.out.write(outcome.line)
                return self.bye("Selected mailbox was deleted, have to disconnect.")
        return outcome

    def bad_input(self, line: bytes, counts: bool) -> Outcome:
        """A BAD answer; too many in a row end the session (a confused or hostile client)."""
        if counts:
            self._bad_commands += 1
            if self._bad_commands >= IMAP_MAX_BAD_COMMANDS:
                self.out.write(line)
                return self.bye("Too many invalid IMAP commands.")
        return Outcome(line)

    def bye(self, text: str, code: bytes | None = None) -> Outcome:
        """Send ``* BYE`` and close (the server closes after writing nothing more)."""
        return Outcome(r.untagged_status(BYE, text, code), close=True)

    def framing_error(self, line: bytes, fatal: bool) -> Outcome:
        """A framer limit event the server already turned into bytes (BAD, NO [TOOBIG], BYE)."""
        if self.mode is Mode.SASL:
            self.cancel_sasl()
        elif self.mode is Mode.IDLE:
            self.stop_idle()
        if fatal:
            return Outcome(line, close=True)
        return self.bad_input(line, True)

    async def _guarded(self, name: bytes, tag: bytes, work: Awaitable[Outcome]) -> Outcome:
        """Run a handler; a store error becomes NO with its code, anything else NO [SERVERBUG]."""
        try:
            return await work
        except MailError as e:
            self.log.info(
                "{prefix}: {cmd} failed: {detail}",
                prefix=self.log_prefix,
                cmd=name.decode("ascii", "replace"),
                detail=e.detail,
            )
            return Outcome(r.tagged(tag, NO, e.message, mail_error_code(e)))
        except UidValidityChanged as e:
            # RFC 3501 2.3.1.1: UIDs of the open mailbox are no longer valid; the
            # only safe thing is to make the client start over.
            self.log.warn("{prefix}: {why}", prefix=self.log_prefix, why=str(e))
            return self.bye("Mailbox UIDVALIDITY changed; please reconnect.")
        except Exception:
            self.log.failure(
                "{prefix}: {cmd} failed with an internal error",
                prefix=self.log_prefix,
                cmd=name.decode("ascii", "replace"),
            )
            self.cancel_sasl()
            return Outcome(r.tagged(tag, NO, INTERNAL_ERROR, Code.SERVERBUG))

    # -- the selected mailbox ------------------------------------------------------

    async def sync(self, *, allow_expunge: bool) -> None:
        """Take a fresh snapshot and write the untagged updates it brings."""
        sel = self.selected
        if sel is None:
            return
        self.dirty = False  # a change notified from now on needs another look
        snapshot, self.fresh = self.fresh, None
        if snapshot is None:
            snapshot = await self.run(sel.mailbox.snapshot)
        if self.selected is not sel:
            return  # deselected while the snapshot was taken
        if sel.view.uidvalidity == 0 and sel.view.exists == 0:
            # The store gives a never-written mailbox UIDVALIDITY 0 until its first
            # message; that is the same mailbox, not a recreated one.
            sel.view.uidvalidity = snapshot.uidvalidity
        for line in sel.view.update(snapshot, allow_expunge=allow_expunge):
            self.out.write(line)

    def select(self, selected: Selected) -> None:
        """Enter the selected state and listen for changes to the mailbox."""
        self.selected = selected
        self.state = State.SELECTED
        self.dirty = False
        self.fresh = None
        if self.changes is not None:
            mailbox = selected.mailbox
            self._unwatch = self.changes.subscribe(
                mailbox.key, mailbox.watch_paths(), self._changed
            )

    def _changed(self) -> None:
        """ChangeHub callback (reactor thread): remember it; push at once while idling."""
        self.dirty = True
        if self.mode is Mode.IDLE:
            from .handlers.idle import changed

            changed(self)

    async def deselect(self) -> None:
        """Close the selected mailbox (after CLOSE, UNSELECT, a new SELECT, LOGOUT)."""
        sel, self.selected = self.selected, None
        self.fresh = None
        if self.state is State.SELECTED:
            self.state = State.AUTHENTICATED
        unwatch, self._unwatch = self._unwatch, None
        if unwatch is not None:
            unwatch()
        if sel is not None:
            self.stop_idle()
            await self.run(sel.mailbox.close)

    def require_store(self) -> MailStore:
        assert self.store is not None, "authenticated state without a store"
        return self.store

    # -- login ---------------------------------------------------------------------

    def logged_in(
        self, username: str, store: MailStore, logout: Callable[[], object] | None
    ) -> None:
        """Enter the authenticated state."""
        self.username = username
        self.store = store
        self._logout = logout
        self.state = State.AUTHENTICATED
        self.log.info(
            "{prefix}: Logged in from {ip}{tls}",
            prefix=self.log_prefix,
            ip=self.context.remote_ip,
            tls=" (TLS)" if self.tls_active else "",
        )

    async def start_authenticated(self, result: AuthSuccess, tag: bytes) -> Outcome:
        """Finish a login the login front end already performed (issue 9), as LOGIN would.

        Opens the store and enters the authenticated state; the outcome answers
        the client's LOGIN/AUTHENTICATE ``tag``: ``OK [CAPABILITY ...]`` with
        the capabilities after login (RFC 3501 7.1), or NO if the store fails.
        """
        from .handlers.connection import _auth_result

        outcome = await self._guarded(b"LOGIN", tag, _auth_result(self, tag, result, None))
        if self._finished and self._logout is not None:
            # The client left while the store opened: disconnected() already ran.
            logout, self._logout = self._logout, None
            logout()
        return outcome

    def cancel_sasl(self) -> None:
        exchange, self.sasl = self.sasl, None
        if self.mode is Mode.SASL:
            self.mode = Mode.COMMAND
        if exchange is not None:
            try:
                exchange.cancel()
            except Exception:
                self.log.failure("{prefix}: cancelling SASL failed", prefix=self.log_prefix)

    def stop_idle(self) -> None:
        """Leave IDLE mode."""
        if self.mode is Mode.IDLE:
            self.mode = Mode.COMMAND

    # -- the end -------------------------------------------------------------------

    async def disconnected(self, reason: str = "Disconnected") -> None:
        """The connection is gone (or LOGOUT done): release the mailbox and the login."""
        if self._finished:
            return
        self._finished = True
        self.cancel_sasl()
        self.stop_idle()
        try:
            await self.deselect()
        finally:
            self.state = State.LOGOUT
            logout, self._logout = self._logout, None
            if logout is not None:
                try:
                    logout()
                except Exception:
                    self.log.failure("{prefix}: auth logout failed", prefix=self.log_prefix)
            how = "" if self.username else f" before logging in (rip={self.context.remote_ip})"
            traffic = f" {self.traffic()}" if self.traffic is not None else ""
            self.log.info(
                "{prefix}: {reason}{how}{traffic}",
                prefix=self.log_prefix,
                reason=reason,
                how=how,
                traffic=traffic,
            )
