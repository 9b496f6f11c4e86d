"""The cache serves ENVELOPE, BODYSTRUCTURE and common headers without opening message files."""

from __future__ import annotations

from pathlib import Path

from mailsuite.message import Message
from mailsuite.store.maildir import MaildirStore

from .conftest import LogLines, msg
from .test_integrity import close_core, flip_all

MIME = (
    b"From: Bob <bob@example.org>\nTo: alice@example.org\nSubject: parts\n"
    b"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=XX\n\n"
    b"--XX\nContent-Type: text/plain\n\nhello\n--XX\nContent-Type: image/png\n"
    b"Content-Transfer-Encoding: base64\n\naGVsbG8=\n--XX--\n"
)


def test_envelope_and_bodystructure_come_from_the_cache(store: MaildirStore) -> None:
    """After delivery, ENVELOPE and BODYSTRUCTURE are answered from the cache, not the file."""
    mbox = store.open_mailbox("INBOX")
    uid = mbox.append(MIME)
    expected = Message.from_bytes(MIME)
    [rec] = mbox.snapshot().messages
    # Replace the file's content: only a cache can still give the original answers.
    Path(store.root, "new", rec.filename).write_bytes(msg(0))
    assert mbox.envelope(uid) == expected.envelope()
    assert mbox.bodystructure(uid) == expected.bodystructure()
    assert mbox.header_fields(uid)["subject"] == ["parts"]


def test_messages_found_on_disk_are_parsed_on_first_use(store: MaildirStore) -> None:
    """A message delivered by another agent gets its ENVELOPE parsed once and cached."""
    mbox = store.open_mailbox("INBOX")
    Path(store.root, "new", "1.ext.host").write_bytes(MIME)
    [rec] = mbox.snapshot().messages
    assert mbox.envelope(rec.uid).subject == "parts"
    Path(store.root, "new", "1.ext.host").write_bytes(msg(0))
    assert mbox.envelope(rec.uid).subject == "parts"


def test_damaged_envelope_blob_is_rebuilt_from_the_file(store: MaildirStore, log: LogLines) -> None:
    """A cached ENVELOPE with a flipped byte is logged and parsed again from the file."""
    mbox = store.open_mailbox("INBOX")
    uid = mbox.append(MIME)
    close_core(store)
    assert flip_all(Path(store.root, "mailsuite.index.sqlite"), b'"parts"') >= 1
    mbox = store.open_mailbox("INBOX")
    assert mbox.envelope(uid) == Message.from_bytes(MIME).envelope()
    assert f"cached env of UID {uid} has a bad CRC" in log.text()


def test_broken_and_binary_messages_never_raise(store: MaildirStore) -> None:
    """Empty, binary and 8-bit messages are stored and cached; raw header bytes come back."""
    mbox = store.open_mailbox("INBOX")
    samples = [b"", b"\x00\xff\xfe" * 100, b"no header at all", b"\n\n\n", b"From: a\n" * 5000]
    samples.append(b"Subject: \xff\xfe caf\xc3\xa9\r\n\r\nbody\r\n")
    for data in samples:
        uid = mbox.append(data)
        mbox.envelope(uid)
        mbox.bodystructure(uid)
        with mbox.open_message(uid) as f:
            assert f.read() == data
    [subject] = mbox.header_fields(len(samples))["subject"]
    assert subject.encode("utf-8", "surrogateescape") == b"\xff\xfe caf\xc3\xa9"


def test_read_ahead_over_many_messages_still_checks_every_crc(
    store: MaildirStore, log: LogLines
) -> None:
    """FETCH ENVELOPE over many messages (read ahead in batches) still catches a damaged blob."""
    mbox = store.open_mailbox("INBOX")
    uids = [mbox.append(msg(i)) for i in range(40)]
    close_core(store)
    assert flip_all(Path(store.root, "mailsuite.index.sqlite"), b'"message 33"') >= 1
    mbox = store.open_mailbox("INBOX")
    subjects = [mbox.envelope(u).subject for u in uids]
    assert subjects == [f"message {i}" for i in range(40)]
    assert "cached env of UID 34 has a bad CRC" in log.text()


def test_read_ahead_never_serves_an_expunged_message(store: MaildirStore) -> None:
    """A blob read ahead for a message expunged meanwhile is not handed out for it."""
    from mailsuite.errors import MailError
    from mailsuite.store.api import FlagMode

    mbox = store.open_mailbox("INBOX")
    uids = [mbox.append(msg(i)) for i in range(20)]
    for u in uids[:6]:
        mbox.envelope(u)  # the read-ahead window now covers later UIDs
    other = store.open_mailbox("INBOX")
    other.set_flags([uids[10]], ["\\Deleted"], FlagMode.ADD)
    other.expunge()
    mbox.snapshot()
    try:
        mbox.envelope(uids[10])
    except MailError:
        pass
    else:
        raise AssertionError("an expunged message still had an envelope")
    assert mbox.envelope(uids[11]).subject == "message 11"


def _fill_steps(root: Path, n: int) -> int:
    """SQLite VM steps spent serving ENVELOPE of ``n`` uncached messages in UID order."""
    from mailsuite.store.maildir import open_user_store

    root.mkdir()
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir()
    for i in range(n):
        (root / "new" / f"{1000 + i}.ext.host").write_bytes(msg(i))
    mbox = open_user_store(str(root), user="alice").open_mailbox("INBOX", readonly=True)
    recs = mbox.snapshot().messages
    steps = [0]

    def tick() -> int:
        steps[0] += 1
        return 0

    mbox.core.index.conn.set_progress_handler(tick, 100)
    for r in recs:
        assert (
            mbox.envelope(r.uid).subject
            == f"message {r.filename[:4] and int(r.filename[:4]) - 1000}"
        )
    mbox.core.index.conn.set_progress_handler(None, 0)
    mbox.close()
    return steps[0]


def test_filling_the_envelope_cache_costs_linear_index_work(tmp_path: Path) -> None:
    """Serving ENVELOPE for twice as many uncached messages costs about twice the index work."""
    small = _fill_steps(tmp_path / "small", 300)
    large = _fill_steps(tmp_path / "large", 600)
    assert large < 3 * small, (small, large)
