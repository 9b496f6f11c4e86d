"""The registry and parse_command: dispatch, unknown commands, and robustness against any input."""

from __future__ import annotations

import random

import pytest

from mailsuite.protocols.imap.commands import (
    REGISTRY,
    UID_REGISTRY,
    BadCommand,
    Command,
    Fetch,
    Login,
    Noop,
    Search,
    parse_command,
)
from mailsuite.protocols.imap.commands.registry import GENERIC_BAD
from mailsuite.protocols.imap.wire.framer import CommandBytes, Framer, NeedLiteral


def test_every_registered_command_names_itself() -> None:
    """The registry is keyed by each class's own name, and every class declares its states."""
    for name, cls in REGISTRY.items():
        assert cls.name == name
        assert cls.allowed
    assert UID_REGISTRY[b"FETCH"] is Fetch and UID_REGISTRY[b"SEARCH"] is Search


@pytest.mark.parametrize(
    ("line", "response"),
    [
        (b"a FOO", b"a BAD Unknown command FOO\r\n"),
        (b"a UID NOOP", b"a BAD Unknown command UID NOOP\r\n"),
        (b"a UID", b"a BAD Error in IMAP command UID: Missing arguments\r\n"),
        (b"a UID (", b"a BAD Invalid command name after UID\r\n"),
        (b"a", b"a BAD Missing command name\r\n"),
        (b"a ", b"a BAD Missing command name\r\n"),
        (b"a NO(OP", b"a BAD Invalid command name\r\n"),
        (b"+ NOOP", b"* BAD Invalid tag\r\n"),
        (b"(a NOOP", b"* BAD Invalid tag\r\n"),
        (b"a  NOOP", b"a BAD Invalid command name\r\n"),
        (b"a\tNOOP", b"a BAD Expected a space after the tag\r\n"),
    ],
)
def test_bad_lines(line: bytes, response: bytes) -> None:
    """Broken command lines are answered BAD with the tag when there is one."""
    result = parse_command(line)
    assert isinstance(result, BadCommand)
    assert result.response() == response


def test_empty_line_is_ignored() -> None:
    """An empty line (or only spaces) is not a command and gets no answer."""
    assert parse_command(b"") is None
    assert parse_command(b"   ") is None


def test_tags_may_hold_unusual_characters() -> None:
    """Any ASTRING-CHAR except '+' is valid in a tag, ']' included."""
    assert parse_command(b"a]1.x-y NOOP") == Noop(b"a]1.x-y")


RFC3501_CLIENT = (
    b"a001 login {11}\r\nfred foobar {7}\r\nsesame1\r\n"
    b"a002 select inbox\r\n"
    b"a003 fetch 12 full\r\n"
    b"a004 fetch 12 body[header]\r\n"
    b"a005 store 12 +flags \\deleted\r\n"
    b"a006 logout\r\n"
)


def test_rfc3501_session_one_byte_at_a_time() -> None:
    """The RFC 3501 section 8 client side, fed byte by byte, parses into six commands."""
    framer = Framer()
    commands: list[Command | BadCommand | None] = []
    literals: list[NeedLiteral] = []
    for i in range(len(RFC3501_CLIENT)):
        for event in framer.feed(RFC3501_CLIENT[i : i + 1]):
            if isinstance(event, CommandBytes):
                commands.append(parse_command(event.data))
            elif isinstance(event, NeedLiteral):
                literals.append(event)
    assert literals == [NeedLiteral(b"a001", 11, True), NeedLiteral(b"a001", 7, True)]
    assert commands[0] == Login(b"a001", "fred foobar", b"sesame1")
    assert [type(c).__name__ for c in commands] == [
        "Login",
        "Select",
        "Fetch",
        "Fetch",
        "Store",
        "Logout",
    ]


VALID = [
    b"a001 LOGIN {11}\r\nfred foobar {7}\r\nsesame1",
    b"a SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211 (1:5 1,3:6)))",
    b"a UID FETCH 1:* (FLAGS BODY.PEEK[1.2.HEADER.FIELDS (From To)]<0.100>)"
    b" (CHANGEDSINCE 5 VANISHED)",
    b'a UID SEARCH RETURN (MIN COUNT) CHARSET UTF-8 OR FROM "x y" (SEEN NOT UID 4:2) 1,3:*',
    b"a STORE 1:3 (UNCHANGEDSINCE 5) +FLAGS.SILENT (\\Seen $Junk)",
    b'a APPEND x (\\Seen) "17-Jul-1996 02:44:25 -0700" {3}\r\nabc',
    b'a LIST (SUBSCRIBED RECURSIVEMATCH) "" ("INBOX" %) RETURN (CHILDREN STATUS (MESSAGES))',
    b'a ID ("name" "x" "version" NIL)',
    b"a SORT (REVERSE DATE) UTF-8 SINCE 1-Feb-1994",
    b"a CREATE foo (USE (\\Drafts))",
    b"a AUTHENTICATE PLAIN AGJvYgBwdw==",
    b'a SEARCH MODSEQ "/flags/\\\\draft" all 620162338',
]
ALPHABET = b' ()[]{}<>"\\*%$:,.+-~0123456789AZaz\r\n\x00\xff'


def mutate(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(4)
        pos = rng.randrange(len(out) + 1)
        if op == 0 and out:
            del out[min(pos, len(out) - 1)]
        elif op == 1:
            out.insert(pos, rng.choice(ALPHABET))
        elif op == 2 and out:
            out[min(pos, len(out) - 1)] = rng.choice(ALPHABET)
        else:
            out = out[:pos]
    return bytes(out)


@pytest.mark.parametrize("seed", range(8))
def test_mutated_commands_never_raise(seed: int) -> None:
    """Mutated commands parse or give a precise BAD; nothing raises or falls through."""
    rng = random.Random(seed)
    for _ in range(2500):
        data = mutate(rng, rng.choice(VALID))
        result = parse_command(data)
        if isinstance(result, BadCommand):
            assert result.message != GENERIC_BAD, data
            line = result.response()
            assert line.endswith(b"\r\n") and b"\r" not in line[:-2] and b"\n" not in line[:-2]
            assert all(32 <= c < 127 for c in line[:-2]), line


@pytest.mark.parametrize("seed", range(4))
def test_random_bytes_through_framer_and_parser(seed: int) -> None:
    """Random bytes through framer and parser never raise."""
    rng = random.Random(seed)
    framer = Framer(max_line_bytes=200, hard_max_line_bytes=100_000, max_literal_bytes=100)
    for _ in range(200):
        chunk = bytes(rng.choice(ALPHABET) for _ in range(rng.randint(1, 40)))
        for event in framer.feed(chunk):
            if isinstance(event, CommandBytes):
                parse_command(event.data)
