"""The harness's own clients and workloads, against a real Dovecot the harness starts.

These prove the load generator reads every byte the server sends and notices
wrong answers, so a benchmark cannot silently measure nothing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.client.imap import ImapClient, ImapProtocolError
from bench.client.lmtp import LmtpClient, LmtpProtocolError
from bench.client.pop3 import Pop3Client, Pop3ProtocolError
from bench.report import aggregate
from bench.run import _records
from bench.seed import BODY_TOKEN, SUBJECT_TOKEN, Manifest, Profile, load_or_seed
from bench.servers.dovecot import DovecotTuned
from bench.workloads import WORKLOADS
from bench.workloads.common import Context

pytestmark = pytest.mark.external

TINY = Profile(users=2, inbox=30, medium=40, big=120, sinks=2, seed=11)


@pytest.fixture(scope="module")
def dovecot() -> Iterator[tuple[DovecotTuned, Manifest]]:
    # Not tmp_path: pytest makes it 0700, and Dovecot's unprivileged processes must enter it.
    root = Path(tempfile.mkdtemp(prefix="msbench-test-"))
    root.chmod(0o755)
    server = DovecotTuned(str(root / "run"))
    reason = server.unavailable()
    if reason:
        shutil.rmtree(root)
        pytest.skip(reason)
    try:
        template, manifest = load_or_seed(str(root), TINY)
        server.prepare(template, manifest)
        server.start()
        yield server, manifest
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def _ctx(server: DovecotTuned, manifest: Manifest, **kw: object) -> Context:
    ctx = Context(server, manifest, TINY, True, 0.5, 6, 60.0)
    return dataclasses.replace(ctx, **kw)  # type: ignore[arg-type]


def test_imap_fetch_reads_every_literal_whole(dovecot: tuple[DovecotTuned, Manifest]) -> None:
    """FETCH 1:* BODY[] returns one literal per message whose sizes sum to the seeded CRLF bytes."""
    server, manifest = dovecot

    async def go() -> tuple[int, list[int], list[int]]:
        c = await ImapClient.connect(server.ports["imap"])
        await c.login("user01", manifest.passwords["user01"])
        await c.select("Medium")
        r = await c.command("FETCH 1:* (RFC822.SIZE BODY.PEEK[])")
        await c.logout()
        sizes = [int(f.line.split(b"RFC822.SIZE ")[1].split()[0].rstrip(b")")) for f in r.fetches()]
        return c.exists, sizes, [len(f.literals[0]) for f in r.fetches()]

    exists, sizes, literal_lengths = asyncio.run(go())
    facts = manifest.facts("user01", "Medium")
    assert exists == facts.count == len(literal_lengths)
    assert literal_lengths == sizes
    assert sum(literal_lengths) == facts.crlf_bytes


def test_imap_search_finds_the_planted_tokens(dovecot: tuple[DovecotTuned, Manifest]) -> None:
    """A real server's SEARCH answers match the manifest's planted-token counts."""
    server, manifest = dovecot

    async def go() -> tuple[int, int]:
        c = await ImapClient.connect(server.ports["imap"])
        await c.login("user00", manifest.passwords["user00"])
        await c.select("Big")
        subj = await c.command(f'SEARCH HEADER Subject "{SUBJECT_TOKEN}"')
        body = await c.command(f'SEARCH BODY "{BODY_TOKEN}"')
        await c.logout()
        return len(subj.search_hits()), len(body.search_hits())

    facts = manifest.facts("user00", "Big")
    assert asyncio.run(go()) == (facts.subject_hits, facts.body_hits)


def test_imap_refusal_raises(dovecot: tuple[DovecotTuned, Manifest]) -> None:
    """A NO to LOGIN is raised, never taken as success."""
    server, _ = dovecot

    async def go() -> None:
        c = await ImapClient.connect(server.ports["imap"])
        try:
            await c.login("user00", "wrong password")
        finally:
            await c.close()

    with pytest.raises(ImapProtocolError, match="NO"):
        asyncio.run(go())


def test_idle_sees_an_lmtp_delivery(dovecot: tuple[DovecotTuned, Manifest]) -> None:
    """An idling client gets EXISTS after an LMTP delivery, and LMTP answers once per recipient."""
    server, manifest = dovecot

    async def go() -> tuple[int, int, list[int]]:
        c = await ImapClient.connect(server.ports["imap"])
        await c.login("sink01", manifest.passwords["sink01"])
        await c.select("INBOX")
        before = c.exists
        tag = await c.idle_start()
        lmtp = await LmtpClient.connect(server.ports["lmtp"])
        codes = await lmtp.deliver(
            "s@bench.test", ["sink01@localhost", "sink00@localhost"], b"Subject: x\r\n\r\nhi\r\n"
        )
        await lmtp.quit()
        after = await asyncio.wait_for(c.idle_wait_exists(before), 30)
        await c.idle_done(tag)
        await c.logout()
        return before, after, codes

    before, after, codes = asyncio.run(go())
    assert codes == [250, 250]
    assert after == before + 1


def test_lmtp_refused_recipient_raises(dovecot: tuple[DovecotTuned, Manifest]) -> None:
    """A RCPT the server refuses is an error, not a delivery."""
    server, _ = dovecot

    async def go() -> None:
        lmtp = await LmtpClient.connect(server.ports["lmtp"])
        await lmtp.deliver("s@bench.test", ["nobody-here@localhost"], b"Subject: x\r\n\r\nhi\r\n")

    with pytest.raises(LmtpProtocolError, match="RCPT"):
        asyncio.run(go())


def test_pop3_round_trips_dot_stuffed_lines(dovecot: tuple[DovecotTuned, Manifest]) -> None:
    """Lines starting with dots survive LMTP stuffing and POP3 unstuffing byte for byte."""
    server, manifest = dovecot
    body = b"Subject: dots\r\n\r\n.starts with a dot\r\n..two dots\r\n.\r\nend\r\n"

    async def go() -> tuple[bytes, bytes]:
        lmtp = await LmtpClient.connect(server.ports["lmtp"])
        assert await lmtp.deliver("s@bench.test", ["sink00@localhost"], body) == [250]
        await lmtp.quit()
        p = await Pop3Client.connect(server.ports["pop3"])
        await p.login("sink00", manifest.passwords["sink00"])
        sizes = await p.listing("LIST")
        last = max(sizes)
        data = await p.retr(last)
        await p.quit()
        return data, sizes[last]

    data, size = asyncio.run(go())
    assert data.endswith(body[body.index(b"Subject") :])
    assert len(data) == int(size)


def test_pop3_wrong_password_raises(dovecot: tuple[DovecotTuned, Manifest]) -> None:
    """-ERR to PASS is raised."""
    server, _ = dovecot

    async def go() -> None:
        p = await Pop3Client.connect(server.ports["pop3"])
        try:
            await p.login("user00", "nope")
        finally:
            await p.close()

    with pytest.raises(Pop3ProtocolError):
        asyncio.run(go())


@pytest.mark.parametrize("name", list(WORKLOADS))
def test_every_workload_runs_clean_on_dovecot(
    dovecot: tuple[DovecotTuned, Manifest], name: str
) -> None:
    """Each workload completes against Dovecot with figures and zero errors."""
    server, manifest = dovecot
    res = asyncio.run(WORKLOADS[name](_ctx(server, manifest)))
    assert res.errors.count == 0, res.errors.samples
    assert res.metrics and all(m.errors == 0 and m.value == m.value for m in res.metrics)


def test_a_wrong_answer_becomes_an_error_not_a_figure(
    dovecot: tuple[DovecotTuned, Manifest],
) -> None:
    """When the server's SEARCH answer disagrees with the seed, the report shows ERRORS."""
    server, manifest = dovecot
    wrong = Manifest.from_json(manifest.to_json())
    wrong.mailboxes["user00"]["Big"].subject_hits += 1
    res = asyncio.run(WORKLOADS["imap_big"](_ctx(server, wrong)))
    bad = [m for m in res.metrics if m.errors]
    assert [m.name.split(" (")[0] for m in bad] == ["SEARCH HEADER Subject"]
    table = aggregate(_records(server.name, "imap_big", 1, res))
    texts = {metric: row[server.name].text() for (_, metric), row in table.items()}
    assert texts[bad[0].name].startswith("**ERRORS")
    assert all(not t.startswith("**") for m, t in texts.items() if m != bad[0].name)


def test_a_server_that_ignores_the_script_reports_errors(
    dovecot: tuple[DovecotTuned, Manifest], tmp_path: Path
) -> None:
    """When no delivery is filed into Lists (the script never ran), lmtp_sieve shows errors."""
    server, manifest = dovecot
    real = server.sieve_dir
    if real is None:
        pytest.skip("Dovecot's Sieve plugin (Debian dovecot-sieve) is not installed")
    server.sieve_dir = str(tmp_path)  # scripts go where the server never looks
    try:
        res = asyncio.run(WORKLOADS["lmtp_sieve"](_ctx(server, manifest)))
    finally:
        server.sieve_dir = real
    assert res.errors.count == TINY.sinks  # one per sink user
    assert all("Lists grew by 0" in s for s in res.errors.samples)
