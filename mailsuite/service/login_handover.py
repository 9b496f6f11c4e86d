"""The front end's in-process handover: a user served here continues in the local POP3 service.

The login front end may not import the POP3 server (protocols stay independent),
so the composition root builds this seam and hands it to the front end's
config. IMAP has the same seam (``FrontendConfig.local_imap``) but no
implementation yet: the IMAP server needs a way to start already logged in.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from mailsuite.auth.interfaces import AuthSuccess, LoginContext
from mailsuite.protocols.login.handoff import LocalHandover
from mailsuite.protocols.pop3.server import Pop3Protocol, ServerConfig
from mailsuite.protocols.pop3.session import Pop3Session

__all__ = ["pop3_handover"]


class _HandedOverPop3(Pop3Protocol):
    """A POP3 connection that starts in the middle: logged in by the front end, no greeting."""

    def __init__(
        self,
        config: ServerConfig,
        context: LoginContext,
        tls_active: bool,
        success: AuthSuccess,
        pending: bytes,
    ) -> None:
        super().__init__(config)
        self._context = context
        self._tls = tls_active
        self._success = success
        self._pending = pending

    def connectionMade(self) -> None:  # noqa: N802 - Twisted API
        session_config = dataclasses.replace(self.config.session, tls_available=False)
        context = dataclasses.replace(self._context, service="pop3")
        self.session = Pop3Session(
            self.config.auth, context, self.config.run_blocking, session_config, self._tls
        )
        self.setTimeout(self.config.timeout_s)
        # Hold pipelined commands until the login's answer is out.
        self._busy = True
        d = Deferred.fromCoroutine(self.session.start_authenticated(self._success))
        d.addCallbacks(self._logged_in, self._failed)

    def _logged_in(self, response: Any) -> None:
        self._write(response.reply.encode())
        self._busy = False
        if response.close:
            self._close()
            return
        pending, self._pending = self._pending, b""
        if pending:
            self.dataReceived(pending)
        else:
            self._kick()

    def _failed(self, failure: Failure) -> None:
        self._busy = False
        self._internal_error(failure)


def pop3_handover(config: ServerConfig) -> LocalHandover:
    """The ``local_pop3`` seam for the front end, serving with ``config``."""

    def hand_over(
        transport: Any, success: Any, context: LoginContext, tls_active: bool, pending: bytes
    ) -> Any:
        protocol = _HandedOverPop3(config, context, tls_active, success, pending)
        protocol.makeConnection(transport)
        return protocol

    return hand_over
