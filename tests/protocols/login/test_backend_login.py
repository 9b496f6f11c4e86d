"""The backend login machines answer scripted POP3 and IMAP servers correctly."""

from __future__ import annotations

import base64

from mailsuite.protocols.login.backend_login import (
    BackendCredentials,
    ImapBackendLogin,
    LoggedIn,
    Pop3BackendLogin,
    Refused,
    Send,
    StartTls,
)

ALICE = BackendCredentials("alice", 'pw d"x')


def _sent(actions: list[object]) -> bytes:
    return b"".join(a.data for a in actions if isinstance(a, Send))


def test_pop3_user_pass_login() -> None:
    """Greeting, USER, PASS; bytes after the final +OK are handed back."""
    m = Pop3BackendLogin(ALICE)
    assert _sent(m.feed(b"+OK hi\r\n")) == b"USER alice\r\n"
    assert _sent(m.feed(b"+OK\r\n")) == b'PASS pw d"x\r\n'
    (done,) = m.feed(b"+OK Logged in.\r\nextra")
    assert isinstance(done, LoggedIn) and done.leftover == b"extra"


def test_pop3_stls_first_and_master_login() -> None:
    """STLS comes before USER, which carries user*master for a master login."""
    m = Pop3BackendLogin(BackendCredentials("alice", "mpw", "admin"), starttls=True)
    assert _sent(m.feed(b"+OK hi\r\n")) == b"STLS\r\n"
    assert isinstance(m.feed(b"+OK go\r\n")[-1], StartTls)
    assert _sent(m.tls_started()) == b"USER alice*admin\r\n"


def test_pop3_refusals_are_classified() -> None:
    """-ERR [AUTH] on PASS is the user's fault; [SYS/TEMP] and greeting errors are temporary."""
    m = Pop3BackendLogin(ALICE)
    m.feed(b"+OK\r\n")
    m.feed(b"+OK\r\n")
    (r,) = m.feed(b"-ERR [AUTH] no\r\n")
    assert isinstance(r, Refused) and not r.temporary
    m = Pop3BackendLogin(ALICE)
    m.feed(b"+OK\r\n")
    m.feed(b"+OK\r\n")
    (r,) = m.feed(b"-ERR [SYS/TEMP] later\r\n")
    assert isinstance(r, Refused) and r.temporary
    (r,) = Pop3BackendLogin(ALICE).feed(b"-ERR busy\r\n")
    assert isinstance(r, Refused) and r.temporary


def test_imap_id_and_sasl_ir_login_pipelined() -> None:
    """With SASL-IR, ID and AUTHENTICATE PLAIN go in one write; the OK's capabilities are kept."""
    m = ImapBackendLogin(ALICE, (("x-originating-ip", "192.0.2.1"),))
    sent = _sent(m.feed(b"* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] hi\r\n"))
    blob = base64.b64encode(b'\0alice\0pw d"x')
    assert (
        sent == b'L2 ID ("x-originating-ip" "192.0.2.1")\r\nL3 AUTHENTICATE PLAIN ' + blob + b"\r\n"
    )
    actions = m.feed(b"* ID NIL\r\nL2 OK\r\nL3 OK [CAPABILITY IMAP4rev1 UIDPLUS] Logged in\r\n")
    (done,) = actions
    assert isinstance(done, LoggedIn)
    assert done.reply == b"OK [CAPABILITY IMAP4rev1 UIDPLUS] Logged in"
    assert done.capabilities == ("IMAP4rev1", "UIDPLUS")


def test_imap_login_quotes_and_asks_capability_when_greeting_has_none() -> None:
    """Without capabilities in the greeting we ask, then LOGIN with quoted strings."""
    m = ImapBackendLogin(ALICE)
    assert _sent(m.feed(b"* OK hi\r\n")) == b"L1 CAPABILITY\r\n"
    sent = _sent(m.feed(b"* CAPABILITY IMAP4rev1\r\nL1 OK done\r\n"))
    assert sent == b'L3 LOGIN "alice" "pw d\\"x"\r\n'


def test_imap_login_uses_synchronizing_literals_for_8bit_passwords() -> None:
    """An 8-bit password without LITERAL+ waits for each continuation (RFC 3501 7.5)."""
    m = ImapBackendLogin(BackendCredentials("alice", "pässword"))
    assert _sent(m.feed(b"* OK [CAPABILITY IMAP4rev1] hi\r\n")) == b"L3 LOGIN {5}\r\n"
    assert _sent(m.feed(b"+ go\r\n")) == b"alice {9}\r\n"
    assert _sent(m.feed(b"+ go\r\n")) == "pässword\r\n".encode()


def test_imap_refusals_are_classified() -> None:
    """NO [AUTHENTICATIONFAILED] is the user's; NO [UNAVAILABLE], BYE and bad greetings are not."""
    caps = b"* OK [CAPABILITY IMAP4rev1] hi\r\n"
    m = ImapBackendLogin(ALICE)
    m.feed(caps)
    (r,) = m.feed(b"L3 NO [AUTHENTICATIONFAILED] no\r\n")
    assert isinstance(r, Refused) and not r.temporary
    m = ImapBackendLogin(ALICE)
    m.feed(caps)
    (r,) = m.feed(b"L3 NO [UNAVAILABLE] later\r\n")
    assert isinstance(r, Refused) and r.temporary
    (r,) = ImapBackendLogin(ALICE).feed(b"* BYE go away\r\n")
    assert isinstance(r, Refused) and r.temporary


def test_imap_starttls_then_capability() -> None:
    """STARTTLS first; after TLS the capabilities are asked for again (RFC 3501 6.2.1)."""
    m = ImapBackendLogin(ALICE, starttls=True)
    assert _sent(m.feed(b"* OK [CAPABILITY IMAP4rev1 STARTTLS] hi\r\n")) == b"L0 STARTTLS\r\n"
    assert isinstance(m.feed(b"L0 OK go\r\n")[-1], StartTls)
    assert _sent(m.tls_started()) == b"L1 CAPABILITY\r\n"


def test_over_long_backend_line_is_a_temporary_refusal() -> None:
    """A backend flooding one line cannot make the front end buffer without limit."""
    (r,) = ImapBackendLogin(ALICE).feed(b"* OK " + b"x" * 20000)
    assert isinstance(r, Refused) and r.temporary


def test_credentials_repr_hides_the_password() -> None:
    """Logs that show credentials never show the password."""
    assert "pw" not in repr(BackendCredentials("alice", "pw-secret"))
