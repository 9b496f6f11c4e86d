"""UserRecord building: mail location, %-variables, home, uid/gid and quota."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from mailsuite.auth.expand import expand, user_vars
from mailsuite.auth.realm import make_user_record, parse_quota_rule
from mailsuite.config.schema import MailSettings, QuotaSettings, Settings


def settings(tmp_path: Path, location: str = "var/mail/%u") -> Settings:
    return dataclasses.replace(
        Settings(), base_dir=str(tmp_path), mail=MailSettings(location=location)
    )


@pytest.mark.parametrize(
    ("location", "fields", "want"),
    [
        ("var/mail/%u", {}, "{base}/var/mail/a@ex.org"),
        ("/srv/%d/%n", {}, "/srv/ex.org/a"),
        ("/srv/%Ld/%Ln", {}, "/srv/ex.org/a"),
        ("%h/Maildir", {"home": "/home/a"}, "/home/a/Maildir"),
        ("x", {"home": "/home/a", "mail": "maildir:~/Maildir:LAYOUT=fs"}, "/home/a/Maildir"),
        ("x", {"mail": "/abs/%n"}, "/abs/a"),
        ("/m/%{domain}/%{username}", {}, "/m/ex.org/a"),
    ],
)
def test_mail_location(tmp_path: Path, location: str, fields: dict[str, str], want: str) -> None:
    """The userdb mail field or [mail] location is expanded and resolved to an absolute root."""
    rec = make_user_record("a@ex.org", fields, settings(tmp_path, location))
    assert rec.mail == want.format(base=tmp_path)


def test_uid_gid_and_fields(tmp_path: Path) -> None:
    """Numeric uid/gid become ints; every field is kept, %-expanded."""
    rec = make_user_record("u", {"uid": "1001", "gid": "x", "note": "%u here"}, settings(tmp_path))
    assert rec.uid == 1001 and rec.gid is None
    assert rec.fields["note"] == "u here"


@pytest.mark.parametrize(
    ("rule", "want"),
    [
        ("*:storage=1G", (1024**3, None)),
        ("*:storage=100", (100 * 1024, None)),  # bare numbers are kilobytes in Dovecot
        ("*:storage=512M:messages=1000", (512 * 1024**2, 1000)),
        ("*:bytes=2048", (2048, None)),
        ("*:messages=7", (None, 7)),
        ("*:storage=junk", (None, None)),
        ("", (None, None)),
    ],
)
def test_quota_rule(rule: str, want: tuple[int | None, int | None]) -> None:
    """Dovecot quota_rule strings give storage bytes and message counts."""
    assert parse_quota_rule(rule) == want


def test_quota_defaults_from_settings(tmp_path: Path) -> None:
    """Without a userdb rule the [quota] defaults apply; a rule overrides them."""
    s = dataclasses.replace(settings(tmp_path), quota=QuotaSettings(storage_bytes=5, messages=6))
    rec = make_user_record("u", {}, s)
    assert (rec.quota_storage_bytes, rec.quota_messages) == (5, 6)
    rec = make_user_record("u", {"quota_rule": "*:messages=9"}, s)
    assert (rec.quota_storage_bytes, rec.quota_messages) == (5, 9)


def test_expand_percent_and_unknown() -> None:
    """%% is a percent sign; an unknown long variable is left visible."""
    assert expand("100%% %u %{nope}", user_vars("x")) == "100% x %{nope}"
