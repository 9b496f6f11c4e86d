"""EvalOptions come from the [sieve] settings; MessageContext defaults are safe."""

from __future__ import annotations

from mailsuite.config.schema import SieveSettings
from mailsuite.sieve import EvalOptions, MessageContext
from mailsuite.sieve.errors import SieveError


def test_options_from_settings() -> None:
    """The [sieve] limits reach the interpreter's options."""
    settings = SieveSettings(
        max_redirects=2, max_actions=7, vacation_min_days=3, vacation_max_days=14
    )
    opts = EvalOptions.from_settings(settings)
    assert (opts.max_redirects, opts.max_actions) == (2, 7)
    assert (opts.vacation_min_days, opts.vacation_max_days) == (3, 14)


def test_default_options_match_default_settings() -> None:
    """EvalOptions() and the embedded [sieve] defaults agree."""
    assert EvalOptions.from_settings(SieveSettings()) == EvalOptions()


def test_context_defaults() -> None:
    """A context needs only headers, size and envelope; the rest has safe defaults."""
    ctx = MessageContext(lambda _n: [], 0, "", "me@example.com")
    assert ctx.recipient_delimiter == "+"
    assert ctx.mailbox_exists is None and ctx.raw_header_values is None
    assert ctx.user_addresses == () and ctx.original_recipient == ""


def test_error_text_is_compiler_style() -> None:
    """str(SieveError) is path:line: message and it lists itself as its only error."""
    e = SieveError("boom", "/home/u/.dovecot.sieve", 12)
    assert str(e) == "/home/u/.dovecot.sieve:12: boom"
    assert e.errors == (e,)
    assert "boom" in repr(e)
