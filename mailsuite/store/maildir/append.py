"""APPEND and delivery into a Maildir mailbox: tmp/, fsync, rename, then the UID.

The message is written to ``tmp/`` (its SHA-1, sizes and header taken on the
way), fsynced with its INTERNALDATE as mtime, and parsed for the ENVELOPE and
BODYSTRUCTURE cache before any lock is taken: from the bytes still in memory
when it is small, from the ``tmp/`` file once otherwise. Only then, under the
mailbox's locks, is it renamed into ``new/`` or ``cur/``, the directory
fsynced, the hash and MODSEQ ceiling committed to the durable state and the
``dovecot-uidlist`` line written (fdatasynced) before the UID is returned.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, BinaryIO

from mailsuite.errors import ErrorKind, MailError
from mailsuite.store.api import SYSTEM_FLAGS
from mailsuite.store.maildir.facts import Facts, FactsBuilder, header_blob, parse_blobs
from mailsuite.store.maildir.filenames import join_name, letters_for
from mailsuite.store.maildir.index import IndexRow
from mailsuite.store.maildir.locks import DotLock, fsync_dir

if TYPE_CHECKING:
    from mailsuite.message import Message
    from mailsuite.store.maildir.core import MailboxCore

__all__ = ["append_message", "check_quota", "MAX_INTERNAL_DATE", "PARSE_IN_MEMORY_MAX_BYTES"]

_WRITE_CHUNK_BYTES = 1 << 16
PARSE_IN_MEMORY_MAX_BYTES = 1 << 20  # an appended message up to this size is parsed from memory
MAX_INTERNAL_DATE = 253402300800.0  # 10000-01-01: IMAP date-time has four year digits


def temp_error(what: str, e: OSError) -> MailError:
    return MailError(
        ErrorKind.TEMP,
        "Internal error occurred. Refer to server log for more information.",
        f"{what}: {e.strerror or e}",
    )


def append_message(
    core: MailboxCore,
    data: bytes | BinaryIO,
    flags: frozenset[str],
    internal_date: float | None = None,
) -> int:
    """Store a message durably and return its UID (see ``Mailbox.append``).

    Args:
        flags: already checked (``records.check_flags``).

    Raises:
        MailError: PARAMS for a bad date, NO_QUOTA over quota, TEMP on a disk error.
    """
    if internal_date is not None and not 0 <= internal_date < MAX_INTERNAL_DATE:
        raise MailError(ErrorKind.PARAMS, "Invalid internal date", f"{internal_date!r}")
    if isinstance(data, bytes | bytearray | memoryview):
        check_quota(core, len(data))
    tmp = os.path.join(core.sub_paths["tmp"], core.names.new_base(0, 0).split(",")[0])
    builder = FactsBuilder()
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as e:
        raise temp_error(f"create({tmp}) failed ({core.where()})", e) from None
    placed = False
    try:
        with os.fdopen(fd, "wb") as f:
            body = _write_message(f, data, builder)
            f.flush()
            if internal_date is not None:
                # Maildir keeps INTERNALDATE as the file's mtime (as Dovecot does);
                # set before the fsync, so the fsync makes it durable too.
                os.utime(f.fileno(), (internal_date, internal_date))
            if core.fsync:
                os.fsync(f.fileno())
            idate = os.fstat(f.fileno()).st_mtime  # a rename keeps the mtime
        facts = builder.result()
        check_quota(core, facts.psize)
        parsed = parse_blobs(
            (lambda: _message_from_bytes(body))
            if body is not None
            else (lambda: _message_from_path(tmp))
        )
        uid = _commit_new(core, tmp, facts, flags, idate, parsed)
        placed = True
    except OSError as e:
        raise temp_error(f"saving a message failed ({core.where()})", e) from None
    finally:
        if not placed:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass  # already renamed into new/ or cur/
    core.notify()
    return uid


def check_quota(core: MailboxCore, size: int) -> None:
    """Raise NO_QUOTA when one more message of ``size`` bytes would exceed the quota."""
    q = core.quota
    if q is None or not (q.storage_limit or q.message_limit):
        return
    used, count = q.usage()
    if (q.storage_limit and used + size > q.storage_limit) or (
        q.message_limit and count + 1 > q.message_limit
    ):
        raise MailError(
            ErrorKind.NO_QUOTA,
            "Quota exceeded (mailbox for user is full)",
            f"quota exceeded: {used}+{size} bytes of {q.storage_limit}, {count}+1 messages "
            f"of {q.message_limit} ({core.where()})",
        )


def _commit_new(
    core: MailboxCore,
    tmp: str,
    facts: Facts,
    flags: frozenset[str],
    idate: float,
    parsed: dict[str, bytes],
) -> int:
    base = core.names.new_base(facts.psize, facts.vsize)
    kws = frozenset(f for f in flags if f not in SYSTEM_FLAGS)
    with core.locked():
        core.refresh()
        dl = DotLock.acquire(core.uidlist_path, fsync=core.fsync)
        try:
            ul, _ = core.load_uidlist()
            kwmap = core.keyword_letters(kws) if kws else {}
            letters = letters_for(flags, kwmap.get)
            sub = "cur" if letters else "new"
            name = join_name(base, letters) if letters else base
            final = os.path.join(core.sub_paths[sub], name)
            before = core.stamps_before((sub,))
            # rename is atomic within one file system; tmp/ and new/ share it.
            os.rename(tmp, final)
            if core.fsync:
                fsync_dir(core.sub_paths[sub])
            stamps = core.own_stamps(before)
            uid = ul.nextuid
            ul.nextuid += 1
            ul.records[uid] = ("", base)
            ms = int(core.index.meta.get("highestmodseq") or 0) + 1  # refreshed under the lock
            st = core.state
            st.begin()
            try:
                st.reserve_modseq(ms)  # from memory while under the known ceiling
                st.add_hashes([(uid, facts.sha1, facts.psize)])
                st.commit()
            except BaseException:
                st.rollback()
                raise
            core.write_uidlist(dl, ul, added=[uid])
        finally:
            dl.release()
        row = IndexRow(uid, name, sub, " ".join(sorted(flags)), ms, facts.psize, facts.vsize,
                       idate)  # fmt: skip
        blobs = [(uid, "hdr", header_blob(facts.header))]
        blobs += [(uid, k, v) for k, v in parsed.items()]
        meta: dict[str, object] = {"uidnext": ul.nextuid, "uidvalidity": ul.uidvalidity}
        meta.update(stamps)  # our own rename: the next sync need not list the directory
        core.commit_rows([row], blobs, ms, meta=meta)
    if core.quota is not None:
        core.quota.add(facts.psize, 1)
    return uid


def _message_from_bytes(data: bytes) -> Message:
    from mailsuite.message import Message

    return Message.from_bytes(data)


def _message_from_path(path: str) -> Message:
    from mailsuite.message import Message

    return Message.from_path(path)


def _write_message(f: BinaryIO, data: bytes | BinaryIO, builder: FactsBuilder) -> bytes | None:
    """Write the message into ``f``, feeding ``builder``; returns its bytes when small enough.

    The bytes are kept (up to ``PARSE_IN_MEMORY_MAX_BYTES``) so ENVELOPE and
    BODYSTRUCTURE are parsed from memory instead of reading the file again.
    """
    if isinstance(data, bytes | bytearray | memoryview):
        body = bytes(data)
        builder.feed(body)
        f.write(body)
        return body if len(body) <= PARSE_IN_MEMORY_MAX_BYTES else None
    kept: list[bytes] | None = []
    size = 0
    while chunk := data.read(_WRITE_CHUNK_BYTES):
        builder.feed(chunk)
        f.write(chunk)
        if kept is not None:
            size += len(chunk)
            if size <= PARSE_IN_MEMORY_MAX_BYTES:
                kept.append(chunk)
            else:
                kept = None  # a big message: parsed from its file, never held whole
    return b"".join(kept) if kept is not None else None
