"""``netguard scan``: a compliance scan of the county against the 等保2.0 controls.

Loads the controls (the built-in ``compliance`` pack, then ``scan.rules`` and
``--rules``; any error refuses the scan with exit 2 and its file:line), runs
the collectors the controls need, records every result (state store scan
labelled ``compliance``, ``compliance`` events), compares with the previous
scan, and reports: a terminal summary, ``--json``, and ``--html FILE`` (one
self-contained file for reading offline). Exit 0 when every result passes or
does not apply, 1 when one fails or could not be evaluated (or events could
not be stored), 2 when the scan itself cannot run.

Data (names, evidence quoting network errors) is shown literally.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from commands.context import AppContext, pass_app
from commands.output import console, echo, json_option, print_json, safe, status
from commands.tables import Column, print_table
from netguard.compliance.controls import ScanCannotRun, load_controls
from netguard.compliance.html import render
from netguard.compliance.scan import COLLECTORS, ScanInputs, ScanOutcome, run_scan
from netguard.compliance.settings import SCAN
from netguard.errors import EXIT_FINDINGS, NetGuardError
from netguard.events import EventStore, open_event_store
from netguard.inventory import load_inventory
from netguard.links.settings import LINKS
from netguard.links.uplinks import snmp_uplinks
from netguard.store import StateStore, journal_key
from netguard.store.checks import ResultChange

_STYLE = {"pass": "green", "fail": "bold red", "na": "dim", "error": "bold yellow"}


def _open_events(app: AppContext) -> tuple[EventStore | None, str | None]:
    try:
        return open_event_store(app.config), None
    except (NetGuardError, OSError) as exc:
        return None, str(exc)


@click.command()
@click.option("--inventory", "inventory_file", type=click.Path(dir_okay=False), help="Inventory (default: configured).")
@click.option(
    "--rules",
    "rule_files",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Another control pack, after the built-in one and scan.rules (repeatable).",
)
@click.option("--html", "html_file", type=click.Path(dir_okay=False, writable=True), help="Write the HTML report here.")
@json_option
@pass_app
def scan(
    app: AppContext, inventory_file: str | None, rule_files: tuple[str, ...], html_file: str | None, as_json: bool
) -> None:
    """Run a compliance scan of the county (等保2.0 controls).

    Exit 0 when all pass, 1 on a failure, 2 when the scan cannot run.

    \b
    Examples:
      netguard scan
      netguard scan --html report.html
      netguard scan --rules site-controls.yaml --json
    """
    settings = app.config.section(SCAN)
    controls = load_controls([*settings.rules, *(Path(f) for f in rule_files)], COLLECTORS)
    try:
        inv = load_inventory(app.inventory_path(inventory_file))
    except NetGuardError as exc:
        raise ScanCannotRun(str(exc)) from None
    links_config = app.config.section(LINKS)
    uplinks = snmp_uplinks(inv, app.config.resolver(), links_config.uplinks, links_config.check.icmp)
    key = journal_key(app.config)
    store = StateStore.from_config(app.config)
    events, events_error = _open_events(app)
    try:
        inputs = ScanInputs(
            inventory=inv,
            controls=controls,
            settings=settings,
            links=links_config,
            checks=store.checks,
            sightings=store.sightings,
            state=store.conn,
            events=events,
            events_backend=app.config.events_backend,
            events_error=events_error,
            chain_key=key,
            uplinks=uplinks,
        )
        with status(f"scanning {len(inv)} institutions ({len(controls)} controls)"):
            if uplinks is not None:
                uplinks.prepare()  # SNMP engines made before the timed probes start, not among them
            outcome = run_scan(inputs)
    finally:
        if uplinks is not None:
            uplinks.close()
        if events is not None:
            events.close()
        store.close()
    if html_file:
        page = render(
            county=inv.county,
            scan_id=outcome.scan_id,
            started=outcome.started.strftime("%Y-%m-%d %H:%M:%S"),
            seconds=outcome.seconds,
            results=outcome.results,
            links=outcome.links,
            diff=outcome.diff,
            previous=outcome.previous_scan,
        )
        Path(html_file).write_text(page, encoding="utf-8")
    written = outcome.events_written
    if written.failed:
        first = written.errors[0] if written.errors else "unknown reason"
        echo(f"warning: {written.failed} scan events could not be stored (first: {first})", err=True)
    if as_json:
        print_json(_as_json(outcome, html_file))
    else:
        _render(inv.county, outcome, html_file)
    if not outcome.ok or written.failed:
        raise click.exceptions.Exit(EXIT_FINDINGS)


def _change(c: ResultChange) -> dict[str, Any]:
    return {"control": c.check_id, "target": c.target, "before": c.before, "after": c.after}


def _as_json(outcome: ScanOutcome, html_file: str | None) -> dict[str, Any]:
    diff = outcome.diff
    return {
        "scan_id": outcome.scan_id,
        "started": outcome.started.isoformat(),
        "seconds": round(outcome.seconds, 3),
        "ok": outcome.ok,
        "counts": outcome.counts,
        "collectors": {
            name: {"seconds": round(ev.seconds, 3), "error": ev.error, "observations": len(ev.observations)}
            for name, ev in outcome.evidence.items()
        },
        "previous_scan": outcome.previous_scan,
        "new_failures": [_change(c) for c in diff.new_failures] if diff else [],
        "fixed": [_change(c) for c in diff.fixed] if diff else [],
        "events_failed": outcome.events_written.failed,
        "html": html_file,
        "results": [r.as_dict() for r in outcome.results],
    }


def _render(county: str, outcome: ScanOutcome, html_file: str | None) -> None:
    per_control: dict[str, dict[str, Any]] = {}
    for r in outcome.results:
        row = per_control.setdefault(r.control_id, {"title": r.title, "pass": 0, "fail": 0, "na": 0, "error": 0})
        row[r.outcome] += 1
    columns = [
        Column("Control", keep=True),
        Column("Title", min_width=20),
        *(Column(o, keep=True, justify="right") for o in ("pass", "fail", "na", "error")),
    ]
    rows: list[list[object]] = [
        [cid, v["title"], v["pass"], v["fail"], v["na"], v["error"]] for cid, v in per_control.items()
    ]
    print_table(f"{county}: compliance scan {outcome.scan_id}", columns, rows)
    bad = [r for r in outcome.results if r.outcome in ("fail", "error")]
    if bad:
        print_table(
            f"{len(bad)} failing results",
            [
                Column("Control", keep=True),
                Column("Target", keep=True),
                Column("Township", priority=1),
                Column("Result", keep=True),
                Column("Evidence", min_width=20),
            ],
            [[r.control_id, r.target.id, r.target.township or "-", r.outcome, r.summary] for r in bad],
        )
    out = console()
    if outcome.diff is not None and outcome.previous_scan is not None:
        d = outcome.diff
        out.print(safe(f"since scan {outcome.previous_scan}: {len(d.new_failures)} new failures, {len(d.fixed)} fixed"))
        for c in d.new_failures:
            out.print(safe(f"  new failure: {c.check_id} {c.target} ({c.before or 'new'} → {c.after})", "red"))
        for c in d.fixed:
            out.print(safe(f"  fixed: {c.check_id} {c.target}", "green"))
    counts = outcome.counts
    line = ", ".join(f"{counts[o]} {o}" for o in ("pass", "fail", "na", "error"))
    out.print(safe(f"{len(outcome.results)} results: {line} · {outcome.seconds:.1f} s", "" if outcome.ok else "bold"))
    for name, ev in outcome.evidence.items():
        if ev.error:
            out.print(safe(f"collector {name} failed: {ev.error}", _STYLE["error"]))
    if html_file:
        out.print(safe(f"report: {html_file}"))
