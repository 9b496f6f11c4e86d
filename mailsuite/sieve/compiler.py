"""Compile the parser's tree into a typed :class:`~mailsuite.sieve.ast.Script`.

Checks everything that can be known before a message arrives (RFC 5228 2.10.6:
errors are found at compile time when possible): ``require`` placement and
capabilities, that every extension used was required, every command's and
test's tags and arguments, comparator names, header-field names and the
address syntax of ``redirect`` and ``vacation``. Errors are collected, so
``mailsuite sieve check`` can list them all, compiler style.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from mailsuite.sieve import ast
from mailsuite.sieve.address import AddressPart, normalize_address
from mailsuite.sieve.encoded import decode_encoded_characters
from mailsuite.sieve.errors import SieveError
from mailsuite.sieve.flags import parse_flags
from mailsuite.sieve.match import COMPARATORS, Comparator, Matcher, MatchType
from mailsuite.sieve.parser import (
    Argument,
    CommandNode,
    NumberArg,
    StringListArg,
    TagArg,
    TestNode,
    parse,
)

__all__ = ["CAPABILITIES", "compile_script"]

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
        "comparator-i;octet",  # RFC 5228 2.7.3: always there, may be required
        "comparator-i;ascii-casemap",
    }
)

# Commands and tests that exist only with a capability.
_COMMAND_CAPS: Final = {
    "fileinto": "fileinto",
    "reject": "reject",
    "ereject": "ereject",
    "vacation": "vacation",
    "setflag": "imap4flags",
    "addflag": "imap4flags",
    "removeflag": "imap4flags",
}
_TEST_CAPS: Final = {
    "envelope": "envelope",
    "hasflag": "imap4flags",
    "mailboxexists": "mailbox",
}
_ALL_COMMANDS: Final = frozenset(
    {"require", "if", "elsif", "else", "stop", "keep", "discard", "redirect"} | set(_COMMAND_CAPS)
)
_ALL_TESTS: Final = frozenset(
    {"address", "allof", "anyof", "exists", "false", "header", "not", "size", "true"}
    | set(_TEST_CAPS)
)

Kind = Literal["string", "strings", "number"] | None


@dataclass(frozen=True, slots=True)
class _Tag:
    slot: str  # tags sharing a slot exclude each other (one match type, ...)
    kind: Kind  # the argument the tag takes, None for a bare tag
    capability: str | None = None


_MATCH: Final = {
    "is": _Tag("match", None),
    "contains": _Tag("match", None),
    "matches": _Tag("match", None),
}
_COMPARATOR: Final = {"comparator": _Tag("comparator", "string")}
_PARTS: Final = {
    "all": _Tag("part", None),
    "localpart": _Tag("part", None),
    "domain": _Tag("part", None),
    "user": _Tag("part", None, "subaddress"),
    "detail": _Tag("part", None, "subaddress"),
}
_FLAGS_TAG: Final = {"flags": _Tag("flags", "strings", "imap4flags")}
_VACATION_TAGS: Final = {
    "days": _Tag("period", "number"),
    "seconds": _Tag("period", "number", "vacation-seconds"),
    "subject": _Tag("subject", "string"),
    "from": _Tag("from", "string"),
    "addresses": _Tag("addresses", "strings"),
    "mime": _Tag("mime", None),
    "handle": _Tag("handle", "string"),
}
_ENVELOPE_PARTS: Final = frozenset({"from", "to"})
# RFC 5322 3.6.8: field-name = 1*ftext; ftext = %d33-57 / %d59-126
_FTEXT: Final = frozenset(chr(c) for c in range(33, 127) if c != 58)


class _Skip(Exception):
    """This command or test had an error (already recorded); leave it out."""


@dataclass(slots=True)
class _Args:
    tags: dict[str, tuple[str, object]] = field(default_factory=dict)  # slot -> (tag, value)
    positional: list[object] = field(default_factory=list)

    def tag(self, slot: str) -> str | None:
        entry = self.tags.get(slot)
        return entry[0] if entry else None

    def value(self, slot: str) -> object:
        entry = self.tags.get(slot)
        return entry[1] if entry else None


def compile_script(source: str, path: str = "<script>") -> ast.Script:
    """Compile Sieve source text.

    Args:
        source: the script text.
        path: the script's path, used in every error message.

    Returns:
        The compiled, immutable script.

    Raises:
        SieveError: the first problem found; ``.errors`` holds them all.
    """
    tree = parse(source, path)
    return _Compiler(path).script(tree)


class _Compiler:
    def __init__(self, path: str) -> None:
        self.path = path
        self.requires: set[str] = set()
        self.errors: list[SieveError] = []

    # -- helpers -------------------------------------------------------------

    def fail(self, message: str, line: int) -> _Skip:
        self.errors.append(SieveError(message, self.path, line))
        return _Skip()

    def script(self, tree: tuple[CommandNode, ...]) -> ast.Script:
        commands = self.block(tree, top=True)
        if self.errors:
            first = self.errors[0]
            raise SieveError(first.message, first.path, first.line, tuple(self.errors))
        return ast.Script(commands, frozenset(self.requires), self.path)

    def split(
        self,
        name: str,
        args: Sequence[Argument],
        tags: dict[str, _Tag],
        positional: Sequence[tuple[str, Kind]],
        line: int,
    ) -> _Args:
        out = _Args()
        seen_positional = False
        i = 0
        while i < len(args):
            arg = args[i]
            i += 1
            if not isinstance(arg, TagArg):
                seen_positional = True
                out.positional.append(arg)
                continue
            spec = tags.get(arg.name)
            if spec is None:
                raise self.fail(f"unknown tag ':{arg.name}' for '{name}'", arg.line)
            if seen_positional:
                raise self.fail(
                    f"tag ':{arg.name}' of '{name}' must come before its other arguments",
                    arg.line,
                )
            if spec.capability and spec.capability not in self.requires:
                raise self.fail(f"':{arg.name}' needs require \"{spec.capability}\"", arg.line)
            if spec.slot in out.tags:
                other = out.tags[spec.slot][0]
                what = "given twice" if other == arg.name else f"cannot be used with ':{other}'"
                raise self.fail(f"':{arg.name}' {what} in '{name}'", arg.line)
            value: object = None
            if spec.kind is not None:
                if i >= len(args):
                    raise self.fail(f"':{arg.name}' needs a {_kind_name(spec.kind)}", arg.line)
                value = self.typed(args[i], spec.kind, f"':{arg.name}'")
                i += 1
            out.tags[spec.slot] = (arg.name, value)
        if len(out.positional) != len(positional):
            want = ", ".join(f"{n}: {_kind_name(k)}" for n, k in positional) or "none"
            raise self.fail(
                f"'{name}' takes {len(positional)} positional argument(s) ({want}), "
                f"got {len(out.positional)}",
                line,
            )
        out.positional = [
            self.typed(a, kind, f"{pname} of '{name}'")  # type: ignore[arg-type]
            for a, (pname, kind) in zip(out.positional, positional, strict=True)
        ]
        return out

    def typed(self, arg: Argument, kind: Kind, what: str) -> object:
        if kind == "number":
            if isinstance(arg, NumberArg):
                return arg.value
        elif isinstance(arg, StringListArg):
            values = arg.values
            if "encoded-character" in self.requires:
                try:
                    values = tuple(decode_encoded_characters(v) for v in values)
                except ValueError as e:
                    raise self.fail(f"bad encoded character in {what}: {e}", arg.line) from None
            if kind == "strings":
                return values
            # A one-element list where a string is due is accepted: it means the same.
            if len(values) == 1:
                return values[0]
        raise self.fail(f"{what} must be a {_kind_name(kind)}", arg.line)

    def need(self, capability: str, name: str, line: int) -> None:
        if capability not in self.requires:
            raise self.fail(f"'{name}' needs require \"{capability}\"", line)

    # -- commands ------------------------------------------------------------

    def block(self, nodes: Sequence[CommandNode], top: bool = False) -> tuple[ast.Command, ...]:
        out: list[ast.Command] = []
        may_require = top
        prev: str | None = None  # name of the previous command, for elsif/else
        if_ok = False  # the chain elsif/else would join compiled (else: errors only)
        for node in nodes:
            if node.name == "require":
                if not may_require:
                    where = "inside a block" if not top else "after other commands"
                    self.fail(
                        f"'require' must come before every other command (found {where})",
                        node.line,
                    )
                else:
                    self.require(node)
                prev = node.name
                continue
            may_require = False
            try:
                if node.name in ("elsif", "else"):
                    if prev not in ("if", "elsif"):
                        raise self.fail(f"'{node.name}' must follow 'if' or 'elsif'", node.line)
                    branch = self.branch(node)
                    last = out[-1] if if_ok else None
                    if isinstance(last, ast.IfCmd):
                        out[-1] = ast.IfCmd((*last.branches, branch), last.line)
                elif node.name == "if":
                    if_ok = False
                    out.append(ast.IfCmd((self.branch(node),), node.line))
                    if_ok = True
                else:
                    out.append(self.command(node))
            except _Skip:
                pass
            # After a broken "if", keep treating elsif/else as attached to it.
            prev = node.name if node.name != "else" else None
        return tuple(out)

    def require(self, node: CommandNode) -> None:
        try:
            args = self.split("require", node.args, {}, [("capabilities", "strings")], node.line)
            self.no_tests_or_block(node)
        except _Skip:
            return
        caps = args.positional[0]
        assert isinstance(caps, tuple)
        for cap in caps:
            if cap in CAPABILITIES:
                self.requires.add(cap)
            else:
                self.fail(f'unknown capability "{cap}" in require (not supported here)', node.line)

    def no_tests_or_block(self, node: CommandNode) -> None:
        if node.tests:
            found = node.tests[0].name
            hint = f" (missing ';' before '{found}'?)" if found in _ALL_COMMANDS else ""
            raise self.fail(f"'{node.name}' takes no test{hint}", node.line)
        if node.block is not None:
            raise self.fail(f"'{node.name}' takes no block; end it with ';'", node.line)

    def branch(self, node: CommandNode) -> tuple[ast.Test | None, tuple[ast.Command, ...]]:
        if node.args:
            raise self.fail(f"'{node.name}' takes no arguments besides its test", node.line)
        if node.block is None:
            raise self.fail(f"'{node.name}' needs a block in braces", node.line)
        test: ast.Test | None = None
        if node.name == "else":
            if node.tests:
                raise self.fail("'else' takes no test", node.line)
        else:
            if len(node.tests) != 1 or node.test_list:
                raise self.fail(f"'{node.name}' needs exactly one test", node.line)
            test = self.test(node.tests[0])
        return test, self.block(node.block)

    def command(self, node: CommandNode) -> ast.Command:
        name = node.name
        if name not in _ALL_COMMANDS:
            hint = " (it is a test: use it inside 'if')" if name in _ALL_TESTS else ""
            raise self.fail(f"unknown command '{name}'{hint}", node.line)
        if name in _COMMAND_CAPS:
            self.need(_COMMAND_CAPS[name], name, node.line)
        self.no_tests_or_block(node)
        line = node.line
        if name == "stop":
            self.split(name, node.args, {}, [], line)
            return ast.StopCmd(line)
        if name == "discard":
            self.split(name, node.args, {}, [], line)
            return ast.DiscardCmd(line)
        if name == "keep":
            a = self.split(name, node.args, _FLAGS_TAG, [], line)
            return ast.KeepCmd(_flags(a.value("flags")), line)
        if name == "fileinto":
            tags = {
                **_FLAGS_TAG,
                "copy": _Tag("copy", None, "copy"),
                "create": _Tag("create", None, "mailbox"),
            }
            a = self.split(name, node.args, tags, [("mailbox", "string")], line)
            mailbox = str(a.positional[0])
            if not mailbox:
                raise self.fail("'fileinto' needs a mailbox name, got \"\"", line)
            return ast.FileIntoCmd(
                mailbox,
                a.tag("copy") is not None,
                a.tag("create") is not None,
                _flags(a.value("flags")),
                line,
            )
        if name == "redirect":
            a = self.split(
                name,
                node.args,
                {"copy": _Tag("copy", None, "copy")},
                [("address", "string")],
                line,
            )
            addr = normalize_address(str(a.positional[0]))
            if addr is None:
                raise self.fail(
                    f"'redirect' needs a valid mail address, got {a.positional[0]!r}", line
                )
            return ast.RedirectCmd(addr, a.tag("copy") is not None, line)
        if name in ("reject", "ereject"):
            a = self.split(name, node.args, {}, [("reason", "string")], line)
            return ast.RejectCmd(str(a.positional[0]), name == "ereject", line)
        if name == "vacation":
            return self.vacation(node)
        # setflag / addflag / removeflag (RFC 5232 3)
        if _positional_count(node.args, {}) == 2:
            raise self.fail(
                f"'{name}' with a variable name needs the \"variables\" extension "
                "(not supported here)",
                line,
            )
        a = self.split(name, node.args, {}, [("list-of-flags", "strings")], line)
        strings = a.positional[0]
        assert isinstance(strings, tuple)
        return ast.FlagCmd(ast.FlagOp(name), tuple(strings), line)

    def vacation(self, node: CommandNode) -> ast.VacationCmd:
        line = node.line
        a = self.split("vacation", node.args, _VACATION_TAGS, [("reason", "string")], line)
        from_addr = a.value("from")
        if from_addr is not None:
            # RFC 5230 4.3: :from must be a valid address (it may carry a phrase).
            if normalize_address(str(from_addr)) is None:
                raise self.fail(f"vacation ':from' is not a valid address: {from_addr!r}", line)
        addresses = a.value("addresses") or ()
        assert isinstance(addresses, tuple)
        for addr in addresses:
            if normalize_address(addr) is None:
                raise self.fail(f"vacation ':addresses' holds an invalid address: {addr!r}", line)
        period_tag = a.tag("period")
        period = a.value("period")
        subject, handle = a.value("subject"), a.value("handle")
        return ast.VacationCmd(
            reason=str(a.positional[0]),
            days=int(period) if period_tag == "days" else None,  # type: ignore[call-overload]
            seconds=int(period) if period_tag == "seconds" else None,  # type: ignore[call-overload]
            subject=None if subject is None else str(subject),
            from_addr=None if from_addr is None else str(from_addr),
            addresses=tuple(normalize_address(x) or x for x in addresses),
            mime=a.tag("mime") is not None,
            handle=None if handle is None else str(handle),
            line=line,
        )

    # -- tests ---------------------------------------------------------------

    def test(self, node: TestNode) -> ast.Test:
        name, line = node.name, node.line
        if name not in _ALL_TESTS:
            hint = " (it is a command, not a test)" if name in _ALL_COMMANDS else ""
            raise self.fail(f"unknown test '{name}'{hint}", line)
        if name in _TEST_CAPS:
            self.need(_TEST_CAPS[name], name, line)
        if name in ("allof", "anyof"):
            if node.args or not node.test_list:
                raise self.fail(f"'{name}' needs a test list in parentheses", line)
            tests = tuple(self.test(t) for t in node.tests)
            return ast.AllOf(tests, line) if name == "allof" else ast.AnyOf(tests, line)
        if name == "not":
            if node.args or len(node.tests) != 1:
                raise self.fail("'not' needs exactly one test", line)
            return ast.NotTest(self.test(node.tests[0]), line)
        if node.tests:
            raise self.fail(
                f"'{name}' takes no nested test (missing ',' before '{node.tests[0].name}'?)",
                line,
            )
        if name in ("true", "false"):
            self.split(name, node.args, {}, [], line)
            return ast.Constant(name == "true", line)
        if name == "size":
            tags = {"over": _Tag("cmp", "number"), "under": _Tag("cmp", "number")}
            if not any(isinstance(x, TagArg) and x.name in tags for x in node.args):
                raise self.fail("'size' needs ':over' or ':under' with a number", line)
            a = self.split(name, node.args, tags, [], line)
            which = a.tag("cmp")
            return ast.SizeTest(which == "over", int(a.value("cmp")), line)  # type: ignore[call-overload]
        if name == "exists":
            a = self.split(name, node.args, {}, [("header-names", "strings")], line)
            return ast.ExistsTest(self.header_names(a.positional[0], line), line)
        if name == "mailboxexists":
            a = self.split(name, node.args, {}, [("mailbox-names", "strings")], line)
            return ast.MailboxExistsTest(_strings(a.positional[0]), line)
        if name == "hasflag":
            if _positional_count(node.args, {**_MATCH, **_COMPARATOR}) == 2:
                raise self.fail(
                    "'hasflag' with variable names needs the \"variables\" extension "
                    "(not supported here)",
                    line,
                )
            a = self.split(
                name, node.args, {**_MATCH, **_COMPARATOR}, [("list-of-flags", "strings")], line
            )
            keys = tuple(w for s in a.positional[0] for w in s.split())  # type: ignore[attr-defined]
            return ast.HasFlagTest(self.matcher(a, keys, line), line)
        if name == "header":
            a = self.split(
                name,
                node.args,
                {**_MATCH, **_COMPARATOR},
                [("header-names", "strings"), ("key-list", "strings")],
                line,
            )
            headers = self.header_names(a.positional[0], line)
            return ast.HeaderTest(headers, self.matcher(a, a.positional[1], line), line)
        # address / envelope
        a = self.split(
            name,
            node.args,
            {**_MATCH, **_COMPARATOR, **_PARTS},
            [
                ("header-list" if name == "address" else "envelope-part", "strings"),
                ("key-list", "strings"),
            ],
            line,
        )
        part = AddressPart(a.tag("part") or "all")
        matcher = self.matcher(a, a.positional[1], line)
        names = a.positional[0]
        assert isinstance(names, tuple)
        if name == "address":
            return ast.AddressTest(self.header_names(names, line), part, matcher, line)
        parts = tuple(p.lower() for p in names)
        for p in parts:
            if p not in _ENVELOPE_PARTS:
                raise self.fail(
                    f'envelope part "{p}" is not supported (only "from" and "to")', line
                )
        return ast.EnvelopeTest(parts, part, matcher, line)

    def header_names(self, names: object, line: int) -> tuple[str, ...]:
        assert isinstance(names, tuple)
        for h in names:
            if not h or not all(c in _FTEXT for c in h):
                raise self.fail(f"{h!r} is not a valid header field name", line)
        return tuple(names)

    def matcher(self, a: _Args, keys: object, line: int) -> Matcher:
        assert isinstance(keys, tuple)
        comparator = Comparator.ASCII_CASEMAP
        cname = a.value("comparator")
        if cname is not None:
            found = COMPARATORS.get(str(cname))
            if found is None:
                raise self.fail(f'comparator "{cname}" is not supported', line)
            comparator = found
        return Matcher(comparator, MatchType(a.tag("match") or "is"), keys)


def _positional_count(args: Sequence[Argument], tags: dict[str, _Tag]) -> int:
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


def _kind_name(kind: Kind) -> str:
    return {"string": "string", "strings": "string list", "number": "number"}.get(
        kind or "", "value"
    )


def _strings(value: object) -> tuple[str, ...]:
    assert isinstance(value, tuple)
    return value


def _flags(value: object) -> tuple[str, ...] | None:
    if value is None:
        return None
    assert isinstance(value, tuple)
    return parse_flags(value)
