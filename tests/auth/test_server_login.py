"""Auth inside the real server: logins over POP3 with slow hashes, failures logged."""

from __future__ import annotations

import poplib
from pathlib import Path

import pytest

from mailsuite.auth import schemes
from tests.support.server import launch, write_config

pytestmark = pytest.mark.slow


def test_pop3_logins_with_slow_hashes(tmp_path: Path) -> None:
    """Users stored as ARGON2ID and SHA512-CRYPT log in over POP3; a wrong password is
    refused and logged with user, IP and reason but never the password."""
    server = write_config(tmp_path, {"auth": {"failure_delay_s": 0.1, "failure_delay_max_s": 0.2}})
    (tmp_path / "etc/users").write_text(
        f"alice:{schemes.generate('ARGON2ID', 'alice-pw')}::::::\n"
        f"bob:{schemes.generate('SHA512-CRYPT', 'bob-pw')}::::::\n"
    )
    launch(server)
    try:
        for user, pw in (("alice", "alice-pw"), ("bob", "bob-pw")):
            pop = poplib.POP3("127.0.0.1", server.pop3_port, timeout=30)
            pop.user(user)
            assert pop.pass_(pw).startswith(b"+OK")
            pop.quit()
        pop = poplib.POP3("127.0.0.1", server.pop3_port, timeout=30)
        pop.user("alice")
        with pytest.raises(poplib.error_proto):
            pop.pass_("Wrong-Horse-Battery")
        pop.close()
        log = server.log_text()
        assert "login failed" in log and "alice" in log and "Password mismatch" in log
        assert "Wrong-Horse-Battery" not in log
    finally:
        server.stop()
