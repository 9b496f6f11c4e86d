"""ENVELOPE and BODYSTRUCTURE values, checked against IMAP text written by hand from the RFCs."""

from __future__ import annotations

import re

from mailsuite.message import Message
from tests.message.imapform import body_form, bodystructure_form, envelope_form, parse_imap_values


def imap(text: str) -> list[object]:
    return parse_imap_values(re.sub(r"\s*\n\s*", " ", text).encode())


def body_of(lines: int, size: int) -> bytes:
    """A body of exactly ``lines`` CRLF lines and ``size`` octets."""
    line = b"x" * ((size // lines) - 2) + b"\r\n"
    body = line * (lines - 1)
    return body + b"y" * (size - len(body) - 2) + b"\r\n"


# RFC 3501 section 8, message 12 of the sample session.
RFC3501_HEADER = (
    b"Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\r\n"
    b"From: Terry Gray <gray@cac.washington.edu>\r\n"
    b"Subject: IMAP4rev1 WG mtg summary and minutes\r\n"
    b"To: imap@cac.washington.edu\r\n"
    b"cc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>\r\n"
    b"Message-Id: <B27397-0100000@cac.washington.edu>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n"
    b"Content-Transfer-Encoding: 7BIT\r\n"
    b"\r\n"
)


def test_rfc3501_sample_envelope_and_body() -> None:
    """The RFC 3501 section 8 sample message gives exactly the sample ENVELOPE and BODY."""
    msg = Message.from_bytes(RFC3501_HEADER + body_of(92, 3028))
    assert envelope_form(msg.envelope()) == imap(
        """"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)"
        "IMAP4rev1 WG mtg summary and minutes"
        (("Terry Gray" NIL "gray" "cac.washington.edu"))
        (("Terry Gray" NIL "gray" "cac.washington.edu"))
        (("Terry Gray" NIL "gray" "cac.washington.edu"))
        ((NIL NIL "imap" "cac.washington.edu"))
        ((NIL NIL "minutes" "CNRI.Reston.VA.US")
        ("John Klensin" NIL "KLENSIN" "MIT.EDU")) NIL NIL
        "<B27397-0100000@cac.washington.edu>\""""
    )
    assert body_form(msg.bodystructure()) == imap(
        '"TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92'
    )
    assert bodystructure_form(msg.bodystructure()) == imap(
        '"TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92 NIL NIL NIL NIL'
    )


def test_rfc3501_bodystructure_example() -> None:
    """The multipart example of RFC 3501 section 7.4.2 comes out as written there."""
    raw = (
        b'Content-Type: MULTIPART/MIXED; BOUNDARY="x"\r\n\r\n--x\r\n'
        b"Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\nContent-Transfer-Encoding: 7BIT\r\n\r\n"
        + body_of(23, 1152)[:-2]
        + b"\r\n--x\r\nContent-Type: TEXT/PLAIN; CHARSET=US-ASCII; NAME=cc.diff\r\n"
        b"Content-ID: <960723163407.20117h@cac.washington.edu>\r\n"
        b"Content-Description: Compiler diff\r\nContent-Transfer-Encoding: BASE64\r\n\r\n"
        + body_of(74, 4556)[:-2]
        + b"\r\n--x--\r\n"
    )
    msg = Message.from_bytes(raw)
    # The CRLF before each delimiter is the delimiter's (RFC 2046 5.1.1), hence one line less.
    assert body_form(msg.bodystructure()) == imap(
        """("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 1150 22)
        ("TEXT" "PLAIN" ("CHARSET" "US-ASCII" "NAME" "cc.diff")
        "<960723163407.20117h@cac.washington.edu>" "Compiler diff"
        "BASE64" 4554 73) "MIXED\""""
    )


def test_extension_data_and_rfc2231() -> None:
    """MD5, disposition, language and location are reported; RFC 2231 pieces are merged."""
    raw = (
        b"Content-Type: multipart/mixed; boundary=b; x*0*=utf-8''%E2%82; x*1*=%AC\n"
        b"Content-Language: en\nContent-Location: http://example.org/\n\n--b\n"
        b'Content-Type: application/pdf; name*0="a very long "; name*1="name.pdf"\n'
        b"Content-Disposition: attachment; filename*=iso-8859-1'de'%E4.pdf; size=5\n"
        b"Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\nContent-Language: de, en (c)\n"
        b"Content-Transfer-Encoding: base64\n\nAAAA\n--b--\n"
    )
    msg = Message.from_bytes(raw)
    assert bodystructure_form(msg.bodystructure()) == imap(
        """("application" "pdf" ("name" "a very long name.pdf") NIL NIL "base64" 4
        "Q2hlY2sgSW50ZWdyaXR5IQ==" ("attachment" ("size" "5" "filename*" "iso-8859-1'de'%E4.pdf"))
        ("de" "en") NIL)
        "mixed" ("boundary" "b" "x*" "utf-8''%E2%82%AC") NIL ("en") "http://example.org/\""""
    )


def test_message_rfc822_part() -> None:
    """A message/rfc822 part carries the inner ENVELOPE, BODYSTRUCTURE and its line count."""
    raw = (
        b"Subject: outer\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
        b"Content-Type: MESSAGE/RFC822\n\n"
        b"Subject: inner\nFrom: a@b\nSender:\nContent-Type: text/html\n\n<p>hi</p>\n--b--\n"
    )
    msg = Message.from_bytes(raw)
    assert bodystructure_form(msg.bodystructure()) == imap(
        """("message" "rfc822" NIL NIL NIL "7bit" 72
        (NIL "inner" ((NIL NIL "a" "b")) ((NIL NIL "a" "b")) ((NIL NIL "a" "b"))
        NIL NIL NIL NIL NIL)
        ("text" "html" ("charset" "us-ascii") NIL NIL "7bit" 9 0 NIL NIL NIL NIL) 5
        NIL NIL NIL NIL) "mixed" ("boundary" "b") NIL NIL NIL"""
    )


def test_defaults_for_missing_and_invalid_content_type() -> None:
    """No or an invalid Content-Type means text/plain; charset=us-ascii (RFC 2045 5.2)."""
    for raw in (
        b"Subject: x\n\nbody\n",
        b"Content-Type: text\n\nbody\n",
        b"Content-Type: ;;\n\nbody\n",
    ):
        assert bodystructure_form(Message.from_bytes(raw).bodystructure()) == imap(
            '"text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 6 1 NIL NIL NIL NIL'
        )


def test_empty_multipart_shows_one_empty_text_part() -> None:
    """A multipart without parts still has the one body the grammar needs (as Dovecot)."""
    msg = Message.from_bytes(b"Content-Type: multipart/mixed\n\nno parts\n")
    assert bodystructure_form(msg.bodystructure()) == imap(
        """("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL)
        "mixed" NIL NIL NIL NIL"""
    )


def test_envelope_cleanup_like_dovecot() -> None:
    """Subjects and names lose extra white space, other strings only their line breaks."""
    raw = (
        b"Subject: a\n\tb\n   c  d\nFrom: john (John Doe)\nSender:\nReply-To:   \n"
        b"To: <@route,@r2:x@y>, undisclosed-recipients:;\nIn-Reply-To: <x@y>\n  <z@w>\n"
        b"Message-ID:   <m@n>  \nDate:  Mon, 1 Jan 2001\nCc: a@b\nCc: c@d\n\nx\n"
    )
    assert envelope_form(Message.from_bytes(raw).envelope()) == imap(
        """"Mon, 1 Jan 2001" "a b c d"
        (("John Doe" NIL "john" "MISSING_DOMAIN")) (("John Doe" NIL "john" "MISSING_DOMAIN"))
        (("John Doe" NIL "john" "MISSING_DOMAIN"))
        ((NIL "@route,@r2" "x" "y")(NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL))
        ((NIL NIL "a" "b")(NIL NIL "c" "d")) NIL "<x@y>  <z@w>" "<m@n>  \""""
    )


def test_empty_message_envelope_is_all_nil() -> None:
    """A message without header fields has an all-NIL envelope."""
    assert envelope_form(Message.from_bytes(b"").envelope()) == [None] * 10
