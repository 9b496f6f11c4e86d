"""Sieve-lite: a pure mail-filtering decision engine (RFC 5228 and extensions).

It decides, it never acts: :func:`compile_script` turns script text into an
immutable :class:`Script`; :func:`evaluate` runs it over one message's
:class:`MessageContext` and returns the final actions. The delivery code
(``mailsuite.delivery``) stores, redirects, rejects and answers accordingly.

Supported: RFC 5228 core with envelope and fileinto, imap4flags (RFC 5232),
copy (RFC 3894), mailbox (RFC 5490), subaddress (RFC 5233), vacation
(RFC 5230, with :seconds from RFC 6131), reject and ereject (RFC 5429),
relational (RFC 5231) with i;ascii-numeric (RFC 4790), variables (RFC 5229),
date (RFC 5260), encoded-character.
See ``docs/sieve.md``.
"""

from __future__ import annotations

from mailsuite.sieve.actions import (
    Action,
    Discard,
    FileInto,
    Keep,
    Redirect,
    Reject,
    Vacation,
)
from mailsuite.sieve.ast import Script
from mailsuite.sieve.compiler import compile_script
from mailsuite.sieve.context import EvalOptions, MessageContext
from mailsuite.sieve.errors import SieveError
from mailsuite.sieve.interp import evaluate, evaluate_all
from mailsuite.sieve.spec import CAPABILITIES

__all__ = [
    "CAPABILITIES",
    "Action",
    "Discard",
    "EvalOptions",
    "FileInto",
    "Keep",
    "MessageContext",
    "Redirect",
    "Reject",
    "Script",
    "SieveError",
    "Vacation",
    "compile_script",
    "evaluate",
    "evaluate_all",
]
