"""Tests for the vacation memory and the auto-reply it sends."""

from __future__ import annotations

import email
from email.policy import default

from mailsuite.delivery.vacation import VacationMemory, build_vacation_reply


def test_sender_is_answered_once_per_period_and_per_handle(tmp_path) -> None:
    """A sender is answered once within days_s, per handle, case-insensitively, across instances."""
    now = [1000.0]
    mem = VacationMemory(str(tmp_path), clock=lambda: now[0])
    assert mem.check_and_record("alice", "h1", "Bob@X.Y", 3600)
    assert not mem.check_and_record("alice", "h1", "bob@x.y", 3600)
    assert mem.check_and_record("alice", "h2", "bob@x.y", 3600)
    assert mem.check_and_record("carol", "h1", "bob@x.y", 3600)
    # A second process (another instance on the same state_dir) sees the same memory.
    assert not VacationMemory(str(tmp_path), clock=lambda: now[0]).check_and_record(
        "alice", "h1", "bob@x.y", 3600
    )
    now[0] += 3601
    assert mem.check_and_record("alice", "h1", "bob@x.y", 3600)


def test_forget_clears_a_users_memory(tmp_path) -> None:
    """forget() lets every sender of that user be answered again."""
    mem = VacationMemory(str(tmp_path))
    assert mem.check_and_record("alice", "h", "bob@x.y", 3600)
    mem.forget("alice")
    assert mem.check_and_record("alice", "h", "bob@x.y", 3600)


def test_reply_is_marked_auto_replied_and_threads() -> None:
    """The reply carries Auto-Submitted, In-Reply-To/References and a UTF-8 body (RFC 3834)."""
    data = build_vacation_reply(
        from_addr="alice@example.org",
        to_addr="bob@x.y",
        subject="Auto: Grüße",
        body="Bin weg. Zurück am Montag.",
        mime=False,
        in_reply_to="<m1@x.y>",
        references="<m0@x.y>",
        hostname="mx.example.org",
    )
    assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    msg = email.message_from_bytes(data, policy=default)
    assert msg["Auto-Submitted"].startswith("auto-replied")
    assert msg["In-Reply-To"] == "<m1@x.y>" and msg["References"] == "<m0@x.y> <m1@x.y>"
    assert msg["Subject"] == "Auto: Grüße" and msg["To"] == "bob@x.y"
    assert msg.get_content().strip() == "Bin weg. Zurück am Montag."


def test_mime_reply_uses_the_scripts_entity() -> None:
    """With :mime the script's MIME entity becomes the reply's content."""
    data = build_vacation_reply(
        from_addr="alice@example.org",
        to_addr="bob@x.y",
        subject="Away",
        body="Content-Type: text/html; charset=utf-8\n\n<p>Away</p>\n",
        mime=True,
        in_reply_to="",
        references="",
        hostname="mx",
    )
    msg = email.message_from_bytes(data, policy=default)
    assert msg.get_content_type() == "text/html" and "<p>Away</p>" in msg.get_content()
    assert msg["MIME-Version"] == "1.0"


def test_expired_entries_are_pruned_once_a_day(tmp_path) -> None:
    """Expired answers are removed when a new one is recorded, at most once a day."""
    now = [1000.0]
    mem = VacationMemory(str(tmp_path), clock=lambda: now[0])
    assert mem.check_and_record("alice", "h", "a@x.y", 60)
    [udir] = [p for p in tmp_path.glob("vacation/*/*")]
    count = lambda: len([p for p in udir.iterdir() if not p.name.startswith(".")])  # noqa: E731
    assert count() == 1
    now[0] += 2 * 86400
    assert mem.check_and_record("alice", "h", "b@x.y", 60)
    assert count() == 1  # a@x.y expired and was pruned
    now[0] += 120
    assert mem.check_and_record("alice", "h", "c@x.y", 60)
    assert count() == 2  # pruned less than a day ago: b@x.y (expired) stays for now
