"""Connection and login commands: CAPABILITY, NOOP, LOGOUT, ID, STARTTLS, LOGIN,
AUTHENTICATE (with SASL-IR), ENABLE, NAMESPACE (RFC 3501 6.1-6.2, RFC 2971, RFC 4959,
RFC 5161, RFC 2342)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from mailsuite.auth.interfaces import AuthFailure, AuthSuccess, SaslChallenge
from mailsuite.errors import MailError

from .. import commands as c
from ..session import INTERNAL_ERROR, Mode, Outcome, mail_error_code
from ..wire import data
from ..wire import responses as r
from ..wire.reader import ParseError
from ..wire.responses import BAD, BYE, NO, OK, Code
from . import condstore

if TYPE_CHECKING:
    from ..session import ImapSession

__all__ = [
    "do_authenticate",
    "do_capability",
    "do_compress",
    "do_enable",
    "do_id",
    "do_login",
    "do_logout",
    "do_namespace",
    "do_noop",
    "do_starttls",
    "do_unsupported",
    "sasl_continue",
]

PLAINTEXT_REFUSED: Final = (
    "Plaintext authentication disallowed on non-secure (SSL/TLS) connections."
)
PLAINTEXT_MECHANISMS: Final = frozenset({"PLAIN", "LOGIN"})
# RFC 5530 codes for AuthFailure.code.
_AUTH_CODES: Final = {
    "authfailed": Code.AUTHENTICATIONFAILED,
    "unavailable": Code.UNAVAILABLE,
    "nologin": Code.AUTHORIZATIONFAILED,
    "limit": Code.LIMIT,
    "privacy": Code.PRIVACYREQUIRED,
    "expired": Code.EXPIRED,
}


async def do_capability(session: ImapSession, cmd: c.Capability) -> Outcome:
    session.out.write(data.capability(session.capabilities()))
    return Outcome(r.tagged(cmd.tag, OK, "Capability completed."))


async def do_noop(session: ImapSession, cmd: c.Noop) -> Outcome:
    # The changes are reported by the session after every command (RFC 3501 6.1.2).
    return Outcome(r.tagged(cmd.tag, OK, "NOOP completed."))


async def do_logout(session: ImapSession, cmd: c.Logout) -> Outcome:
    # RFC 3501 6.1.3: BYE first, then the tagged OK, then the server closes.
    session.out.write(r.untagged_status(BYE, "Logging out"))
    await session.disconnected("Logged out")
    return Outcome(r.tagged(cmd.tag, OK, "Logout completed."), close=True)


async def do_id(session: ImapSession, cmd: c.Id) -> Outcome:
    """RFC 2971: log what the client says it is, answer with what we are."""
    if cmd.fields:
        session.client_id = dict(cmd.fields)
        session.log.info(
            "{prefix}: ID {fields}",
            prefix=session.log_prefix,
            fields=" ".join(f"{k}={v}" for k, v in cmd.fields),
        )
    session.out.write(
        data.id_response({"name": session.config.implementation, "version": session.config.version})
    )
    return Outcome(r.tagged(cmd.tag, OK, "ID completed."))


async def do_starttls(session: ImapSession, cmd: c.Starttls) -> Outcome:
    if session.tls_active:
        return Outcome(r.tagged(cmd.tag, BAD, "TLS is already active."))
    if not session.config.tls_available:
        return Outcome(r.tagged(cmd.tag, NO, "TLS is not available.", Code.CANNOT))
    return Outcome(r.tagged(cmd.tag, OK, "Begin TLS negotiation now."), start_tls=True)


async def do_login(session: ImapSession, cmd: c.Login) -> Outcome:
    if not session.auth.plaintext_allowed(session.context):
        session.log.info(
            "{prefix}: LOGIN refused: plaintext auth without TLS from {ip}",
            prefix=session.log_prefix,
            ip=session.context.remote_ip,
        )
        return Outcome(r.tagged(cmd.tag, NO, PLAINTEXT_REFUSED, Code.PRIVACYREQUIRED))
    password = cmd.password.decode("utf-8", "replace")
    result = await session.auth.login(cmd.user, password, session.context)
    return await _auth_result(session, cmd.tag, result, cmd.user)


async def do_authenticate(session: ImapSession, cmd: c.Authenticate) -> Outcome:
    mech = cmd.mechanism.upper()
    if mech in PLAINTEXT_MECHANISMS and not session.auth.plaintext_allowed(session.context):
        return Outcome(r.tagged(cmd.tag, NO, PLAINTEXT_REFUSED, Code.PRIVACYREQUIRED))
    exchange = session.auth.sasl(mech, session.context)
    if exchange is None:
        return Outcome(
            r.tagged(cmd.tag, NO, f"Unsupported authentication mechanism {mech[:32]}.", Code.CANNOT)
        )
    session.sasl = exchange
    session.sasl_tag = cmd.tag
    # RFC 4959 3: the initial response is the first step; None means none was sent.
    return await _sasl_step(session, cmd.initial_response)


async def sasl_continue(session: ImapSession, line: bytes) -> Outcome:
    """One client line of an AUTHENTICATE exchange (RFC 3501 6.2.2)."""
    tag = session.sasl_tag
    if c.is_sasl_cancel(line):
        session.cancel_sasl()
        return Outcome(r.tagged(tag, BAD, "Authentication cancelled."))
    try:
        response = c.decode_sasl(line.strip(b" "))
    except ParseError as e:
        session.cancel_sasl()
        return Outcome(r.tagged(tag, BAD, e.message))
    return await _sasl_step(session, response)


async def _sasl_step(session: ImapSession, response: bytes | None) -> Outcome:
    exchange = session.sasl
    assert exchange is not None
    tag = session.sasl_tag
    try:
        result = await exchange.step(response)
    except Exception:
        session.sasl = None
        session.mode = Mode.COMMAND
        raise
    if isinstance(result, SaslChallenge):
        session.mode = Mode.SASL
        session.out.write(r.continuation_data(result.data))
        return Outcome()
    session.sasl = None
    session.mode = Mode.COMMAND
    return await _auth_result(session, tag, result, None)


async def _auth_result(
    session: ImapSession, tag: bytes, result: AuthSuccess | AuthFailure, user: str | None
) -> Outcome:
    if isinstance(result, AuthFailure):
        session.log.info(
            "{prefix}: authentication failed for {user} from {ip}: {code}",
            prefix=session.log_prefix,
            user=user or "?",
            ip=session.context.remote_ip,
            code=result.code,
        )
        code = _AUTH_CODES.get(result.code, Code.AUTHENTICATIONFAILED)
        return Outcome(r.tagged(tag, NO, result.message, code))
    avatar = result.user
    username = str(getattr(avatar, "username", user or ""))
    logout = result.logout if callable(result.logout) else None
    if session.finished:
        # The client left while the passdb answered: disconnected() already ran and
        # found no login to release, so release it here (per-user+IP count, issue 4).
        return _gone(logout)
    try:
        store = await session.run(avatar.open_store)  # type: ignore[attr-defined]
    except MailError as e:
        if logout is not None:
            logout()
        session.log.warn(
            "imap({user})<{sid}>: cannot open the mail store: {detail}",
            user=username,
            sid=session.context.session_id,
            detail=e.detail,
        )
        return Outcome(r.tagged(tag, NO, e.message, mail_error_code(e)))
    except Exception:
        if logout is not None:
            logout()
        session.log.failure(
            "imap({user})<{sid}>: cannot open the mail store",
            user=username,
            sid=session.context.session_id,
        )
        return Outcome(r.tagged(tag, NO, INTERNAL_ERROR, Code.SERVERBUG))
    if session.finished:
        # The client left while the store opened (as above; POP3 guards the same way).
        return _gone(logout)
    session.logged_in(username, store, logout)
    # RFC 3501 7.1: the capabilities change at login; say them so the client need not ask.
    return Outcome(r.tagged(tag, OK, "Logged in", session.capability_code()))


def _gone(logout: Callable[[], object] | None) -> Outcome:
    """Release a login whose connection is already gone; nothing is left to answer."""
    if logout is not None:
        logout()
    return Outcome()


async def do_enable(session: ImapSession, cmd: c.Enable) -> Outcome:
    """RFC 5161: CONDSTORE and QRESYNC (RFC 7162); unknown names are ignored (3.1).

    ``* ENABLED`` lists what this command turned on, in the client's order
    (QRESYNC implies CONDSTORE without naming it, as in RFC 7162 3.2.3).
    """
    newly = set(condstore.enable(session, cmd.capabilities))
    session.out.write(data.enabled([n for n in cmd.capabilities if n.upper() in newly]))
    return Outcome(r.tagged(cmd.tag, OK, "Enabled."))


async def do_compress(session: ImapSession, cmd: c.Compress) -> Outcome:
    """COMPRESS DEFLATE (RFC 4978 3): the server compresses from the byte after the OK."""
    if cmd.mechanism.upper() != "DEFLATE":
        return Outcome(r.tagged(cmd.tag, BAD, f"Unknown compression mechanism {cmd.mechanism}."))
    if not session.config.compress_available:
        return Outcome(r.tagged(cmd.tag, BAD, "COMPRESS is not supported by this server."))
    if session.compressed:
        return Outcome(
            r.tagged(cmd.tag, NO, "Compression is already active.", Code.COMPRESSIONACTIVE)
        )
    session.compressed = True
    session.log.debug("{prefix}: COMPRESS DEFLATE", prefix=session.log_prefix)
    return Outcome(r.tagged(cmd.tag, OK, "DEFLATE active"), start_compress=True)


async def do_namespace(session: ImapSession, cmd: c.Namespace) -> Outcome:
    # RFC 2342 5: one personal namespace, Maildir++'s "." delimiter, no shared folders.
    session.out.write(data.namespace())
    return Outcome(r.tagged(cmd.tag, OK, "Namespace completed."))


async def do_unsupported(session: ImapSession, cmd: c.Command) -> Outcome:
    """Commands parsed but not offered."""
    name = cmd.name.decode("ascii")
    return Outcome(r.tagged(cmd.tag, BAD, f"{name} is not supported by this server."))
