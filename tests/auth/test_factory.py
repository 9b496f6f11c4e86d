"""build_auth_service: one-line config errors naming the key."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from twisted.internet.task import Clock
from zope.interface.verify import verifyObject

from mailsuite.auth.checker import PassdbChecker
from mailsuite.auth.credentials import PlainCredentials
from mailsuite.auth.factory import build_auth_service
from mailsuite.auth.interfaces import IMailUser
from mailsuite.config.schema import PassdbSettings, ServerSettings
from mailsuite.errors import ConfigError
from tests.auth.conftest import LOCAL, build, inline, make_settings, resolve


def error(settings: object) -> str:
    with pytest.raises(ConfigError) as info:
        build_auth_service(
            settings,
            reactor=Clock(),
            run_blocking=inline,
            store_factory=lambda r: None,  # type: ignore[arg-type]
        )
    assert "\n" not in str(info.value)
    return str(info.value)


def test_config_errors(tmp_path: Path) -> None:
    """Bad networks, mechanisms, delays and passdb lists stop start-up naming the key."""
    s = make_settings(tmp_path)
    assert "plaintext_auth_networks" in error(
        dataclasses.replace(s, server=ServerSettings(plaintext_auth_networks=["10.0.0.0/33"]))
    )
    assert "[auth] mechanisms" in error(make_settings(tmp_path, mechanisms=["GSSAPI"]))
    assert "failure_delay" in error(
        make_settings(tmp_path, failure_delay_s=5.0, failure_delay_max_s=1.0)
    )
    assert "username_format" in error(make_settings(tmp_path, username_format="fixed"))
    assert "[[passdb]]" in error(make_settings(tmp_path, passdb=[]))
    assert "master" in error(
        make_settings(tmp_path, passdb=[PassdbSettings(path="u", master=True)])
    )


def test_zope_interfaces(tmp_path: Path, users_file: Path) -> None:
    """The checker and avatar provide the twisted.cred / mailsuite interfaces they claim."""
    from twisted.cred.checkers import ICredentialsChecker

    svc, clock = build(make_settings(tmp_path))
    assert verifyObject(ICredentialsChecker, svc.checker)
    assert isinstance(svc.checker, PassdbChecker)
    ok = resolve(svc.login("alice", "alice-pw", LOCAL), clock)
    assert verifyObject(IMailUser, ok.user)
    assert "alice-pw" not in repr(PlainCredentials("alice", "alice-pw"))
