"""The sample mailbox of the SEARCH tests: messages, helpers, and the literal form of keys."""

from __future__ import annotations

import base64
import dataclasses
import datetime
from typing import Any

from mailsuite.protocols.imap.commands import Search, SearchKey, parse_command
from mailsuite.protocols.imap.search import evaluate_search
from mailsuite.store.api import Mailbox, MailboxSnapshot

__all__ = ["MESSAGES", "MSG3", "NESTED", "NOW", "PST", "UTC", "Box", "key_of", "lit", "ts"]

UTC = datetime.UTC
PST = datetime.timezone(datetime.timedelta(hours=-8))


def ts(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> float:
    """POSIX time of a UTC wall-clock time."""
    return datetime.datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()


NOW = ts(2026, 3, 3, 9, 0)

MSG1 = b"""\
From: Alice Smith <alice@example.org>
To: bob@example.org
Cc: carol@example.net
Subject: Quarterly report
Date: Mon, 02 Mar 2026 10:00:00 +0000
Message-ID: <1@example.org>

The numbers are in.
See you at the meeting.
"""

MSG2 = b"""\
From: =?utf-8?q?J=C3=B6rg_M=C3=BCller?= <jorg@example.de>
To: "Doe, John" <john@example.com>
Bcc: secret@example.org
Subject: =?iso-8859-1?q?Gr=FC=DFe?= aus =?utf-8?b?TcO8bmNoZW4=?=
Date: Sun, 1 Mar 2026 23:30:00 -0800
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Caf=C3=A9 cr=C3=A8me br=C3=BBl=C3=A9e, a long line that is soft-bro=
ken here.
"""

_PLAIN = base64.encodebytes("Price list: 10 \u20ac per unit\n".encode("iso-8859-15"))
_BINARY = base64.encodebytes(b"secretword inside binary\x00\x01")
_FILLER = b"<p>filler text</p>\n" * 1000  # > 8 KiB, so a header read is not the whole file
MSG3 = (
    b"""\
From: Carol <carol@example.net>
To: alice@example.org
Subject: a very long
 subject line
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="XYZ"

--XYZ
Content-Type: multipart/alternative; boundary="ALT"

--ALT
Content-Type: text/plain; charset=iso-8859-15
Content-Transfer-Encoding: base64

"""
    + _PLAIN
    + b"""\
--ALT
Content-Type: text/html; charset=utf-8

<p>Price <b>list</b></p>
"""
    + _FILLER
    + b"""\
--ALT--
--XYZ
Content-Type: application/octet-stream
Content-Transfer-Encoding: base64

"""
    + _BINARY
    + b"""\
--XYZ--
"""
)

MSG4 = b"""\
X-Custom:
Content-Type: text/plain; charset=windows-1251
Content-Transfer-Encoding: 8bit

""" + "\u041f\u0440\u0438\u0432\u0435\u0442 \u043c\u0438\u0440\n".encode("cp1251")

MSG5 = b"""\
From: dave@example.com (Dave Comment)
To: undisclosed-recipients:;
Subject: =?x-unknown?q?strange?= charset
Date: 20 Feb 26 09:00 EST
Content-Type: text/plain; charset=x-unknown-charset

plain words here
"""

MESSAGES: list[tuple[bytes, tuple[str, ...], float]] = [
    (MSG1, ("\\Seen",), ts(2026, 3, 2, 12, 0)),
    (MSG2, ("\\Answered", "\\Flagged", "$Forwarded"), ts(2026, 3, 1, 23, 30)),
    (MSG3, ("\\Deleted", "\\Draft"), ts(2026, 3, 2, 0, 0)),
    (MSG4, (), ts(2026, 3, 3, 8, 0)),
    (MSG5, ("$Junk", "\\Seen"), ts(2026, 2, 20, 14, 0)),
]


@dataclasses.dataclass
class Box:
    mailbox: Mailbox
    snapshot: MailboxSnapshot
    uids: list[int]  # uids[seq - 1]

    def seqs(self, uids: list[int]) -> list[int]:
        return [self.uids.index(u) + 1 for u in uids]

    def search(self, keys: bytes, **kw: Any) -> list[int]:
        """Sequence numbers matching ``keys`` (UTC days unless told)."""
        kw.setdefault("tz", UTC)
        kw.setdefault("now", lambda: NOW)
        return self.seqs(evaluate_search(key_of(keys), self.snapshot, self.mailbox.message, **kw))


def lit(text: str) -> bytes:
    """A UTF-8 string as an IMAP literal (8-bit text has no other legal form)."""
    data = text.encode()
    return b"{%d}\r\n" % len(data) + data


def key_of(keys: bytes) -> SearchKey:
    cmd = parse_command(b"a SEARCH CHARSET UTF-8 " + keys)
    assert isinstance(cmd, Search), cmd
    return cmd.key


NESTED = b"""\
From: a@example.org
Subject: outer
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="B"
X-Hdr: hdrvalue

--B
Content-Type: text/plain
X-Part: partheader

outer body text
--B
Content-Type: message/rfc822

From: inner@example.org
Subject: =?utf-8?q?fwd_subj=C3=A9ct?=

inner body innertext
--B
Content-Type: application/pdf

binaryword
--B
Content-Type: text/html

<p>html<b>word</b> &amp; ent&eacute;</p>
--B--
"""
