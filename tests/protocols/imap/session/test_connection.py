"""Connection and login commands on the session: CAPABILITY, LOGIN, AUTHENTICATE, ID, ENABLE..."""

from __future__ import annotations

import base64

from mailsuite.protocols.imap.commands import State

from .conftest import lines


def test_greeting_lists_preauth_capabilities(imapenv) -> None:
    """The greeting carries the capabilities: AUTH=, SASL-IR, and STARTTLS when offered."""
    session = imapenv.session(tls_available=True)
    greeting = session.greeting()
    assert greeting.startswith(b"* OK [CAPABILITY IMAP4rev1 ")
    assert greeting.endswith(b"] mailsuite ready.\r\n")
    for cap in (b" SASL-IR", b" LITERAL+", b" IDLE", b" STARTTLS", b" AUTH=PLAIN"):
        assert cap in greeting
    assert b"LOGINDISABLED" not in greeting


def test_capability_command_is_exact(imapenv) -> None:
    """CAPABILITY answers one untagged line and a tagged OK, byte for byte."""
    session = imapenv.session()
    reply = imapenv.say(session, b"a1 CAPABILITY")
    first, second = lines(reply)
    assert first.startswith(b"* CAPABILITY IMAP4rev1 SASL-IR LITERAL+ ID ENABLE IDLE")
    assert second == b"a1 OK Capability completed."


def test_logindisabled_on_insecure_remote_connection(imapenv) -> None:
    """From a non-loopback address without TLS, LOGINDISABLED is advertised and LOGIN is refused."""
    session = imapenv.session(remote_ip="192.0.2.7", secured=False, tls_available=True)
    assert b"LOGINDISABLED" in imapenv.say(session, b"a1 CAPABILITY")
    assert b"AUTH=PLAIN" not in session.greeting()
    reply = imapenv.say(session, b"a2 LOGIN alice alice-pw")
    assert reply.startswith(b"a2 NO [PRIVACYREQUIRED] ")
    reply = imapenv.say(session, b"a3 AUTHENTICATE PLAIN")
    assert reply.startswith(b"a3 NO [PRIVACYREQUIRED] ")
    assert session.state is State.NOT_AUTHENTICATED


def test_tls_started_allows_login(imapenv) -> None:
    """After STARTTLS the same remote connection may log in with LOGIN."""
    session = imapenv.session(remote_ip="192.0.2.7", secured=False, tls_available=True)
    outcome = imapenv.send(session, b"t1 STARTTLS")
    assert outcome.start_tls and outcome.line == b"t1 OK Begin TLS negotiation now.\r\n"
    session.tls_started()
    assert b"STARTTLS" not in session.greeting()
    assert imapenv.say(session, b"a2 LOGIN alice alice-pw").startswith(b"a2 OK ")


def test_login_success_sends_new_capabilities(imapenv) -> None:
    """LOGIN OK carries the post-login CAPABILITY code with UIDPLUS, MOVE and the rest."""
    session = imapenv.session()
    reply = imapenv.say(session, b"a1 LOGIN alice alice-pw")
    assert reply.startswith(b"a1 OK [CAPABILITY IMAP4rev1 ")
    for cap in (b"UIDPLUS", b"MOVE", b"NAMESPACE", b"LIST-EXTENDED", b"SPECIAL-USE", b"UNSELECT"):
        assert cap in reply
    assert reply.endswith(b"] Logged in\r\n")
    assert session.state is State.AUTHENTICATED


def test_login_failure(imapenv) -> None:
    """A wrong password answers NO [AUTHENTICATIONFAILED] and stays unauthenticated."""
    session = imapenv.session()
    reply = imapenv.say(session, b'a1 LOGIN alice "wrong"')
    assert reply.startswith(b"a1 NO [AUTHENTICATIONFAILED] ")
    assert session.state is State.NOT_AUTHENTICATED


def test_login_literal_password(imapenv) -> None:
    """A password sent as a literal logs in like a quoted one."""
    session = imapenv.session()
    assert imapenv.say(session, b"a1 LOGIN alice {8}\r\nalice-pw").startswith(b"a1 OK ")


def test_commands_checked_against_state(imapenv) -> None:
    """SELECT before login and LOGIN after it are BAD, naming the state."""
    session = imapenv.session()
    assert imapenv.say(session, b"a1 SELECT INBOX") == (
        b"a1 BAD SELECT is not allowed before login.\r\n"
    )
    imapenv.say(session, b"a2 LOGIN alice alice-pw")
    assert imapenv.say(session, b"a3 LOGIN bob bob-pw").startswith(b"a3 BAD LOGIN is not allowed")
    assert imapenv.say(session, b"a4 FETCH 1 FLAGS").startswith(
        b"a4 BAD FETCH is not allowed without a selected mailbox."
    )


def test_authenticate_plain_with_initial_response(imapenv) -> None:
    """AUTHENTICATE PLAIN with SASL-IR logs in in one round trip (RFC 4959)."""
    session = imapenv.session()
    ir = base64.b64encode(b"\x00alice\x00alice-pw")
    reply = imapenv.say(session, b"a1 AUTHENTICATE PLAIN " + ir)
    assert reply.startswith(b"a1 OK [CAPABILITY ")
    assert session.username == "alice"


def test_authenticate_plain_with_continuation(imapenv) -> None:
    """AUTHENTICATE PLAIN without an initial response gets an empty challenge, then the data."""
    session = imapenv.session()
    assert imapenv.say(session, b"a1 AUTHENTICATE PLAIN") == b"+ \r\n"
    reply = imapenv.say(session, base64.b64encode(b"\x00bob\x00bob-pw"))
    assert reply.startswith(b"a1 OK ")
    assert session.username == "bob"


def test_authenticate_cancel_and_bad_base64(imapenv) -> None:
    """A "*" line cancels AUTHENTICATE with BAD; invalid base64 is BAD too; the session goes on."""
    session = imapenv.session()
    imapenv.say(session, b"a1 AUTHENTICATE PLAIN")
    assert imapenv.say(session, b"*") == b"a1 BAD Authentication cancelled.\r\n"
    imapenv.say(session, b"a2 AUTHENTICATE PLAIN")
    assert imapenv.say(session, b"!!!").startswith(b"a2 BAD ")
    assert imapenv.say(session, b"a3 NOOP") == b"a3 OK NOOP completed.\r\n"


def test_authenticate_wrong_password_and_unknown_mechanism(imapenv) -> None:
    """Bad SASL credentials get NO [AUTHENTICATIONFAILED]; an unknown mechanism NO."""
    session = imapenv.session()
    ir = base64.b64encode(b"\x00alice\x00nope")
    assert imapenv.say(session, b"a1 AUTHENTICATE PLAIN " + ir).startswith(
        b"a1 NO [AUTHENTICATIONFAILED] "
    )
    assert imapenv.say(session, b"a2 AUTHENTICATE X-NOPE").startswith(b"a2 NO ")


def test_id_enable_namespace(imapenv) -> None:
    """ID answers our name, ENABLE an empty ENABLED, NAMESPACE the personal "." namespace."""
    session = imapenv.login()
    reply = imapenv.say(session, b'a1 ID ("name" "pytest")')
    assert lines(reply) == [b'* ID ("name" "mailsuite" "version" "0.1.0")', b"a1 OK ID completed."]
    assert lines(imapenv.say(session, b"a2 ENABLE X-UNKNOWN")) == [b"* ENABLED", b"a2 OK Enabled."]
    assert lines(imapenv.say(session, b"a3 NAMESPACE")) == [
        b'* NAMESPACE (("" ".")) NIL NIL',
        b"a3 OK Namespace completed.",
    ]


def test_logout(imapenv) -> None:
    """LOGOUT sends BYE, then the tagged OK, and asks to close."""
    session = imapenv.login()
    outcome = imapenv.send(session, b"a1 LOGOUT")
    assert outcome.close
    assert imapenv.outputs[id(session)].take() == b"* BYE Logging out\r\n"
    assert outcome.line == b"a1 OK Logout completed.\r\n"
    assert session.state is State.LOGOUT


def test_bad_commands_end_the_session(imapenv) -> None:
    """Ten bad commands in a row end the session with BYE."""
    session = imapenv.login()
    for i in range(9):
        assert not imapenv.send(session, b"x%d FOO" % i).close
    outcome = imapenv.send(session, b"x9 FOO")
    assert outcome.close and outcome.line.startswith(b"* BYE ")


def test_preauth_command_limit(imapenv) -> None:
    """A client that keeps talking without logging in is cut off with BYE."""
    session = imapenv.session()
    for i in range(20):
        assert not imapenv.send(session, b"n%d NOOP" % i).close
    outcome = imapenv.send(session, b"n20 NOOP")
    assert outcome.close and outcome.line == b"* BYE Too many commands before login.\r\n"


def test_compress_without_a_transport_is_bad(imapenv) -> None:
    """COMPRESS on a session whose server cannot compress answers BAD, not a crash."""
    session = imapenv.selected()
    assert imapenv.say(session, b"c1 COMPRESS DEFLATE").startswith(b"c1 BAD ")
    assert "COMPRESS=DEFLATE" not in session.capabilities()


def test_greeting_follows_what_the_listener_offers(imapenv) -> None:
    """Sessions alike get the same greeting; STARTTLS and LOGINDISABLED still vary with them."""
    plain = imapenv.session().greeting()
    assert imapenv.session().greeting() == plain
    tls = imapenv.session(tls_available=True).greeting()
    assert b" STARTTLS" in tls and b" STARTTLS" not in plain
    remote = imapenv.session(remote_ip="192.0.2.7", secured=False).greeting()
    assert b" LOGINDISABLED" in remote and b" LOGINDISABLED" not in plain


def test_capabilities_after_compress_drop_compress(imapenv) -> None:
    """Once COMPRESS is active, CAPABILITY no longer offers COMPRESS=DEFLATE (RFC 4978 4)."""
    session = imapenv.login(compress_available=True)
    assert b"COMPRESS=DEFLATE" in imapenv.say(session, b"a1 CAPABILITY")
    outcome = imapenv.send(session, b"a2 COMPRESS DEFLATE")
    assert outcome.start_compress
    assert b"COMPRESS=DEFLATE" not in imapenv.say(session, b"a3 CAPABILITY")
    assert b"COMPRESS=DEFLATE" in imapenv.say(
        imapenv.login(compress_available=True), b"b CAPABILITY"
    )
