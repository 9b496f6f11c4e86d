"""Tests for the LMTP service builder."""

from __future__ import annotations

import dataclasses
import os
import time

import pytest

from mailsuite.config.schema import LmtpSettings, Settings, SieveSettings
from mailsuite.errors import ConfigError
from mailsuite.service.context import ServiceContext
from mailsuite.service.lmtp import HandleSweeper, _remove_stale_spools, build, delivery_options


def ctx_for(settings: Settings) -> ServiceContext:
    return ServiceContext(
        settings=settings,
        reactor=None,
        run_blocking=None,
        tls_options=None,
        auth=object(),  # type: ignore[arg-type]
    )


def test_stale_spool_files_are_removed_young_ones_kept(tmp_path) -> None:
    """Spool files older than a day are removed at start; recent ones may be live and stay."""
    old, young, other = (tmp_path / n for n in ("mailsuite-spool-a", "mailsuite-spool-b", "keep"))
    for f in (old, young, other):
        f.write_bytes(b"x")
    past = time.time() - 3 * 86400
    os.utime(old, (past, past))
    os.utime(other, (past, past))
    _remove_stale_spools(str(tmp_path))
    assert not old.exists() and young.exists() and other.exists()


@pytest.mark.parametrize(
    ("lmtp", "sieve", "key"),
    [
        (LmtpSettings(max_message_bytes=0), SieveSettings(), "max_message_bytes"),
        (LmtpSettings(max_recipients=-1), SieveSettings(), "max_recipients"),
        (LmtpSettings(delivery_threads=0), SieveSettings(), "delivery_threads"),
        (LmtpSettings(user_cache_s=-1.0), SieveSettings(), "user_cache_s"),
        (LmtpSettings(recipient_delimiter=" "), SieveSettings(), "recipient_delimiter"),
        (LmtpSettings(), SieveSettings(relay="relay:smtp"), "relay"),
        (LmtpSettings(listen=["2424"]), SieveSettings(), "listen"),
    ],
)
def test_bad_settings_stop_start_up_naming_the_key(tmp_path, lmtp, sieve, key) -> None:
    """A bad [lmtp] or [sieve] value is a ConfigError naming the key."""
    settings = dataclasses.replace(Settings(), lmtp=lmtp, sieve=sieve, base_dir=str(tmp_path))
    with pytest.raises(ConfigError, match=key):
        build(ctx_for(settings))


def test_delivery_options_follow_the_settings(tmp_path) -> None:
    """Delivery policy takes delimiter, detail folder, quota answer and state dir from config."""
    settings = dataclasses.replace(
        Settings(),
        lmtp=LmtpSettings(
            recipient_delimiter="+-", detail_as_folder=True, quota_full_tempfail=True
        ),
        base_dir=str(tmp_path),
    )
    opts = delivery_options(settings)
    assert (opts.recipient_delimiter, opts.detail_as_folder, opts.quota_full_tempfail) == (
        "+-",
        True,
        True,
    )
    assert opts.vacation is not None


def test_idle_delivery_handles_are_swept_and_closed_at_stop(tmp_path) -> None:
    """The sweeper closes users idle past the handle cache's limit, and everything at stop."""
    from twisted.internet.defer import maybeDeferred
    from twisted.internet.task import Clock

    from mailsuite.auth.interfaces import UserRecord
    from mailsuite.delivery.handles import HandleCache
    from mailsuite.store.maildir import open_user_store

    now = [0.0]
    handles = HandleCache(
        lambda r: open_user_store(str(tmp_path / r.username), user=r.username),
        idle_s=3.0,
        clock=lambda: now[0],
    )
    clock = Clock()
    ctx = ServiceContext(
        settings=Settings(), reactor=clock, run_blocking=maybeDeferred, tls_options=None
    )
    sweeper = HandleSweeper(ctx, handles)
    sweeper.startService()
    for name in ("alice", "bob"):
        with handles.lease(UserRecord(name)) as user:
            user.release(user.open_mailbox("INBOX"), reusable=True)
        now[0] += 2.0
    clock.advance(1.0)
    assert len(handles) == 1  # alice was idle 4 s, bob 2 s
    sweeper.stopService()
    assert len(handles) == 0 and handles.idle_handles() == 0
