"""The twistd plugin starts on a generated config and makes its certificate."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.server import start_server

ROOT = Path(__file__).resolve().parents[1]


def test_server_starts_and_makes_self_signed_certificate(tmp_path: Path) -> None:
    """On first start with no certificate configured on disk, a self-signed pair is made."""
    with start_server(tmp_path) as server:
        cert = Path(server.base_dir, "var/tls/cert.pem")
        key = Path(server.base_dir, "var/tls/key.pem")
        assert cert.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
        assert key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
        assert os.stat(key).st_mode & 0o077 == 0, "the private key must not be group/world readable"
        assert "self-signed certificate" in server.log_text()


def test_bad_config_stops_startup_with_one_line(tmp_path: Path) -> None:
    """twistd refuses a config with an unknown key and names the key."""
    (tmp_path / "bad.toml").write_text("[imap]\nlisten = ['127.0.0.1:1']\nlistn = 1\n")
    twistd = os.path.join(os.path.dirname(sys.executable), "twistd")
    proc = subprocess.run(
        [twistd, "-n", "--pidfile=", "mailsuite", "--config", str(tmp_path / "bad.toml")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode != 0
    assert "[imap] listn: unknown key" in proc.stdout + proc.stderr


def test_example_config_loads() -> None:
    """The shipped etc/mailsuite.toml passes the loader unchanged."""
    from mailsuite.config import load_settings

    settings = load_settings(str(ROOT / "etc/mailsuite.toml"), base_dir=str(ROOT))
    assert settings.imap.listen == ["127.0.0.1:1143"]
    assert settings.passdb[0].path == "etc/users"


def test_example_config_shows_every_section_and_its_commented_keys_load(tmp_path: Path) -> None:
    """Every settings section is in etc/mailsuite.toml, and uncommenting every key still loads."""
    import dataclasses
    import re

    from mailsuite.config import Settings, load_settings

    text = (ROOT / "etc/mailsuite.toml").read_text()
    for f in dataclasses.fields(Settings):
        if f.name != "base_dir":
            assert re.search(rf"^\[\[?{f.name}\]?\]$", text, re.M), f"[{f.name}] missing"
    uncommented = re.sub(r"^# (\w+ = )", r"\1", text, flags=re.M)
    assert uncommented.count("\n") == text.count("\n") and uncommented != text
    (tmp_path / "all.toml").write_text(uncommented)
    settings = load_settings(str(tmp_path / "all.toml"), base_dir=str(ROOT))
    assert settings.lmtp.socket_mode == 0o660
    assert settings.mail.special_use["Trash"] == "\\Trash"
    assert settings.proxy.backends == ["10.0.2.11", "10.0.2.12"]
