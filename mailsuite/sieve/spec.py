"""What the Sieve-lite language consists of: capabilities, commands, tests, tags.

The compiler (:mod:`mailsuite.sieve.compiler`) checks scripts against these
tables; adding a tag or a capability starts here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from mailsuite.sieve.parser import Argument, TagArg
from mailsuite.sieve.variables import MODIFIERS

__all__ = [
    "ALL_COMMANDS",
    "ALL_TESTS",
    "CAPABILITIES",
    "COMMAND_CAPS",
    "COMPARATOR_TAG",
    "ENVELOPE_PARTS",
    "FLAGS_TAG",
    "FTEXT",
    "Kind",
    "MATCH_TAGS",
    "PART_TAGS",
    "SET_TAGS",
    "TEST_CAPS",
    "Tag",
    "VACATION_TAGS",
    "ZONE_TAGS",
    "kind_name",
    "positional_count",
]

# What "require" accepts (RFC 5228 3.2: anything else is an error).
CAPABILITIES: Final = frozenset(
    {
        "fileinto",
        "envelope",
        "reject",  # RFC 5429
        "ereject",  # RFC 5429
        "imap4flags",  # RFC 5232
        "copy",  # RFC 3894
        "mailbox",  # RFC 5490
        "subaddress",  # RFC 5233
        "vacation",  # RFC 5230
        "vacation-seconds",  # RFC 6131
        "encoded-character",  # RFC 5228 2.4.2.4
        "relational",  # RFC 5231
        "comparator-i;ascii-numeric",  # RFC 4790 9.1
        "variables",  # RFC 5229
        "date",  # RFC 5260
        "comparator-i;octet",  # RFC 5228 2.7.3: always there, may be required
        "comparator-i;ascii-casemap",
    }
)

# Commands and tests that exist only with a capability.
COMMAND_CAPS: Final = {
    "fileinto": "fileinto",
    "reject": "reject",
    "ereject": "ereject",
    "vacation": "vacation",
    "setflag": "imap4flags",
    "addflag": "imap4flags",
    "removeflag": "imap4flags",
    "set": "variables",
}
TEST_CAPS: Final = {
    "envelope": "envelope",
    "hasflag": "imap4flags",
    "mailboxexists": "mailbox",
    "string": "variables",
    "date": "date",
    "currentdate": "date",
}
ALL_COMMANDS: Final = frozenset(
    {"require", "if", "elsif", "else", "stop", "keep", "discard", "redirect"} | set(COMMAND_CAPS)
)
ALL_TESTS: Final = frozenset(
    {"address", "allof", "anyof", "exists", "false", "header", "not", "size", "true"}
    | set(TEST_CAPS)
)

# "string"/"strings" are fixed at compile time; "text"/"texts" may hold
# variable references (RFC 5229 3) when "variables" is required.
Kind = Literal["string", "strings", "text", "texts", "number"] | None


@dataclass(frozen=True, slots=True)
class Tag:
    """How a tag is used: its exclusion slot, its argument, the capability it needs."""

    slot: str  # tags sharing a slot exclude each other (one match type, ...)
    kind: Kind  # the argument the tag takes, None for a bare tag
    capability: str | None = None


MATCH_TAGS: Final = {
    "is": Tag("match", None),
    "contains": Tag("match", None),
    "matches": Tag("match", None),
    "value": Tag("match", "string", "relational"),  # RFC 5231
    "count": Tag("match", "string", "relational"),
}
COMPARATOR_TAG: Final = {"comparator": Tag("comparator", "string")}
PART_TAGS: Final = {
    "all": Tag("part", None),
    "localpart": Tag("part", None),
    "domain": Tag("part", None),
    "user": Tag("part", None, "subaddress"),
    "detail": Tag("part", None, "subaddress"),
}
FLAGS_TAG: Final = {"flags": Tag("flags", "texts", "imap4flags")}
VACATION_TAGS: Final = {
    "days": Tag("period", "number"),
    "seconds": Tag("period", "number", "vacation-seconds"),
    "subject": Tag("subject", "text"),
    "from": Tag("from", "text"),
    "addresses": Tag("addresses", "texts"),
    "mime": Tag("mime", None),
    "handle": Tag("handle", "text"),
}
ENVELOPE_PARTS: Final = frozenset({"from", "to"})
# RFC 5260 4: where a date is converted to before its parts are taken.
ZONE_TAGS: Final = {"zone": Tag("zone", "string"), "originalzone": Tag("zone", None)}
# RFC 5229 4.1: one slot per precedence, so ":lower :upper" is refused.
SET_TAGS: Final = {
    name: Tag(f"modifier-{precedence}", None) for name, precedence in MODIFIERS.items()
}
# RFC 5322 3.6.8: field-name = 1*ftext; ftext = %d33-57 / %d59-126
FTEXT: Final = frozenset(chr(c) for c in range(33, 127) if c != 58)


def positional_count(args: Sequence[Argument], tags: dict[str, Tag]) -> int:
    """How many arguments are positional (tags and their values skipped)."""
    count = 0
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif isinstance(arg, TagArg):
            spec = tags.get(arg.name)
            skip = spec is not None and spec.kind is not None
        else:
            count += 1
    return count


def kind_name(kind: Kind) -> str:
    names = {"string": "string", "text": "string", "strings": "string list", "texts": "string list"}
    return {**names, "number": "number"}.get(kind or "", "value")
