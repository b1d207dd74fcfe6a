"""The audit report as one self-contained HTML file (inline CSS, no scripts, fonts or images from elsewhere).

Every value that comes from the store (database, user and table names, SQL
text, rule ids: anything a database client could have put in a log) is written
through :func:`text`: invisible and terminal-controlling characters as escapes
by code (``netguard.printable``), then HTML-escaped with quotes, so no value can
open a tag, leave an attribute or reorder what an officer reads. Only numbers
computed here reach the markup unescaped.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from audit.report import AuditReport, DatabaseReport
from netguard.events.model import format_timestamp
from netguard.events.store import Bucket
from netguard.printable import visible

_CSS = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2em;color:#212121;max-width:80em}
h1{font-size:1.6em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:1.8em}h3{margin-top:1.2em}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left;
vertical-align:top}th{background:#f5f5f5}td.n{text-align:right}.meta{color:#616161}
.sql{font-family:monospace;white-space:pre-wrap;word-break:break-all;max-width:45em}
.bar{background:#1565c0;height:.8em;display:inline-block}.cols{display:flex;flex-wrap:wrap;gap:2em}
.critical{color:#fff;background:#b71c1c}.high{color:#c62828;font-weight:bold}.medium{color:#ef6c00}
.none{color:#757575}
"""


def text(value: object) -> str:
    """Data as HTML text: invisible characters written as escapes by code, then HTML-escaped (quotes too)."""
    return html.escape(visible(value, named=False), quote=True)


def _counts(title: str, buckets: Sequence[Bucket], prefix: str = "") -> str:
    if not buckets:
        return f"<div><h3>{title}</h3><p class='none'>none</p></div>"
    top = max(b.count for b in buckets)
    rows = "".join(
        f"<tr><td>{text(b.value[len(prefix) :])}</td><td class='n'>{b.count}</td>"
        f"<td><span class='bar' style='width:{max(1, round(120 * b.count / top))}px'></span></td></tr>"
        for b in buckets
    )
    return f"<div><h3>{title}</h3><table>{rows}</table></div>"


def _risky(d: DatabaseReport) -> str:
    if not d.risky_total:
        return "<p class='none'>No statement of risk medium or above.</p>"
    more = d.risky_total - len(d.risky)
    note = f"<p class='meta'>{d.risky_total} in all; the newest {len(d.risky)} are listed.</p>" if more else ""
    rows = "".join(
        f"<tr><td>{text(r.time)}</td><td>{text(r.user or '')}</td><td>{text(r.client or '')}</td>"
        f"<td class='{text(r.risk or '')}'>{text(r.risk or '')}</td><td>{text(', '.join(r.rules))}</td>"
        f"<td class='sql'>{text(r.statement or '')}</td></tr>"
        for r in d.risky
    )
    head = "<tr><th>time (UTC)</th><th>user</th><th>client</th><th>risk</th><th>rules</th><th>statement</th></tr>"
    return f"{note}<table>{head}{rows}</table>"


def _new(d: DatabaseReport) -> str:
    limit = ""
    if d.statements_not_compared:
        limit = (
            f"<p class='meta'>Only the {d.fingerprints_compared} most frequent fingerprints were compared; "
            f"{d.statements_not_compared} statements of rarer ones were not.</p>"
        )
    if not d.new_fingerprints:
        return limit + "<p class='none'>No fingerprint new in this period.</p>"
    rows = "".join(
        f"<tr><td>{text(f.fingerprint_id)}</td><td class='n'>{f.count}</td>"
        f"<td class='sql'>{text(f.fingerprint or '')}</td></tr>"
        for f in d.new_fingerprints
    )
    return f"{limit}<table><tr><th>id</th><th>statements</th><th>fingerprint</th></tr>{rows}</table>"


def _database(d: DatabaseReport) -> str:
    name = text(d.database) if d.database else "<i>(no database in the log)</i>"
    return (
        f"<h2>{name}</h2>"
        f"<p>{d.statements} statements, {d.failures} failed, {d.risky_total} of risk medium or above, "
        f"{len(d.new_fingerprints)} new fingerprints.</p>"
        "<div class='cols'>"
        + _counts("Operations", d.operations)
        + _counts("Users", d.users)
        + _counts("Clients", d.clients)
        + _counts("Tables", d.tables)
        + _counts("Rules matched", d.rules, "rule:")
        + "</div><h3>Risky statements</h3>"
        + _risky(d)
        + "<h3>Fingerprints never seen before this period</h3>"
        + _new(d)
    )


def render_html(r: AuditReport) -> str:
    summary = "".join(
        f"<tr><td>{text(d.database) if d.database else '<i>(none)</i>'}</td><td class='n'>{d.statements}</td>"
        f"<td class='n'>{d.failures}</td><td class='n'>{d.risky_total}</td>"
        f"<td class='n'>{len(d.new_fingerprints)}</td></tr>"
        for d in r.databases
    )
    p = r.period
    title = f"数据库审计报告 Database audit report {text(p.label)}"
    return (
        "<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'>"
        f"<title>{title}</title><style>{_CSS}</style></head><body>"
        f"<h1>{title}</h1>"
        f"<p class='meta'>{text(p.kind)} {text(p.label)} in {text(p.timezone)}: "
        f"{text(format_timestamp(p.start_ms))} to {text(format_timestamp(p.end_ms))} (UTC); "
        f"generated {text(format_timestamp(r.generated_ms))} from the {text(r.backend)} event store. "
        "Statements are shown masked, as stored (等保2.0 8.1.4.3).</p>"
        f"<p>{r.total} statements in {len(r.databases)} databases.</p>"
        "<table><tr><th>database</th><th>statements</th><th>failed</th><th>risky</th><th>new fingerprints</th></tr>"
        f"{summary}</table>" + "".join(_database(d) for d in r.databases) + "</body></html>\n"
    )
