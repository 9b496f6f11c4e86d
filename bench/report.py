"""Turn per-round records into the Markdown table, the CSV and the PNG chart.

Each cell is the median over rounds. A cell whose runs saw any error shows
the error count instead of a figure, and a skipped cell shows why; neither
ever shows a number. Ratios are mailsuite / peer, only between two figures.
"""

from __future__ import annotations

import csv
import os
import statistics
from collections import defaultdict
from dataclasses import dataclass, field

__all__ = [
    "ALL_METRICS",
    "Cell",
    "Record",
    "aggregate",
    "variants",
    "write_chart",
    "write_csv",
    "write_markdown",
]

ALL_METRICS = "*"  # a record for a whole workload run (it failed or was skipped before any metric)
SUBJECT = "mailsuite"
SAMPLES_SHOWN = 4  # error samples shown per server and workload


@dataclass
class Record:
    """One measurement (or one failure, or one skip) of one server in one round."""

    server: str
    workload: str
    metric: str
    unit: str = ""
    higher_is_better: bool = True
    round: int = 0
    value: float | None = None
    errors: int = 0
    skip: str = ""
    notes: list[str] = field(default_factory=list)
    error_samples: list[str] = field(default_factory=list)


@dataclass
class Cell:
    values: list[float] = field(default_factory=list)
    errors: int = 0
    skip: str = ""
    unit: str = ""
    higher_is_better: bool = True
    notes: set[str] = field(default_factory=set)
    error_samples: list[str] = field(default_factory=list)

    @property
    def median(self) -> float | None:
        if self.skip or self.errors or not self.values:
            return None
        return statistics.median(self.values)

    def text(self) -> str:
        if self.skip:
            return f"skipped: {self.skip}"
        if self.errors:
            return f"**ERRORS: {self.errors}**"
        m = self.median
        return "n/a" if m is None else _fmt(m)


def _fmt(v: float) -> str:
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    if v >= 0.1:
        return f"{v:.2f}"
    return f"{v:.4f}"


Table = dict[tuple[str, str], dict[str, Cell]]


def aggregate(records: list[Record]) -> Table:
    """(workload, metric) -> server -> Cell, in first-seen order."""
    table: Table = {}
    whole: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for r in records:
        if r.metric == ALL_METRICS:
            whole[(r.workload, r.server)].append(r)
            continue
        cell = table.setdefault((r.workload, r.metric), {}).setdefault(r.server, Cell())
        cell.unit, cell.higher_is_better = r.unit, r.higher_is_better
        cell.errors += r.errors
        cell.notes.update(r.notes)
        cell.error_samples.extend(s for s in r.error_samples if s not in cell.error_samples)
        if r.value is not None:
            cell.values.append(r.value)
    # A failed or skipped whole run marks every metric row of its workload.
    for (workload, server), recs in whole.items():
        rows = [k for k in table if k[0] == workload] or [(workload, "-")]
        for key in rows:
            cell = table.setdefault(key, {}).setdefault(server, Cell())
            for r in recs:
                cell.errors += r.errors
                cell.skip = cell.skip or r.skip
                cell.notes.update(r.notes)
                cell.error_samples.extend(s for s in r.error_samples if s not in cell.error_samples)
    return table


def _ratio(table_row: dict[str, Cell], peer: str) -> str:
    a = table_row.get(SUBJECT)
    b = table_row.get(peer)
    if not a or not b or a.median is None or b.median is None or b.median == 0:
        return ""
    return f"{a.median / b.median:.2f}"


def _versus(table_row: dict[str, Cell], variant: str) -> str:
    """A mailsuite configuration against plain mailsuite: ms added, or a ratio."""
    a = table_row.get(variant)
    b = table_row.get(SUBJECT)
    if not a or not b or a.median is None or b.median is None:
        return ""
    if a.unit == "ms":  # latency: what the configuration adds per command
        return f"{a.median - b.median:+.2f} ms"
    return "" if b.median == 0 else f"{a.median / b.median:.2f}x"


def variants(servers: list[str]) -> list[str]:
    """mailsuite configurations (``mailsuite-2w``, ``mailsuite-proxy``): never peers."""
    return [s for s in servers if s.startswith(SUBJECT + "-")]


def write_markdown(path: str, table: Table, servers: list[str], header: list[str]) -> str:
    """Write the report; returns its text (the run also prints it)."""
    # Ratios are mailsuite against the peers; other mailsuite configurations are
    # compared with plain mailsuite in columns of their own.
    peers = [s for s in servers if not s.startswith(SUBJECT)]
    others = variants(servers) if SUBJECT in servers else []
    cols = ["workload", "metric", "unit", *servers]
    if SUBJECT in servers:
        cols += [f"{SUBJECT}/{p}" for p in peers]
    cols += [f"{v} vs {SUBJECT}" for v in others]
    lines = [*header, "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for (workload, metric), row in table.items():
        any_cell = next(iter(row.values()))
        arrow = "↑" if any_cell.higher_is_better else "↓"
        cells = [workload, metric, f"{any_cell.unit} {arrow}".strip()]
        cells += [row[s].text() if s in row else "" for s in servers]
        if SUBJECT in servers:
            cells += [_ratio(row, p) for p in peers]
        cells += [_versus(row, v) for v in others]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "↑ higher is better, ↓ lower is better; ratio = mailsuite / peer."]
    if others:
        lines.append(
            f"Columns '<configuration> vs {SUBJECT}' compare mailsuite configurations with "
            f"plain {SUBJECT} (one process): a ratio (x), or for latencies the milliseconds "
            "the configuration adds (+) or saves (-) per command."
        )
    per_run: dict[tuple[str, str], list[str]] = {}
    for (workload, _metric), row in table.items():
        for server, cell in row.items():
            seen = per_run.setdefault((server, workload), [])
            seen.extend(x for x in cell.error_samples if x not in seen)
    problems = []
    for (server, workload), samples in per_run.items():
        problems += [f"- {server} {workload}: {x}" for x in samples[:SAMPLES_SHOWN]]
        if len(samples) > SAMPLES_SHOWN:
            problems.append(f"- {server} {workload}: ... {len(samples) - SAMPLES_SHOWN} more")
    if problems:
        lines += ["", "## Errors (first samples)", "", *dict.fromkeys(problems)]
    notes = sorted(
        {
            f"- {s} {w}: {n}"
            for (w, _), row in table.items()
            for s, c in row.items()
            for n in c.notes
        }
    )
    if notes:
        lines += ["", "## Notes", "", *notes]
    text = "\n".join(lines) + "\n"
    with open(path, "w") as f:
        f.write(text)
    return text


def write_csv(path: str, table: Table, servers: list[str]) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            [
                "workload",
                "metric",
                "unit",
                "higher_is_better",
                "server",
                "status",
                "median",
                "min",
                "max",
                "rounds",
                "errors",
                "ratio_mailsuite_to_server",
            ]
        )
        for (workload, metric), row in table.items():
            for server in servers:
                cell = row.get(server)
                if cell is None:
                    continue
                status = "skipped" if cell.skip else "errors" if cell.errors else "ok"
                med = cell.median
                w.writerow(
                    [
                        workload,
                        metric,
                        cell.unit,
                        cell.higher_is_better,
                        server,
                        cell.skip or status,
                        "" if med is None else f"{med:.6g}",
                        f"{min(cell.values):.6g}" if cell.values and med is not None else "",
                        f"{max(cell.values):.6g}" if cell.values and med is not None else "",
                        len(cell.values),
                        cell.errors,
                        _ratio(row, server) if server != SUBJECT else "",
                    ]
                )


def write_chart(path: str, table: Table, servers: list[str], reference: str) -> bool:
    """A grouped bar chart of speed relative to ``reference`` (longer is better).

    Time-like metrics (lower is better) are inverted so every bar reads the same
    way. Per-command latency percentiles are left to the table. Returns False
    when matplotlib is missing or nothing has a figure.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    rows: list[tuple[str, dict[str, float], dict[str, str]]] = []
    for (workload, metric), row in table.items():
        if " p50" in metric or " p99" in metric:
            continue
        ref = row.get(reference)
        if ref is None or ref.median in (None, 0):
            continue
        rel: dict[str, float] = {}
        why: dict[str, str] = {}
        for s in servers:
            c = row.get(s)
            if c is not None and c.median not in (None, 0):
                assert c.median is not None and ref.median is not None
                rel[s] = c.median / ref.median if c.higher_is_better else ref.median / c.median
            elif c is not None:
                why[s] = "skipped" if c.skip else "errors" if c.errors else ""
        rows.append((f"{workload}: {metric}", rel, why))
    if not rows:
        return False
    fig, ax = plt.subplots(figsize=(11, 0.5 * len(rows) * max(1, len(servers) / 2) + 1.5))
    height = 0.8 / len(servers)
    low = min(min(rel.values(), default=1.0) for _, rel, _ in rows) / 2
    for i, s in enumerate(servers):
        ys = [r + i * height for r in range(len(rows))]
        ax.barh(ys, [rel.get(s, float("nan")) for _, rel, _ in rows], height, label=s)
        for y, (_, _, why) in zip(ys, rows, strict=True):
            if why.get(s):  # say why a bar is missing instead of leaving a gap
                ax.text(low, y, f" {s}: {why[s]}", va="center", fontsize=6, color="dimgrey")
    ax.set_yticks([r + 0.4 - height / 2 for r in range(len(rows))])
    ax.set_yticklabels([name for name, _, _ in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.axvline(1.0, color="grey", linewidth=0.8)
    ax.set_xlabel(
        f"relative to {reference} (= 1), log scale; longer is better (faster, or less memory)"
    )
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
