"""worker_main.py: settings from the master, and the lifeline that ends a worker with it."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest
from twisted.internet.main import CONNECTION_DONE
from twisted.python.failure import Failure

from mailsuite.config import load_settings
from mailsuite.errors import ConfigError
from mailsuite.service.worker_main import MasterLifeline, settings_from_json
from mailsuite.service.workers import settings_to_json
from tests.support.toml_write import dumps


def test_settings_survive_the_pipe(tmp_path: Path) -> None:
    """Settings sent to a worker come back equal, lists of tables, dicts and base_dir included."""
    config = tmp_path / "mailsuite.toml"
    config.write_text(
        dumps(
            {
                "server": {"workers": 3, "hostname": "mx.example.org"},
                "imap": {"listen": ["[::1]:1143"], "idle_timeout_s": 3600},
                "mail": {"special_use": {"Sent": "\\Sent"}},
                "passdb": [
                    {"driver": "passwd-file", "path": "etc/users"},
                    {"driver": "static", "password": "s3cret", "master": True},
                ],
                "proxy": {"master_password": "p\u00e4ss"},
            }
        )
    )
    settings = load_settings(str(config), base_dir=str(tmp_path))
    line = settings_to_json(settings)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert settings_from_json(line.rstrip(b"\n")) == settings


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b"not json", "settings from the master are not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"server": {"workers": "two"}}', "[server] workers"),
    ],
)
def test_bad_settings_line_is_a_config_error(line: bytes, message: str) -> None:
    """Anything but the master's settings stops the worker with a ConfigError."""
    with pytest.raises(ConfigError) as info:
        settings_from_json(line)
    assert message in str(info.value)


def test_lifeline_reports_master_end() -> None:
    """The lifeline reader sees EOF when the master's end of the pipe closes."""
    read_end, write_end = os.pipe()
    lost: list[bool] = []
    lifeline = MasterLifeline(read_end, lambda: lost.append(True))
    try:
        assert lifeline.doRead() is None  # nothing yet, and no blocking
        os.close(write_end)
        assert lifeline.doRead() is CONNECTION_DONE
        lifeline.connectionLost(Failure(Exception("closed")))
        assert lost == [True]
    finally:
        os.close(read_end)


def test_settings_round_trip_keeps_defaults() -> None:
    """Default settings (never read from a file) also round-trip."""
    from mailsuite.config import Settings

    settings = dataclasses.replace(Settings(), base_dir="/srv/mail")
    assert settings_from_json(settings_to_json(settings)) == settings


def test_lifeline_passes_commands_line_by_line() -> None:
    """Commands from the master arrive whole, even split across reads."""
    read_end, write_end = os.pipe()
    commands: list[str] = []
    lifeline = MasterLifeline(read_end, lambda: None, commands.append)
    try:
        os.write(write_end, b"dra")
        assert lifeline.doRead() is None and commands == []
        os.write(write_end, b"in\nnext\n")
        assert lifeline.doRead() is None
        assert commands == ["drain", "next"]
    finally:
        os.close(write_end)
        os.close(read_end)
