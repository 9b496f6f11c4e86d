"""Password schemes agree with Dovecot: we verify its hashes and it verifies ours."""

from __future__ import annotations

import pytest

from mailsuite.auth import schemes
from tests.auth.conftest import doveadm_pw, doveadm_verifies, needs_doveadm

ALL = [
    "PLAIN",
    "CLEARTEXT",
    "CRYPT",
    "DES-CRYPT",
    "MD5",
    "MD5-CRYPT",
    "SHA256-CRYPT",
    "SHA512-CRYPT",
    "BLF-CRYPT",
    "ARGON2I",
    "ARGON2ID",
    "SHA",
    "SHA1",
    "SHA256",
    "SHA512",
    "SSHA",
    "SSHA256",
    "SSHA512",
    "SMD5",
    "PLAIN-MD5",
    "LDAP-MD5",
    "PBKDF2",
    "CRAM-MD5",
    "DIGEST-MD5",
    "SCRAM-SHA-1",
    "SCRAM-SHA-256",
    "SHA256.HEX",
    "PLAIN.B64",
]

# Fixed vectors for the password "pencil" (user "user"), made by Dovecot 2.3's doveadm pw,
# so these tests hold even where Dovecot is not installed.
KNOWN = [
    ("{PLAIN}pencil", "PLAIN"),
    ("{SHA}0vxRJJChUDZGC1SJQBQ51tpUB/o=", "SHA"),
    ("{SHA256}E4CWaPtDY4Zwb2fcsFLtWEoEuhaowCoX1m00ww/O2iE=", "SHA256"),
    (
        "{SHA512}Gd8Bqrgo+NUINrp1cJcTrtInM1344YZDkYXAbJF6Kn03cat24wfPo7a4nvGmaC1mgd3xGISHDl3hPnk"
        "/uVXu6w==",
        "SHA512",
    ),
    ("{PLAIN-MD5}a8f6830bce790a8a67fc2e84e12093ba", "PLAIN-MD5"),
    ("{LDAP-MD5}qPaDC855Copn/C6E4SCTug==", "LDAP-MD5"),
    ("{CRAM-MD5}7f47ace0e2af8f6cdeb72c03243a8c87834e19104164d6a42de72d243adb4080", "CRAM-MD5"),
    ("{DIGEST-MD5}dcea7dc1023b1e8a920c5260f2c65188", "DIGEST-MD5"),
    ("{MD5-CRYPT}$1$nG120WuM$SMxz6517XmW36oktbQPIt.", "MD5-CRYPT"),
    (
        "{SHA256-CRYPT}$5$bkxIdB.Oew4G6d3G$hCazJnYNZ6L6sZP.EYnGPuyY4bvkT8BrkuZae7YHH/6",
        "SHA256-CRYPT",
    ),
    (
        "{SHA512-CRYPT}$6$mOJe.VEklaJfVBaQ$D629M1QwuDlsO2JPblFMCBhC0rvVzpMyIe/y8pffOI/L/ZLaOE5uCM7"
        "zyPo.MLuJVYw/gStIwApeQcCVaelSy1",
        "SHA512-CRYPT",
    ),
    ("{BLF-CRYPT}$2y$05$2DdJj7KVF7/9BTMQnyPrQ.ffhTHmeKsiFm9oJzACy7F3bNCfNP1Ae", "BLF-CRYPT"),
    (
        "{ARGON2I}$argon2i$v=19$m=32768,t=4,p=1$Y8YCOVT8ZCHJEAephUfdDg$wvmZRiffq1ho+eEHJ+3/OEGs9g"
        "c0LBPOze6bZQsSUSc",
        "ARGON2I",
    ),
    (
        "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$nkbc7K28B0maVOn4+4+MXA$XiXVf0DlyVBowGo+ELBmvOAF"
        "CQ7tl4YQWKU1ACTJ5cc",
        "ARGON2ID",
    ),
    ("{SSHA}Qewx1sEKg5+xnDE3mEustM+H2pBUiZeQ", "SSHA"),
    ("{SSHA256}n2xnW7JlCzvk1EHeYV48qbdSx+yrufIxXECNMvL9cHy6Car+", "SSHA256"),
    (
        "{SSHA512}syu0De4VWWJqRpWlME87kBn2BszvdjL+mOXlOaqBy9a8ePp0bdV1qZjgffM7qrFbrn/W7xFWBjrRA1Q"
        "28H1/s/wf6HA=",
        "SSHA512",
    ),
    ("{SMD5}dnbfy2V1mPGr9M/clR3NwvrfBtE=", "SMD5"),
    ("{PBKDF2}$1$wV5OBJ11BZtKIFxD$5000$8f748c1cb30eaad94607abbfa75ed12a9bfe3caf", "PBKDF2"),
    (
        "{SCRAM-SHA-1}4096,I1q/QLsOaIbeXm/xsAmQ9Q==,hsVMtnZBIQAg974o/5IkMOe9c44=,"
        "Kk8OGzm26ykEMknYqDAw6cyhF5Q=",
        "SCRAM-SHA-1",
    ),
    (
        "{SCRAM-SHA-256}4096,xgOSwkhaSdXVi2Uu0Y4fqw==,OLcOEN0Jg60/h4mnFYmjQihoOU08I7s9QG1WtXdWCLw=,"
        "rI+ralE0YUAntuqdL2LAYebNJXcsy3mwxBuFvyY++i8=",
        "SCRAM-SHA-256",
    ),
    ("{DES-CRYPT}w/2h6.IgR/7RU", "DES-CRYPT"),
]


def check(stored: str, password: str, user: str = "user") -> bool:
    return schemes.verify(schemes.parse_stored(stored), password, user)


@pytest.mark.parametrize(("stored", "scheme"), KNOWN, ids=[k[1] for k in KNOWN])
def test_known_dovecot_vector(stored: str, scheme: str) -> None:
    """A fixed hash Dovecot made for "pencil" verifies, and a near miss does not."""
    assert schemes.parse_stored(stored).scheme == scheme
    assert check(stored, "pencil")
    assert not check(stored, "pencil ")
    assert not check(stored, "Pencil")


@needs_doveadm
@pytest.mark.parametrize("scheme", ALL)
def test_doveadm_hash_verifies(scheme: str) -> None:
    """A hash freshly made by doveadm pw verifies with the right password only."""
    stored = doveadm_pw(scheme, "pässword 1")
    assert check(stored, "pässword 1")
    assert not check(stored, "Pässword 1")


@needs_doveadm
@pytest.mark.parametrize("scheme", ALL)
def test_our_hash_verifies_in_doveadm(scheme: str) -> None:
    """A hash we generate carries Dovecot's {SCHEME} prefix and doveadm accepts it."""
    stored = schemes.generate(scheme, "pässword 1", "user")
    assert stored.startswith("{" + scheme + "}")
    assert doveadm_verifies(stored, "pässword 1")
    assert not doveadm_verifies(stored, "Pässword 1")


@pytest.mark.parametrize("scheme", ALL)
def test_generate_roundtrip(scheme: str) -> None:
    """Every scheme verifies its own fresh hash and rejects another password."""
    stored = schemes.generate(scheme, "secret", "user")
    assert check(stored, "secret")
    assert not check(stored, "secreT")


def test_salted_hashes_differ_each_time() -> None:
    """Two hashes of one password under a salted scheme are different strings."""
    assert schemes.generate("SSHA512", "x") != schemes.generate("SSHA512", "x")


def test_sha512_crypt_uses_implicit_default_rounds() -> None:
    """SHA512-CRYPT is written like glibc/Dovecot: $6$salt$hash with no rounds= field."""
    stored = schemes.generate("SHA512-CRYPT", "x")
    assert stored.startswith("{SHA512-CRYPT}$6$") and "rounds=" not in stored


def test_blf_crypt_written_as_2y() -> None:
    """BLF-CRYPT hashes use the $2y$ prefix Dovecot writes."""
    assert schemes.generate("BLF-CRYPT", "x").startswith("{BLF-CRYPT}$2y$05$")


def test_no_prefix_uses_default_scheme() -> None:
    """A hash without {SCHEME} is read with the passdb's default scheme."""
    stored = schemes.generate("SHA512-CRYPT", "pw")[len("{SHA512-CRYPT}") :]
    parsed = schemes.parse_stored(stored, "SHA512-CRYPT")
    assert parsed.scheme == "SHA512-CRYPT"
    assert schemes.verify(parsed, "pw")
    assert schemes.parse_stored("plain-pw", "PLAIN").data == "plain-pw"


def test_lowercase_scheme_name_accepted() -> None:
    """Scheme names are case-insensitive, as in Dovecot."""
    assert check("{plain}abc", "abc")


def test_unknown_scheme_raises() -> None:
    """An unknown {SCHEME} is reported, not silently treated as plaintext."""
    with pytest.raises(schemes.UnknownScheme, match="NOPE"):
        schemes.parse_stored("{NOPE}abc")
    with pytest.raises(schemes.UnknownScheme):
        schemes.parse_stored("{SHA256.ROT13}abc")


@pytest.mark.parametrize(
    "stored",
    [
        "{SHA256}not base64!!",
        "{SSHA}AAAA",
        "{ARGON2ID}$argon2id$garbage",
        "{PBKDF2}$1$salt$notanumber$00",
        "{PBKDF2}$1$salt$999999999999$00",
        "{SHA512-CRYPT}$6$",
        "{BLF-CRYPT}$2y$05$short",
        "{SCRAM-SHA-256}4096,???,x,y",
        "{CRAM-MD5}zz",
        "{DES-CRYPT}",
        "{CRYPT}*",
    ],
)
def test_malformed_hash_never_matches(stored: str) -> None:
    """A damaged stored hash fails verification instead of raising or matching."""
    assert not check(stored, "")
    assert not check(stored, "pencil")


def test_slow_schemes_flagged() -> None:
    """Crypt family, Argon2 and PBKDF2 are slow (thread pool); digests are not."""
    assert schemes.is_slow(schemes.parse_stored("{ARGON2ID}x"))
    assert schemes.is_slow(schemes.parse_stored("{SHA512-CRYPT}x"))
    assert not schemes.is_slow(schemes.parse_stored("{SSHA256}x"))
    assert not schemes.is_slow(schemes.parse_stored("{PLAIN}x"))


def test_repr_hides_hash() -> None:
    """A parsed stored password does not show its data in repr (logs, tracebacks)."""
    assert "pencil" not in repr(schemes.parse_stored("{PLAIN}pencil"))


def test_cram_md5_response_from_context_and_plaintext_agree() -> None:
    """The RFC 2195 answer computed from a {CRAM-MD5} context equals the one from plaintext."""
    challenge = b"<1896.697170952@postoffice.reston.mci.net>"
    from_ctx = schemes.cram_md5_response(
        schemes.parse_stored(schemes.generate("CRAM-MD5", "tanstaaftanstaaf")), challenge
    )
    from_plain = schemes.cram_md5_response(
        schemes.parse_stored("{PLAIN}tanstaaftanstaaf"), challenge
    )
    # RFC 2195 §2 example digest.
    assert from_ctx == from_plain == b"b913a602c7eda7a495b4e6e7334d3890"
    assert schemes.cram_md5_response(schemes.parse_stored("{SHA256}x"), challenge) is None
