"""``netguard discover sweep CIDR|--institution ID --interface IFACE``: who answers ARP on a segment.

Sweeps one network (or an institution's subnets from the inventory) from one
interface (:mod:`netguard.arpsweep`) and prints every host that answered: IP,
MAC, vendor (netaddr's OUI table), and whether its IP is answered by more than
one MAC. Nothing is stored: ``discover run`` is what records sightings.
``--json`` prints one document with the counts and the hosts.

Exit codes: 0 the sweep finished; 1 the run deadline stopped it early (what
it found is still printed); 2 bad input (not an IPv4 CIDR, a network over the
size limit, no such interface, no CAP_NET_RAW).
"""

from __future__ import annotations

import ipaddress
from collections import Counter

import click

from commands.context import AppContext, pass_app
from commands.output import json_option, plural, print_json, say, status
from commands.tables import Column, print_table, wide_option
from netguard.arpsweep import SweepError, SweepOptions, SweepResult, parse_networks, sweep
from netguard.discovery.settings import DISCOVERY
from netguard.discovery.sweep_run import SweepRun
from netguard.errors import EXIT_FINDINGS, InventoryError
from netguard.inventory import Inventory, load_inventory

_COLUMNS = [
    Column("IP", keep=True, priority=9),
    Column("MAC", keep=True, priority=9),
    Column("vendor", priority=5, min_width=12),
    Column("institution", priority=3),
    Column("note", priority=7, min_width=12),
]


@click.command("sweep")
@click.argument("cidr", required=False, metavar="CIDR")
@click.option("--institution", "institution_id", metavar="ID", help="Sweep this institution's subnets (inventory).")
@click.option("--inventory", "inventory_file", type=click.Path(dir_okay=False), help="Inventory (default: configured).")
@click.option(
    "--interface", metavar="IFACE", help="The interface facing the network (with --institution: default configured)."
)
@click.option("--rate", type=click.FloatRange(1, 1_000_000), help="ARP requests per second [default: 500].")
@click.option("--retries", type=click.IntRange(0, 10), help="Attempts per address after the first [default: 1].")
@click.option("--timeout", "timeout_ms", type=click.FloatRange(1, 60_000), metavar="MS",
              help="Milliseconds to wait for a reply before retrying an address [default: 500].")  # fmt: skip
@click.option("--deadline", "deadline_s", type=click.FloatRange(1, 86_400), metavar="S",
              help="Seconds the whole sweep may take [default: 300].")  # fmt: skip
@click.option("--max-hosts", type=click.IntRange(1, 1 << 24),
              help="Refuse networks with more addresses than this [default: 65536, a /16].")  # fmt: skip
@json_option
@wide_option
@pass_app
def sweep_cmd(
    app: AppContext,
    cidr: str | None,
    institution_id: str | None,
    inventory_file: str | None,
    interface: str | None,
    rate: float | None,
    retries: int | None,
    timeout_ms: float | None,
    deadline_s: float | None,
    max_hosts: int | None,
    as_json: bool,
    wide: bool,
) -> None:
    """ARP-sweep a network and list the hosts that answer.

    Needs root or CAP_NET_RAW. With --institution, options not given come
    from the discovery section of netguard.yaml.

    \b
    Examples:
      netguard discover sweep 10.11.12.0/24 --interface eth1
      netguard discover sweep --institution vc-nagu-07 --json
    """
    if (cidr is None) == (institution_id is None):
        raise click.UsageError("give either a CIDR or --institution ID")
    inventory: Inventory | None = None
    base = SweepOptions()
    if institution_id is not None:
        inventory = load_inventory(app.inventory_path(inventory_file))
        inst = inventory.root.by_id(institution_id)
        if inst is None:
            raise InventoryError(f"no institution '{institution_id}' in {inventory.file}")
        settings = app.config.section(DISCOVERY)
        base = settings.sweep
        interface = interface or settings.interface_for(inst.id)
        networks = [n for n in inst.networks if isinstance(n, ipaddress.IPv4Network)]
        if not networks:
            raise SweepError(f"institution '{inst.id}' has no IPv4 subnet to sweep")
    else:
        assert cidr is not None
        networks = parse_networks([cidr])
    if interface is None:
        raise click.UsageError("--interface IFACE is needed (or discovery.sweep_interface in netguard.yaml)")
    options = SweepOptions(
        rate=rate or base.rate,
        retries=base.retries if retries is None else retries,
        timeout_ms=timeout_ms or base.timeout_ms,
        deadline_s=deadline_s or base.deadline_s,
        max_hosts=max_hosts or base.max_hosts,
    )
    with status(f"sweeping {', '.join(map(str, networks))} from {interface}"):
        result = sweep(interface, networks, options)
    if as_json:
        print_json(result_dict(result, inventory))
    else:
        _render(result, inventory, wide)
    if not result.complete:
        raise click.exceptions.Exit(EXIT_FINDINGS)


def _owner(inventory: Inventory | None, ip: str) -> str | None:
    inst = inventory.root.by_ip(ip) if inventory is not None else None
    return inst.id if inst else None


def _sorted(result: SweepResult) -> list[tuple[str, str, str | None]]:
    return sorted(((r.ip, r.mac, r.vendor) for r in result.replies), key=lambda t: (ipaddress.ip_address(t[0]), t[1]))


def result_dict(result: SweepResult, inventory: Inventory | None = None) -> dict[str, object]:
    uses = Counter(r.ip for r in result.replies)
    return {
        "interface": result.interface,
        "source_mac": result.source_mac,
        "source_ip": result.source_ip,
        "networks": list(result.networks),
        "targets": result.targets,
        "sent": result.sent,
        "answered": result.targets - result.unanswered,
        "unanswered": result.unanswered,
        "ignored": result.ignored,
        "complete": result.complete,
        "stopped": result.stopped,
        "seconds": round(result.seconds, 3),
        "hosts": [
            {"ip": ip, "mac": mac, "vendor": vendor, "institution": _owner(inventory, ip)}
            for ip, mac, vendor in _sorted(result)
        ],
        "duplicate_ips": sorted((ip for ip, n in uses.items() if n > 1), key=ipaddress.ip_address),
    }


def _render(result: SweepResult, inventory: Inventory | None, wide: bool) -> None:
    answered = result.targets - result.unanswered
    say(
        f"{answered} of {result.targets} addresses answered on {', '.join(result.networks)} from {result.interface} "
        f"({result.source_ip}, {result.source_mac}) in {result.seconds:.1f} s; {result.sent} requests sent"
        + (f", {result.ignored} replies ignored (not asked for, or repeated)" if result.ignored else "")
    )
    if result.stopped:
        say(f"stopped early: {result.stopped}")
    uses = Counter(r.ip for r in result.replies)
    rows: list[list[object]] = [
        [ip, mac, vendor or "unknown", _owner(inventory, ip), "duplicate IP" if uses[ip] > 1 else None]
        for ip, mac, vendor in _sorted(result)
    ]
    if rows:
        print_table(f"hosts that answered ({len(rows)})", _COLUMNS, rows, wide=wide)


def sweep_dict(run: SweepRun) -> dict[str, object]:
    """``discover run --json``'s sweep part: each institution swept, the changes, what was not covered."""
    return {
        "sweeps": [
            {
                "institution": o.job.institution.id,
                "interface": o.job.interface,
                "networks": [str(n) for n in o.job.networks],
                "complete": o.complete,
                "reason": o.reason,
                "answered": len(o.result.replies) if o.result else 0,
                "seconds": round(o.result.seconds, 3) if o.result else 0.0,
            }
            for o in run.outcomes
        ],
        "sweeps_failed": [o.job.institution.id for o in run.failed],
        "sweep_changes": [
            {
                "action": c.action,
                "mac": c.record.mac,
                "ip": c.record.ip,
                "institution": c.record.institution_id,
                "interface": o.job.interface,
                "previous_ip": c.previous.ip if c.previous else None,
                "status": c.verdict.status.value,
                "reason": c.verdict.reason,
            }
            for o in run.outcomes
            for c in o.changes
        ],
        "uncovered": [{"institution": u.institution, "reason": u.reason} for u in run.uncovered],
    }


def render_sweeps(run: SweepRun) -> None:
    """``discover run``'s sweep part for people: a count line, then changes, failures, gaps."""
    if run.outcomes:
        swept = len(run.outcomes) - len(run.failed)
        say(
            f"{plural(len(run.outcomes), 'institution')} ARP-swept: {swept} completely, {len(run.failed)} failed or"
            f" cut short; {plural(run.sightings, 'sighting')} in {run.seconds:.1f} s"
        )
    rows: list[list[object]] = [
        [c.action, c.record.mac, c.record.ip, c.record.institution_id, o.job.interface, c.verdict.status.value]
        for o in run.outcomes
        for c in o.changes
    ]
    if rows:
        columns = [
            Column("change", keep=True, priority=9),
            Column("MAC", keep=True, priority=9),
            Column("IP", keep=True, priority=7),
            Column("institution", priority=5),
            Column("interface", priority=4),
            Column("status", keep=True, priority=8),
        ]
        print_table("device changes from ARP sweeps", columns, rows)
    elif run.outcomes:
        say("no device changes from ARP sweeps")
    if run.failed:
        print_table(
            "failed sweeps",
            [Column("institution", keep=True, priority=9), Column("reason", priority=8, min_width=20)],
            [[o.job.institution.id, o.reason] for o in run.failed],
            wide=True,
        )
    if run.uncovered:
        print_table(
            f"not covered by a switch or a sweep ({len(run.uncovered)})",
            [Column("institution", keep=True, priority=9), Column("why", priority=8, min_width=20)],
            [[u.institution, u.reason] for u in run.uncovered],
            wide=True,
        )
