"""Run a compiled script over one message (RFC 5228 sections 2.10, 4, 5).

Pure: the interpreter reads the :class:`MessageContext` and returns actions;
it writes nothing and sends nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from mailsuite.sieve import ast
from mailsuite.sieve.actions import Action, ActionCollector
from mailsuite.sieve.address import AddressPart, address_part, header_addresses
from mailsuite.sieve.context import EvalOptions, MessageContext
from mailsuite.sieve.errors import SieveError
from mailsuite.sieve.flags import add_flags, parse_flags, remove_flags
from mailsuite.sieve.match import ascii_casefold
from mailsuite.sieve.vacation import build_vacation

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
                c.fileinto(mb, self.action_flags(flags), create, copy, line)
            case ast.RedirectCmd(address=address, copy=copy, line=line):
                if self.is_loop(address):
                    # The target already had this message (it carries its
                    # Delivered-To): resending would loop. Not sending it
                    # leaves the implicit keep alone, so no mail is lost.
                    return
                c.redirect(address, copy, line)
            case ast.RejectCmd(reason=reason, extended=extended, line=line):
                c.reject(reason, extended, line)
            case ast.VacationCmd(line=line):
                c.vacation(build_vacation(cmd, self.ctx, self.options), line)
            case ast.FlagCmd(op=op, flags=flags):
                if op is ast.FlagOp.SET:
                    self.flags = parse_flags(flags)
                elif op is ast.FlagOp.ADD:
                    self.flags = add_flags(self.flags, flags)
                else:
                    self.flags = remove_flags(self.flags, flags)

    def action_flags(self, flags: tuple[str, ...] | None) -> frozenset[str]:
        # RFC 5232 5: without :flags an action takes the variable's current value.
        return frozenset(self.flags if flags is None else flags)

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
                return any(matcher.match_any(self.header(h)) for h in headers)
            case ast.ExistsTest(headers=headers):
                return all(self.header(h) for h in headers)
            case ast.SizeTest(over=over, limit=limit):
                return self.ctx.size > limit if over else self.ctx.size < limit
            case ast.AddressTest(headers=headers, part=part, matcher=matcher):
                addresses = header_addresses([v for h in headers for v in self.address_header(h)])
                return self.match_parts(addresses, part, matcher)
            case ast.EnvelopeTest(parts=parts, part=part, matcher=matcher):
                values = [self.envelope(p) for p in parts]
                return self.match_parts(values, part, matcher)
            case ast.HasFlagTest(matcher=matcher):
                return matcher.match_any(self.flags)
            case ast.MailboxExistsTest(mailboxes=mailboxes):
                exists = self.ctx.mailbox_exists
                if exists is None:
                    return all(m.upper() == "INBOX" for m in mailboxes)
                return all(exists(m) for m in mailboxes)
        raise AssertionError(f"unhandled test {test!r}")

    def envelope(self, part: str) -> str:
        value = self.ctx.envelope_from if part == "from" else self.ctx.envelope_to
        value = value.strip()
        if value.startswith("<") and value.endswith(">"):
            value = value[1:-1]
        return value

    def match_parts(self, addresses: list[str], part: AddressPart, matcher: object) -> bool:
        sep = self.ctx.recipient_delimiter
        for addr in addresses:
            value = address_part(addr, part, sep)
            if value is not None and matcher.match(value):  # type: ignore[attr-defined]
                return True
        return False
