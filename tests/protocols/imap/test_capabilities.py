"""The capability list and greeting, built once per variant (RFC 3501 7.1.1, 7.2.1)."""

from __future__ import annotations

from mailsuite.protocols.imap import capabilities as caps


def test_preauth_list_in_order_with_starttls_logindisabled_and_mechanisms() -> None:
    """Before login: the base list, STARTTLS, LOGINDISABLED, then AUTH= per mechanism."""
    key = caps.preauth_key(starttls=True, plaintext_allowed=False, mechanisms=("PLAIN", "LOGIN"))
    assert caps.capability_list(key) == (
        "IMAP4rev1",
        "SASL-IR",
        "LITERAL+",
        "ID",
        "ENABLE",
        "IDLE",
        "STARTTLS",
        "LOGINDISABLED",
        "AUTH=PLAIN",
        "AUTH=LOGIN",
    )


def test_after_login_list_has_appendlimit_and_compress_only_when_set() -> None:
    """After login: APPENDLIMIT and COMPRESS=DEFLATE appear exactly when the key says so."""
    with_both = caps.capability_list(caps.authed_key(append_limit_bytes=1000, compress=True))
    neither = caps.capability_list(caps.authed_key(append_limit_bytes=0, compress=False))
    assert with_both[-2:] == ("APPENDLIMIT=1000", "COMPRESS=DEFLATE")
    assert "UIDPLUS" in neither and "QRESYNC" in neither
    assert not any(c.startswith(("APPENDLIMIT", "COMPRESS")) for c in neither)


def test_greeting_is_built_once_and_exact() -> None:
    """The same key gives the very same greeting bytes, byte for byte as RFC 3501 7.1.1 shows."""
    key = caps.preauth_key(starttls=False, plaintext_allowed=True, mechanisms=("PLAIN",))
    first = caps.greeting(key, "mailsuite")
    assert first is caps.greeting(key, "mailsuite")
    assert first == (
        b"* OK [CAPABILITY IMAP4rev1 SASL-IR LITERAL+ ID ENABLE IDLE AUTH=PLAIN]"
        b" mailsuite ready.\r\n"
    )
    assert caps.greeting(key, "other") != first


def test_cache_stays_bounded() -> None:
    """Endless distinct variants never grow the cache past its bound."""
    for n in range(caps.CACHE_MAX_ENTRIES * 3):
        caps.capability_code(caps.authed_key(append_limit_bytes=n + 1, compress=False))
    assert len(caps._codes) <= caps.CACHE_MAX_ENTRIES
