"""POP3 UIDL formats: Dovecot's pop3_uidl_format syntax and RFC 1939 UIDL rules."""

from __future__ import annotations

import pytest

from mailsuite.protocols.pop3.uidl import DEFAULT_UIDL_FORMAT, compile_uidl_format


def test_default_matches_dovecot() -> None:
    """The default %08Xu%08Xv gives Dovecot's zero-padded lower-case hex UID then UIDVALIDITY."""
    fmt = compile_uidl_format(DEFAULT_UIDL_FORMAT)
    assert fmt.render(1, 0x5F3A2B1C) == "000000015f3a2b1c"
    assert fmt.render(0x1234ABCD, 7) == "1234abcd00000007"


def test_wide_values_are_not_truncated_by_zero_padding() -> None:
    """A zero-padded width is a minimum, never a cut."""
    assert compile_uidl_format("%04Xu").render(0x123456, 1) == "123456"


def test_width_without_zero_truncates() -> None:
    """A width without a leading zero truncates, as in Dovecot."""
    assert compile_uidl_format("%3f").render(1, 1, "1700000000.M1P2.host") == "170"


def test_filename_and_long_names() -> None:
    """%f, %g and the %{name} forms expand to the Maildir base name, UID and UIDVALIDITY."""
    fmt = compile_uidl_format("%{uidvalidity}-%{uid}-%g")
    assert fmt.render(5, 6, "1.M2.host") == "6-5-1.M2.host"
    assert compile_uidl_format("%f").render(1, 1, "1.M2.host") == "1.M2.host"


def test_case_modifiers_and_percent() -> None:
    """L and U change case and %% is a literal percent sign."""
    assert compile_uidl_format("%%%Uf").render(1, 1, "abc") == "%ABC"
    assert compile_uidl_format("%Lf%u").render(2, 1, "ABC") == "abc2"


def test_uidl_characters_stay_in_rfc_range() -> None:
    """Characters a UIDL may not hold (RFC 1939: 0x21-0x7E) are replaced."""
    assert compile_uidl_format("%f").render(1, 1, "a b\u00e9") == "a_b_"


def test_uidl_at_most_70_characters() -> None:
    """A long file name is cut to the 70 characters RFC 1939 allows."""
    assert len(compile_uidl_format("%f").render(1, 1, "x" * 200)) == 70


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("%m", "unknown variable"),
        ("%{md5}", "unknown variable"),
        ("%08X", "unknown variable"),
        ("%08", "incomplete variable"),
        ("%v", "would not be unique"),
        ("static", "would not be unique"),
    ],
)
def test_bad_formats_are_refused_with_a_reason(source: str, reason: str) -> None:
    """Unknown variables, dangling % and formats that cannot be unique are refused."""
    with pytest.raises(ValueError, match=reason):
        compile_uidl_format(source)
