"""Selected-state commands: CHECK, CLOSE, UNSELECT, EXPUNGE, UID EXPUNGE, STORE, COPY, MOVE."""

from __future__ import annotations

import pytest

from mailsuite.protocols.imap.commands import (
    BadCommand,
    Check,
    Close,
    Command,
    Copy,
    Expunge,
    Move,
    State,
    Store,
    StoreMode,
    UidExpunge,
    Unselect,
    parse_command,
)
from mailsuite.protocols.imap.wire.seqset import SequenceSet

S = SequenceSet

CASES: list[tuple[bytes, Command]] = [
    (b"FXXZ CHECK", Check(b"FXXZ")),
    (b"A341 CLOSE", Close(b"A341")),
    (b"a UNSELECT", Unselect(b"a")),
    (b"A202 EXPUNGE", Expunge(b"A202")),
    (b"A003 UID EXPUNGE 3000:3002", UidExpunge(b"A003", S(((3000, 3002),)))),
    (
        b"A003 STORE 2:4 +FLAGS (\\Deleted)",
        Store(b"A003", S(((2, 4),)), StoreMode.ADD, ("\\Deleted",)),
    ),
    (
        b"a STORE 1 -FLAGS.SILENT \\Seen $Junk",
        Store(b"a", S(((1, 1),)), StoreMode.REMOVE, ("\\Seen", "$Junk"), silent=True),
    ),
    (b"a STORE 1 FLAGS ()", Store(b"a", S(((1, 1),)), StoreMode.REPLACE, ())),
    (
        b"a UID STORE 1:* flags.silent (\\seen \\deleted)",
        Store(b"a", S(((1, None),)), StoreMode.REPLACE, ("\\Seen", "\\Deleted"), True, True),
    ),
    (
        b"d105 STORE 7,5,9 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted)",
        Store(
            b"d105",
            S(((7, 7), (5, 5), (9, 9))),
            StoreMode.ADD,
            ("\\Deleted",),
            True,
            False,
            320162338,
        ),
    ),
    (b"A003 COPY 2:4 MEETING", Copy(b"A003", S(((2, 4),)), "MEETING")),
    (b"a UID COPY $ Trash", Copy(b"a", S(saved=True), "Trash", True)),
    (b"a MOVE 1 &U,BTFw-", Move(b"a", S(((1, 1),)), "台北")),
    (b"a UID MOVE 42:69 foo", Move(b"a", S(((42, 69),)), "foo", True)),
]


@pytest.mark.parametrize(("line", "command"), CASES)
def test_parse(line: bytes, command: Command) -> None:
    """Each command line (RFC examples included) parses to the expected object."""
    assert parse_command(line) == command


def test_selected_only() -> None:
    """These commands are allowed only with a mailbox selected."""
    for cls in (Check, Close, Unselect, Expunge, UidExpunge, Store, Copy, Move):
        assert cls.allowed == {State.SELECTED}


def test_sequence_breakers() -> None:
    """Commands that can change sequence numbers say so (RFC 3501 5.5)."""
    assert Expunge.breaks_sequences and Move.breaks_sequences and UidExpunge.breaks_sequences
    assert not Store.breaks_sequences and not Copy.breaks_sequences


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b"a STORE 1 FLAGS", "Missing arguments"),
        (b"a STORE 1 +FLAG (\\Seen)", "Unknown STORE item FLAG"),
        (b"a STORE 1 FLAGS (\\Recent)", "Invalid system flag \\Recent"),
        (b"a STORE 1 (UNCHANGEDSINCE x) FLAGS ()", "Expected a mod-sequence"),
        (b"a STORE 1 (BOGUS 1) FLAGS ()", "Unknown STORE modifier BOGUS"),
        (b"a COPY 1", "Missing arguments"),
        (b"a UID EXPUNGE", "Missing arguments"),
        (b"a EXPUNGE 1", "Unexpected extra arguments"),
    ],
)
def test_errors(line: bytes, message: str) -> None:
    """Malformed commands give a BadCommand whose text names the problem."""
    result = parse_command(line)
    assert isinstance(result, BadCommand), result
    assert message in result.message
