"""Config loading: every kind of mistake stops start-up with one line naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailsuite.config import load_settings
from mailsuite.errors import ConfigError


def load_text(tmp_path: Path, text: str):
    path = tmp_path / "mailsuite.toml"
    path.write_text(text)
    return load_settings(str(path), base_dir=str(tmp_path))


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_text(tmp_path, text)
    message = str(info.value)
    assert "\n" not in message, "a config error is one line"
    return message


def test_empty_file_gives_embedded_defaults(tmp_path: Path) -> None:
    """An empty config runs on the embedded defaults (passwd-file users, Maildir under var/)."""
    s = load_text(tmp_path, "")
    assert s.mail.location == "var/mail/%u"
    assert s.passdb[0].driver == "passwd-file" and s.passdb[0].path == "etc/users"
    assert s.base_dir == str(tmp_path)


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    """A missing config file is reported with its path."""
    with pytest.raises(ConfigError, match=r"nope\.toml: config file not found"):
        load_settings(str(tmp_path / "nope.toml"))


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    """A syntax error is reported as not valid TOML with the file name."""
    assert "not valid TOML" in error_of(tmp_path, "[imap\nlisten=")


def test_unknown_key_is_named_with_its_section(tmp_path: Path) -> None:
    """An unknown key names its section and key and lists the known ones."""
    msg = error_of(tmp_path, "[imap]\nlisen = []\n")
    assert "[imap] lisen: unknown key" in msg and "listen" in msg


def test_unknown_section_is_named(tmp_path: Path) -> None:
    """An unknown top-level section is an unknown key too."""
    assert "[imapd]: unknown key" in error_of(tmp_path, "[imapd]\nlisten = []\n")


def test_wrong_scalar_type_is_named(tmp_path: Path) -> None:
    """A string where an integer belongs names the key, the expected type and the value."""
    msg = error_of(tmp_path, '[lmtp]\nmax_recipients = "many"\n')
    assert "[lmtp] max_recipients: expected an integer, got 'many'" in msg


def test_bool_is_not_an_integer(tmp_path: Path) -> None:
    """true is refused where a number belongs (Python's bool-is-int must not leak in)."""
    assert "expected an integer" in error_of(tmp_path, "[lmtp]\nmax_recipients = true\n")


def test_negative_number_is_refused(tmp_path: Path) -> None:
    """A negative count or duration names the key instead of misbehaving later."""
    assert "[lmtp] max_recipients: must not be negative, got -5" in error_of(
        tmp_path, "[lmtp]\nmax_recipients = -5\n"
    )
    assert "[imap] idle_timeout_s: must not be negative" in error_of(
        tmp_path, "[imap]\nidle_timeout_s = -1.5\n"
    )


def test_integer_is_accepted_for_seconds(tmp_path: Path) -> None:
    """A whole number of seconds is accepted for a float setting."""
    assert load_text(tmp_path, "[imap]\nidle_timeout_s = 1800\n").imap.idle_timeout_s == 1800.0


def test_wrong_list_type_is_named(tmp_path: Path) -> None:
    """A bare port where a list of listen addresses belongs is refused."""
    msg = error_of(tmp_path, "[imap]\nlisten = 1143\n")
    assert "[imap] listen: expected a list of strings, got 1143" in msg


def test_wrong_item_in_list_is_named(tmp_path: Path) -> None:
    """A number inside a list of strings is refused."""
    assert "[pop3] listen: expected a string, got 110" in error_of(
        tmp_path, '[pop3]\nlisten = ["127.0.0.1:1110", 110]\n'
    )


def test_unknown_key_in_array_of_tables_names_the_index(tmp_path: Path) -> None:
    """A typo inside the second [[passdb]] names which passdb it is in."""
    msg = error_of(
        tmp_path,
        '[[passdb]]\ndriver = "static"\n[[passdb]]\ndriver = "sqlite"\npth = "x"\n',
    )
    assert "[passdb[1]] pth: unknown key" in msg


def test_section_must_be_a_table(tmp_path: Path) -> None:
    """A scalar where a section belongs is refused."""
    assert "expected a table" in error_of(tmp_path, "imap = 3\n")


def test_dict_settings_take_string_values(tmp_path: Path) -> None:
    """Tables of strings (special-use folders) load, and a non-string value is named."""
    s = load_text(tmp_path, '[mail.special_use]\nSpam = "\\\\Junk"\n')
    assert s.mail.special_use == {"Spam": "\\Junk"}
    assert "[mail] special_use.Spam: expected a string" in error_of(
        tmp_path, "[mail.special_use]\nSpam = 1\n"
    )


def test_base_dir_is_not_settable_from_the_file(tmp_path: Path) -> None:
    """base_dir comes from where the server runs, never from the file."""
    assert "[base_dir]: unknown key" in error_of(tmp_path, 'base_dir = "/"\n')
