"""The servers under test, each run privately on loopback ports."""

from __future__ import annotations

from bench.servers.base import Server, ServerStartError
from bench.servers.dovecot import DovecotDefaults, DovecotTuned
from bench.servers.mailsuite_server import Mailsuite, MailsuiteProxy, MailsuiteWorkers2
from bench.servers.pymap_server import Pymap

__all__ = ["ALL_SERVERS", "Server", "ServerStartError"]

# Column order in the results: the peers first, mailsuite last.
ALL_SERVERS: dict[str, type[Server]] = {
    cls.name: cls
    for cls in (DovecotDefaults, DovecotTuned, Pymap, Mailsuite, MailsuiteWorkers2, MailsuiteProxy)
}
