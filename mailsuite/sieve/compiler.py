"""Compile the parser's tree into a typed :class:`~mailsuite.sieve.ast.Script`.

Checks everything that can be known before a message arrives (RFC 5228 2.10.6:
errors are found at compile time when possible): ``require`` placement and
capabilities, that every extension used was required, every command's and
test's tags and arguments, comparator names, header-field names and the
address syntax of ``redirect`` and ``vacation``. Errors are collected, so
``mailsuite sieve check`` can list them all, compiler style.

With ``require "variables"`` (RFC 5229) strings holding ``${...}`` become
templates; a value built from them (a redirect address, a mailbox name) can
only be checked when the command runs, which the interpreter does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from mailsuite.sieve import ast
from mailsuite.sieve.address import AddressPart, normalize_address
from mailsuite.sieve.ast import AnyMatcher
from mailsuite.sieve.dates import DATE_PARTS, parse_zone
from mailsuite.sieve.encoded import decode_encoded_characters
from mailsuite.sieve.errors import SieveError
from mailsuite.sieve.flags import parse_flags
from mailsuite.sieve.match import COMPARATORS, RELATIONS, Comparator, Matcher, MatchType
from mailsuite.sieve.parser import (
    Argument,
    CommandNode,
    NumberArg,
    StringListArg,
    TagArg,
    TestNode,
    parse,
)
from mailsuite.sieve.spec import (
    ALL_COMMANDS,
    ALL_TESTS,
    CAPABILITIES,
    COMMAND_CAPS,
    COMPARATOR_TAG,
    ENVELOPE_PARTS,
    FLAGS_TAG,
    FTEXT,
    MATCH_TAGS,
    PART_TAGS,
    SET_TAGS,
    TEST_CAPS,
    VACATION_TAGS,
    ZONE_TAGS,
    Kind,
    Tag,
    kind_name,
    positional_count,
)
from mailsuite.sieve.variables import (
    DynamicMatcher,
    NamespaceError,
    Template,
    Text,
    parse_template,
    valid_name,
)

__all__ = ["compile_script"]


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
        tags: dict[str, Tag],
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
                    raise self.fail(f"':{arg.name}' needs a {kind_name(spec.kind)}", arg.line)
                value = self.typed(args[i], spec.kind, f"':{arg.name}'")
                i += 1
            out.tags[spec.slot] = (arg.name, value)
        if len(out.positional) != len(positional):
            want = ", ".join(f"{n}: {kind_name(k)}" for n, k in positional) or "none"
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
            texts: tuple[Text, ...] = values
            if kind in ("text", "texts") and "variables" in self.requires:
                try:
                    texts = tuple(parse_template(v) for v in values)
                except NamespaceError as e:
                    raise self.fail(f"{what}: {e}", arg.line) from None
            if kind in ("strings", "texts"):
                return texts
            # A one-element list where a string is due is accepted: it means the same.
            if len(texts) == 1:
                return texts[0]
        raise self.fail(f"{what} must be a {kind_name(kind)}", arg.line)

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
            hint = f" (missing ';' before '{found}'?)" if found in ALL_COMMANDS else ""
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
        if name not in ALL_COMMANDS:
            hint = " (it is a test: use it inside 'if')" if name in ALL_TESTS else ""
            raise self.fail(f"unknown command '{name}'{hint}", node.line)
        if name in COMMAND_CAPS:
            self.need(COMMAND_CAPS[name], name, node.line)
        self.no_tests_or_block(node)
        line = node.line
        if name == "stop":
            self.split(name, node.args, {}, [], line)
            return ast.StopCmd(line)
        if name == "discard":
            self.split(name, node.args, {}, [], line)
            return ast.DiscardCmd(line)
        if name == "keep":
            a = self.split(name, node.args, FLAGS_TAG, [], line)
            return ast.KeepCmd(_flags(a.value("flags")), line)
        if name == "fileinto":
            tags = {
                **FLAGS_TAG,
                "copy": Tag("copy", None, "copy"),
                "create": Tag("create", None, "mailbox"),
            }
            a = self.split(name, node.args, tags, [("mailbox", "text")], line)
            mailbox = _text(a.positional[0])
            if mailbox == "":
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
                {"copy": Tag("copy", None, "copy")},
                [("address", "text")],
                line,
            )
            target = _text(a.positional[0])
            # A fixed address is checked now (RFC 5228 4.2); one built from
            # variables when the redirect runs.
            addr = normalize_address(target) if isinstance(target, str) else target
            if addr is None:
                raise self.fail(
                    f"'redirect' needs a valid mail address, got {a.positional[0]!r}", line
                )
            return ast.RedirectCmd(addr, a.tag("copy") is not None, line)
        if name in ("reject", "ereject"):
            a = self.split(name, node.args, {}, [("reason", "text")], line)
            return ast.RejectCmd(_text(a.positional[0]), name == "ereject", line)
        if name == "vacation":
            return self.vacation(node)
        if name == "set":
            return self.set_command(node)
        # setflag / addflag / removeflag (RFC 5232 3): [variablename] list-of-flags
        variable = ""
        flags_spec: list[tuple[str, Kind]] = [("list-of-flags", "texts")]
        if positional_count(node.args, {}) == 2:
            self.need("variables", f"{name} with a variable name", line)
            flags_spec.insert(0, ("variablename", "string"))
        a = self.split(name, node.args, {}, flags_spec, line)
        if len(a.positional) == 2:
            variable = self.variable_name(a.positional[0], line)
        strings = a.positional[-1]
        assert isinstance(strings, tuple)
        return ast.FlagCmd(ast.FlagOp(name), tuple(strings), line, variable)

    def variable_name(self, value: object, line: int) -> str:
        name = str(value)
        if not valid_name(name):
            raise self.fail(f"{name!r} is not a valid variable name", line)
        return name.lower()

    def set_command(self, node: CommandNode) -> ast.SetCmd:
        line = node.line
        a = self.split("set", node.args, SET_TAGS, [("name", "string"), ("value", "text")], line)
        modifiers = tuple(tag for tag, _ in a.tags.values())
        name = self.variable_name(a.positional[0], line)
        return ast.SetCmd(name, _text(a.positional[1]), modifiers, line)

    def vacation(self, node: CommandNode) -> ast.VacationCmd:
        line = node.line
        a = self.split("vacation", node.args, VACATION_TAGS, [("reason", "text")], line)
        from_addr = a.value("from")
        # RFC 5230 4.3: :from must be a valid address (it may carry a phrase);
        # fixed values are checked now, ones with variables when vacation runs.
        if isinstance(from_addr, str) and normalize_address(from_addr) is None:
            raise self.fail(f"vacation ':from' is not a valid address: {from_addr!r}", line)
        addresses = a.value("addresses") or ()
        assert isinstance(addresses, tuple)
        for addr in addresses:
            if isinstance(addr, str) and normalize_address(addr) is None:
                raise self.fail(f"vacation ':addresses' holds an invalid address: {addr!r}", line)
        period_tag = a.tag("period")
        period = a.value("period")
        subject, handle = a.value("subject"), a.value("handle")
        return ast.VacationCmd(
            reason=_text(a.positional[0]),
            days=int(period) if period_tag == "days" else None,  # type: ignore[call-overload]
            seconds=int(period) if period_tag == "seconds" else None,  # type: ignore[call-overload]
            subject=None if subject is None else _text(subject),
            from_addr=None if from_addr is None else _text(from_addr),
            addresses=tuple(
                (normalize_address(x) or x) if isinstance(x, str) else x for x in addresses
            ),
            mime=a.tag("mime") is not None,
            handle=None if handle is None else _text(handle),
            line=line,
        )

    # -- tests ---------------------------------------------------------------

    def test(self, node: TestNode) -> ast.Test:
        name, line = node.name, node.line
        if name not in ALL_TESTS:
            hint = " (it is a command, not a test)" if name in ALL_COMMANDS else ""
            raise self.fail(f"unknown test '{name}'{hint}", line)
        if name in TEST_CAPS:
            self.need(TEST_CAPS[name], name, line)
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
            tags = {"over": Tag("cmp", "number"), "under": Tag("cmp", "number")}
            if not any(isinstance(x, TagArg) and x.name in tags for x in node.args):
                raise self.fail("'size' needs ':over' or ':under' with a number", line)
            a = self.split(name, node.args, tags, [], line)
            which = a.tag("cmp")
            return ast.SizeTest(which == "over", int(a.value("cmp")), line)  # type: ignore[call-overload]
        if name == "exists":
            a = self.split(name, node.args, {}, [("header-names", "texts")], line)
            return ast.ExistsTest(self.header_names(a.positional[0], line), line)
        if name == "mailboxexists":
            a = self.split(name, node.args, {}, [("mailbox-names", "texts")], line)
            return ast.MailboxExistsTest(_texts(a.positional[0]), line)
        if name == "hasflag":
            # RFC 5232 4: hasflag [MATCH-TYPE] [COMPARATOR] [variable-list] list-of-flags
            spec: list[tuple[str, Kind]] = [("list-of-flags", "texts")]
            if positional_count(node.args, {**MATCH_TAGS, **COMPARATOR_TAG}) == 2:
                self.need("variables", "hasflag with variable names", line)
                spec.insert(0, ("variable-list", "strings"))
            a = self.split(name, node.args, {**MATCH_TAGS, **COMPARATOR_TAG}, spec, line)
            variables: tuple[str, ...] = ()
            if len(spec) == 2:
                variables = tuple(self.variable_name(v, line) for v in _texts(a.positional[0]))
            # Flags keys split at spaces like flag lists; keys with variables are
            # expanded first and then compared whole.
            keys: list[Text] = []
            for k in _texts(a.positional[-1]):
                keys.extend(k.split() if isinstance(k, str) else [k])
            return ast.HasFlagTest(self.matcher(a, tuple(keys), line), variables, line)
        if name in ("date", "currentdate"):
            return self.date_test(node)
        if name == "string":
            a = self.split(
                name,
                node.args,
                {**MATCH_TAGS, **COMPARATOR_TAG},
                [("source", "texts"), ("key-list", "texts")],
                line,
            )
            return ast.StringTest(
                _texts(a.positional[0]), self.matcher(a, a.positional[1], line), line
            )
        if name == "header":
            a = self.split(
                name,
                node.args,
                {**MATCH_TAGS, **COMPARATOR_TAG},
                [("header-names", "texts"), ("key-list", "texts")],
                line,
            )
            headers = self.header_names(a.positional[0], line)
            return ast.HeaderTest(headers, self.matcher(a, a.positional[1], line), line)
        # address / envelope
        a = self.split(
            name,
            node.args,
            {**MATCH_TAGS, **COMPARATOR_TAG, **PART_TAGS},
            [
                ("header-list" if name == "address" else "envelope-part", "strings"),
                ("key-list", "texts"),
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
            if p not in ENVELOPE_PARTS:
                raise self.fail(
                    f'envelope part "{p}" is not supported (only "from" and "to")', line
                )
        return ast.EnvelopeTest(parts, part, matcher, line)

    def date_test(self, node: TestNode) -> ast.DateTest:
        name, line = node.name, node.line
        tags = {**MATCH_TAGS, **COMPARATOR_TAG, **ZONE_TAGS}
        if name == "currentdate":
            tags.pop("originalzone")
        spec: list[tuple[str, Kind]] = [("date-part", "string"), ("key-list", "texts")]
        if name == "date":
            spec.insert(0, ("header-name", "text"))
        a = self.split(name, node.args, tags, spec, line)
        part = str(a.positional[-2]).lower()
        if part not in DATE_PARTS:
            raise self.fail(
                f"unknown date part {part!r} (one of {', '.join(sorted(DATE_PARTS))})", line
            )
        zone = a.value("zone") if a.tag("zone") == "zone" else None
        if zone is not None and parse_zone(str(zone)) is None:
            raise self.fail(f"':zone' must look like +0100 or -0800, got {zone!r}", line)
        header: Text | None = None
        if name == "date":
            (header,) = self.header_names((_text(a.positional[0]),), line)
        matcher = self.matcher(a, a.positional[-1], line)
        return ast.DateTest(
            header,
            part,
            None if zone is None else str(zone),
            a.tag("zone") == "originalzone",
            matcher,
            line,
        )

    def header_names(self, names: object, line: int) -> tuple[Text, ...]:
        assert isinstance(names, tuple)
        for h in names:
            # Names built from variables can only be checked when used.
            if isinstance(h, str) and (not h or not all(c in FTEXT for c in h)):
                raise self.fail(f"{h!r} is not a valid header field name", line)
        return tuple(names)

    def matcher(self, a: _Args, keys: object, line: int) -> AnyMatcher:
        assert isinstance(keys, tuple)
        comparator = Comparator.ASCII_CASEMAP
        cname = a.value("comparator")
        if cname is not None:
            found = COMPARATORS.get(str(cname).lower())
            if found is None:
                raise self.fail(f'comparator "{cname}" is not supported', line)
            # RFC 5228 2.7.3: comparators beyond the two defaults must be required.
            if found is Comparator.ASCII_NUMERIC:
                self.need(f"comparator-{found.value}", f"comparator {found.value}", line)
            comparator = found
        match_type = MatchType(a.tag("match") or "is")
        relation = ""
        if match_type in (MatchType.VALUE, MatchType.COUNT):
            relation = str(a.value("match")).lower()
            if relation not in RELATIONS:
                raise self.fail(
                    f"unknown relation {a.value('match')!r} for ':{match_type.value}' "
                    f"(one of {', '.join(RELATIONS)})",
                    line,
                )
        elif comparator is Comparator.ASCII_NUMERIC and match_type is not MatchType.IS:
            # RFC 4790 9.1: i;ascii-numeric has equality and ordering, no substrings.
            raise self.fail(
                f"comparator i;ascii-numeric cannot be used with ':{match_type.value}'", line
            )
        if all(isinstance(k, str) for k in keys):
            return Matcher(comparator, match_type, keys, relation)
        return DynamicMatcher(comparator, match_type, keys, relation)


def _texts(value: object) -> tuple[Text, ...]:
    assert isinstance(value, tuple)
    return value


def _text(value: object) -> Text:
    assert isinstance(value, str | Template)
    return value


def _flags(value: object) -> tuple[Text, ...] | None:
    if value is None:
        return None
    assert isinstance(value, tuple)
    # Fixed flag lists are cleaned now; ones with variables when the action runs.
    if all(isinstance(v, str) for v in value):
        return parse_flags(value)
    return value
