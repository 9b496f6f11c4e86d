"""Tests for sending Sieve redirects and vacation answers through the SMTP relay."""

from __future__ import annotations

import io
import smtplib
from pathlib import Path

import pytest

from mailsuite.errors import ConfigError
from mailsuite.protocols.lmtp.relay import LfReader, parse_relay
from tests.protocols.lmtp.client import RawLmtp
from tests.protocols.lmtp.smtp_sink import SmtpSink
from tests.protocols.lmtp.test_server_live import MESSAGE, lmtp_server, stored
from tests.support.server import free_port


def test_lf_reader_converts_and_never_ends_a_read_after_lf() -> None:
    """CRLF becomes LF, and no read ends right after LF while more data follows."""
    data = b"a\r\n.b\r\n\r\n" * 50 + b"end\r\n"
    for size in (2, 3, 5, 64):
        reader = LfReader(io.BytesIO(data))
        out = b""
        while chunk := reader.read(size):
            if len(out) + len(chunk) < len(data.replace(b"\r\n", b"\n")):
                assert not chunk.endswith(b"\n")
            out += chunk
        assert out == data.replace(b"\r\n", b"\n")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("127.0.0.1:25", ("127.0.0.1", 25)),
        ("relay.example", ("relay.example", 25)),
        ("[::1]:2525", ("::1", 2525)),
    ],
)
def test_parse_relay(value: str, expected: tuple[str, int]) -> None:
    """[sieve] relay accepts host:port, a bare host (port 25) and bracketed IPv6."""
    assert parse_relay(value) == expected


def test_parse_relay_rejects_garbage() -> None:
    """A relay without a usable port is a config error naming the key."""
    with pytest.raises(ConfigError, match=r"\[sieve\] relay"):
        parse_relay("host:port")


def test_redirect_and_vacation_go_through_the_relay(tmp_path: Path) -> None:
    """Sieve redirect forwards the message and vacation answers the sender via [sieve] relay."""
    sink = SmtpSink()
    try:
        with lmtp_server(tmp_path, {"sieve": {"relay": f"127.0.0.1:{sink.port}"}}) as server:
            home = Path(server.base_dir) / "home"
            (home / "alice" / ".dovecot.sieve").write_text('redirect "elsewhere@example.com";\n')
            (home / "bob" / ".dovecot.sieve").write_text(
                'require "vacation";\nvacation :days 3 :subject "Away" "Back on Monday.";\n'
            )
            # RFC 5230 4.5: vacation answers only mail that names the user in its headers.
            body = b"To: bob@x.org\r\n" + MESSAGE + b".starts with a dot\r\n"
            with smtplib.LMTP("127.0.0.1", server.lmtp_port) as client:
                client.sendmail("carol@example.net", ["alice@x.org"], body)
                client.sendmail("carol@example.net", ["bob@x.org"], body)
                client.sendmail("carol@example.net", ["bob@x.org"], body)  # not answered again
            got = sink.wait(2)
            assert stored(server, "alice") == []
            assert len(stored(server, "bob")) == 2
    finally:
        sink.close()
    redirect = next(m for m in got if m.recipients == ["elsewhere@example.com"])
    assert redirect.sender == "carol@example.net"
    assert redirect.data.startswith(b"Delivered-To: alice@x.org\r\n")
    assert redirect.data.endswith(body)
    [vacation] = [m for m in got if m.recipients == ["carol@example.net"]]
    assert vacation.sender == "" and b"Subject: Away" in vacation.data
    assert b"Auto-Submitted: auto-replied" in vacation.data
    assert len(got) == 2


def test_unreachable_relay_tempfails_a_redirect_only_message(tmp_path: Path) -> None:
    """A redirect that cannot be sent, with no copy kept, is answered 451 4.4.1 for retry."""
    dead_port = free_port()  # nothing listens here
    with lmtp_server(tmp_path, {"sieve": {"relay": f"127.0.0.1:{dead_port}"}}) as server:
        home = Path(server.base_dir) / "home"
        (home / "alice" / ".dovecot.sieve").write_text('redirect "elsewhere@example.com";\n')
        (home / "bob" / ".dovecot.sieve").write_text('redirect "elsewhere@example.com"; keep;\n')
        with RawLmtp(server.lmtp_port) as c:
            c.cmd("LHLO mta.test")
            c.send(
                b"MAIL FROM:<carol@example.net>\r\nRCPT TO:<alice@x>\r\nRCPT TO:<bob@x>\r\nDATA\r\n"
            )
            assert c.codes(4) == ["250 2.1.0", "250 2.1.5", "250 2.1.5", "354"]
            c.send(MESSAGE + b".\r\n")
            # alice's only action failed: retry later; bob's copy is kept, so bob succeeds.
            assert c.codes(2) == ["451 4.4.1", "250 2.0.0"]
        assert stored(server, "alice") == [] and len(stored(server, "bob")) == 1
        assert "sending redirect to elsewhere@example.com via relay failed" in server.log_text()
