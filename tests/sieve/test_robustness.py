"""Bad input never crashes the engine: it compiles, or it is a SieveError with a line."""

from __future__ import annotations

import random

from mailsuite.sieve import CAPABILITIES, MessageContext, SieveError, compile_script, evaluate
from tests.sieve.support import context
from tests.sieve.test_rfc5228_examples import EXTENDED_EXAMPLE

_ALPHABET = 'abcdefghijklmnopqrstuvwxyz:;[](){},"\\*?#/ \n\t0123456789KMG.text' + "é\x00\r"
_WORDS = [
    "if", "elsif", "else", "require", "keep", "discard", "stop", "fileinto", "redirect",
    "header", "address", "envelope", "exists", "size", "allof", "anyof", "not", "true",
    ":is", ":contains", ":matches", ":comparator", ":over", ":under", ":all", ":domain",
    '"x"', '"a@b.c"', "[", "]", "(", ")", "{", "}", ",", ";", "1K", "text:\n.\n",
    '"i;octet"', "vacation", ":days", "setflag", "hasflag", ":copy", ":flags", "reject",
    '"variables"', "set", "string", ":lower", ":length", '"${1}"', '"${x}"', '"a${"', ":count",
    '"relational"', ":value", '"ge"',
]  # fmt: skip


def compiles_or_fails_cleanly(source: str) -> None:
    try:
        compile_script(source, "fuzz.sieve")
    except SieveError as e:
        assert e.line >= 0 and str(e).startswith("fuzz.sieve:")


def test_random_characters() -> None:
    """Thousands of random character strings compile or raise SieveError, nothing else."""
    rng = random.Random(1)
    for _ in range(3000):
        compiles_or_fails_cleanly("".join(rng.choice(_ALPHABET) for _ in range(rng.randint(0, 60))))


def test_random_token_sequences() -> None:
    """Random sequences of real Sieve words compile or raise SieveError, nothing else."""
    rng = random.Random(2)
    every = "require [" + ", ".join(f'"{c}"' for c in sorted(CAPABILITIES)) + "];"
    for i in range(4000):
        words = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(0, 25)))
        compiles_or_fails_cleanly(every + words if i % 2 else words)


_COMMANDS = [
    "keep;", "discard;", "stop;", 'fileinto "${1}x";', 'fileinto :copy :flags "${f}" "F";',
    'redirect "x@example.org";', 'set :lower "f" "${0} A";', 'addflag "${f}";', 'setflag "v" "b";',
    'vacation :days 1 "x";', 'reject "r";', 'keep :flags "\\\\Seen";', 'removeflag "a";',
    'fileinto :create "G${f}";', 'set :length "n" "${f}";',
]  # fmt: skip
TESTS = [
    "true", "false", 'header :matches "subject" "*e*"', 'exists "x-caffeine"',
    'string :count "ge" :comparator "i;ascii-numeric" ["${1}", "${n}"] "1"',
    'hasflag :contains "a"', 'hasflag "v" "b"', 'address :matches :domain "from" "*.*"',
    'envelope :detail "to" "x"', "size :over 1",
    'string :value "gt" :comparator "i;octet" "${0}" "m"',
    'date :matches "date" "iso8601" "*"', 'currentdate :value "ge" "year" "2000"',
    'date :originalzone :value "lt" "date" "weekday" "3"',
]  # fmt: skip


def random_script(rng: random.Random, depth: int = 0, tests: list[str] | None = None) -> str:
    """A random valid script body over every extension (also used against Pigeonhole)."""
    tests = TESTS if tests is None else tests
    out = []
    for _ in range(rng.randint(1, 4)):
        if depth < 3 and rng.random() < 0.3:
            body = random_script(rng, depth + 1, tests)
            out.append(f"if {_test(rng, depth, tests)} {{ {body} }}")
        else:
            out.append(rng.choice(_COMMANDS))
    return " ".join(out)


def _test(rng: random.Random, depth: int, tests: list[str]) -> str:
    roll = rng.random()
    if depth < 3 and roll < 0.15:
        return f"not {_test(rng, depth + 1, tests)}"
    if depth < 3 and roll < 0.3:
        return f"anyof ({_test(rng, depth + 1, tests)}, {_test(rng, depth + 1, tests)})"
    return rng.choice(tests)


def test_random_scripts_run_or_fail_cleanly() -> None:
    """Random valid scripts over every extension run to actions or a SieveError, nothing else."""
    rng = random.Random(4)
    every = "require [" + ", ".join(f'"{c}"' for c in sorted(CAPABILITIES)) + "];"
    for _ in range(1500):
        script = compile_script(every + random_script(rng))
        try:
            evaluate(script, context())
        except SieveError:
            pass


def test_mutated_rfc_example() -> None:
    """The RFC example with random characters deleted, duplicated or inserted never crashes."""
    rng = random.Random(3)
    for _ in range(1500):
        text = list(EXTENDED_EXAMPLE)
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(text))
            op = rng.randrange(3)
            if op == 0:
                del text[i]
            elif op == 1:
                text.insert(i, text[i])
            else:
                text.insert(i, rng.choice(_ALPHABET))
        compiles_or_fails_cleanly("".join(text))


def test_hostile_message_values() -> None:
    """Odd header values (control characters, huge, unbalanced brackets) never crash a run."""
    script = compile_script(
        'require ["envelope", "subaddress", "vacation", "fileinto", "imap4flags"];'
        'if anyof (address :detail ["from", "to", "cc"] "x",'
        '          address :domain :matches "from" "*.*",'
        '          envelope :user "from" "x",'
        '          header :matches "subject" "*a*b*c*") { addflag "a"; }'
        'vacation "away";'
    )
    values = [
        "",
        "\x00\x01\r\n",
        "<<<@@@>>>",
        '"unterminated <a@b',
        "a@b, " * 5000,
        "x" * 200_000,
        "=?utf-8?q?=ZZ?=",
        "group: ;, <>, @, a@",
    ]
    for value in values:
        ctx = MessageContext(
            header_values=lambda _name, v=value: [v, v],
            size=len(value),
            envelope_from=value[:100],
            envelope_to=value[:100],
        )
        evaluate(script, ctx)
