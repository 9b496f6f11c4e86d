"""The front end's in-process handover: a user served here continues in the local IMAP/POP3 service.

The login front end may not import the IMAP or POP3 server (protocols stay
independent), so the composition root builds the seams here and hands them to
the front end's config (``FrontendConfig.local_imap``/``local_pop3``). Each
seam makes a server protocol configured exactly like the one behind
``[imap] listen``/``[pop3] listen`` and lets it adopt the logged-in connection
through the servers' public ``adopt``; the front-end connection then only
passes the transport's events on. So a user gets the same service whether
they connect to the front end or straight to the IMAP/POP3 port.
"""

from __future__ import annotations

from typing import Any

from mailsuite.errors import ConfigError
from mailsuite.protocols.imap.server import ImapProtocol
from mailsuite.protocols.imap.server import ServerConfig as ImapServerConfig
from mailsuite.protocols.login.handoff import LocalHandover, Takeover
from mailsuite.protocols.pop3.server import Pop3Protocol
from mailsuite.protocols.pop3.server import ServerConfig as Pop3ServerConfig
from mailsuite.protocols.pop3.session import SessionConfig as Pop3SessionConfig
from mailsuite.protocols.pop3.uidl import compile_uidl_format
from mailsuite.service.context import ServiceContext
from mailsuite.service.imap import append_spool

__all__ = [
    "imap_handover",
    "imap_server_config",
    "pop3_handover",
    "pop3_server_config",
]


def imap_server_config(ctx: ServiceContext) -> ImapServerConfig:
    """The IMAP server settings ``[imap] listen`` uses (see ``mailsuite.service.imap``)."""
    settings = ctx.settings
    imap = settings.imap
    return ImapServerConfig(
        auth=ctx.auth,
        run_blocking=ctx.run_blocking,
        changes=ctx.changes,
        tls_options=ctx.tls_options,
        idle_timeout_s=imap.idle_timeout_s,
        preauth_timeout_s=imap.preauth_timeout_s,
        max_line_bytes=imap.max_line_bytes,
        max_literal_bytes=imap.max_literal_bytes,
        hostname=settings.server.hostname,
        append_spool=append_spool(settings),
    )


def pop3_server_config(ctx: ServiceContext) -> Pop3ServerConfig:
    """The POP3 server settings ``[pop3] listen`` uses (see ``mailsuite.service.pop3``)."""
    settings = ctx.settings
    try:
        uidl_format = compile_uidl_format(settings.mail.pop3_uidl_format)
    except ValueError as e:
        raise ConfigError(f"[mail] pop3_uidl_format: {e}") from None
    return Pop3ServerConfig(
        auth=ctx.auth,
        run_blocking=ctx.run_blocking,
        session=Pop3SessionConfig(
            uidl_format=uidl_format, retr_marks_seen=settings.pop3.retr_marks_seen
        ),
        tls_options=ctx.tls_options,
        timeout_s=settings.pop3.timeout_s,
    )


def imap_handover(config: ImapServerConfig) -> LocalHandover:
    """The ``local_imap`` seam: the IMAP server answers the login and serves the rest."""

    def hand_over(takeover: Takeover) -> Any:
        protocol = ImapProtocol(config)
        protocol.adopt(
            takeover.transport,
            takeover.context,
            takeover.success,
            takeover.tag,
            tls_active=takeover.tls_active,
            pending=takeover.pending,
        )
        return protocol

    return hand_over


def pop3_handover(config: Pop3ServerConfig) -> LocalHandover:
    """The ``local_pop3`` seam: the POP3 server answers the login and serves the rest."""

    def hand_over(takeover: Takeover) -> Any:
        protocol = Pop3Protocol(config)
        protocol.adopt(
            takeover.transport,
            takeover.context,
            takeover.success,
            tls_active=takeover.tls_active,
            pending=takeover.pending,
        )
        return protocol

    return hand_over
