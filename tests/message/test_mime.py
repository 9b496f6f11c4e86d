"""The MIME walker's part edges: mailsuite.message.mime."""

from __future__ import annotations

import pytest

from mailsuite.message.crlf import to_crlf
from mailsuite.message.mime import MAX_MIME_DEPTH, Part, parse_tree


def tree(raw: bytes) -> Part:
    return parse_tree(to_crlf(raw))


def bodies(part: Part) -> list[bytes]:
    return [c.body() for c in part.children]


def test_delimiter_crlf_belongs_to_the_delimiter() -> None:
    """RFC 2046 5.1.1: the CRLF before a delimiter is not part of the preceding body."""
    root = tree(
        b"Content-Type: multipart/mixed; boundary=b\n\npre\n--b\n\none\n--b\n\ntwo\n\n--b--\nepi\n"
    )
    assert bodies(root) == [b"one", b"two\r\n"]
    assert root.children[0].mime_header() == b"\r\n"


def test_padding_and_close_delimiter_with_trailing_text() -> None:
    """Delimiters may carry transport padding; text after a close delimiter is ignored."""
    root = tree(
        b"Content-Type: multipart/mixed; boundary=b\n\n--b \t\nA: 1\n\none\n--b-- trailing\n"
    )
    assert bodies(root) == [b"one"]
    assert root.children[0].header.first("a") == b" 1"


def test_delimiter_is_matched_by_line_prefix() -> None:
    """A line starting with "--boundary" is a delimiter whatever follows, as in Dovecot."""
    root = tree(b"Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx--b\n--bb\n\nnext\n--b--\n")
    assert bodies(root) == [b"x--b", b"next"]


def test_nested_reused_boundary_parses_innermost_first() -> None:
    """A nested multipart reusing its parent's boundary still gets its own parts."""
    raw = (
        b"Content-Type: multipart/mixed; boundary=b\n\n--b\n"
        b"Content-Type: multipart/alternative; boundary=b\n\n--b\n\nplain\n--b\n\nhtml\n--b--\n"
        b"--b\n\nattachment\n--b--\n"
    )
    root = tree(raw)
    assert len(root.children) == 2
    assert bodies(root.children[0]) == [b"plain", b"html"]
    assert root.children[1].body() == b"attachment"


def test_outer_delimiter_ends_inner_parts() -> None:
    """An enclosing multipart's delimiter ends an unterminated inner multipart."""
    raw = (
        b"Content-Type: multipart/mixed; boundary=o\n\n--o\n"
        b"Content-Type: multipart/alternative; boundary=i\n\n--i\n\ny\n--o\n\nz\n--o--\n"
    )
    root = tree(raw)
    assert [c.body() for c in root.children[0].children] == [b"y"]
    assert root.children[1].body() == b"z"


def test_nested_close_delimiter_keeps_its_crlf() -> None:
    """A nested close delimiter right before the parent's delimiter keeps its CRLF (as Dovecot)."""
    raw = (
        b"Content-Type: multipart/mixed; boundary=o\n\n--o\n"
        b"Content-Type: multipart/alternative; boundary=i\n\n--i\n\ny\n--i--\n--o--\n"
    )
    root = tree(raw)
    assert root.children[0].body() == b"--i\r\n\r\ny\r\n--i--\r\n"


@pytest.mark.parametrize(
    "raw",
    [
        b"Content-Type: multipart/mixed\n\nno boundary parameter\n",
        b"Content-Type: multipart/mixed; boundary=q\n\n--p\n\nnever ours\n",
    ],
)
def test_multipart_without_usable_boundary_has_no_children(raw: bytes) -> None:
    """A multipart whose boundary is missing or unused has no parts and keeps its body."""
    root = tree(raw)
    assert root.children == []
    assert root.body() == to_crlf(raw).split(b"\r\n\r\n", 1)[1]


def test_unterminated_multipart_runs_to_end() -> None:
    """Without a close delimiter the last part runs to the end of the message."""
    root = tree(b"Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b\n\ntwo\n")
    assert bodies(root) == [b"one", b"two\r\n"]


def test_part_without_blank_line_is_all_header() -> None:
    """A part with no empty line has a header and an empty body."""
    root = tree(b"Content-Type: multipart/mixed; boundary=b\n\n--b\nA: 1\n--b--\n")
    part = root.children[0]
    assert part.header.first("a") == b" 1"
    assert part.body() == b""


def test_message_rfc822_and_digest_default() -> None:
    """message/rfc822 encapsulates a message; digest parts default to message/rfc822."""
    raw = b"Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: in\n\nhi\n--d--\n"
    root = tree(raw)
    inner = root.children[0].message
    assert inner is not None
    assert inner.header.first("subject") == b" in"
    assert inner.body() == b"hi"


def test_depth_cap_makes_an_opaque_part() -> None:
    """Nesting past MAX_MIME_DEPTH stops: the deepest container becomes application/octet-stream."""
    n = MAX_MIME_DEPTH + 20
    raw = b"".join(
        b"Content-Type: multipart/mixed; boundary=d%d\n\n--d%d\n" % (i, i) for i in range(n)
    )
    raw += b"\ninner\n" + b"".join(b"--d%d--\n" % i for i in reversed(range(n)))
    node = tree(raw)
    depth = 0
    while node.children:
        node = node.children[0]
        depth += 1
    assert depth == MAX_MIME_DEPTH - 1
    assert (node.type, node.subtype) == ("application", "octet-stream")


def test_many_parts_are_capped() -> None:
    """A message with more parts than the cap parses in bounded work without error."""
    raw = b"Content-Type: multipart/mixed; boundary=b\n\n" + b"--b\n\nx\n" * 12000 + b"--b--\n"
    root = tree(raw)
    assert 0 < len(root.children) < 12000


def test_header_only_parts_leave_the_delimiter_crlf() -> None:
    """A part that is all header gives the CRLF before the next delimiter to that delimiter."""
    raw = (
        b"Content-Type: multipart/mixed; boundary=o\n\n--o\n"
        b"Content-Type: multipart/mixed; boundary=i\n\n--i\n\ntext\n--i\nand\n"
        b"--o\nContent-Type: text/plain\nbar\n\n--o--\n"
    )
    root = tree(raw)
    inner = root.children[0]
    assert inner.children[1].mime_header() == b"and"
    assert inner.children[1].body() == b""
    # as in Dovecot, the enclosing part keeps that line end
    assert inner.body().endswith(b"--i\r\nand\r\n")
    assert root.children[1].mime_header() == b"Content-Type: text/plain\r\nbar\r\n"
    assert root.children[1].body() == b""


def test_empty_boundary_splits_at_every_dash_line() -> None:
    """An empty boundary parameter makes every "--" line a delimiter, as Dovecot does."""
    root = tree(b'Content-Type: multipart/mixed; boundary=""\n\n--\n\nx\n--x\n\ny\n----\n')
    assert bodies(root) == [b"x", b"y"]


def test_delimiter_cut_off_at_end_starts_no_part() -> None:
    """A last delimiter line without a line end closes the multipart (no empty extra part)."""
    root = tree(b"Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b")
    assert bodies(root) == [b"one"]
