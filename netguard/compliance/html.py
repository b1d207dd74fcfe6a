"""The offline HTML report: one self-contained file a county director opens without a network.

Inline CSS and inline SVG only: no scripts, no fonts, images or style sheets
from elsewhere (the file must open the same on a laptop with no intranet).
Every value from data (names from the inventory, evidence quoting network
errors, rule texts) is written through :func:`text`: control characters made
visible as ``\\xNN`` escapes (as the terminal shows them), then HTML-escaped,
quotes included, so no value can open a tag or leave an attribute.

Sections: the verdict and counts; a bar chart of results per control; results
per tier and township; link quality (states per tier, RTT spread, the links
not up with their uplink ports' state); each
failing control with its rationale, remediation and the failing targets'
evidence; the difference from the previous scan.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence

from netguard.compliance.model import ControlResult
from netguard.links.records import LinkResult, LinkState
from netguard.printable import visible
from netguard.store.checks import ResultChange, ScanDiff

OUTCOMES = ("pass", "fail", "na", "error")
_COLOURS = {"pass": "#2e7d32", "fail": "#c62828", "na": "#9e9e9e", "error": "#ef6c00"}
_LINK_COLOURS = {"up": "#2e7d32", "degraded": "#f9a825", "down": "#c62828"}
_TIERS = ("county", "township", "village")
_RTT_BUCKETS = ((1.0, "< 1 ms"), (10.0, "1-10 ms"), (50.0, "10-50 ms"), (150.0, "50-150 ms"), (None, "≥ 150 ms"))

_CSS = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2em;color:#212121;max-width:75em}
h1{font-size:1.6em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left;
vertical-align:top}th{background:#f5f5f5}td.n{text-align:right}
.pass{color:#2e7d32}.fail{color:#c62828;font-weight:bold}.na{color:#757575}.error{color:#ef6c00;font-weight:bold}
.verdict{font-size:1.3em;padding:.5em 1em;display:inline-block;border-radius:4px;color:#fff}
.ok{background:#2e7d32}.bad{background:#c62828}.control{border-left:4px solid #c62828;padding-left:1em;margin:1em 0}
.meta{color:#616161}.ev{font-family:monospace;white-space:pre-wrap;word-break:break-all}
"""


def text(value: object) -> str:
    """Data as HTML text: invisible characters written as escapes by code, then HTML-escaped (quotes too)."""
    return html.escape(visible(value, named=False), quote=True)


def _counts(results: Iterable[ControlResult]) -> dict[str, int]:
    counts = dict.fromkeys(OUTCOMES, 0)
    for r in results:
        counts[r.outcome] += 1
    return counts


def _stacked_bars(
    rows: Sequence[tuple[str, Mapping[str, int]]], keys: Sequence[str], colours: Mapping[str, str]
) -> str:
    """A horizontal stacked bar per row, with a legend; widths relative to the largest row."""
    label_w, bar_w, row_h = 260, 420, 22
    top = max((sum(c.values()) for _, c in rows), default=0) or 1
    height = row_h * len(rows) + 30
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + bar_w + 80}" height="{height}" '
        f'role="img" font-size="12" font-family="sans-serif">'
    ]
    for n, (label, counts) in enumerate(rows):
        y = n * row_h
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{text(label)}</text>')
        x = float(label_w)
        for key in keys:
            value = counts.get(key, 0)
            if not value:
                continue
            w = bar_w * value / top
            parts.append(
                f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" fill="{colours[key]}">'
                f"<title>{text(label)}: {value} {text(key)}</title></rect>"
            )
            x += w
        parts.append(f'<text x="{x + 4:.1f}" y="{y + 15}">{sum(counts.values())}</text>')
    x = float(label_w)
    for key in keys:
        parts.append(f'<rect x="{x}" y="{height - 20}" width="12" height="12" fill="{colours[key]}"/>')
        parts.append(f'<text x="{x + 16}" y="{height - 10}">{text(key)}</text>')
        x += 90
    parts.append("</svg>")
    return "".join(parts)


def _table(headers: Sequence[str], rows: Iterable[Sequence[tuple[str, str]]]) -> str:
    """Cells are (html, css class); the html is already escaped."""
    head = "".join(f"<th>{text(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f'<td class="{cls}">{cell}</td>' if cls else f"<td>{cell}</td>" for cell, cls in row) + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _per_place(results: Sequence[ControlResult]) -> str:
    groups: dict[tuple[int, str, str], list[ControlResult]] = {}
    for r in results:
        tier = r.target.tier or ""
        rank = _TIERS.index(tier) if tier in _TIERS else -1
        groups.setdefault((rank, tier or "county-wide", r.target.township or ""), []).append(r)
    rows = []
    for (_, tier, township), items in sorted(groups.items()):
        c = _counts(items)
        rows.append(
            [(text(tier), ""), (text(township or "-"), "")]
            + [(str(c[o]), f"n {o}" if c[o] and o in ("fail", "error") else "n") for o in OUTCOMES]
        )
    return _table(["tier", "township", *OUTCOMES], rows)


def _link_quality(links: Sequence[LinkResult]) -> str:
    if not links:
        return "<p>No link check in this scan.</p>"
    per_tier: dict[str, dict[str, int]] = {}
    spread: dict[str, dict[str, int]] = {label: {} for _, label in _RTT_BUCKETS}
    spread["no reply"] = {}
    for r in links:
        per_tier.setdefault(r.target.tier.value, dict.fromkeys(_LINK_COLOURS, 0))[r.state.value] += 1
        rtt = r.icmp.rtt_avg_ms
        label = "no reply" if rtt is None else next(lab for limit, lab in _RTT_BUCKETS if limit is None or rtt < limit)
        spread[label][r.state.value] = spread[label].get(r.state.value, 0) + 1
    tiers = [(t, per_tier[t]) for t in _TIERS if t in per_tier]
    down = [r for r in links if r.state is not LinkState.UP]
    worst = _table(
        ["institution", "tier", "township", "state", "loss %", "rtt avg ms", "uplink", "reason"],
        [
            [
                (text(f"{r.target.name} ({r.target.institution})"), ""),
                (text(r.target.tier.value), ""),
                (text(r.target.township or "-"), ""),
                (text(r.state.value), "fail"),
                (f"{r.icmp.loss:g}", "n"),
                ("-" if r.icmp.rtt_avg_ms is None else f"{r.icmp.rtt_avg_ms:g}", "n"),
                (text(r.uplink.state if r.uplink else "-"), ""),
                (text(r.explanation), ""),
            ]
            for r in down
        ],
    )
    return (
        "<h3>Link states per tier</h3>"
        + _stacked_bars(tiers, list(_LINK_COLOURS), _LINK_COLOURS)
        + "<h3>Average round-trip time</h3>"
        + _stacked_bars(list(spread.items()), list(_LINK_COLOURS), _LINK_COLOURS)
        + (f"<h3>Links not up ({len(down)})</h3>{worst}" if down else "<p>Every link is up.</p>")
    )


def _failing(results: Sequence[ControlResult]) -> str:
    by_control: dict[str, list[ControlResult]] = {}
    for r in results:
        if r.outcome in ("fail", "error"):
            by_control.setdefault(r.control_id, []).append(r)
    if not by_control:
        return "<p>No control failed.</p>"
    out = []
    for control_id, items in by_control.items():
        first = items[0]
        rows = [
            [
                (text(r.target.id), ""),
                (text(r.target.name), ""),
                (text(r.target.township or "-"), ""),
                (text(r.outcome), r.outcome),
                (f'<span class="ev">{text(r.summary)}</span>', ""),
            ]
            for r in items
        ]
        out.append(
            f'<div class="control"><h3>{text(control_id)}: {text(first.title)}</h3>'
            f'<p class="meta">severity {text(first.severity)} · {text(", ".join(first.references))} · '
            f"{len(items)} targets</p>"
            f"<p><b>Why it matters:</b> {text(first.rationale)}</p>"
            f"<p><b>Remediation:</b> {text(first.remediation)}</p>"
            + _table(["target", "name", "township", "result", "evidence"], rows)
            + "</div>"
        )
    return "".join(out)


def _changes(title: str, changes: Sequence[ResultChange]) -> str:
    if not changes:
        return f"<p>{text(title)}: none.</p>"
    rows = [
        [
            (text(c.check_id), ""),
            (text(c.target), ""),
            (text(c.before or "-"), c.before or ""),
            (text(c.after or "-"), c.after or ""),
        ]
        for c in changes
    ]
    return f"<h3>{text(title)} ({len(changes)})</h3>" + _table(["control", "target", "before", "now"], rows)


def _diff(diff: ScanDiff | None, previous: str | None) -> str:
    if diff is None or previous is None:
        return "<p>This is the first scan: nothing to compare with.</p>"
    return (
        f"<p>Compared with scan {text(previous)}: {len(diff.changed)} results changed, {len(diff.added)} new, "
        f"{len(diff.removed)} gone, {diff.unchanged} unchanged.</p>"
        + _changes("New failures", diff.new_failures)
        + _changes("Fixed", diff.fixed)
    )


def render(
    *,
    county: str,
    scan_id: str,
    started: str,
    seconds: float,
    results: Sequence[ControlResult],
    links: Sequence[LinkResult],
    diff: ScanDiff | None,
    previous: str | None,
) -> str:
    counts = _counts(results)
    ok = not counts["fail"] and not counts["error"]
    per_control: dict[str, dict[str, int]] = {}
    for r in results:
        per_control.setdefault(r.control_id, dict.fromkeys(OUTCOMES, 0))[r.outcome] += 1
    verdict = "All controls pass" if ok else f"{counts['fail']} failures, {counts['error']} errors"
    summary = ", ".join(f"{counts[o]} {o}" for o in OUTCOMES)
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{text(county)}: compliance scan {text(scan_id)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{text(county)}: 等保2.0 compliance scan</h1>"
        f'<p class="meta">scan {text(scan_id)} · started {text(started)} UTC · {seconds:.1f} s · '
        f"{len(results)} results</p>"
        f'<p><span class="verdict {"ok" if ok else "bad"}">{text(verdict)}</span> {text(summary)}</p>'
        "<h2>Results per control</h2>"
        + _stacked_bars(list(per_control.items()), OUTCOMES, _COLOURS)
        + "<h2>Results per tier and township</h2>"
        + _per_place(results)
        + "<h2>Link quality</h2>"
        + _link_quality(links)
        + "<h2>Failing controls</h2>"
        + _failing(results)
        + "<h2>Since the last scan</h2>"
        + _diff(diff, previous)
        + "</body></html>\n"
    )
