"""Tests for the stores and mailbox handles LMTP keeps open between deliveries."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

from mailsuite.auth.interfaces import UserRecord
from mailsuite.delivery.deliver import deliver
from mailsuite.delivery.handles import HandleCache, record_key
from mailsuite.delivery.result import DeliveryRequest
from mailsuite.delivery.spool import Spool
from mailsuite.errors import ErrorKind, MailError
from mailsuite.store.api import INBOX, Mailbox, MailStore
from mailsuite.store.maildir import open_user_store

MESSAGE = b"From: carol@example.net\r\nSubject: hi\r\nMessage-ID: <h1@example.net>\r\n\r\nbody\r\n"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Opened:
    """Opens real Maildir stores and counts how often it was asked."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.count = 0

    def __call__(self, record: UserRecord) -> MailStore:
        self.count += 1
        return open_user_store(
            record.mail or str(self.tmp_path / record.username),
            user=record.username,
            quota_messages=record.quota_messages,
        )


def make(tmp_path: Path, **kw: object) -> tuple[HandleCache, Opened, Clock]:
    opened = Opened(tmp_path)
    clock = Clock()
    return HandleCache(opened, clock=clock, **kw), opened, clock  # type: ignore[arg-type]


def alice(**kw: object) -> UserRecord:
    return UserRecord("alice", **kw)  # type: ignore[arg-type]


def spool_of(data: bytes) -> Spool:
    spool = Spool()
    spool.write(data)
    spool.finish()
    return spool


def uids(store: MailStore, name: str = INBOX) -> list[int]:
    box = store.open_mailbox(name)
    try:
        return [r.uid for r in box.snapshot().messages]
    finally:
        box.close()


def test_the_same_user_gets_the_same_store_and_handle_back(tmp_path: Path) -> None:
    """A second delivery to the same user reuses the store and the mailbox handle given back."""
    cache, opened, _ = make(tmp_path)
    with cache.lease(alice()) as user:
        first_store = user.store
        box = user.open_mailbox("inbox")
        user.release(box, reusable=True)
    with cache.lease(alice()) as user:
        assert user.store is first_store
        assert user.open_mailbox(INBOX) is box
        user.release(box, reusable=True)
    assert opened.count == 1 and cache.idle_handles() == 1


def test_a_changed_userdb_record_opens_a_new_store(tmp_path: Path) -> None:
    """Another quota or mail path in the userdb record never meets the store opened before."""
    cache, opened, _ = make(tmp_path)
    assert record_key(alice()) != record_key(alice(quota_messages=5))
    with cache.lease(alice()) as a, cache.lease(alice(quota_messages=5)) as b:
        assert a.store is not b.store
    assert opened.count == 2


def test_concurrent_deliveries_get_their_own_handles(tmp_path: Path) -> None:
    """Two deliveries into one mailbox at the same time never share a handle."""
    cache, _, _ = make(tmp_path)
    with cache.lease(alice()) as one, cache.lease(alice()) as two:
        a = one.open_mailbox(INBOX)
        b = two.open_mailbox(INBOX)
        assert a is not b
        one.release(a, reusable=True)
        two.release(b, reusable=True)
    assert cache.idle_handles() == 2


def test_a_handle_whose_append_failed_is_not_reused(tmp_path: Path) -> None:
    """A handle given back as not reusable is closed; the next delivery opens a fresh one."""
    cache, _, _ = make(tmp_path)
    with cache.lease(alice()) as user:
        box = user.open_mailbox(INBOX)
        user.release(box, reusable=False)
        assert user.open_mailbox(INBOX) is not box
    assert cache.idle_handles() == 0


def test_a_deleted_and_recreated_mailbox_is_not_served_by_the_old_handle(tmp_path: Path) -> None:
    """After DELETE and CREATE of one name, a delivery lands in the new mailbox, not the old."""
    cache, _, _ = make(tmp_path)
    with cache.lease(alice()) as user:
        user.store.create_mailbox("Lists")
        old = user.open_mailbox("Lists")
        old.append(MESSAGE)
        user.release(old, reusable=True)
        user.store.delete_mailbox("Lists")
        user.store.create_mailbox("Lists")
        new = user.open_mailbox("Lists")
        assert new is not old
        new.append(MESSAGE)
        user.release(new, reusable=True)
        assert uids(user.store, "Lists") == [1]  # one message: the new mailbox's first


def test_only_inbox_handles_are_kept(tmp_path: Path) -> None:
    """A folder can be deleted and made anew under its name, so only INBOX handles stay open."""
    cache, _, _ = make(tmp_path)
    with cache.lease(alice()) as user:
        user.store.create_mailbox("Lists")
        user.release(user.open_mailbox("Lists"), reusable=True)
        assert cache.idle_handles() == 0
        user.store.delete_mailbox("Lists")
        with pytest.raises(MailError) as err:
            user.open_mailbox("Lists")
        assert err.value.kind is ErrorKind.NOT_FOUND


def test_a_removed_maildir_is_made_again_by_the_next_delivery(tmp_path: Path) -> None:
    """When the whole Maildir is removed under a kept store, the next delivery makes it again."""
    cache, opened, _ = make(tmp_path)
    request = DeliveryRequest(user="alice", recipient="alice@example.org", sender="c@example.net")
    with cache.lease(alice()) as user:
        assert deliver(user.store, spool_of(MESSAGE), request, mailboxes=user).ok
        root = user.store.root
    shutil.rmtree(root)
    with cache.lease(alice()) as user:
        assert deliver(user.store, spool_of(MESSAGE), request, mailboxes=user).ok
        assert opened.count == 2 and user.store.root == root
        assert uids(user.store) == [1]
    with cache.lease(alice()) as user:  # and the new store is the kept one from now on
        assert deliver(user.store, spool_of(MESSAGE), request, mailboxes=user).ok
    assert opened.count == 2 and len(cache) == 1


def test_an_external_delivery_between_two_cached_appends_keeps_uids_unique(tmp_path: Path) -> None:
    """A file another delivery agent drops into new/ while our handle idles gets its own UID."""
    cache, _, _ = make(tmp_path)
    request = DeliveryRequest(user="alice", recipient="alice@example.org", sender="c@example.net")
    with cache.lease(alice()) as user:
        assert deliver(user.store, spool_of(MESSAGE), request, mailboxes=user).ok
        root = user.store.root
    with open(os.path.join(root, "new", "1700000000.M1P1.otherhost"), "wb") as f:
        f.write(MESSAGE)
    with cache.lease(alice()) as user:
        assert deliver(user.store, spool_of(MESSAGE), request, mailboxes=user).ok
        assert cache.idle_handles() == 1  # the same handle served both deliveries
        assert uids(user.store) == [1, 2, 3]


def test_sweep_closes_only_users_idle_long_enough(tmp_path: Path) -> None:
    """sweep() drops users idle for idle_s, keeps recent ones, and never touches a leased one."""
    cache, _, clock = make(tmp_path, idle_s=3.0)
    with cache.lease(alice()) as user:
        user.release(user.open_mailbox(INBOX), reusable=True)
    busy = cache.lease(UserRecord("bob"))
    clock.now += 2.0
    with cache.lease(UserRecord("carol")):
        pass
    clock.now += 1.5
    assert cache.sweep() == 1  # alice (3.5 s idle); carol 1.5 s; bob is leased
    assert len(cache) == 2 and cache.idle_handles() == 0
    clock.now += 100
    assert cache.sweep() == 1  # carol; bob is still leased
    busy.close()
    clock.now += 100
    assert cache.sweep() == 1 and len(cache) == 0


def test_least_recently_used_users_go_beyond_the_limit(tmp_path: Path) -> None:
    """With more idle users than max_users, the least recently used are closed first."""
    cache, _, _ = make(tmp_path, max_users=2)
    for name in ("a", "b", "c"):
        with cache.lease(UserRecord(name)):
            pass
    cache.sweep()
    with cache.lease(UserRecord("b")) as user:
        kept = user.store
    cache.sweep()
    assert len(cache) == 2
    with cache.lease(UserRecord("b")) as user:
        assert user.store is kept


def test_handles_given_back_after_close_are_closed(tmp_path: Path) -> None:
    """close() (service stop) drops every idle handle, and one still leased is closed on release."""
    cache, _, _ = make(tmp_path)
    user = cache.lease(alice())
    box = user.open_mailbox(INBOX)
    with cache.lease(alice()) as other:
        other.release(other.open_mailbox(INBOX), reusable=True)
    cache.close()
    assert len(cache) == 0 and cache.idle_handles() == 0
    user.release(box, reusable=True)
    user.close()
    assert cache.idle_handles() == 0


def test_deliveries_from_many_threads_keep_every_message(tmp_path: Path) -> None:
    """Parallel deliveries through one cache store every copy with distinct UIDs."""
    cache, _, _ = make(tmp_path)
    request = DeliveryRequest(user="alice", recipient="alice@example.org", sender="c@example.net")
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(10):
                with cache.lease(alice()) as user:
                    assert deliver(user.store, spool_of(MESSAGE), request, mailboxes=user).ok
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with cache.lease(alice()) as user:
        assert uids(user.store) == list(range(1, 41))
    cache.close()


def test_deliver_gives_a_failed_handle_back_as_not_reusable(tmp_path: Path) -> None:
    """When the store refuses the copy (quota), deliver() says the handle is not to be reused."""
    store = open_user_store(str(tmp_path / "alice"), user="alice", quota_messages=1)
    given: list[tuple[Mailbox, bool]] = []

    class Recording:
        def open_mailbox(self, name: str) -> Mailbox:
            return store.open_mailbox(name)

        def release(self, box: Mailbox, *, reusable: bool) -> None:
            given.append((box, reusable))
            box.close()

    request = DeliveryRequest(user="alice", recipient="alice@example.org", sender="c@example.net")
    assert deliver(store, spool_of(MESSAGE), request, mailboxes=Recording()).ok
    assert not deliver(store, spool_of(MESSAGE), request, mailboxes=Recording()).ok
    assert [reusable for _, reusable in given] == [True, False]
