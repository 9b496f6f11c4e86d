"""The compiled form of a Sieve script: typed tests and commands.

The compiler (:mod:`mailsuite.sieve.compiler`) turns the parser's generic tree
into these frozen nodes after checking every argument, so the interpreter
never has to look at a tag again. A :class:`Script` is immutable and can be
shared by any number of threads and deliveries.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from mailsuite.sieve.address import AddressPart
from mailsuite.sieve.match import Matcher
from mailsuite.sieve.variables import DynamicMatcher, Text

# A matcher whose keys are fixed, or one built at run time from variables.
AnyMatcher = Matcher | DynamicMatcher

__all__ = [
    "AddressTest",
    "AnyMatcher",
    "AllOf",
    "AnyOf",
    "Command",
    "Constant",
    "DateTest",
    "DiscardCmd",
    "EnvelopeTest",
    "ExistsTest",
    "FileIntoCmd",
    "FlagCmd",
    "FlagOp",
    "HasFlagTest",
    "HeaderTest",
    "IfCmd",
    "KeepCmd",
    "MailboxExistsTest",
    "NotTest",
    "RedirectCmd",
    "RejectCmd",
    "Script",
    "SetCmd",
    "SizeTest",
    "StopCmd",
    "StringTest",
    "Test",
    "VacationCmd",
]


# Tests ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AddressTest:
    """``address`` (RFC 5228 5.1): addresses in the named headers."""

    headers: tuple[Text, ...]
    part: AddressPart
    matcher: AnyMatcher
    line: int


@dataclass(frozen=True, slots=True)
class EnvelopeTest:
    """``envelope`` (RFC 5228 5.4): "from" and/or "to" of the SMTP envelope."""

    parts: tuple[str, ...]
    part: AddressPart
    matcher: AnyMatcher
    line: int


@dataclass(frozen=True, slots=True)
class HeaderTest:
    """``header`` (RFC 5228 5.7)."""

    headers: tuple[Text, ...]
    matcher: AnyMatcher
    line: int


@dataclass(frozen=True, slots=True)
class ExistsTest:
    """``exists`` (RFC 5228 5.5): true when every named header is present."""

    headers: tuple[Text, ...]
    line: int


@dataclass(frozen=True, slots=True)
class SizeTest:
    """``size :over N`` / ``size :under N`` (RFC 5228 5.9)."""

    over: bool
    limit: int
    line: int


@dataclass(frozen=True, slots=True)
class AllOf:
    tests: tuple[Test, ...]
    line: int


@dataclass(frozen=True, slots=True)
class AnyOf:
    tests: tuple[Test, ...]
    line: int


@dataclass(frozen=True, slots=True)
class NotTest:
    test: Test
    line: int


@dataclass(frozen=True, slots=True)
class Constant:
    """``true`` or ``false``."""

    value: bool
    line: int


@dataclass(frozen=True, slots=True)
class HasFlagTest:
    """``hasflag`` (RFC 5232 4) on the internal variable or the named ones."""

    matcher: AnyMatcher
    variables: tuple[str, ...]
    line: int


@dataclass(frozen=True, slots=True)
class MailboxExistsTest:
    """``mailboxexists`` (RFC 5490 3.1): true when every named mailbox exists."""

    mailboxes: tuple[Text, ...]
    line: int


@dataclass(frozen=True, slots=True)
class DateTest:
    """``date`` on a header, or ``currentdate`` when ``header`` is None (RFC 5260 4, 5).

    ``zone`` None converts to the local zone; ``original_zone`` keeps the header's.
    """

    header: Text | None
    part: str
    zone: str | None
    original_zone: bool
    matcher: AnyMatcher
    line: int


@dataclass(frozen=True, slots=True)
class StringTest:
    """``string`` (RFC 5229 5): match expanded strings against keys."""

    sources: tuple[Text, ...]
    matcher: AnyMatcher
    line: int


Test = (
    AddressTest
    | EnvelopeTest
    | HeaderTest
    | ExistsTest
    | SizeTest
    | AllOf
    | AnyOf
    | NotTest
    | Constant
    | HasFlagTest
    | MailboxExistsTest
    | StringTest
    | DateTest
)


# Commands --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IfCmd:
    """An if/elsif/else chain: the first branch whose test is true runs (else: test None)."""

    branches: tuple[tuple[Test | None, tuple[Command, ...]], ...]
    line: int


@dataclass(frozen=True, slots=True)
class StopCmd:
    line: int


@dataclass(frozen=True, slots=True)
class KeepCmd:
    """``keep``; ``flags`` None means "the internal variable at this point" (RFC 5232 5)."""

    flags: tuple[Text, ...] | None
    line: int


@dataclass(frozen=True, slots=True)
class DiscardCmd:
    line: int


@dataclass(frozen=True, slots=True)
class FileIntoCmd:
    mailbox: Text
    copy: bool
    create: bool
    flags: tuple[Text, ...] | None
    line: int


@dataclass(frozen=True, slots=True)
class RedirectCmd:
    address: Text
    copy: bool
    line: int


@dataclass(frozen=True, slots=True)
class RejectCmd:
    """``reject`` or ``ereject`` (RFC 5429)."""

    reason: Text
    extended: bool
    line: int


@dataclass(frozen=True, slots=True)
class VacationCmd:
    """``vacation`` (RFC 5230; ``seconds`` from RFC 6131 when :seconds was used)."""

    reason: Text
    days: int | None
    seconds: int | None
    subject: Text | None
    from_addr: Text | None
    addresses: tuple[Text, ...]
    mime: bool
    handle: Text | None
    line: int


class FlagOp(enum.Enum):
    SET = "setflag"
    ADD = "addflag"
    REMOVE = "removeflag"


@dataclass(frozen=True, slots=True)
class FlagCmd:
    """``setflag``/``addflag``/``removeflag`` (RFC 5232 3); ``variable`` "" is the internal one."""

    op: FlagOp
    flags: tuple[Text, ...]
    line: int
    variable: str = ""


@dataclass(frozen=True, slots=True)
class SetCmd:
    """``set`` (RFC 5229 4): assign a variable, after the modifiers."""

    name: str
    value: Text
    modifiers: tuple[str, ...]
    line: int


Command = (
    IfCmd
    | StopCmd
    | KeepCmd
    | DiscardCmd
    | FileIntoCmd
    | RedirectCmd
    | RejectCmd
    | VacationCmd
    | FlagCmd
    | SetCmd
)


@dataclass(frozen=True, slots=True)
class Script:
    """A compiled script: its commands, the capabilities it required, its path."""

    commands: tuple[Command, ...]
    requires: frozenset[str]
    path: str = "<script>"
