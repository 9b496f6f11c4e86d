"""The report: medians, errors instead of figures, skips with reasons, ratios, files."""

from __future__ import annotations

import csv
from pathlib import Path

from bench.report import ALL_METRICS, Record, aggregate, write_chart, write_csv, write_markdown

SERVERS = ["dovecot-tuned", "pymap", "mailsuite"]


def _records() -> list[Record]:
    recs = []
    for rnd, (dc, ms) in enumerate([(100.0, 50.0), (120.0, 60.0), (110.0, 55.0)], 1):
        recs.append(Record("dovecot-tuned", "pop3", "sessions/s", "s/s", True, rnd, dc))
        recs.append(Record("mailsuite", "pop3", "sessions/s", "s/s", True, rnd, ms))
    recs.append(Record("pymap", "pop3", ALL_METRICS, skip="pymap has no POP3 or LMTP service"))
    recs.append(Record("dovecot-tuned", "imap_mixed", "commands/s", "cmd/s", True, 1, 900.0))
    recs.append(
        Record(
            "mailsuite",
            "imap_mixed",
            "commands/s",
            "cmd/s",
            True,
            1,
            950.0,
            errors=3,
            error_samples=["user03: EXPUNGE of 7 answered []"],
        )
    )
    recs.append(Record("pymap", "imap_mixed", ALL_METRICS, errors=1, error_samples=["boom"]))
    return recs


def test_median_skip_and_error_cells() -> None:
    """Cells hold the median; a skipped run says why; a run with errors shows no figure."""
    table = aggregate(_records())
    pop3 = table[("pop3", "sessions/s")]
    assert pop3["dovecot-tuned"].median == 110.0
    assert pop3["mailsuite"].text() == "55.0"
    assert pop3["pymap"].text() == "skipped: pymap has no POP3 or LMTP service"
    mixed = table[("imap_mixed", "commands/s")]
    assert mixed["mailsuite"].median is None
    assert mixed["mailsuite"].text() == "**ERRORS: 3**"
    assert mixed["pymap"].text() == "**ERRORS: 1**"


def test_markdown_has_ratios_only_between_figures(tmp_path: Path) -> None:
    """mailsuite/peer ratios appear for two figures and never next to an error or a skip."""
    text = write_markdown(str(tmp_path / "r.md"), aggregate(_records()), SERVERS, ["# t"])
    pop3_row = next(ln for ln in text.splitlines() if ln.startswith("| pop3 |"))
    assert pop3_row.endswith("| 0.50 |  |")  # vs dovecot-tuned; none vs skipped pymap
    mixed_row = next(ln for ln in text.splitlines() if ln.startswith("| imap_mixed |"))
    assert "950" not in mixed_row and mixed_row.endswith("|  |  |")
    assert "user03: EXPUNGE of 7 answered []" in text
    assert (tmp_path / "r.md").read_text() == text


def test_csv_and_chart_are_written(tmp_path: Path) -> None:
    """The CSV has one row per server and metric with its status; the chart is a PNG."""
    table = aggregate(_records())
    write_csv(str(tmp_path / "r.csv"), table, SERVERS)
    rows = list(csv.DictReader((tmp_path / "r.csv").open()))
    by = {(r["workload"], r["server"]): r for r in rows}
    assert by[("pop3", "mailsuite")]["median"] == "55"
    assert by[("pop3", "dovecot-tuned")]["ratio_mailsuite_to_server"] == "0.50"
    assert by[("pop3", "pymap")]["status"] == "pymap has no POP3 or LMTP service"
    assert by[("imap_mixed", "mailsuite")]["status"] == "errors"
    assert by[("imap_mixed", "mailsuite")]["median"] == ""
    assert write_chart(str(tmp_path / "r.png"), table, SERVERS, "dovecot-tuned")
    assert (tmp_path / "r.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_saved_records_render_the_same_report(tmp_path: Path) -> None:
    """Records saved as JSON (as a run does) re-render to the identical table."""
    import dataclasses
    import json

    saved = json.dumps([dataclasses.asdict(r) for r in _records()])
    again = [Record(**r) for r in json.loads(saved)]
    a = write_markdown(str(tmp_path / "a.md"), aggregate(_records()), SERVERS, ["# t"])
    b = write_markdown(str(tmp_path / "b.md"), aggregate(again), SERVERS, ["# t"])
    assert a == b


def test_mailsuite_configurations_are_compared_with_mailsuite_not_peers(tmp_path: Path) -> None:
    """mailsuite-2w and mailsuite-proxy get 'vs mailsuite' columns (ms added, or x), no ratios."""
    recs = [
        Record("dovecot-tuned", "imap_mixed", "commands/s", "cmd/s", True, 1, 1000.0),
        Record("mailsuite", "imap_mixed", "commands/s", "cmd/s", True, 1, 800.0),
        Record("mailsuite-2w", "imap_mixed", "commands/s", "cmd/s", True, 1, 1200.0),
        Record("mailsuite-proxy", "imap_mixed", "commands/s", "cmd/s", True, 1, 600.0),
        Record("mailsuite", "imap_mixed", "SELECT p50", "ms", False, 1, 1.5),
        Record("mailsuite-2w", "imap_mixed", "SELECT p50", "ms", False, 1, 1.25),
        Record("mailsuite-proxy", "imap_mixed", "SELECT p50", "ms", False, 1, 2.0),
    ]
    servers = ["dovecot-tuned", "mailsuite", "mailsuite-2w", "mailsuite-proxy"]
    text = write_markdown(str(tmp_path / "r.md"), aggregate(recs), servers, ["# t"])
    lines = text.splitlines()
    head = next(ln for ln in lines if ln.startswith("| workload |"))
    assert head.endswith(
        "| mailsuite/dovecot-tuned | mailsuite-2w vs mailsuite | mailsuite-proxy vs mailsuite |"
    )
    assert "mailsuite/mailsuite-2w" not in head
    cmds = next(ln for ln in lines if "| commands/s |" in ln)
    assert cmds.endswith("| 0.80 | 1.50x | 0.75x |")
    select = next(ln for ln in lines if "| SELECT p50 |" in ln)
    assert select.endswith("|  | -0.25 ms | +0.50 ms |")
