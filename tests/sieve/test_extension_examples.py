"""The examples of RFC 5232, 3894, 5233, 5230, 5429 and 5490, run for real."""

from __future__ import annotations

from mailsuite.sieve import Discard, FileInto, Keep, Redirect, Reject, Vacation
from tests.sieve.support import message, run


def test_rfc5232_flag_the_boss() -> None:
    """RFC 5232 7: mail from the boss is flagged and filed (flags from the variable)."""
    script = """
    require ["imap4flags", "fileinto"];
    if header :contains "from" "boss@frobnitzm.example.edu" {
        setflag "\\\\Flagged";
        fileinto "INBOX.From Boss";
    }
    """
    assert run(script, message(From="boss@frobnitzm.example.edu")) == [
        FileInto("INBOX.From Boss", frozenset({"\\Flagged"}))
    ]


def test_rfc5232_keep_with_flags_tag() -> None:
    """RFC 5232 5: keep :flags sets flags on that delivery only."""
    script = """
    require "imap4flags";
    if size :over 500K { keep :flags "\\\\Deleted"; }
    """
    assert run(script, message(Subject="s") + "x" * 600_000) == [Keep(frozenset({"\\Deleted"}))]
    assert run(script, message(Subject="s")) == [Keep()]


def test_rfc5232_hasflag_on_the_internal_variable() -> None:
    """RFC 5232 4: hasflag sees flags added earlier in the script."""
    script = """
    require ["imap4flags", "fileinto"];
    if header :contains "subject" "urgent" { addflag "\\\\Flagged $Urgent"; }
    if hasflag :contains "urgent" { fileinto "Urgent"; }
    """
    assert run(script, message(Subject="URGENT: read")) == [
        FileInto("Urgent", frozenset({"\\Flagged", "$Urgent"}))
    ]
    assert run(script, message(Subject="later")) == [Keep()]


def test_rfc3894_copy_examples() -> None:
    """RFC 3894 4: fileinto :copy files a copy and the implicit keep still stores it."""
    script = """
    require ["copy", "fileinto"];
    if header :contains "to" "ietf-mta-filters@imc.org" {
        fileinto :copy "filter";
    }
    redirect :copy "backup@example.org";
    """
    assert run(script, message(To="ietf-mta-filters@imc.org")) == [
        FileInto("filter"),
        Redirect("backup@example.org"),
        Keep(),
    ]


def test_rfc5233_example() -> None:
    """RFC 5233 6: postmaster mail by :user, list mail and redirects by :detail."""
    script = """
    require ["envelope", "subaddress", "fileinto"];

    # In this example the same user account receives mail for both
    # "ken@example.com" and "postmaster@example.com"

    # File all messages to postmaster into a single mailbox,
    # ignoring the :detail part.
    if envelope :user "to" "postmaster" {
        fileinto "inbox.postmaster";
        stop;
    }

    # File mailing list messages (subscribed as "ken+mta-filters").
    if envelope :detail "to" "mta-filters" {
        fileinto "inbox.ietf-mta-filters";
    }

    # Redirect all mail sent to "ken+foo".
    if envelope :detail "to" "foo" {
        redirect "ken@example.net";
    }
    """
    msg = message(Subject="s")
    assert run(script, msg, rcpt="postmaster+x@example.com") == [FileInto("inbox.postmaster")]
    assert run(script, msg, rcpt="ken+mta-filters@example.com") == [
        FileInto("inbox.ietf-mta-filters")
    ]
    assert run(script, msg, rcpt="ken+foo@example.com") == [Redirect("ken@example.net")]
    assert run(script, msg, rcpt="ken@example.com") == [Keep()]


def test_rfc5233_empty_detail() -> None:
    """RFC 5233 4: "ken+@" has an empty detail, "ken@" has none."""
    script = 'require ["envelope", "subaddress"]; if envelope :detail "to" "" { discard; }'
    assert run(script, rcpt="ken+@example.com") == [Discard()]
    assert run(script, rcpt="ken@example.com") == [Keep()]


def test_rfc5230_cyrus_example() -> None:
    """RFC 5230 5: the reason depends on the subject; the message is still kept."""
    script = """
    require "vacation";
    if header :contains "subject" "cyrus" {
        vacation "I'm out -- send mail to cyrus-bugs";
    } else {
        vacation "I'm out -- call me at 304 555 0123";
    }
    """
    msg = message(From="x@example.net", To="me@example.com", Subject="cyrus bug")
    actions = run(script, msg, mail_from="x@example.net")
    assert isinstance(actions[0], Vacation)
    assert actions[0].body == "I'm out -- send mail to cyrus-bugs"
    assert actions[1:] == [Keep()]


def test_rfc5230_shared_handle() -> None:
    """RFC 5230 4.2: two vacation texts with one :handle share the answer memory."""
    script = """
    require "vacation";
    if header :contains "subject" "lunch" {
        vacation :handle "ran-away" "I'm out and can't meet for lunch";
    } else {
        vacation :handle "ran-away" "I'm out";
    }
    """
    handles = set()
    for subject in ("lunch?", "other"):
        msg = message(From="x@example.net", To="me@example.com", Subject=subject)
        v = run(script, msg, mail_from="x@example.net")[0]
        assert isinstance(v, Vacation)
        handles.add(v.handle)
    assert handles == {"ran-away"}


def test_rfc5230_days_and_addresses() -> None:
    """RFC 5230 4.5: :addresses lets a message to an alias be answered."""
    script = """
    require "vacation";
    vacation :days 23 :addresses ["tjs@example.edu", "ts4z@landru.example.edu"]
       "I'm away until October 19.  If it's an emergency, call 911, I guess." ;
    """
    msg = message(From="x@example.net", To="ts4z@landru.example.edu", Subject="s")
    v = run(script, msg, mail_from="x@example.net", rcpt="tjs@mail.example.edu")[0]
    assert isinstance(v, Vacation) and v.days_s == 23 * 86400


def test_rfc5230_mime_example() -> None:
    """RFC 5230 4.4: a :mime reason is passed on as a whole MIME entity."""
    script = """
    require "vacation";
    vacation :mime text:
Content-Type: multipart/alternative; boundary=foo

--foo

I'm at the beach relaxing.  Mmmm, surf...

--foo
Content-Type: text/html; charset=us-ascii

<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.0//EN"
 "http://www.w3.org/TR/REC-html40/strict.dtd">
<HTML><HEAD><TITLE>How to relax</TITLE>
<BASE HREF="http://home.example.com/pictures/"></HEAD>
<BODY><P>I'm at the <A HREF="beach.gif">beach</A> relaxing.
Mmmm, <A HREF="ocean.gif">surf</A>...
</BODY></HTML>

--foo--
.
;
    """
    msg = message(From="x@example.net", To="me@example.com", Subject="s")
    v = run(script, msg, mail_from="x@example.net")[0]
    assert isinstance(v, Vacation) and v.mime
    assert v.body.startswith("Content-Type: multipart/alternative; boundary=foo\r\n\r\n--foo\r\n")
    assert v.body.endswith("--foo--\r\n")


def test_rfc5230_redirect_or_vacation() -> None:
    """RFC 5230 5: mail from the boss is redirected, everything else answered."""
    script = """
    require "vacation";
    if header :contains "from" "boss@example.edu" {
        redirect "pleeb@xanadu.example.com";
    } else {
        vacation "Sorry, I'm away, I'll read your message later.";
    }
    """
    boss = message(From="boss@example.edu", To="me@example.com")
    assert run(script, boss, mail_from="boss@example.edu") == [Redirect("pleeb@xanadu.example.com")]
    other = message(From="x@example.net", To="me@example.com")
    assert isinstance(run(script, other, mail_from="x@example.net")[0], Vacation)


def test_rfc5230_from_example() -> None:
    """RFC 5230 4.3: :from sets the answer's sender."""
    script = 'require "vacation";\nvacation :days 7 :from "hemingway@example.com" "Gone fishin\'";'
    msg = message(From="x@example.net", To="me@example.com")
    v = run(script, msg, mail_from="x@example.net")[0]
    assert isinstance(v, Vacation) and v.from_addr == "hemingway@example.com"


def test_rfc5429_reject_example() -> None:
    """RFC 5429 2.2.1: reject with a text: reason refuses coyote's mail."""
    script = """
    require ["reject"];
    if header :contains "from" "coyote@desert.example.org" {
        reject text:
I am not taking mail from you, and I don't
want your birdseed, either!
.
;
    }
    """
    assert run(script, message(From="coyote@desert.example.org")) == [
        Reject("I am not taking mail from you, and I don't\r\nwant your birdseed, either!\r\n")
    ]
    assert run(script, message(From="roadrunner@desert.example.org")) == [Keep()]


def test_rfc5429_ereject_example() -> None:
    """RFC 5429 2.1.1: ereject refuses in protocol (extended=True)."""
    script = """
    require ["ereject"];
    if address :domain :is "from" "example.com" {
        ereject "I no longer accept mail from this domain";
    }
    """
    assert run(script, message(From="x@example.com")) == [
        Reject("I no longer accept mail from this domain", extended=True)
    ]


def test_rfc5490_fileinto_create_and_mailboxexists() -> None:
    """RFC 5490 3: :create files into a new mailbox; mailboxexists guards fileinto."""
    create = """
    require ["fileinto", "mailbox"];
    if header :is "Sender" "owner-ietf-mta-filters@imc.org" {
        fileinto :create "filter";  # move to "filter" mailbox
    }
    """
    assert run(create, message(Sender="owner-ietf-mta-filters@imc.org")) == [
        FileInto("filter", create=True)
    ]
    guard = """
    require ["fileinto", "reject", "mailbox"];
    if mailboxexists "Partners" {
        fileinto "Partners";
    } else {
        reject "This message was not accepted by the Mailstore";
    }
    """
    assert run(guard, mailbox_exists={"INBOX", "Partners"}.__contains__) == [FileInto("Partners")]
    assert run(guard, mailbox_exists={"INBOX"}.__contains__) == [
        Reject("This message was not accepted by the Mailstore")
    ]
