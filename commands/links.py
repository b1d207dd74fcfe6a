"""``netguard links``: check every institution's link, and show one link's trend.

``check`` pings every selected institution's gateway from one process (fping's
way), connects to its servers' TCP services, reads the SNMP health of the
uplink ports the inventory lists for its switches (two counter samples taken
while the probes run; ``--no-uplinks`` skips it), classifies each link by its
tier's thresholds, records the run (state store check results, ``link`` events) and
prints a table grouped by township and tier, or ``--json``. Exit 0 when every
link is up, 1 when one is degraded or down (or a result could not be stored),
2 for usage errors (no ICMP socket allowed, unknown institution, bad options).

Data from the inventory (names, ids) and from the network (error texts) is
shown literally: rich ``Text`` (never markup), control characters escaped.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Sequence
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from commands.context import AppContext, pass_app
from commands.output import console, echo, json_option, print_json, safe, status
from commands.scope import Scope, scope_options
from netguard.errors import EXIT_FINDINGS, InventoryError
from netguard.events import open_event_store
from netguard.events.model import format_timestamp
from netguard.inventory import Inventory, Tier, load_inventory
from netguard.links.check import CheckSettings, check_links
from netguard.links.history import History, link_history
from netguard.links.recording import previous_states, record
from netguard.links.records import IcmpSettings, LinkResult, LinkState
from netguard.links.settings import LINKS, SOCKET_KINDS, LinksConfig
from netguard.links.targets import link_targets
from netguard.links.uplinks import snmp_uplinks
from netguard.store import StateStore

_STATE_STYLE = {LinkState.UP: "green", LinkState.DEGRADED: "yellow", LinkState.DOWN: "bold red"}
_SPARK = "▁▂▃▄▅▆▇█"


@click.group()
def links() -> None:
    """Check every institution's link to the county data centre.

    ICMP to each institution's gateway (several probes: loss, RTT, jitter), TCP to the
    services the inventory names, and a verdict per tier: up, degraded or down.
    """


# -- rendering helpers -------------------------------------------------------------------


def _ms(value: float | None) -> Text:
    return Text("-" if value is None else f"{value:.3f}" if value < 10 else f"{value:.1f}")


# -- check -------------------------------------------------------------------------------


def _links_config(app: AppContext) -> LinksConfig:
    return app.config.section(LINKS)


def _select(inv: Inventory, scope: Scope) -> Inventory:
    """Options of one kind are alternatives (OR), kinds of options all apply (AND)."""
    view = scope.apply(inv)
    if not len(view):
        raise InventoryError("no institution matches the selection (--institution, --township, --tier)")
    return view


@links.command()
@click.option("--inventory", "inventory_file", type=click.Path(dir_okay=False), help="Inventory (default: configured).")
@scope_options
@click.option("--count", type=click.IntRange(1, 10_000), help="Probes per target (fping -c; default 5).")
@click.option(
    "--interval", "interval_ms", type=click.FloatRange(min=1), help="ms between probes to one target (fping -p; 1000)."
)
@click.option(
    "--timeout", "timeout_ms", type=click.FloatRange(min=1), help="ms to wait for a reply or connect (fping -t; 1000)."
)
@click.option("--gap", "gap_ms", type=click.FloatRange(min=0), help="Least ms between any two sends (fping -i; 2).")
@click.option(
    "--socket",
    "socket_kind",
    type=click.Choice(SOCKET_KINDS),
    help="ICMP socket: raw (root/CAP_NET_RAW), dgram (net.ipv4.ping_group_range) or auto (default).",
)
@click.option("--no-uplinks", is_flag=True, help="Do not read the uplink ports' health over SNMP.")
@click.option("--no-record", is_flag=True, help="Do not store results or write events.")
@json_option
@pass_app
def check(
    app: AppContext,
    inventory_file: str | None,
    scope: Scope,
    count: int | None,
    interval_ms: float | None,
    timeout_ms: float | None,
    gap_ms: float | None,
    socket_kind: str | None,
    no_uplinks: bool,
    no_record: bool,
    as_json: bool,
) -> None:
    """Check the links of every institution, or the selected ones.

    Exit 1 unless all are up.

    \b
    Examples:
      netguard links check --township 娜姑镇
      netguard links check --tier village --count 10 --interval 500 --json
    """
    config = _links_config(app)
    icmp = config.check.icmp
    icmp = IcmpSettings(
        count=count if count is not None else icmp.count,
        interval_ms=interval_ms if interval_ms is not None else icmp.interval_ms,
        timeout_ms=timeout_ms if timeout_ms is not None else icmp.timeout_ms,
        gap_ms=gap_ms if gap_ms is not None else icmp.gap_ms,
        payload_size=icmp.payload_size,
    )
    settings = CheckSettings(
        icmp=icmp,
        tcp_timeout_ms=timeout_ms if timeout_ms is not None else config.check.tcp_timeout_ms,
        tcp_concurrency=config.check.tcp_concurrency,
        socket_kind=socket_kind or config.check.socket_kind,  # type: ignore[arg-type]
    )
    inv = load_inventory(app.inventory_path(inventory_file))
    view = _select(inv, scope)
    targets = link_targets(view)
    uplinks = None if no_uplinks else snmp_uplinks(view, app.config.resolver(), config.uplinks, icmp)
    stray = config.policy.unknown_institutions(i.id for i in inv.root)
    if stray:
        echo(f"warning: link thresholds name institutions not in the inventory: {', '.join(stray)}", err=True)
    store = None if no_record else StateStore.from_config(app.config)
    events = None if no_record else open_event_store(app.config)
    try:
        previous = previous_states(store.checks, (t.institution for t in targets)) if store else {}
        started = dt.datetime.now(dt.UTC)
        clock = time.perf_counter()
        with status(f"checking {len(targets)} links"):
            if uplinks is not None:
                uplinks.prepare()  # SNMP engines made before the timed probes start, not among them
            results = asyncio.run(
                check_links(targets, settings=settings, policy=config.policy, previous=previous, uplinks=uplinks)
            )
        elapsed = time.perf_counter() - clock
        recorded = None
        if store is not None and events is not None:
            recorded = record(results, checks=store.checks, events=events, started=started)
    finally:
        if uplinks is not None:
            uplinks.close()
        if events is not None:
            events.close()
        if store is not None:
            store.close()
    failed_writes = recorded.events.failed if recorded else 0
    if failed_writes and recorded is not None:
        first = recorded.events.errors[0] if recorded.events.errors else "unknown reason"
        echo(f"warning: {failed_writes} link events could not be stored (first: {first})", err=True)
    if as_json:
        print_json([r.as_dict() for r in results])
    else:
        _render(inv, results, elapsed, recorded.scan.scan_id if recorded else None)
    if failed_writes or any(r.state is not LinkState.UP for r in results):
        raise click.exceptions.Exit(EXIT_FINDINGS)


def _groups(inv: Inventory, results: Sequence[LinkResult]) -> list[tuple[str, list[LinkResult]]]:
    """County tier first, then each township in file order: its health centre, then its villages."""
    order = {name: n for n, name in enumerate(inv.root.townships())}
    tier_rank = {Tier.COUNTY: 0, Tier.TOWNSHIP: 1, Tier.VILLAGE: 2}
    keyed: dict[tuple[int, int, str, str], list[LinkResult]] = {}
    for r in results:
        township = r.target.township or ""
        key = (order.get(township, -1) if township else -1, tier_rank[r.target.tier], township, r.target.tier.value)
        keyed.setdefault(key, []).append(r)
    return [(f"{k[2]} · {k[3]}" if k[2] else k[3], rows) for k, rows in sorted(keyed.items())]


def _render(inv: Inventory, results: Sequence[LinkResult], elapsed: float, scan_id: str | None) -> None:
    out = console()
    table = Table(title=safe(f"{inv.county}: links of {len(results)} institutions"))
    columns = ("Group", "Institution", "Name", "Target", "State", "Loss %", "Min ms", "Avg ms", "Max ms", "Jitter ms")
    for col in columns:
        table.add_column(col, justify="right" if col.endswith(("%", "ms")) else "left")
    table.add_column("Uplink")
    table.add_column("Reason", overflow="fold")
    for n, (label, rows) in enumerate(_groups(inv, results)):
        if n:
            table.add_section()
        for k, r in enumerate(rows):
            i = r.icmp
            table.add_row(
                safe(label if k == 0 else ""),
                safe(r.target.institution),
                safe(r.target.name),
                safe(r.target.address),
                safe(r.state.value, _STATE_STYLE[r.state]),
                Text(f"{i.loss:g}"),
                _ms(i.rtt_min_ms),
                _ms(i.rtt_avg_ms),
                _ms(i.rtt_max_ms),
                _ms(i.jitter_ms),
                _uplink_cell(r),
                safe(r.explanation),
            )
    out.print(table)
    counts = {s: sum(1 for r in results if r.state is s) for s in LinkState}
    sent = sum(r.icmp.sent for r in results)
    received = sum(r.icmp.received for r in results)
    services = [t for r in results for t in r.tcp]
    refused = sum(1 for t in services if not t.connected)
    summary = (
        f"{len(results)} institutions: {counts[LinkState.UP]} up, {counts[LinkState.DEGRADED]} degraded, "
        f"{counts[LinkState.DOWN]} down · {sent} probes, {received} replies"
        f" ({100 * (sent - received) / sent if sent else 0:.1f} % lost) · {len(services)} services, {refused} failed"
        f" · {elapsed:.1f} s"
    )
    out.print(Text(summary))
    for r in results:
        if r.changed and r.previous_state is not None:
            out.print(safe(f"state change: {r.target.institution} {r.previous_state.value} → {r.state.value}"))
    if scan_id:
        out.print(safe(f"recorded as scan {scan_id}"))


def _uplink_cell(r: LinkResult) -> Text:
    if r.uplink is None:
        return Text("-")
    busiest = max((u.utilisation_pct for u in r.uplinks if u.utilisation_pct is not None), default=None)
    util = f" {busiest:.1f}%" if busiest is not None else ""
    style = next((v for s, v in _STATE_STYLE.items() if s.value == r.uplink.state), "dim")  # "unknown": dim
    return safe(f"{r.uplink.state}{util}", style)


# -- history -----------------------------------------------------------------------------


def _spark(values: Sequence[float | None], top: float) -> str:
    if top <= 0:
        top = 1.0
    return "".join(
        " " if v is None else _SPARK[min(len(_SPARK) - 1, int(v / top * (len(_SPARK) - 1) + 0.5))] for v in values
    )


def _history_dict(h: History) -> dict[str, Any]:
    return {
        "institution": h.institution,
        "since": format_timestamp(h.since_ms),
        "until": format_timestamp(h.until_ms),
        "samples": h.samples,
        "buckets": [
            {
                "start": format_timestamp(b.start_ms),
                "end": format_timestamp(b.end_ms),
                "samples": b.samples,
                "loss": b.loss,
                "rtt_avg_ms": b.rtt_avg_ms,
                "rtt_max_ms": b.rtt_max_ms,
                "worst_state": b.worst_state,
            }
            for b in h.buckets
        ],
    }


@links.command()
@click.argument("institution")
@click.option("--since", default="7d", show_default=True, help="How far back: a duration (24h, 7d).")
@click.option("--buckets", default=24, show_default=True, type=click.IntRange(1, 500), help="Time buckets.")
@click.option("--inventory", "inventory_file", type=click.Path(dir_okay=False), help="Inventory (default: configured).")
@json_option
@pass_app
def history(
    app: AppContext, institution: str, since: str, buckets: int, inventory_file: str | None, as_json: bool
) -> None:
    """Show the trend of one institution's link.

    Loss and latency over time, from the recorded samples.
    """
    name = institution
    if inventory_file or app.config.inventory is not None:
        inv = load_inventory(app.inventory_path(inventory_file))
        inst = _select(inv, Scope(institutions=(institution,))).institutions[0]
        name = f"{inst.name} ({inst.id}, {inst.tier.value})"
    store = open_event_store(app.config)
    try:
        with status("reading link samples"):
            h = link_history(store, institution, since=since, buckets=buckets)
    finally:
        store.close()
    if as_json:
        print_json(_history_dict(h))
        return
    out = console()
    out.print(safe(f"{name}: {h.samples} samples since {format_timestamp(h.since_ms)[:16].replace('T', ' ')} UTC"))
    if not h.samples:
        return
    losses = [b.loss for b in h.buckets]
    rtts = [b.rtt_avg_ms for b in h.buckets]
    top_rtt = max((v for v in rtts if v is not None), default=0.0)
    out.print(safe(f"loss  {_spark(losses, 100.0)}  (0-100 %)"))
    out.print(safe(f"rtt   {_spark(rtts, top_rtt)}  (0-{top_rtt:g} ms)"))
    table = Table()
    for col in ("From (UTC)", "Samples", "Loss %", "Avg ms", "Max ms", "Worst"):
        table.add_column(col, justify="left" if col in ("From (UTC)", "Worst") else "right")
    for b in h.buckets:
        if not b.samples:
            continue
        style = _STATE_STYLE.get(LinkState(b.worst_state), "") if b.worst_state else ""
        table.add_row(
            Text(format_timestamp(b.start_ms)[:16].replace("T", " ")),
            Text(str(b.samples)),
            Text("-" if b.loss is None else f"{b.loss:g}"),
            _ms(b.rtt_avg_ms),
            _ms(b.rtt_max_ms),
            safe(b.worst_state or "-", style),
        )
    out.print(table)
