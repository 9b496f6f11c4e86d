"""Run a compiled script over one message (RFC 5228 sections 2.10, 4, 5).

Pure: the interpreter reads the :class:`MessageContext` and returns actions;
it writes nothing and sends nothing. Its only clock is ``MessageContext.now``
(``currentdate``), falling back to the system clock when the caller gives none.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from mailsuite.sieve import ast
from mailsuite.sieve.actions import Action, ActionCollector
from mailsuite.sieve.address import (
    AddressPart,
    address_part,
    header_addresses,
    normalize_address,
)
from mailsuite.sieve.ast import AnyMatcher
from mailsuite.sieve.context import EvalOptions, MessageContext
from mailsuite.sieve.dates import date_part, parse_date_header, parse_zone
from mailsuite.sieve.errors import SieveError
from mailsuite.sieve.flags import add_flags, parse_flags, remove_flags
from mailsuite.sieve.match import MatchType, ascii_casefold
from mailsuite.sieve.vacation import VacationRequest, build_vacation
from mailsuite.sieve.variables import (
    MAX_MATCH_VARIABLES,
    MAX_VARIABLES,
    Template,
    Text,
    Variables,
    apply_modifiers,
)

__all__ = ["evaluate", "evaluate_all"]

_DEFAULT_OPTIONS = EvalOptions()


class _Stop(Exception):
    """``stop`` ran (RFC 5228 3.3): end the run, keep the actions so far."""


def evaluate(
    script: ast.Script, ctx: MessageContext, options: EvalOptions | None = None
) -> list[Action]:
    """Run one script and return its final actions (implicit keep resolved).

    Args:
        script: a compiled script.
        ctx: the message and recipient.
        options: site policy; defaults match ``[sieve]``'s defaults.

    Raises:
        SieveError: a runtime error (the caller should keep the message).
    """
    return evaluate_all((script,), ctx, options)


def evaluate_all(
    scripts: Sequence[ast.Script], ctx: MessageContext, options: EvalOptions | None = None
) -> list[Action]:
    """Run scripts one after another as one program (global before, user, global after).

    They share the actions, the implicit keep and the imap4flags variable;
    ``stop`` in any of them ends the whole run (as ``sieve_before`` scripts do
    in Pigeonhole when they stop).

    Raises:
        SieveError: a runtime error in any of them, naming that script.
    """
    opts = options or _DEFAULT_OPTIONS
    run = _Run(ctx, opts, scripts[0].path if scripts else "<script>")
    try:
        for script in scripts:
            run.collector.path = script.path
            # Match variables are worth recording only where ${N} can be read.
            run.capture = "variables" in script.requires
            run.vars = Variables()  # RFC 5229 3: each script has its own variables
            run.block(script.commands)
    except _Stop:
        pass
    return run.collector.result(frozenset(run.flags))


class _Run:
    def __init__(self, ctx: MessageContext, options: EvalOptions, path: str) -> None:
        self.ctx = ctx
        self.options = options
        self.flags: tuple[str, ...] = ()
        self.collector = ActionCollector(path, options.max_redirects, options.max_actions)
        self.vars = Variables()
        self.capture = False
        self._headers: dict[str, list[str]] = {}
        self._delivered_to: frozenset[str] | None = None

    def header(self, name: str) -> list[str]:
        key = name.lower()
        cached = self._headers.get(key)
        if cached is None:
            try:
                raw = self.ctx.header_values(name)
            except Exception as e:  # the message layer never raises; be safe anyway
                raise SieveError(f"cannot read header {name!r}: {e}", self.collector.path, 0) from e
            # RFC 5228 5.7: compare the value without the blanks around it.
            cached = [v.strip(" \t\r\n") for v in raw]
            self._headers[key] = cached
        return cached

    def address_header(self, name: str) -> list[str]:
        raw = self.ctx.raw_header_values
        if raw is None:
            return self.header(name)
        # Undecoded text: an encoded-word display name cannot hide a comma here.
        return [v.replace("\r", "").replace("\n", "") for v in raw(name)]

    # -- commands ------------------------------------------------------------

    def t(self, text: Text) -> str:
        """A string argument with its variables expanded (RFC 5229 3)."""
        return self.vars.expand(text)

    def block(self, commands: tuple[ast.Command, ...]) -> None:
        for cmd in commands:
            self.command(cmd)

    def command(self, cmd: ast.Command) -> None:
        c = self.collector
        match cmd:
            case ast.IfCmd(branches=branches):
                for test, body in branches:
                    if test is None or self.test(test):
                        self.block(body)
                        return
            case ast.StopCmd():
                raise _Stop
            case ast.KeepCmd(flags=flags, line=line):
                c.keep(self.action_flags(flags), line)
            case ast.DiscardCmd():
                c.discard()
            case ast.FileIntoCmd(mailbox=mb, copy=copy, create=create, flags=flags, line=line):
                mailbox = self.t(mb)
                if not mailbox:
                    raise c.error("fileinto: the mailbox name is empty after expansion", line)
                c.fileinto(mailbox, self.action_flags(flags), create, copy, line)
            case ast.RedirectCmd(address=text, copy=copy, line=line):
                address = text if isinstance(text, str) else normalize_address(self.t(text))
                if address is None:
                    raise c.error(f"redirect: {self.t(text)!r} is not a mail address", line)
                if self.is_loop(address):
                    # The target already had this message (it carries its
                    # Delivered-To): resending would loop. Not sending it
                    # leaves the implicit keep alone, so no mail is lost.
                    return
                c.redirect(address, copy, line)
            case ast.RejectCmd(reason=reason, extended=extended, line=line):
                c.reject(self.t(reason), extended, line)
            case ast.VacationCmd(line=line):
                c.vacation(build_vacation(self.vacation_request(cmd), self.ctx, self.options), line)
            case ast.FlagCmd(op=op, flags=flags, variable=variable, line=line):
                self.flag_command(op, tuple(self.t(f) for f in flags), variable, line)
            case ast.SetCmd(name=name, value=value, modifiers=modifiers, line=line):
                if not self.vars.set(name, apply_modifiers(self.t(value), modifiers)):
                    raise c.error(f"too many variables (the limit is {MAX_VARIABLES})", line)

    def flag_command(
        self, op: ast.FlagOp, flags: tuple[str, ...], variable: str, line: int
    ) -> None:
        current = parse_flags([self.vars.get(variable)]) if variable else self.flags
        if op is ast.FlagOp.SET:
            new = parse_flags(flags)
        elif op is ast.FlagOp.ADD:
            new = add_flags(current, flags)
        else:
            new = remove_flags(current, flags)
        if not variable:
            self.flags = new
        elif not self.vars.set(variable, " ".join(new)):
            raise self.collector.error(f"too many variables (the limit is {MAX_VARIABLES})", line)

    def action_flags(self, flags: tuple[Text, ...] | None) -> frozenset[str]:
        # RFC 5232 5: without :flags an action takes the variable's current value.
        if flags is None:
            return frozenset(self.flags)
        return frozenset(parse_flags(self.t(f) for f in flags))

    def vacation_request(self, cmd: ast.VacationCmd) -> VacationRequest:
        from_addr = None if cmd.from_addr is None else self.t(cmd.from_addr)
        addresses = []
        for text in cmd.addresses:
            addr = text if isinstance(text, str) else normalize_address(self.t(text))
            if addr is None:
                raise self.collector.error(
                    f"vacation: {self.t(text)!r} in :addresses is not a mail address", cmd.line
                )
            addresses.append(addr)
        if isinstance(cmd.from_addr, Template) and normalize_address(from_addr or "") is None:
            raise self.collector.error(f"vacation: :from {from_addr!r} is not an address", cmd.line)
        return VacationRequest(
            reason=self.t(cmd.reason),
            days=cmd.days,
            seconds=cmd.seconds,
            subject=None if cmd.subject is None else self.t(cmd.subject),
            from_addr=from_addr,
            addresses=tuple(addresses),
            mime=cmd.mime,
            handle=None if cmd.handle is None else self.t(cmd.handle),
        )

    def is_loop(self, address: str) -> bool:
        if self._delivered_to is None:
            self._delivered_to = frozenset(
                ascii_casefold(a) for a in header_addresses(self.header("Delivered-To"))
            )
        return ascii_casefold(address) in self._delivered_to

    # -- tests ---------------------------------------------------------------

    def test(self, test: ast.Test) -> bool:
        match test:
            case ast.Constant(value=value):
                return value
            case ast.NotTest(test=inner):
                return not self.test(inner)
            case ast.AllOf(tests=tests):
                return all(self.test(t) for t in tests)
            case ast.AnyOf(tests=tests):
                return any(self.test(t) for t in tests)
            case ast.HeaderTest(headers=headers, matcher=matcher):
                values = [v for h in headers for v in self.header(self.t(h))]
                return self.match(matcher, values)
            case ast.ExistsTest(headers=headers):
                return all(self.header(self.t(h)) for h in headers)
            case ast.SizeTest(over=over, limit=limit):
                return self.ctx.size > limit if over else self.ctx.size < limit
            case ast.AddressTest(headers=headers, part=part, matcher=matcher):
                raw = [v for h in headers for v in self.address_header(self.t(h))]
                return self.match_parts(header_addresses(raw), part, matcher)
            case ast.EnvelopeTest(parts=parts, part=part, matcher=matcher):
                values = [self.envelope(p) for p in parts]
                if matcher.match_type is MatchType.COUNT:
                    # RFC 5231 4.2: a null reverse-path counts as no address.
                    values = [v for v in values if v]
                return self.match_parts(values, part, matcher)
            case ast.HasFlagTest(matcher=matcher, variables=variables):
                if variables:
                    flags = parse_flags(self.vars.get(v) for v in variables)
                else:
                    flags = self.flags
                return self.match(matcher, flags)
            case ast.StringTest(sources=sources, matcher=matcher):
                strings = [self.t(s) for s in sources]
                if matcher.match_type is MatchType.COUNT:
                    # RFC 5229 5: :count counts the strings that are not empty.
                    strings = [s for s in strings if s]
                return self.match(matcher, strings)
            case ast.DateTest(part=part, matcher=matcher):
                when = self.date(test)
                return self.match(matcher, [] if when is None else [date_part(when, part)])
            case ast.MailboxExistsTest(mailboxes=mailboxes):
                names = [self.t(m) for m in mailboxes]
                exists = self.ctx.mailbox_exists
                if exists is None:
                    return all(m.upper() == "INBOX" for m in names)
                return all(exists(m) for m in names)
        raise AssertionError(f"unhandled test {test!r}")

    def match(self, matcher: AnyMatcher, values: Iterable[str]) -> bool:
        m = matcher.resolve(self.vars)
        if self.capture and m.match_type is MatchType.MATCHES:
            # RFC 5229 3.2: a successful :matches sets ${0}..${9}; a failed one
            # leaves them as they were.
            captured = m.match_captures(values)
            if captured is None:
                return False
            self.vars.matches = captured[:MAX_MATCH_VARIABLES]
            return True
        return m.match_any(values)

    def date(self, test: ast.DateTest) -> dt.datetime | None:
        """The date a date/currentdate test looks at, in the zone it asks for."""
        now = self.ctx.now or dt.datetime.now(dt.UTC).astimezone()
        if test.header is None:
            when: dt.datetime | None = now
        else:
            # RFC 5260 4: the first occurrence of the header is the one used.
            values = self.header(self.t(test.header))
            when = parse_date_header(values[0]) if values else None
            if when is None:
                return None
            if test.original_zone:
                return when
        assert when is not None
        zone = parse_zone(test.zone) if test.zone is not None else now.tzinfo
        return when.astimezone(zone)

    def envelope(self, part: str) -> str:
        value = self.ctx.envelope_from if part == "from" else self.ctx.envelope_to
        value = value.strip()
        if value.startswith("<") and value.endswith(">"):
            value = value[1:-1]
        return value

    def match_parts(self, addresses: list[str], part: AddressPart, matcher: AnyMatcher) -> bool:
        sep = self.ctx.recipient_delimiter
        values = (address_part(addr, part, sep) for addr in addresses)
        return self.match(matcher, [v for v in values if v is not None])
