"""Bad input never crashes the engine: it compiles, or it is a SieveError with a line."""

from __future__ import annotations

import random

from mailsuite.sieve import MessageContext, SieveError, compile_script, evaluate
from tests.sieve.test_rfc5228_examples import EXTENDED_EXAMPLE

_ALPHABET = 'abcdefghijklmnopqrstuvwxyz:;[](){},"\\*?#/ \n\t0123456789KMG.text' + "é\x00\r"
_WORDS = [
    "if", "elsif", "else", "require", "keep", "discard", "stop", "fileinto", "redirect",
    "header", "address", "envelope", "exists", "size", "allof", "anyof", "not", "true",
    ":is", ":contains", ":matches", ":comparator", ":over", ":under", ":all", ":domain",
    '"x"', '"a@b.c"', "[", "]", "(", ")", "{", "}", ",", ";", "1K", "text:\n.\n",
    '"i;octet"', "vacation", ":days", "setflag", "hasflag", ":copy", ":flags", "reject",
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
    for _ in range(3000):
        compiles_or_fails_cleanly(" ".join(rng.choice(_WORDS) for _ in range(rng.randint(0, 25))))


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
