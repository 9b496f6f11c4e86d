"""Helpers for the Sieve tests: real RFC 5322 messages parsed by the stdlib."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable

from mailsuite.sieve import (
    Action,
    EvalOptions,
    MessageContext,
    SieveError,
    compile_script,
    evaluate,
)

DEFAULT_MESSAGE = """\
Date: Mon, 23 Nov 2026 10:00:00 +0000
From: Tim <tim@example.com>
To: Me <me@example.com>
Subject: hello there
Message-ID: <1@example.com>

Hi.
"""


def context(
    message: str = DEFAULT_MESSAGE,
    *,
    mail_from: str = "tim@example.com",
    rcpt: str = "me@example.com",
    delimiter: str = "+",
    mailbox_exists: Callable[[str], bool] | None = None,
    **kw: object,
) -> MessageContext:
    """A MessageContext over ``message`` as the delivery code would build it."""
    msg = email.message_from_string(message, policy=email.policy.default)

    def header_values(name: str) -> list[str]:
        return [str(v) for v in (msg.get_all(name) or [])]

    raw = message.replace("\r\n", "\n").replace("\n", "\r\n")
    return MessageContext(
        header_values=header_values,
        size=len(raw.encode()),
        envelope_from=mail_from,
        envelope_to=rcpt,
        recipient_delimiter=delimiter,
        mailbox_exists=mailbox_exists,
        **kw,  # type: ignore[arg-type]
    )


def run(
    script: str,
    message: str = DEFAULT_MESSAGE,
    options: EvalOptions | None = None,
    **kw: object,
) -> list[Action]:
    """Compile ``script`` and evaluate it over ``message``."""
    return evaluate(compile_script(script), context(message, **kw), options)  # type: ignore[arg-type]


def compile_error(script: str) -> SieveError:
    """The SieveError compiling ``script`` raises (fails the test when it compiles)."""
    try:
        compile_script(script, "test.sieve")
    except SieveError as e:
        return e
    raise AssertionError("script compiled but should not have")


def message(**headers: str | list[str]) -> str:
    """A small message with the given headers (underscores in names become dashes)."""
    lines = []
    for name, value in headers.items():
        values = value if isinstance(value, list) else [value]
        for v in values:
            lines.append(f"{name.replace('_', '-')}: {v}")
    return "\n".join(lines) + "\n\nbody\n"
