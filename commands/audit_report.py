"""``netguard audit report``: a day's or a month's database activity, risky statements and new shapes.

The report is read from the event store (audit/report.py) and shown as a
terminal summary, ``--json`` (one document) or ``--html FILE`` (one
self-contained page, audit/report_html.py). The HTML file holds user names and
masked statements, so it is created readable by its owner only.
"""

from __future__ import annotations

from pathlib import Path

import click

from audit.report import AuditReport, build_report, period, report_json
from audit.report_html import render_html
from audit.timestamps import zone
from commands.context import AppContext, pass_app
from commands.events import backend_option
from commands.output import echo, json_option, plural, print_json, status
from commands.tables import Column, print_table, wide_option
from netguard.errors import NetGuardError
from netguard.events import open_event_store
from netguard.secrets import write_private


@click.command(name="report", short_help="A day's or month's activity and risks per database.")
@click.option("--day", metavar="YYYY-MM-DD", help="The day to report (default: yesterday).")
@click.option("--month", metavar="YYYY-MM", help="The month to report.")
@click.option(
    "--timezone", "tz_name", default="Asia/Shanghai", show_default=True, metavar="ZONE", help="Zone of the day/month."
)
@click.option(
    "--html", "html_file", type=click.Path(dir_okay=False, path_type=Path), help="Write the HTML report here."
)
@backend_option
@wide_option
@json_option
@pass_app
def report(
    app: AppContext,
    day: str | None,
    month: str | None,
    tz_name: str,
    html_file: Path | None,
    backend: str | None,
    wide: bool,
    as_json: bool,
) -> None:
    """Per database: the period's activity, its risky statements, fingerprints never seen before.

    \b
    Examples:
      netguard audit report                       # yesterday
      netguard audit report --day 2026-11-30 --html his-20261130.html
      netguard audit report --month 2026-11 --json
    """
    when = period(day, month, zone(tz_name))
    store = open_event_store(app.config, backend)
    try:
        with status("reading the audit trail"):
            result = build_report(store, when)
    finally:
        store.close()
    if html_file is not None:
        _write_private(html_file, render_html(result))
    if as_json:
        print_json(report_json(result) | {"html": str(html_file) if html_file else None})
        return
    _summary(result, wide)
    if html_file is not None:
        echo(f"HTML report written to {html_file}")


def _write_private(path: Path, page: str) -> None:
    # The page quotes SQL text: 0600 from the first byte, and again on a file that was already there.
    try:
        write_private(path, page)
    except OSError as exc:
        raise NetGuardError(f"cannot write the HTML report {path}: {exc.strerror}") from None


def _summary(r: AuditReport, wide: bool) -> None:
    rows: list[list[object]] = [
        [
            d.database or "(none)",
            d.statements,
            d.failures,
            len(d.users),
            d.risky_total,
            len(d.new_fingerprints),
            ", ".join(b.value[5:] for b in d.rules[:3]),
        ]
        for d in r.databases
    ]
    title = f"{r.period.kind} {r.period.label} ({r.period.timezone}): {plural(r.total, 'statement')}"
    print_table(
        title,
        [
            Column("database", keep=True, priority=9, min_width=10),
            Column("statements", keep=True, priority=8, justify="right"),
            Column("failed", keep=True, priority=6, justify="right"),
            Column("users", keep=True, priority=4, justify="right"),
            Column("risky", keep=True, priority=7, justify="right"),
            Column("new shapes", keep=True, priority=5, justify="right"),
            Column("top rules", priority=3, min_width=12),
        ],
        rows,
        wide=wide,
    )
