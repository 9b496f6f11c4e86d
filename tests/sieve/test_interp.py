"""Running scripts: every test and command of the core language and extensions."""

from __future__ import annotations

import pytest

from mailsuite.sieve import (
    Discard,
    EvalOptions,
    FileInto,
    Keep,
    MessageContext,
    Redirect,
    SieveError,
    compile_script,
    evaluate,
    evaluate_all,
)
from tests.sieve.support import DEFAULT_MESSAGE, context, message, run

MSG = message(
    From='"Coyote" <coyote@desert.example.org>',
    To="me@example.com, Other <other@example.net>",
    Cc="ken+lists@example.org",
    Subject="=?utf-8?q?Gr=C3=BC=C3=9Fe?= and MONEY",
    X_Caffeine="",
    X_Spam=["one", "two"],
)


def decides(script: str, msg: str = MSG, **kw: object) -> bool:
    """True when the script's test (wrapped in if) holds: the message is discarded."""
    actions = run(f"if {script} {{ discard; }}", msg, **kw)
    return actions == [Discard()]


# -- tests -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("test", "expected"),
    [
        ("true", True),
        ("false", False),
        ("not true", False),
        ("not false", True),
        ("allof (true, true)", True),
        ("allof (true, false)", False),
        ("anyof (false, false)", False),
        ("anyof (false, true)", True),
        ("not anyof (false, not true)", True),
    ],
)
def test_logic(test: str, expected: bool) -> None:
    """true/false/not/allof/anyof combine as boolean logic (RFC 5228 5.2, 5.3, 5.8)."""
    assert decides(test) is expected


@pytest.mark.parametrize(
    ("test", "expected"),
    [
        ('header :is "subject" "Grüße and MONEY"', True),  # RFC 2047 decoded
        ('header :contains "Subject" "money"', True),
        ('header :comparator "i;octet" :contains "Subject" "money"', False),
        ('header :matches "subject" "gr*"', True),
        ('header :is ["x-nope", "X-Spam"] "two"', True),
        ('header :is "X-Caffeine" ""', True),  # present but empty
        ('header :contains "X-Caffeine" ""', True),
        ('header :contains "X-Absent" ""', False),  # absent never matches
        ('header :matches "X-Caffeine" "?*"', False),
        ('header "from" "coyote"', False),  # default :is
    ],
)
def test_header(test: str, expected: bool) -> None:
    """header compares decoded, unfolded values of every named field (RFC 5228 5.7)."""
    assert decides(test) is expected


def test_header_values_are_unfolded_and_trimmed() -> None:
    """A folded header compares as one line without surrounding blanks."""
    msg = "Subject: a very\n  long subject   \n\nbody\n"
    assert decides('header :is "subject" "a very  long subject"', msg)


@pytest.mark.parametrize(
    ("test", "expected"),
    [
        ('exists "From"', True),
        ('exists ["From", "X-Caffeine"]', True),
        ('exists ["From", "Date"]', False),  # every named header must exist
        ('exists "date"', False),
    ],
)
def test_exists(test: str, expected: bool) -> None:
    """exists is true only when all named headers are present (RFC 5228 5.5)."""
    assert decides(test) is expected


@pytest.mark.parametrize(
    ("test", "expected"),
    [
        ('address :is :all "from" "coyote@desert.example.org"', True),
        ('address "from" "COYOTE@desert.example.org"', True),
        ('address :localpart "from" "coyote"', True),
        ('address :domain "from" "DESERT.example.org"', True),
        ('address :domain :matches ["to"] "*.net"', True),
        ('address :all :contains ["To", "Cc", "Bcc"] "other@"', True),
        ('address :is "to" "Other"', False),  # display names are not compared
        ('address :comparator "i;octet" :domain "from" "DESERT.example.org"', False),
    ],
)
def test_address(test: str, expected: bool) -> None:
    """address compares parts of the addresses in the named headers (RFC 5228 5.1)."""
    assert decides(test) is expected


@pytest.mark.parametrize(
    ("test", "expected"),
    [
        ('address :user "cc" "ken"', True),
        ('address :detail "cc" "lists"', True),
        ('address :detail "to" ""', False),  # no separator: :detail never matches
        ('address :detail :matches "to" "*"', False),
        ('address :user "to" "me"', True),
    ],
)
def test_subaddress_on_headers(test: str, expected: bool) -> None:
    """:user and :detail split local parts at the separator (RFC 5233 4)."""
    script = f'require "subaddress"; if {test} {{ discard; }}'
    assert (run(script, MSG) == [Discard()]) is expected


@pytest.mark.parametrize(
    ("test", "mail_from", "rcpt", "expected"),
    [
        ('envelope :is "from" "tim@example.com"', "tim@example.com", "me@x", True),
        ('envelope :is "from" "tim@example.com"', "<tim@example.com>", "me@x", True),
        ('envelope :domain "to" "EXAMPLE.org"', "a@b", "ken@example.org", True),
        ('envelope :is "from" ""', "", "me@x", True),  # null reverse-path is ""
        ('envelope :domain "from" ""', "<>", "me@x", True),
        ('envelope :is "FROM" "a@b"', "a@b", "me@x", True),
        ('envelope :is ["from", "to"] "me@x"', "a@b", "me@x", True),
        ('envelope :user "to" "ken"', "a@b", "ken+x@example.org", True),
        ('envelope :detail "to" "x"', "a@b", "ken+x@example.org", True),
        ('envelope :detail "to" "x"', "a@b", "ken@example.org", False),
    ],
)
def test_envelope(test: str, mail_from: str, rcpt: str, expected: bool) -> None:
    """envelope tests the SMTP MAIL FROM and RCPT TO (RFC 5228 5.4)."""
    script = f'require ["envelope", "subaddress"]; if {test} {{ discard; }}'
    assert (run(script, MSG, mail_from=mail_from, rcpt=rcpt) == [Discard()]) is expected


def test_subaddress_uses_configured_delimiter() -> None:
    """The recipient delimiter comes from the context (config), not a fixed "+"."""
    script = 'require ["envelope", "subaddress"]; if envelope :detail "to" "x" { discard; }'
    assert run(script, MSG, rcpt="ken-x@example.org", delimiter="-") == [Discard()]
    assert run(script, MSG, rcpt="ken-x@example.org", delimiter="+") == [Keep()]


def test_size() -> None:
    """size :over/:under compare strictly against the message size (RFC 5228 5.9)."""
    ctx = context(MSG)
    size = ctx.size
    assert decides(f"size :over {size - 1}")
    assert not decides(f"size :over {size}")
    assert decides(f"size :under {size + 1}")
    assert not decides(f"size :under {size}")
    assert not decides("size :over 1K")


def test_mailboxexists() -> None:
    """mailboxexists asks the context, and is true only if all mailboxes exist (RFC 5490 3.1)."""
    have = {"INBOX", "Lists"}.__contains__
    script = 'require "mailbox"; if mailboxexists {} {{ discard; }}'
    assert run(script.format('"Lists"'), MSG, mailbox_exists=have) == [Discard()]
    assert run(script.format('["Lists", "Nope"]'), MSG, mailbox_exists=have) == [Keep()]
    # Without a lookup only INBOX is known.
    assert run(script.format('"INBOX"'), MSG) == [Discard()]
    assert run(script.format('"Lists"'), MSG) == [Keep()]


# -- control and actions --------------------------------------------------------


def test_implicit_keep_when_nothing_runs() -> None:
    """A script that takes no action keeps the message (RFC 5228 2.10.2)."""
    assert run("") == [Keep()]
    assert run("if false { discard; }") == [Keep()]


def test_elsif_else_pick_first_true_branch() -> None:
    """Only the first branch whose test is true runs."""
    script = (
        'require "fileinto";'
        'if false { fileinto "a"; } elsif true { fileinto "b"; } '
        'elsif true { fileinto "c"; } else { fileinto "d"; }'
    )
    assert run(script) == [FileInto("b")]
    assert run('require "fileinto"; if false {} else { fileinto "d"; }') == [FileInto("d")]


def test_stop_ends_the_script_but_keeps_actions() -> None:
    """stop ends processing; actions so far stand, implicit keep still applies (3.3)."""
    assert run('require "fileinto"; fileinto "a"; stop; discard;') == [FileInto("a")]
    assert run("stop; discard;") == [Keep()]


def test_discard_cancels_implicit_keep_only() -> None:
    """discard drops the implicit keep; explicit actions still happen (RFC 5228 4.4)."""
    assert run("discard;") == [Discard()]
    assert run('require "fileinto"; fileinto "a"; discard;') == [FileInto("a")]
    assert run("keep; discard;") == [Keep()]


def test_keep_and_fileinto_inbox_deliver_once() -> None:
    """keep and fileinto "INBOX" are the same delivery, done once (RFC 5228 2.10.3)."""
    assert run('require "fileinto"; keep; fileinto "INBOX"; keep;') == [Keep()]
    assert run('require "fileinto"; fileinto "a"; fileinto "a";') == [FileInto("a")]


def test_redirect_twice_to_same_address_sends_once() -> None:
    """The same redirect twice is one redirect."""
    assert run('redirect "a@example.com"; redirect "A@example.com";'.lower()) == [
        Redirect("a@example.com")
    ]


def test_redirect_limit_is_a_runtime_error() -> None:
    """More distinct redirects than the site allows is an error (the caller keeps)."""
    script = "".join(f'redirect "u{i}@example.com";' for i in range(3))
    assert len(run(script, options=EvalOptions(max_redirects=3))) == 3
    with pytest.raises(SieveError, match="too many redirects") as info:
        run(script + 'redirect "u9@example.com";', options=EvalOptions(max_redirects=3))
    assert info.value.line == 1


def test_action_limit() -> None:
    """A script collecting more actions than max_actions fails at run time."""
    script = 'require "fileinto";' + "".join(f'fileinto "f{i}";' for i in range(5))
    with pytest.raises(SieveError, match="too many actions"):
        run(script, options=EvalOptions(max_actions=4))


def test_redirect_to_an_address_that_already_had_the_message_is_skipped() -> None:
    """A redirect target listed in Delivered-To would loop; the message is kept instead."""
    msg = message(Delivered_To=["alice@example.com", "bob@example.com"], Subject="x")
    assert run('redirect "Bob@Example.com";', msg) == [Keep()]
    assert run('redirect "carol@example.com";', msg) == [Redirect("carol@example.com")]


def test_fileinto_create_flag() -> None:
    """fileinto :create asks the delivery to create the mailbox (RFC 5490 3.2)."""
    script = 'require ["fileinto", "mailbox"]; fileinto :create "New.Folder";'
    assert run(script) == [FileInto("New.Folder", create=True)]


def test_runtime_errors_name_the_script_and_line() -> None:
    """A runtime error carries the script path and the command's line."""
    script = compile_script('require "reject";\nkeep;\n\nreject "no";', "user.sieve")
    with pytest.raises(SieveError) as info:
        evaluate(script, context())
    assert str(info.value).startswith("user.sieve:4: reject cannot be combined with keep")


def test_scripts_run_as_one_program() -> None:
    """Before, user and after scripts share flags, actions and the implicit keep."""
    before = compile_script('require "imap4flags"; addflag "global";', "before.sieve")
    user = compile_script('require "fileinto"; fileinto "a";', "user.sieve")
    after = compile_script("", "after.sieve")
    assert evaluate_all([before, user, after], context()) == [FileInto("a", frozenset({"global"}))]
    stopper = compile_script("stop;", "before.sieve")
    assert evaluate_all([stopper, user], context()) == [Keep()]


def test_header_lookups_are_cached_per_run() -> None:
    """Each header is fetched from the message once per run, however often it is tested."""
    calls: list[str] = []
    base = context(DEFAULT_MESSAGE)

    def counting(name: str) -> list[str]:
        calls.append(name.lower())
        return base.header_values(name)

    ctx = context(DEFAULT_MESSAGE)
    ctx = type(ctx)(counting, ctx.size, ctx.envelope_from, ctx.envelope_to)
    script = compile_script('if header "subject" "a" {} if header :contains "Subject" "b" {}')
    evaluate(script, ctx)
    assert calls.count("subject") == 1


def test_address_test_parses_raw_headers_when_given() -> None:
    """An encoded display name with a comma stays one address when raw values are given."""
    decoded = {"from": ["Doe, John <john@example.com>"]}  # a plain RFC 2047 decode
    raw = {"from": ["=?utf-8?q?Doe=2C_John?= <john@example.com>"]}
    script = compile_script('if address :localpart "from" "Doe" { discard; }')

    def ctx(with_raw: bool) -> MessageContext:
        return MessageContext(
            header_values=lambda n: decoded.get(n.lower(), []),
            size=10,
            envelope_from="a@b.org",
            envelope_to="me@example.com",
            raw_header_values=(lambda n: raw.get(n.lower(), [])) if with_raw else None,
        )

    assert evaluate(script, ctx(False)) == [Discard()]  # the decoded text splits in two
    assert evaluate(script, ctx(True)) == [Keep()]
    whole = compile_script('if address :all "from" "john@example.com" { discard; }')
    assert evaluate(whole, ctx(True)) == [Discard()]
