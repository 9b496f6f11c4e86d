"""The variables extension (RFC 5229): set, string, ${...} expansion and match variables."""

from __future__ import annotations

import pytest

from mailsuite.sieve import Discard, FileInto, Keep, Redirect, Reject, SieveError, Vacation
from mailsuite.sieve.variables import (
    MAX_VALUE_CHARS,
    MAX_VARIABLES,
    NamespaceError,
    Template,
    Variables,
    apply_modifiers,
    parse_template,
)
from tests.sieve.support import compile_error, message, run

V = 'require ["variables", "fileinto", "imap4flags", "vacation"];\n'


def test_templates() -> None:
    """References become template parts; anything else stays literal text."""
    assert parse_template("plain") == "plain"
    assert parse_template("a${Name}b${01}") == Template(("a", ("name",), "b", ("1",)))
    assert parse_template("${}${1a}${-x}$") == "${}${1a}${-x}$"
    with pytest.raises(NamespaceError):
        parse_template("${env.home}")


@pytest.mark.parametrize(
    ("modifiers", "expected"),
    [
        # RFC 5229 4.1's examples on "juMBlEd lETteRS".
        ((), "juMBlEd lETteRS"),
        (("length",), "15"),
        (("lower",), "jumbled letters"),
        (("upperfirst",), "JuMBlEd lETteRS"),
        (("upperfirst", "lower"), "Jumbled letters"),
        (("lower", "upperfirst"), "Jumbled letters"),  # precedence, not order, decides
        (("upper", "length"), "15"),
    ],
)
def test_rfc5229_modifier_examples(modifiers: tuple[str, ...], expected: str) -> None:
    """Modifiers apply by precedence: case first, then first letter, quoting, length."""
    assert apply_modifiers("juMBlEd lETteRS", modifiers) == expected


def test_quotewildcard() -> None:
    """:quotewildcard escapes *, ? and backslash (RFC 5229 4.1: "Rock*" -> "Rock\\*")."""
    assert apply_modifiers("Rock*", ("quotewildcard",)) == "Rock\\*"
    assert apply_modifiers("a?b\\c", ("quotewildcard",)) == "a\\?b\\\\c"


def test_variable_store_limits() -> None:
    """Values are cut at the size limit and the number of variables is bounded."""
    v = Variables()
    assert v.set("big", "x" * (MAX_VALUE_CHARS + 10))
    assert len(v.get("big")) == MAX_VALUE_CHARS
    for i in range(MAX_VARIABLES - 1):
        assert v.set(f"v{i}", "x")
    assert not v.set("one_too_many", "x")
    assert v.set("V0", "again")  # reassigning an existing one is always fine
    assert v.get("v0") == "again"


def test_rfc5229_set_example() -> None:
    """RFC 5229 4: variables in a text: block, names case-insensitive."""
    script = (
        V
        + """
    set "honorific"  "Mr";
    set "first_name" "Wile";
    set "last_name"  "Coyote";
    set "vacation" text:
Dear ${HONORIFIC} ${last_name},
I'm out, please leave a message after the meep.
.
;
    vacation :subject "Out: ${first_name}" "${vacation}";
    """
    )
    msg = message(From="road@runner.example", To="me@example.com", Subject="s")
    v = run(script, msg, mail_from="road@runner.example")[0]
    assert isinstance(v, Vacation)
    assert v.body == "Dear Mr Coyote,\r\nI'm out, please leave a message after the meep.\r\n"
    assert v.subject == "Out: Wile"


RFC5229_3_2 = """
require ["fileinto", "variables"];
if header :matches "List-ID" "*<*@*" {
    fileinto "INBOX.lists.${2}"; stop;
}
if header :matches "Subject" "[*] *" {
    fileinto "INBOX.lists.${1}"; stop;
}
if address :matches ["To", "Cc"] ["coyote@**.com", "wile@**.com"] {
    fileinto "INBOX.business.${2}"; stop;
}
if anyof (true, address :domain :matches "To" "*.com") {
    fileinto "INBOX.none${0}${1}"; stop;
}
"""


@pytest.mark.parametrize(
    ("headers", "folder"),
    [
        ({"List_ID": "Acme users <acme-users@lists.example.com>"}, "INBOX.lists.acme-users"),
        ({"Subject": "[acme-users] [fwd] version 1.0 is out"}, "INBOX.lists.acme-users"),
        ({"To": "coyote@ACME.Example.COM"}, "INBOX.business.ACME.Example"),
        ({"To": "bugs@example.net"}, "INBOX.none"),
    ],
)
def test_rfc5229_match_variable_example(headers: dict[str, str], folder: str) -> None:
    """RFC 5229 3.2: ${N} hold what each wildcard matched; unevaluated tests set nothing."""
    assert run(RFC5229_3_2, message(**headers)) == [FileInto(folder)]


def test_string_test_example() -> None:
    """RFC 5229 5: the string test matches expanded strings ("* pending *" always matches)."""
    script = V + 'set "state" "${state} pending";'
    script += 'if string :matches " ${state} " "* pending *" { fileinto "${1}|${2}"; }'
    # state is " pending", so the source is "  pending ": ${1} is " ", ${2} is "".
    assert run(script) == [FileInto(" |")]


def test_failed_match_keeps_previous_match_variables() -> None:
    """A failed :matches leaves ${N} from the last successful one."""
    script = V + 'if header :matches "subject" "h*" {} if header :matches "subject" "x*" {}'
    script += 'fileinto "${1}";'
    assert run(script, message(Subject="hello")) == [FileInto("ello")]


def test_expansion_happens_once() -> None:
    """A value holding "${x}" is not expanded again when used (RFC 5229 3)."""
    script = V + 'set "a" "${"; set "b" "${a}x}"; set "x" "no"; fileinto "${b}";'
    assert run(script) == [FileInto("${x}")]


def test_variables_in_actions() -> None:
    """Mailbox, redirect target, reject reason and flags all expand."""
    script = V + 'set "box" "Lists"; set "f" "\\\\Seen $Work"; fileinto :flags "${f}" "${box}";'
    assert run(script) == [FileInto("Lists", frozenset({"\\Seen", "$Work"}))]
    script = V + 'set "t" "fwd@Example.ORG"; redirect "${t}";'
    assert run(script) == [Redirect("fwd@example.org")]
    script = 'require ["variables", "reject"]; set "r" "full"; reject "mailbox ${r}";'
    assert run(script) == [Reject("mailbox full")]


def test_bad_expanded_values_are_runtime_errors() -> None:
    """An expanded redirect address that is not one, or an empty mailbox, stops the run."""
    with pytest.raises(SieveError, match="not a mail address"):
        run(V + 'set "t" "nobody"; redirect "${t}";')
    with pytest.raises(SieveError, match="mailbox name is empty"):
        run(V + 'fileinto "${unset}";')


def test_named_flag_variables() -> None:
    """setflag/addflag/removeflag/hasflag on a named variable leave the internal one alone."""
    script = V + 'setflag "v" "A B"; addflag "v" "C"; removeflag "v" "a"; addflag "Own";'
    script += 'if hasflag :is "v" "b" { fileinto :flags "${v}" "X"; }'
    script += 'if hasflag "v" "own" { discard; } keep;'
    assert run(script) == [FileInto("X", frozenset({"B", "C"})), Keep(frozenset({"Own"}))]


def test_each_script_has_its_own_variables() -> None:
    """Variables set in a before-script are not seen by the user's script (RFC 5229 3)."""
    from mailsuite.sieve import compile_script, evaluate_all
    from tests.sieve.support import context

    before = compile_script(V + 'set "x" "before";', "before.sieve")
    user = compile_script(V + 'fileinto "got${x}";', "user.sieve")
    assert evaluate_all([before, user], context()) == [FileInto("got")]


def test_too_many_variables_is_a_runtime_error() -> None:
    """A script setting more variables than allowed fails (the caller keeps)."""
    script = V + "".join(f'set "v{i}" "x";' for i in range(MAX_VARIABLES + 1))
    with pytest.raises(SieveError, match="too many variables"):
        run(script)


@pytest.mark.parametrize(
    ("script", "fragment"),
    [
        ('set "a" "b";', 'needs require "variables"'),
        ('require "variables"; set "a-b" "x";', "not a valid variable name"),
        ('require "variables"; set "1" "x";', "not a valid variable name"),
        ('require "variables"; set :lower :upper "a" "x";', "cannot be used with"),
        ('require "variables"; set "a";', "takes 2 positional"),
        ('require ["variables", "fileinto"]; fileinto "${env.x}";', "namespace"),
        ('if string "a" "b" {}', 'needs require "variables"'),
    ],
)
def test_compile_errors(script: str, fragment: str) -> None:
    """Misused variables are compile errors with a clear message."""
    assert fragment in compile_error(script).message


def test_without_require_dollar_braces_are_literal() -> None:
    """Without require "variables", "${x}" is just text."""
    assert run('require "fileinto"; fileinto "${x}";') == [FileInto("${x}")]


def test_dynamic_keys() -> None:
    """Keys built from variables are matched after expansion."""
    script = V + 'set "k" "MONEY"; if header :contains "subject" "${k}" { discard; }'
    assert run(script, message(Subject="make money")) == [Discard()]
    assert run(script, message(Subject="make friends")) == [Keep()]


def test_anyof_stops_at_the_first_true_test() -> None:
    """anyof stops at the first true test and keeps the ${N} it set (RFC 5229 3.2)."""
    script = V + 'if anyof (header :matches "subject" "*-*", true) { fileinto "${1}"; }'
    assert run(script, message(Subject="left-right")) == [FileInto("left")]
    script = V + 'if anyof (true, header :matches "subject" "*-*") { fileinto "x${1}"; }'
    assert run(script, message(Subject="left-right")) == [FileInto("x")]
