"""The SEARCH evaluator over a real Maildir store: every key, nesting, sets, laziness."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, cast

import pytest

from mailsuite.errors import ErrorKind, MailError
from mailsuite.message import Message
from mailsuite.protocols.imap.search import (
    HeaderCache,
    UnsupportedCharset,
    evaluate_search,
    header_cache_for,
    highest_modseq,
    uses_modseq,
)
from mailsuite.store.api import FlagMode, Mailbox
from mailsuite.store.maildir import open_user_store
from tests.protocols.imap.search_sample import (
    MESSAGES,
    MSG3,
    NESTED,
    NOW,
    PST,
    UTC,
    Box,
    key_of,
    lit,
)


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Box]:
    root = tmp_path_factory.mktemp("search") / "alice"
    store = open_user_store(str(root), user="alice", fsync=False)
    mbox = store.open_mailbox("INBOX")
    # An expunged first message makes UIDs and sequence numbers differ by one.
    gone = mbox.append(b"Subject: gone\n\nx\n", ("\\Deleted",))
    mbox.expunge([gone])
    uids = [mbox.append(data, flags, when) for data, flags, when in MESSAGES]
    mbox.set_flags([uids[3]], ["$Later"], FlagMode.ADD)  # message 4 gets the top MODSEQ
    mbox.set_flags([uids[3]], ["$Later"], FlagMode.REMOVE)
    snap = dataclasses.replace(mbox.snapshot(), recent_uids=frozenset(uids[3:]))
    yield Box(mbox, snap, uids)
    mbox.close()


ALL = [1, 2, 3, 4, 5]

CASES: list[tuple[bytes, list[int]]] = [
    (b"ALL", ALL),
    # flags, \Recent (4 and 5), keywords
    (b"ANSWERED", [2]),
    (b"UNANSWERED", [1, 3, 4, 5]),
    (b"DELETED", [3]),
    (b"UNDELETED", [1, 2, 4, 5]),
    (b"DRAFT", [3]),
    (b"UNDRAFT", [1, 2, 4, 5]),
    (b"FLAGGED", [2]),
    (b"UNFLAGGED", [1, 3, 4, 5]),
    (b"SEEN", [1, 5]),
    (b"UNSEEN", [2, 3, 4]),
    (b"RECENT", [4, 5]),
    (b"OLD", [1, 2, 3]),
    (b"NEW", [4]),
    (b"KEYWORD $Forwarded", [2]),
    (b"KEYWORD $forwarded", [2]),
    (b"KEYWORD $Nothing", []),
    (b"UNKEYWORD $Junk", [1, 2, 3, 4]),
    (b"KEYWORD $Later", []),
    # address fields: decoded value and parsed display form
    (b"FROM alice", [1]),
    (b"FROM " + lit("J\u00d6RG"), [2]),
    (b"FROM " + lit("J\u00f6rg M\u00fcller <jorg@"), [2]),
    (b'FROM "=?utf-8?"', []),
    (b"FROM carol", [3]),
    (b'FROM "Dave Comment"', [5]),
    (b'TO "Doe, John"', [2]),
    (b'TO "John <john@example.com>"', [2]),
    (b"TO bob", [1]),
    (b"TO alice", [3]),
    (b"TO undisclosed", [5]),
    (b"CC carol", [1]),
    (b"CC example", [1]),
    (b"BCC secret", [2]),
    (b"BCC bob", []),
    # SUBJECT and HEADER: encoded words, folding, unknown charsets, empty strings
    (b"SUBJECT " + lit("GR\u00dc\u00dfE aus"), [2]),
    (b"SUBJECT " + lit("gr\u00fcsse aus"), [2]),
    (b'SUBJECT "long subject"', [3]),
    (b'SUBJECT "LONG   SUBJECT"', [3]),
    (b"SUBJECT report", [1]),
    (b"SUBJECT strange", [5]),
    (b'SUBJECT ""', [1, 2, 3, 5]),
    (b'HEADER X-Custom ""', [4]),
    (b'HEADER x-custom "a"', []),
    (b'HEADER Message-ID "1@EXAMPLE"', [1]),
    (b"HEADER Content-Type multipart", [3]),
    (b'HEADER X-Missing ""', []),
    # BODY: decoded text parts only (QP, base64, charsets), never headers or attachments
    (b"BODY numbers", [1]),
    (b"BODY " + lit("caf\u00e9 CR\u00c8ME"), [2]),
    (b"BODY soft-broken", [2]),
    (b"BODY " + lit("\u20ac"), [3]),
    (b'BODY "price list"', [3]),
    (b"BODY secretword", []),
    (b"BODY " + lit("\u043f\u0440\u0438\u0432\u0435\u0442"), [4]),
    (b'BODY "plain words"', [5]),
    (b"BODY report", []),
    (b'BODY ""', ALL),
    (b'BODY "in. see"', [1]),
    # TEXT: header and body
    (b"TEXT report", [1]),
    (b"TEXT numbers", [1]),
    (b'TEXT "subject: quarterly"', [1]),
    (b"TEXT " + lit("M\u00fcnchen"), [2]),
    (b"TEXT secretword", []),
    (b"TEXT " + lit("\u041f\u0420\u0418\u0412\u0415\u0422 \u041c\u0418\u0420"), [4]),
    # internal date, UTC days; message 3 arrived at midnight exactly
    (b"BEFORE 2-Mar-2026", [2, 5]),
    (b"ON 2-Mar-2026", [1, 3]),
    (b'ON "02-Mar-2026"', [1, 3]),
    (b"SINCE 2-Mar-2026", [1, 3, 4]),
    (b"SINCE 1-Jan-2030", []),
    (b"BEFORE 1-Jan-1970", []),
    (b"SINCE 1-Jan-0001", ALL),
    (b"BEFORE 31-Dec-9999", ALL),
    # Date: header, the day as written (message 2 is 2 March in UTC); 3 and 4 have
    # none, so their internal date stands in (RFC 5256 2.2)
    (b"SENTON 1-Mar-2026", [2]),
    (b"SENTON 2-Mar-2026", [1, 3]),
    (b"SENTON 3-Mar-2026", [4]),
    (b"SENTBEFORE 2-Mar-2026", [2, 5]),
    (b"SENTSINCE 1-Mar-2026", [1, 2, 3, 4]),
    (b"SENTSINCE 3-Mar-2026", [4]),
    (b"SENTON 20-Feb-2026", [5]),
    (b"NOT SENTON 1-Mar-2026", [1, 3, 4, 5]),
    # sizes (message 3 is the only big one)
    (b"LARGER 1500", [3]),
    (b"SMALLER 1500", [1, 2, 4, 5]),
    (b"LARGER 100000", []),
    (b"SMALLER 0", []),
    # UIDs are 2..6 (UID 1 was expunged)
    (b"UID 2:3", [1, 2]),
    (b"UID *", [5]),
    (b"UID 6:*", [5]),
    (b"UID 100:*", [5]),
    (b"UID 1", []),
    (b"UID 3,5", [2, 4]),
    (b"UID 1:4,6", [1, 2, 3, 5]),
    # sequence sets
    (b"1", [1]),
    (b"2:4", [2, 3, 4]),
    (b"4:2", [2, 3, 4]),
    (b"*", [5]),
    (b"3:*", [3, 4, 5]),
    (b"*:4", [4, 5]),
    (b"1,3,5", [1, 3, 5]),
    (b"5,1,3:3", [1, 3, 5]),
    (b"7", []),
    (b"5:9", [5]),
    (b"1:*", ALL),
    (b"1:2,2:3,3:4", [1, 2, 3, 4]),
    # OR, NOT, parentheses, nesting
    (b"OR SEEN FLAGGED", [1, 2, 5]),
    (b"NOT SEEN", [2, 3, 4]),
    (b"NOT (OR SEEN FLAGGED)", [3, 4]),
    (b"OR (FROM alice BODY numbers) (SUBJECT strange)", [1, 5]),
    (b"OR NOT DELETED BODY price", ALL),
    (b"(SEEN UNSEEN)", []),
    (b"OR OR ANSWERED DELETED DRAFT", [2, 3]),
    (b"NOT NOT SEEN", [1, 5]),
    (b"SEEN FROM alice", [1]),
    (b"UNSEEN 2:4 NOT DRAFT", [2, 4]),
    (b"((((SEEN))))", [1, 5]),
    (b"NOT (OR UID 2:3 OR 4 5)", [3]),
    (b"NOT (UID 2:3 OR 4 5)", ALL),
    (b"OR (NOT BODY numbers) (NOT TEXT numbers)", [2, 3, 4, 5]),
    # RFC 5032
    (b"YOUNGER 3600", [4]),
    (b"OLDER 3600", [1, 2, 3, 5]),
    (b"YOUNGER 100000", [1, 4]),
]


@pytest.mark.parametrize(
    ("keys", "expected"), CASES, ids=[c[0].decode().replace("\r\n", " ") for c in CASES]
)
@pytest.mark.parametrize("cached", [False, True], ids=["file", "cache"])
def test_key(box: Box, keys: bytes, expected: list[int], cached: bool) -> None:
    """Each program matches exactly the expected messages, from the files or the header cache."""
    cache = header_cache_for(box.mailbox) if cached else None
    assert box.search(keys, header_cache=cache) == expected


def test_result_is_ascending_uids(box: Box) -> None:
    """The result lists UIDs in ascending order, not sequence numbers."""
    got = evaluate_search(key_of(b"5,1,3"), box.snapshot, box.mailbox.message, tz=UTC)
    assert got == [box.uids[0], box.uids[2], box.uids[4]]


def test_internal_date_days_follow_the_time_zone(box: Box) -> None:
    """BEFORE/ON/SINCE compare the internal date's day in the given (server) zone."""
    assert box.search(b"ON 1-Mar-2026", tz=PST) == [2, 3]
    assert box.search(b"ON 2-Mar-2026", tz=PST) == [1]
    assert box.search(b"ON 3-Mar-2026", tz=PST) == [4]
    assert box.search(b"SINCE 2-Mar-2026", tz=PST) == [1, 4]


def test_default_zone_is_the_servers(box: Box) -> None:
    """Without a zone, days are those of the server's local time."""
    when = MESSAGES[0][2]
    day = datetime.datetime.fromtimestamp(when).date()
    key = f"ON {day.day}-{day.strftime('%b')}-{day.year}".encode()
    got = evaluate_search(key_of(key), box.snapshot, box.mailbox.message)
    assert box.uids[0] in got


def test_modseq(box: Box) -> None:
    """MODSEQ n matches messages whose MODSEQ is at least n; the highest is reported."""
    mods = {m.uid: m.modseq for m in box.snapshot.messages}
    top = mods[box.uids[3]]
    assert top == max(mods.values())
    assert box.search(b"MODSEQ %d" % top) == [4]
    assert box.search(b"MODSEQ 1") == ALL
    assert box.search(b'MODSEQ "/flags/\\\\seen" all %d' % top) == [4]
    assert box.search(b"MODSEQ %d" % (top + 1)) == []
    assert uses_modseq(key_of(b"OR SEEN (NOT MODSEQ 5)"))
    assert not uses_modseq(key_of(b"OR SEEN (NOT UID 5)"))
    assert highest_modseq(box.snapshot, box.uids[:2]) == max(mods[u] for u in box.uids[:2])
    assert highest_modseq(box.snapshot, []) == 0


def test_saved_result(box: Box) -> None:
    """``$`` stands for the saved UIDs (ignoring gone ones) and for nothing when none were saved."""
    saved = {box.uids[1], box.uids[3], 999}
    assert box.search(b"$", saved_result=saved) == [2, 4]
    assert box.search(b"NOT $", saved_result=saved) == [1, 3, 5]
    assert box.search(b"UID $ SEEN", saved_result={box.uids[0], box.uids[1]}) == [1]
    assert box.search(b"$") == []
    assert box.search(b"NOT $") == ALL


def test_recent_from_snapshot_and_argument(box: Box) -> None:
    """\\Recent is the union of the snapshot's recent UIDs and the session's own."""
    snap = dataclasses.replace(box.snapshot, recent_uids=frozenset({box.uids[0]}))
    got = evaluate_search(
        key_of(b"RECENT"), snap, box.mailbox.message, recent_uids=frozenset({box.uids[2]})
    )
    assert got == [box.uids[0], box.uids[2]]


def test_sequence_numbers_the_client_knows(box: Box) -> None:
    """With seen_sequence, ``*`` is the last message the client knows; unknown ones never match."""
    known = {u: i + 1 for i, u in enumerate(box.uids[:4])}

    def seen(uid: int) -> int:
        return known.get(uid, 0)

    assert box.search(b"*", seen_sequence=seen) == [4]
    assert box.search(b"1:*", seen_sequence=seen) == [1, 2, 3, 4]
    assert box.search(b"5", seen_sequence=seen) == []
    assert box.search(b"NOT 5", seen_sequence=seen) == ALL
    assert box.search(b"UID *", seen_sequence=seen) == [5]


def test_charsets(box: Box) -> None:
    """UTF-8 and US-ASCII (any case) are accepted; any other charset is refused."""
    assert box.search(b"SEEN", charset="us-ascii") == [1, 5]
    assert box.search(b"SEEN", charset="UTF-8") == [1, 5]
    with pytest.raises(UnsupportedCharset):
        box.search(b"SEEN", charset="ISO-8859-1")


class Counter:
    """Wraps Mailbox.message, counting loads and the bytes read from message files."""

    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox
        self.loads: list[int] = []
        self.read: dict[int, int] = {}

    def __call__(self, uid: int) -> Message:
        self.loads.append(uid)
        self.read[uid] = 0
        counting = _CountingFile(self.mailbox.open_message(uid), self, uid)
        return Message.from_file(cast(BinaryIO, counting))


class _CountingFile:
    def __init__(self, f: BinaryIO, counter: Counter, uid: int) -> None:
        self._f, self._c, self._uid = f, counter, uid

    def read(self, n: int = -1) -> bytes:
        data = self._f.read(n)
        self._c.read[self._uid] += len(data)
        return data


def run(box: Box, keys: bytes, cache: HeaderCache | None = None) -> Counter:
    counter = Counter(box.mailbox)
    evaluate_search(
        key_of(keys), box.snapshot, counter, tz=UTC, now=lambda: NOW, header_cache=cache
    )
    return counter


@pytest.mark.parametrize(
    "keys",
    [
        b"SEEN",
        b"OR OR DELETED UNFLAGGED KEYWORD $Junk",
        b"UID 1:* NOT 3 LARGER 10",
        b"SINCE 1-Mar-2026 YOUNGER 999999 RECENT",
        b"MODSEQ 1 NOT NEW",
        b'BODY ""',
        b"ALL",
    ],
)
def test_index_only_search_opens_no_file(box: Box, keys: bytes) -> None:
    """A search on flags, UIDs, sequence numbers, sizes and dates opens no message file."""
    assert run(box, keys).loads == []


def test_header_search_reads_only_headers(box: Box) -> None:
    """A header search reads each message's header, not the 20 KB body of message 3."""
    c = run(box, b"SUBJECT zzz")
    assert c.loads == box.uids
    big = box.uids[2]
    assert c.read[big] <= 8192 < len(MSG3)


@pytest.mark.parametrize(
    "keys",
    [
        b"SUBJECT zzz",
        b'FROM "John <john@"',
        b"OR TO x CC y",
        b"SENTON 1-Mar-2026",
        b"HEADER Date 2026",
    ],
)
def test_cached_header_search_opens_no_file(box: Box, keys: bytes) -> None:
    """With the store's header cache, a search on cached fields opens no message file."""
    assert run(box, keys, header_cache_for(box.mailbox)).loads == []


@pytest.mark.parametrize("keys", [b"BCC x", b"HEADER X-Custom x", b"BODY x", b"TEXT x"])
def test_uncached_fields_still_read_the_file(box: Box, keys: bytes) -> None:
    """Fields the cache does not hold, and bodies, are read from the message file."""
    assert run(box, keys, header_cache_for(box.mailbox)).loads == box.uids


def test_no_header_cache_for_other_stores() -> None:
    """A mailbox without a header cache gets none (the file path is used)."""
    assert header_cache_for(object()) is None


def test_body_search_reads_bodies(box: Box) -> None:
    """A BODY search reads the whole of each message it examines."""
    c = run(box, b"BODY zzz")
    assert c.read[box.uids[2]] == len(MSG3)


@pytest.mark.parametrize(
    ("keys", "loaded"),
    [
        (b"BODY numbers SEEN", [1, 5]),  # the cheap key runs first, whatever the order written
        (b"OR BODY zzz SEEN", [2, 3, 4]),
        (b"NOT DELETED FROM alice UNFLAGGED", [1, 4, 5]),
        (b"OR (3 SUBJECT x) (UID 2)", [3]),
        (b"BODY x 9", []),
    ],
)
def test_message_loaded_only_when_it_decides(box: Box, keys: bytes, loaded: list[int]) -> None:
    """A message file is opened only for messages the index-level keys have not decided."""
    assert box.seqs(run(box, keys).loads) == loaded


def test_expunged_while_searching(tmp_path: Path) -> None:
    """A message expunged after the snapshot is left out, even under NOT."""
    store = open_user_store(str(tmp_path / "bob"), user="bob", fsync=False)
    mbox = store.open_mailbox("INBOX")
    a = mbox.append(b"Subject: one\n\nbody one\n")
    b = mbox.append(b"Subject: two\n\nbody two\n", ("\\Deleted",))
    snap = mbox.snapshot()
    assert mbox.expunge() == [b]
    for keys, want in [(b"NOT SUBJECT one", []), (b"BODY body", [a]), (b"ALL", [a, b])]:
        assert evaluate_search(key_of(keys), snap, mbox.message) == want, keys


def test_other_load_errors_propagate(box: Box) -> None:
    """A failure other than an expunge is not hidden as a non-match."""

    def broken(uid: int) -> Message:
        raise MailError(ErrorKind.TEMP, "Disk error", f"UID {uid}")

    with pytest.raises(MailError):
        evaluate_search(key_of(b"SUBJECT x"), box.snapshot, broken)


def test_empty_mailbox(tmp_path: Path) -> None:
    """Every search in an empty mailbox, ``*`` included, finds nothing and loads nothing."""
    store = open_user_store(str(tmp_path / "carol"), user="carol", fsync=False)
    mbox = store.open_mailbox("INBOX")
    snap = mbox.snapshot()
    loads: list[int] = []

    def load(uid: int) -> Message:
        loads.append(uid)
        return mbox.message(uid)

    for keys in (b"ALL", b"*", b"UID *", b"NOT 1:*", b"BODY x", b"NOT SEEN"):
        assert evaluate_search(key_of(keys), snap, load) == [], keys
    assert loads == []


def test_malformed_message_does_not_break_search(tmp_path: Path) -> None:
    """Broken MIME, bad base64, bad encoded words and a bad Date still give clean answers."""
    store = open_user_store(str(tmp_path / "dan"), user="dan", fsync=False)
    mbox = store.open_mailbox("INBOX")
    bad = (
        b"From: =?utf-8?b?!!!?= <<@@>>\nSubject: =?bogus?x?zz?=\nDate: 99 Foo 2026 99:99\n"
        b'Content-Type: multipart/mixed; boundary="never"\n\n'
        b"--never\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
        b"%%%not base64\xff\xfe\n"
    )
    uid = mbox.append(bad)
    snap = mbox.snapshot()
    for keys, want in [
        (b"FROM x", []),
        (b"FROM missing", []),
        (b"SUBJECT bogus", [uid]),
        (b"SENTBEFORE 1-Jan-3000", [uid]),  # the internal date stands in
        (b"NOT SENTSINCE 1-Jan-1900", []),
        (b"BODY zzz", []),
        (b"TEXT never", [uid]),
        (b'FROM ""', [uid]),
    ]:
        assert evaluate_search(key_of(keys), snap, mbox.message) == want, keys


# What matches in a message with part headers, an attached message, a binary
# part and HTML; every answer here is also Dovecot 2.3's (test_search_dovecot).
NESTED_CASES: list[tuple[bytes, bool]] = [
    (b"BODY fwd", False),
    (b"TEXT fwd", True),
    (b"TEXT " + lit("subj\u00e9ct"), True),
    (b"BODY innertext", True),
    (b"BODY partheader", False),
    (b"TEXT partheader", True),
    (b"TEXT x-part", True),
    (b"BODY binaryword", False),
    (b"TEXT binaryword", False),
    (b"BODY htmlword", False),
    (b"BODY html", True),
    (b"BODY ent&eacute;", True),
    (b"BODY inner@example", False),
    (b"TEXT hdrvalue", True),
    (b"BODY hdrvalue", False),
    (b"BODY outer", True),
    (b"FROM inner", False),
    (b"SUBJECT fwd", False),
]


@pytest.fixture(scope="module")
def nested(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Box]:
    store = open_user_store(str(tmp_path_factory.mktemp("nested") / "u"), user="u", fsync=False)
    mbox = store.open_mailbox("INBOX")
    uid = mbox.append(NESTED)
    yield Box(mbox, mbox.snapshot(), [uid])
    mbox.close()


@pytest.mark.parametrize(
    ("keys", "found"), NESTED_CASES, ids=[k.decode().replace("\r\n", " ") for k, _ in NESTED_CASES]
)
def test_nested_parts(nested: Box, keys: bytes, found: bool) -> None:
    """BODY searches text parts only; TEXT also part headers and attached messages' headers."""
    assert nested.search(keys) == ([1] if found else [])


def test_many_keys_evaluate_without_recursion_error(box: Box) -> None:
    """A long flat OR chain (as clients build for many UIDs) evaluates correctly."""
    chain = b"OR " * 150 + b" ".join(b"UID %d" % n for n in range(1000, 1151))
    keys = b"OR UID %d " % box.uids[1] + b"(" + chain + b")"
    assert box.search(keys) == [2]


def test_deepest_nesting_evaluates_in_a_thread(box: Box) -> None:
    """The deepest program the parser accepts evaluates in a worker thread, as run_blocking does."""
    import threading

    from mailsuite.protocols.imap.commands.search import SEARCH_MAX_DEPTH

    depth = SEARCH_MAX_DEPTH - 3  # the parenthesis and OR's operands take three levels
    keys = b"NOT " * depth + b"(OR SEEN SUBJECT x)"
    result: list[object] = []

    def work() -> None:
        try:
            result.append(box.search(keys))
        except BaseException as e:  # reported below, not lost in the thread
            result.append(e)

    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    assert result == [[2, 3, 4] if depth % 2 else [1, 5]]


def test_encoded_bodies_are_not_ruled_out_from_raw_bytes(tmp_path: Path) -> None:
    """Text hidden from the raw bytes by UTF-7, EBCDIC or ISO-2022 shifts is still found."""
    from tests.protocols.imap.searchkeys.test_text import TRICKY

    store = open_user_store(str(tmp_path / "eve"), user="eve", fsync=False)
    mbox = store.open_mailbox("INBOX")
    uids = {name: mbox.append(TRICKY[i]) for name, i in [("utf7", 1), ("jp", 3), ("cp500", 5)]}
    snap = mbox.snapshot()
    for keys, want in [
        (b"BODY hidden", ["utf7"]),
        (b"BODY abcd", ["jp"]),
        (b'BODY ".<(+"', ["cp500"]),
        (b"TEXT hidden", ["utf7"]),
        (b"BODY zzz", []),
    ]:
        got = evaluate_search(key_of(keys), snap, mbox.message)
        assert got == sorted(uids[w] for w in want), keys
