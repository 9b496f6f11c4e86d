"""Tests for LMTP command parsing."""

from __future__ import annotations

import pytest

from mailsuite.protocols.lmtp.commands import (
    Bdat,
    CommandError,
    Data,
    Lhlo,
    MailFrom,
    Noop,
    Path,
    Quit,
    RcptTo,
    Rset,
    Vrfy,
    parse_command,
)


def error_of(line: bytes) -> tuple[int, str | None]:
    with pytest.raises(CommandError) as info:
        parse_command(line)
    return info.value.reply.code, info.value.reply.enhanced


@pytest.mark.parametrize(
    ("line", "cmd"),
    [
        (b"LHLO mx.example.org", Lhlo("mx.example.org")),
        (b"lhlo [127.0.0.1]", Lhlo("[127.0.0.1]")),
        (b"DATA", Data()),
        (b"RSET", Rset()),
        (b"NOOP whatever", Noop()),
        (b"QUIT", Quit()),
        (b"VRFY alice", Vrfy("alice")),
        (b"BDAT 100", Bdat(100)),
        (b"BDAT 0 LAST", Bdat(0, True)),
        (b"bdat 5 last", Bdat(5, True)),
    ],
)
def test_simple_commands_parse(line: bytes, cmd: object) -> None:
    """Each simple verb parses to its command, case-insensitively."""
    assert parse_command(line) == cmd


def test_mail_from_with_size_and_body() -> None:
    """MAIL FROM carries the sender, SIZE and BODY parameters."""
    cmd = parse_command(b"MAIL FROM:<Bob@Example.ORG> SIZE=1234 BODY=8BITMIME")
    assert isinstance(cmd, MailFrom)
    assert cmd.sender == Path("Bob", "example.org")
    assert cmd.size == 1234 and cmd.body == "8BITMIME"


def test_mail_from_null_sender() -> None:
    """The null reverse-path <> is accepted for bounces (RFC 5321 4.5.5)."""
    cmd = parse_command(b"MAIL FROM:<>")
    assert isinstance(cmd, MailFrom) and cmd.sender.null and cmd.sender.address == ""


def test_mail_from_tolerates_space_after_colon() -> None:
    """A space between FROM: and the path is tolerated as common clients send it."""
    cmd = parse_command(b"MAIL FROM: <a@b.c>")
    assert isinstance(cmd, MailFrom) and cmd.sender.address == "a@b.c"


def test_rcpt_with_detail_and_quoted_local_part() -> None:
    """RCPT TO keeps +detail and unquotes a quoted local part."""
    cmd = parse_command(b'RCPT TO:<"john doe"@example.org>')
    assert isinstance(cmd, RcptTo) and cmd.recipient.local == "john doe"
    cmd = parse_command(b"RCPT TO:<alice+lists@example.org>")
    assert isinstance(cmd, RcptTo) and cmd.recipient.address == "alice+lists@example.org"


def test_rcpt_source_route_is_dropped() -> None:
    """An obsolete source route before the mailbox is accepted and ignored."""
    cmd = parse_command(b"RCPT TO:<@relay.example:alice@example.org>")
    assert isinstance(cmd, RcptTo) and cmd.recipient.address == "alice@example.org"


def test_rcpt_without_domain_is_accepted_as_local() -> None:
    """A recipient without a domain parses with an empty domain for the session to look up."""
    cmd = parse_command(b"RCPT TO:<alice>")
    assert isinstance(cmd, RcptTo) and cmd.recipient == Path("alice", "")


@pytest.mark.parametrize(
    ("line", "code", "enhanced"),
    [
        (b"HELO x", 500, "5.5.1"),
        (b"EHLO x", 500, "5.5.1"),
        (b"FROB", 500, "5.5.1"),
        (b"", 500, "5.5.2"),
        (b"LHLO", 501, "5.5.4"),
        (b"MAIL TO:<a@b>", 501, "5.5.4"),
        (b"MAIL FROM:a@b.c", 501, "5.1.7"),
        (b"MAIL FROM:<a@b.c> SIZE=abc", 501, "5.5.4"),
        (b"MAIL FROM:<a@b.c> BODY=BINARYMIME", 555, "5.5.4"),
        (b"MAIL FROM:<a@b.c> BODY=9BIT", 501, "5.5.4"),
        (b"MAIL FROM:<a@b.c> FOO=1", 555, "5.5.4"),
        (b"MAIL FROM:<a@b.c> SIZE=1 SIZE=2", 501, "5.5.4"),
        (b"RCPT TO:<>", 501, "5.1.3"),
        (b"RCPT TO:<a b@c.d>", 501, "5.1.3"),
        (b"RCPT TO:<a@-bad-.example>", 501, "5.1.3"),
        (b"RCPT TO:<a..b@c.d>", 501, "5.1.3"),
        (b"RCPT TO:<a@b.c", 501, "5.5.4"),
        (b"RCPT TO:<a@b.c> NOTIFY=NEVER", 555, "5.5.4"),
        (b"RCPT TO:<" + b"a" * 65 + b"@b.c>", 501, "5.1.3"),
        (b"DATA now", 501, "5.5.4"),
        (b"BDAT", 501, "5.5.4"),
        (b"BDAT x", 501, "5.5.4"),
        (b"BDAT 5 FIRST", 501, "5.5.4"),
        (b"VRFY", 501, "5.5.4"),
        (b"NOOP \xff", 501, "5.6.7"),
        (b"NOOP \x00", 501, "5.5.2"),
    ],
)
def test_bad_commands_get_precise_errors(line: bytes, code: int, enhanced: str) -> None:
    """Malformed commands are refused with the right reply and enhanced code."""
    assert error_of(line) == (code, enhanced)


def test_quoted_local_part_is_quoted_again_in_the_address() -> None:
    """A local part that needs quotes keeps them (escaped) when the address is written out."""
    cmd = parse_command(b'RCPT TO:<"john \\"jd\\" doe"@example.org>')
    assert isinstance(cmd, RcptTo)
    assert cmd.recipient.local == 'john "jd" doe'
    assert cmd.recipient.address == '"john \\"jd\\" doe"@example.org'
    assert Path("a.b", "x.y").address == "a.b@x.y"


@pytest.mark.parametrize("line", [b"NOOP \x01", b"NOOP \x7f", b"RCPT TO:<a\x1fb@example.org>"])
def test_control_characters_are_refused(line: bytes) -> None:
    """A command line with a control character (other than TAB) gets 501 5.5.2."""
    with pytest.raises(CommandError) as err:
        parse_command(line)
    assert (err.value.reply.code, err.value.reply.enhanced) == (501, "5.5.2")


def test_tab_is_not_a_refused_control_character() -> None:
    """TAB is the one control character a command line may carry."""
    assert isinstance(parse_command(b"NOOP \tignored"), Noop)
