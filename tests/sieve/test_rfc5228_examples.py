"""The examples of RFC 5228 (sections 2 to 5 and the section 9 example), run for real."""

from __future__ import annotations

import pytest

from mailsuite.sieve import Discard, FileInto, Keep, Redirect, Reject, compile_script
from tests.sieve.support import message, run

# RFC 5228 section 9, "Extended Example" (with the reject variant of RFC 3028,
# which shows dot-stuffing in a text: block).
EXTENDED_EXAMPLE = """\
#
# Example Sieve Filter
# Declare any optional features or extension used by the script
#
require ["fileinto", "reject"];

#
# Reject any large messages (note that the four leading dots get
# "stuffed" to three)
#
if size :over 1M
        {
        reject text:
Please do not send me large attachments.
Put your file on a server and send me the URL.
Thank you.
.... Fred
.
;
        stop;
        }
#
# Handle messages from known mailing lists
# Move messages from IETF filter discussion list to filter mailbox
#
if header :is "Sender" "owner-ietf-mta-filters@imc.org"
        {
        fileinto "filter";  # move to "filter" mailbox
        }
#
# Keep all messages to or from people in my company
#
elsif address :DOMAIN :is ["From", "To"] "example.com"
        {
        keep;               # keep in "In" mailbox
        }

#
# Try and catch unsolicited email.  If a message is not to me,
# or it contains a subject known to be spam, file it away.
#
elsif anyof (NOT address :all :contains
               ["To", "Cc", "Bcc"] "me@example.com",
             header :matches "subject"
               ["*make*money*fast*", "*university*dipl*mas*"])
        {
        fileinto "spam";   # move to "spam" mailbox
        }
else
        {
        # Move all other (non-company) mail to "personal"
        # mailbox.
        fileinto "personal";
        }
"""


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (
            {"Sender": "owner-ietf-mta-filters@imc.org", "From": "x@y.org", "To": "me@z.org"},
            [FileInto("filter")],
        ),
        ({"From": "boss@example.com", "To": "me@elsewhere.org"}, [Keep()]),
        ({"From": "a@b.org", "To": "someone@c.org"}, [FileInto("spam")]),
        (
            {"From": "a@b.org", "To": "me@example.com", "Subject": "MAKE MONEY FAST now"},
            [Keep()],  # To: me@example.com is the company domain: kept first
        ),
        (
            {"From": "a@b.org", "To": "me@example.org, me@example.com", "Subject": "hi"},
            [Keep()],
        ),
        (
            {"From": "a@b.org", "Cc": "me@example.com", "Subject": "Cheap university diplomas"},
            [FileInto("spam")],
        ),
        (
            {"From": "a@b.org", "Cc": "me@example.com", "Subject": "hello"},
            [FileInto("personal")],
        ),
    ],
)
def test_extended_example(headers: dict[str, str], expected: list[object]) -> None:
    """The RFC's own example filter sorts each kind of message as its comments say."""
    assert run(EXTENDED_EXAMPLE, message(**headers)) == expected


def test_extended_example_rejects_large_messages_with_unstuffed_text() -> None:
    """Over 1M the message is rejected with the text block, "...." unstuffed to "...", then stop."""
    big = message(From="a@b.org", To="me@example.com") + "x" * (1024 * 1024)
    assert run(EXTENDED_EXAMPLE, big) == [
        Reject(
            "Please do not send me large attachments.\r\n"
            "Put your file on a server and send me the URL.\r\n"
            "Thank you.\r\n"
            "... Fred\r\n"
        )
    ]


def test_section_3_1_if_elsif_else() -> None:
    """RFC 5228 3.1: coyote mail and $$$ subjects are discarded, the rest filed in INBOX."""
    script = """
    require "fileinto";
    if header :contains "from" "coyote" {
        discard;
    } elsif header :contains ["subject"] ["$$$"] {
        discard;
    } else {
        fileinto "INBOX";
    }
    """
    assert run(script, message(From="coyote@desert.example.org")) == [Discard()]
    assert run(script, message(From="a@b.org", Subject="win $$$")) == [Discard()]
    assert run(script, message(From="a@b.org", Subject="hi")) == [Keep()]


def test_section_2_10_2_implicit_keep() -> None:
    """RFC 5228 2.10.2: a script with no action keeps; discard cancels the keep."""
    assert run('if header :contains "subject" "x" { discard; }', message(Subject="y")) == [Keep()]
    assert run('if header :contains "subject" "x" { discard; }', message(Subject="x")) == [
        Discard()
    ]


def test_section_4_1_fileinto() -> None:
    """RFC 5228 4.1: mail from coyote is filed into INBOX.harassment."""
    script = (
        'require "fileinto";\n'
        'if header :contains ["from"] "coyote" {\n fileinto "INBOX.harassment";\n}'
    )
    assert run(script, message(From="coyote@x.org")) == [FileInto("INBOX.harassment")]


def test_section_4_2_redirect() -> None:
    """RFC 5228 4.2: redirect sends the message on and cancels the implicit keep."""
    assert run('redirect "bart@example.com";') == [Redirect("bart@example.com")]


def test_section_4_3_keep_and_discard() -> None:
    """RFC 5228 4.3: small messages are kept, big ones discarded."""
    script = "if size :under 1M { keep; } else { discard; }"
    assert run(script, message(Subject="small")) == [Keep()]
    assert run(script, message(Subject="big") + "x" * (1 << 20)) == [Discard()]


def test_section_4_4_discard() -> None:
    """RFC 5228 4.4: mail from idiot@example.com is discarded."""
    script = 'if header :contains ["from"] ["idiot@example.com"] { discard; }'
    assert run(script, message(From="The Idiot <idiot@example.com>")) == [Discard()]


def test_section_5_1_address_and_5_4_envelope() -> None:
    """RFC 5228 5.1 and 5.4: header From and envelope from compared with :all :is."""
    header = 'if address :is :all "from" "tim@example.com" { discard; }'
    env = 'require "envelope";\nif envelope :all :is "from" "tim@example.com" { discard; }'
    msg = message(From="Tim <TIM@example.com>")
    assert run(header, msg) == [Discard()]
    assert run(env, msg, mail_from="tim@example.com") == [Discard()]
    assert run(env, msg, mail_from="other@example.com") == [Keep()]


def test_section_5_5_exists() -> None:
    """RFC 5228 5.5: a message missing From or Date is discarded."""
    script = 'if not exists ["From","Date"] { discard; }'
    assert run(script, message(From="a@b.org")) == [Discard()]
    assert run(script, message(From="a@b.org", Date="Mon, 1 Jan 2024 00:00:00 +0000")) == [Keep()]


@pytest.mark.parametrize(
    ("header_line", "expected"),
    [
        # RFC 5228 5.7: 'header :is ["X-Caffeine"] [""]' is true for an empty
        # X-Caffeine, 'header :contains ["X-Caffeine"] [""]' for any X-Caffeine.
        ("X-Caffeine:", (True, True)),
        ("X-Caffeine: C8H10N4O2", (False, True)),
        ("X-Other: 1", (False, False)),
    ],
)
def test_section_5_7_header(header_line: str, expected: tuple[bool, bool]) -> None:
    """RFC 5228 5.7's X-Caffeine examples give the documented results."""
    msg = f"{header_line}\nSubject: s\n\nbody\n"
    is_empty = run('if header :is ["X-Caffeine"] [""] { discard; }', msg) == [Discard()]
    contains = run('if header :contains ["X-Caffeine"] [""] { discard; }', msg) == [Discard()]
    assert (is_empty, contains) == expected


def test_section_2_7_1_matches_examples() -> None:
    """RFC 5228 2.7.1: "?*" needs one character; escaped wildcards are literal."""
    assert run('if not header :matches "Cc" "?*" { discard; }', message(Subject="s")) == [Discard()]
    script = 'if header :matches "Subject" "\\\\*free\\\\*" { discard; }'
    assert run(script, message(Subject="*free*")) == [Discard()]
    assert run(script, message(Subject="xfreex")) == [Keep()]


def test_section_2_4_2_strings() -> None:
    """RFC 5228 2.4.2: a quoted string may span lines and holds its line ends."""
    script = compile_script('require "reject"; reject "line one\nline two";')
    assert script.commands[0].reason == "line one\r\nline two"  # type: ignore[union-attr]
