"""The POP3 service builder: listeners from [pop3], config mistakes named by key."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from twisted.internet.defer import maybeDeferred
from twisted.internet.testing import MemoryReactor

from mailsuite.config import settings_from_mapping
from mailsuite.errors import ConfigError
from mailsuite.service import pop3
from mailsuite.service.context import ServiceContext
from mailsuite.service.tls import server_tls_options


def context(tmp_path: Path, raw: dict[str, Any]) -> ServiceContext:
    settings = dataclasses.replace(settings_from_mapping(raw), base_dir=str(tmp_path))
    return ServiceContext(
        settings=settings,
        reactor=MemoryReactor(),
        run_blocking=maybeDeferred,
        tls_options=server_tls_options(settings),
        auth=object(),  # only handed to the factories here, never called
    )


def test_listeners_from_config(tmp_path: Path) -> None:
    """Each [pop3] listen and tls_listen address becomes one listening service on its port."""
    ctx = context(
        tmp_path,
        {"pop3": {"listen": ["127.0.0.1:1110", "[::1]:1111"], "tls_listen": ["127.0.0.1:1995"]}},
    )
    services = pop3.build(ctx)
    assert [s.name for s in services] == [
        "pop3:127.0.0.1:1110",
        "pop3:[::1]:1111",
        "pop3s:127.0.0.1:1995",
    ]
    for s in services:
        s.privilegedStartService()
        s.startService()
    ports = [(port, interface) for port, _, _, interface in ctx.reactor.tcpServers]
    assert ports == [(1110, "127.0.0.1"), (1111, "::1"), (1995, "127.0.0.1")]


def test_no_listeners_when_not_configured(tmp_path: Path) -> None:
    """Empty listen lists turn POP3 off."""
    assert pop3.build(context(tmp_path, {"pop3": {"listen": [], "tls_listen": []}})) == []


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"mail": {"pop3_uidl_format": "%m"}}, "[mail] pop3_uidl_format: unknown variable"),
        ({"mail": {"pop3_uidl_format": "%v"}}, "would not be unique"),
        ({"pop3": {"listen": ["1110"]}}, '[pop3] listen[0]: expected "host:port"'),
        ({"pop3": {"tls_listen": ["host:99999"]}}, "[pop3] tls_listen[0]: port out of range"),
        ({"pop3": {"timeout_s": 0}}, "[pop3] timeout_s: must be positive"),
    ],
)
def test_config_mistakes_name_the_key(tmp_path: Path, raw: dict[str, Any], message: str) -> None:
    """A bad UIDL format, listen address or timeout stops start-up naming the key."""
    with pytest.raises(ConfigError) as info:
        pop3.build(context(tmp_path, raw))
    assert message in str(info.value)
