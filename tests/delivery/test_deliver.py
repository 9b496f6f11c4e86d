"""Tests for one recipient's delivery into a real Maildir store."""

from __future__ import annotations

import os
from pathlib import Path

from mailsuite.delivery.deliver import DeliveryOptions, deliver, header_prefix
from mailsuite.delivery.result import DeliveryRequest, Status
from mailsuite.delivery.spool import Spool
from mailsuite.delivery.vacation import VacationMemory
from mailsuite.sieve import compile_script
from mailsuite.store.api import SEEN
from mailsuite.store.maildir import open_user_store

MESSAGE = (
    b"From: Carol <carol@example.net>\r\n"
    b"To: alice@example.org\r\n"
    b"Subject: Lunch\r\n"
    b"Message-ID: <m1@example.net>\r\n"
    b"\r\n"
    b"See you at noon.\r\n"
)


def spool_of(data: bytes, memory_bytes: int = 1024 * 1024) -> Spool:
    spool = Spool(memory_bytes=memory_bytes)
    spool.write(data)
    spool.finish()
    return spool


def request(recipient: str = "alice@example.org", detail: str = "") -> DeliveryRequest:
    return DeliveryRequest(
        user="alice", recipient=recipient, sender="carol@example.net", detail=detail, session_id="T"
    )


def messages(store, name: str = "INBOX") -> list[bytes]:
    box = store.open_mailbox(name)
    try:
        out = []
        for rec in box.snapshot().messages:
            with box.open_message(rec.uid) as f:
                out.append(f.read())
        return out
    finally:
        box.close()


def script(text: str) -> list[tuple[str, object]]:
    return [("/test.sieve", compile_script(text, "/test.sieve"))]


def test_plain_delivery_adds_return_path_and_delivered_to(tmp_path: Path) -> None:
    """Without a script the message lands in INBOX with Return-Path and Delivered-To on top."""
    store = open_user_store(str(tmp_path / "alice"), user="alice")
    result = deliver(store, spool_of(MESSAGE), request())
    assert result.status is Status.OK and (result.code, result.enhanced) == (250, "2.0.0")
    assert result.stored == ("INBOX",)
    [stored] = messages(store)
    assert stored.replace(b"\r\n", b"\n") == (
        b"Return-Path: <carol@example.net>\nDelivered-To: alice@example.org\n"
        + MESSAGE.replace(b"\r\n", b"\n")
    )


def test_large_spooled_message_is_stored_intact(tmp_path: Path) -> None:
    """A body spooled to a temp file (beyond the memory limit) is stored byte for byte."""
    body = MESSAGE + b"x" * 70 + b"\r\n"
    data = body * 2000
    spool = spool_of(data, memory_bytes=1024)
    assert spool.path is not None and os.path.exists(spool.path)
    store = open_user_store(str(tmp_path / "alice"), user="alice")
    assert deliver(store, spool, request()).ok
    [stored] = messages(store)
    assert stored.endswith(data.replace(b"\r\n", b"\n")) or stored.endswith(data)
    spool.close()
    assert not os.path.exists(spool.path or "/nonexistent")


def test_quota_full_is_permanent_or_temporary_per_config(tmp_path: Path) -> None:
    """Over quota gives 552 5.2.2, or 452 4.2.2 with quota_full_tempfail."""
    store = open_user_store(str(tmp_path / "alice"), user="alice", quota_storage_bytes=100)
    result = deliver(store, spool_of(MESSAGE * 3), request())
    assert (result.status, result.code, result.enhanced) == (Status.PERMFAIL, 552, "5.2.2")
    result = deliver(
        store, spool_of(MESSAGE * 3), request(), options=DeliveryOptions(quota_full_tempfail=True)
    )
    assert (result.status, result.code, result.enhanced) == (Status.TEMPFAIL, 452, "4.2.2")
    assert messages(store) == []


def test_fileinto_with_flags_and_create(tmp_path: Path) -> None:
    """fileinto :create makes the folder and stores with imap4flags flags, no INBOX copy."""
    store = open_user_store(str(tmp_path / "alice"), user="alice")
    sieve = script(
        'require ["fileinto", "mailbox", "imap4flags"];\n'
        'if header :contains "subject" "lunch" {\n'
        '  fileinto :create :flags "\\\\Seen" "Food"; }\n'
    )
    result = deliver(store, spool_of(MESSAGE), request(), scripts=sieve)
    assert result.ok and result.stored == ("Food",)
    assert messages(store) == []
    box = store.open_mailbox("Food")
    [rec] = box.snapshot().messages
    assert SEEN in rec.flags
    box.close()


def test_fileinto_missing_folder_without_create_keeps_in_inbox(tmp_path: Path) -> None:
    """fileinto to a folder that does not exist (no :create) saves to INBOX instead of losing it."""
    store = open_user_store(str(tmp_path / "alice"), user="alice")
    result = deliver(
        store, spool_of(MESSAGE), request(), scripts=script('require "fileinto"; fileinto "Nope";')
    )
    assert result.ok and result.stored == ("INBOX",)
    assert len(messages(store)) == 1


def test_discard_stores_nothing_but_succeeds(tmp_path: Path) -> None:
    """discard answers success and stores no copy."""
    store = open_user_store(str(tmp_path / "alice"), user="alice")
    result = deliver(store, spool_of(MESSAGE), request(), scripts=script("discard;"))
    assert result.ok and result.stored == ()
    assert messages(store) == []


def test_reject_is_a_permanent_550(tmp_path: Path) -> None:
    """reject refuses the message with 550 5.7.1 and the script's reason (RFC 5429)."""
    store = open_user_store(str(tmp_path / "alice"), user="alice")
    result = deliver(
        store,
        spool_of(MESSAGE),
        request(),
        scripts=script('require "reject"; reject "No lunch mail";'),
    )
    assert (result.status, result.code, result.enhanced) == (Status.PERMFAIL, 550, "5.7.1")
    assert "No lunch mail" in result.text
    assert messages(store) == []


def test_broken_script_keeps(tmp_path: Path) -> None:
    """A script failing at run time falls back to keep: the mail is in INBOX."""
    store = open_user_store(str(tmp_path / "alice"), user="alice")
    # Five redirects against a limit of four is a run-time error (sieve_max_redirects).
    text = (
        'redirect "a@x.y"; redirect "b@x.y"; redirect "c@x.y"; redirect "d@x.y"; redirect "e@x.y";'
    )
    result = deliver(store, spool_of(MESSAGE), request(), scripts=script(text))
    assert result.ok and result.stored == ("INBOX",) and result.outgoing == ()


def test_redirect_returns_outgoing_with_delivered_to(tmp_path: Path) -> None:
    """redirect stores nothing and returns the forward with a Delivered-To line against loops."""
    store = open_user_store(str(tmp_path / "alice"), user="alice")
    result = deliver(store, spool_of(MESSAGE), request(), scripts=script('redirect "bob@x.y";'))
    assert result.ok and result.stored == ()
    [out] = result.outgoing
    assert out.kind == "redirect" and out.recipients == ("bob@x.y",) and out.include_body
    assert out.sender == "carol@example.net"
    assert out.prefix == b"Delivered-To: alice@example.org\r\n"


def test_redirect_loop_is_kept_instead(tmp_path: Path) -> None:
    """A message already delivered to this recipient is not redirected again but kept."""
    store = open_user_store(str(tmp_path / "alice"), user="alice")
    looped = b"Delivered-To: alice@example.org\r\n" + MESSAGE
    result = deliver(store, spool_of(looped), request(), scripts=script('redirect "bob@x.y";'))
    assert result.ok and result.stored == ("INBOX",) and result.outgoing == ()


def test_detail_as_folder(tmp_path: Path) -> None:
    """With detail_as_folder, user+detail goes to the existing folder "detail"; else INBOX."""
    store = open_user_store(str(tmp_path / "alice"), user="alice")
    store.create_mailbox("lists")
    opts = DeliveryOptions(detail_as_folder=True)
    r = request("alice+lists@example.org", "lists")
    assert deliver(store, spool_of(MESSAGE), r, options=opts).stored == ("lists",)
    r = request("alice+other@example.org", "other")
    assert deliver(store, spool_of(MESSAGE), r, options=opts).stored == ("INBOX",)
    r = request("alice+lists@example.org", "lists")
    assert deliver(store, spool_of(MESSAGE), r).stored == ("INBOX",)


def test_vacation_answers_once_per_period(tmp_path: Path) -> None:
    """vacation answers the sender once, then not again within :days (RFC 5230 4.2)."""
    store = open_user_store(str(tmp_path / "alice"), user="alice")
    now = [1_000_000.0]
    opts = DeliveryOptions(vacation=VacationMemory(str(tmp_path / "state"), clock=lambda: now[0]))
    sieve = script('require "vacation"; vacation :days 1 :subject "Away" "I am away.";')
    first = deliver(store, spool_of(MESSAGE), request(), scripts=sieve, options=opts)
    assert first.ok and first.stored == ("INBOX",)
    [out] = first.outgoing
    assert out.kind == "vacation" and out.sender == "" and out.recipients == ("carol@example.net",)
    assert b"Subject: Away" in out.prefix and b"Auto-Submitted: auto-replied" in out.prefix
    assert b"In-Reply-To: <m1@example.net>" in out.prefix
    second = deliver(store, spool_of(MESSAGE), request(), scripts=sieve, options=opts)
    assert second.ok and second.outgoing == ()
    now[0] += 2 * 86400
    third = deliver(store, spool_of(MESSAGE), request(), scripts=sieve, options=opts)
    assert len(third.outgoing) == 1


def test_header_prefix_matches_lf_bodies_and_strips_line_breaks() -> None:
    """Added header lines follow the body's line ends and cannot be split by a bad address."""
    r = DeliveryRequest(user="a", recipient="a@b\r\nX-Evil: 1", sender="")
    assert header_prefix(r, b"\n") == b"Return-Path: <>\nDelivered-To: a@bX-Evil: 1\n"
