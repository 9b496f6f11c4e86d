"""vacation (RFC 5230): when an answer is allowed, and what it carries."""

from __future__ import annotations

import pytest

from mailsuite.sieve import EvalOptions, Keep, Vacation
from tests.sieve.support import message, run

PERSONAL = message(
    From="Friend <friend@example.net>",
    To="Me <me@example.com>",
    Subject="Lunch?",
)
V = 'require "vacation"; '


def vacations(script: str, msg: str = PERSONAL, **kw: object) -> list[Vacation]:
    return [
        a
        for a in run(V + script, msg, mail_from=kw.pop("mail_from", "friend@example.net"), **kw)
        if isinstance(a, Vacation)
    ]


def test_plain_vacation_answers_the_envelope_sender() -> None:
    """A personal message gets an answer to its envelope sender, with defaults filled in."""
    actions = run(V + 'vacation "I am away.";', PERSONAL, mail_from="friend@example.net")
    v = actions[0]
    assert isinstance(v, Vacation)
    assert v.recipient == "friend@example.net"
    assert v.subject == "Auto: Lunch?"  # RFC 5230 4.3
    assert v.body == "I am away."
    assert v.days_s == 7 * 86400  # RFC 5230 4.1 default
    assert v.from_addr is None and not v.mime and v.addresses == ()
    assert v.own_address == "me@example.com"
    assert v.handle.startswith("auto-")
    assert actions[1:] == [Keep()]  # vacation does not cancel the implicit keep


def test_all_parameters() -> None:
    """:days, :subject, :from, :addresses, :mime and :handle reach the action."""
    (v,) = vacations(
        'vacation :days 3 :subject "Away" :from "Me <me@example.com>" '
        ':addresses ["alias@example.com"] :mime :handle "h1" '
        '"Content-Type: text/plain\\r\\n\\r\\nAway";'
    )
    assert (v.days_s, v.subject, v.from_addr, v.addresses, v.mime, v.handle) == (
        3 * 86400,
        "Away",
        "Me <me@example.com>",
        ("alias@example.com",),
        True,
        "h1",
    )


def test_days_are_clamped_to_site_limits() -> None:
    """:days outside the configured range is raised or lowered into it (RFC 5230 4.1)."""
    opts = EvalOptions(vacation_min_days=2, vacation_max_days=30)
    (low,) = vacations('vacation :days 0 "x";', options=opts)
    (high,) = vacations('vacation :days 365 "x";', options=opts)
    assert (low.days_s, high.days_s) == (2 * 86400, 30 * 86400)


def test_seconds() -> None:
    """:seconds (RFC 6131) gives the period in seconds; 0 answers every time."""
    script = 'require "vacation-seconds"; vacation :seconds {} "x";'
    (v,) = vacations(script.format(0))
    assert v.days_s == 0
    (v,) = vacations(script.format(3600))
    assert v.days_s == 3600


def test_default_handle_changes_with_the_text() -> None:
    """Without :handle, a changed reason is a new vacation (RFC 5230 4.2)."""
    (a,) = vacations('vacation "one";')
    (b,) = vacations('vacation "two";')
    (c,) = vacations('vacation :days 9 "one";')
    assert a.handle != b.handle
    assert a.handle == c.handle


def test_subject_without_original() -> None:
    """A message without Subject gets a plain automatic subject."""
    (v,) = vacations('vacation "x";', message(From="f@example.net", To="me@example.com"))
    assert v.subject == "Automated reply"


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto_Submitted": "auto-replied"},
        {"Auto_Submitted": "auto-generated; type=bounce"},
        {"Precedence": "bulk"},
        {"Precedence": "List"},
        {"Precedence": "junk"},
        {"List_Id": "<dev.lists.example.org>"},
        {"List_Unsubscribe": "<mailto:leave@example.org>"},
        {"List_Post": "<mailto:dev@example.org>"},
        {"X_Auto_Response_Suppress": "OOF, AutoReply"},
    ],
)
def test_never_answers_lists_bulk_or_automatic_mail(headers: dict[str, str]) -> None:
    """List, bulk, junk and auto-submitted mail gets no answer (RFC 5230 4.6, RFC 3834)."""
    msg = message(From="f@example.net", To="me@example.com", Subject="s", **headers)
    assert vacations('vacation "x";', msg) == []


def test_auto_submitted_no_is_answered() -> None:
    """Auto-Submitted: no marks a human message, which is answered."""
    msg = message(From="f@example.net", To="me@example.com", Auto_Submitted="no")
    assert len(vacations('vacation "x";', msg)) == 1


@pytest.mark.parametrize(
    "sender",
    [
        "",
        "MAILER-DAEMON@example.net",
        "owner-list@example.net",
        "list-request@example.net",
        "list-owner@example.net",
        "LISTSERV@example.net",
        "majordomo@example.net",
        "noreply@example.net",
        "me@example.com",  # ourselves
        "Me@Example.COM",
    ],
)
def test_never_answers_system_senders_or_ourselves(sender: str) -> None:
    """System and list-software senders, the null path and our own address get nothing."""
    assert vacations('vacation "x";', mail_from=sender) == []


def test_only_messages_naming_us_are_answered() -> None:
    """A message that does not name one of our addresses in To/Cc/Bcc/Resent-* is not answered."""
    bcc_like = message(From="f@example.net", To="someone@example.org", Subject="s")
    assert vacations('vacation "x";', bcc_like) == []
    resent = message(From="f@example.net", To="x@example.org", Resent_Cc="me@example.com")
    (v,) = vacations('vacation "x";', resent)
    assert v.own_address == "me@example.com"


def test_addresses_and_known_addresses_count_as_ours() -> None:
    """:addresses, the detail-less recipient and userdb aliases all count (RFC 5230 4.5)."""
    to_alias = message(From="f@example.net", To="Alias@example.com")
    assert vacations('vacation "x";', to_alias) == []
    assert len(vacations('vacation :addresses "alias@example.com" "x";', to_alias)) == 1
    assert len(vacations('vacation "x";', to_alias, user_addresses=("alias@example.com",))) == 1
    assert len(vacations('vacation "x";', PERSONAL, rcpt="me+work@example.com")) == 1


def test_from_address_counts_as_ours() -> None:
    """Mail from our own :from address is not answered (no loop with ourselves)."""
    script = 'vacation :from "Team <team@example.com>" "x";'
    assert vacations(script, mail_from="team@example.com") == []


def test_subject_cannot_inject_headers() -> None:
    """Line breaks in the original or the script's subject become spaces in the answer."""
    evil = message(
        From="f@example.net", To="me@example.com", Subject="=?utf-8?q?hi=0D=0ABcc:_x@evil?="
    )
    (v,) = vacations('vacation "x";', evil)
    assert "\r" not in v.subject and "\n" not in v.subject
    assert v.subject == "Auto: hi Bcc: x@evil"
    (v,) = vacations('vacation :subject text:\nline one\nline two\n.\n "x";')
    assert v.subject == "line one line two"
