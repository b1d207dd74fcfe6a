"""Walking one switch, or many at once, into :class:`SwitchReport` records.

For one switch: GET the system group (and the bridge address). If that
fails the switch is unreachable and the report carries the reason (timeout,
wrong community, auth failure ...) and nothing else. Otherwise walk the
interfaces, the bridge port map, the forwarding table, the ARP tables and
LLDP (parallel walks, bounded per switch), parse each into records, then mark
uplinks and count MACs per port. A table that fails or stops early does not
fail the switch: the rows read are kept and the problem is listed.

For many switches (:func:`walk_switches`): every switch is walked with
bounded concurrency and a deadline each; a switch that fails becomes an
unreachable report. Uplinks are decided after *all* walks, because "this
port learns another switch's MAC" needs every switch's own MACs.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from netguard.discovery import oids
from netguard.discovery.arp import collect_arp
from netguard.discovery.bridge import collect_port_map, parse_fdb, walk_fdb
from netguard.discovery.context import SwitchContext
from netguard.discovery.decode import int_from_value, mac_from_value, text_from_value
from netguard.discovery.interfaces import collect_interfaces
from netguard.discovery.lldp import parse_lldp, walk_lldp
from netguard.discovery.records import Skip, SwitchReport, SystemInfo
from netguard.discovery.uplinks import find_uplinks, lldp_chassis_macs, mac_counts
from netguard.snmp.fanout import Outcome, run_bounded
from netguard.snmp.problems import SnmpError
from netguard.snmp.target import SnmpTarget

if TYPE_CHECKING:  # the caller opens the session: importing this module (via netguard.discovery) loads no pysnmp API
    from netguard.snmp.client import SnmpClient

SYSTEM_OIDS = (
    oids.SYS_DESCR,
    oids.SYS_OBJECT_ID,
    oids.SYS_UPTIME,
    oids.SYS_CONTACT,
    oids.SYS_NAME,
    oids.SYS_LOCATION,
    oids.DOT1D_BASE_BRIDGE_ADDRESS,
)


@dataclass(frozen=True)
class SwitchJob:
    """One switch to walk, with the inventory's uplink port names for it."""

    target: SnmpTarget
    inventory_uplinks: tuple[str, ...] = ()


async def read_system(client: SnmpClient, target: SnmpTarget) -> SystemInfo:
    values = await client.get(target, SYSTEM_OIDS)
    object_id = values.get(oids.SYS_OBJECT_ID)
    return SystemInfo(
        descr=text_from_value(values.get(oids.SYS_DESCR)),
        object_id=object_id if isinstance(object_id, str) else None,
        uptime_ticks=int_from_value(values.get(oids.SYS_UPTIME)),
        contact=text_from_value(values.get(oids.SYS_CONTACT)),
        name=text_from_value(values.get(oids.SYS_NAME)),
        location=text_from_value(values.get(oids.SYS_LOCATION)),
        bridge_address=mac_from_value(values.get(oids.DOT1D_BASE_BRIDGE_ADDRESS)),
    )


async def walk_switch(
    client: SnmpClient,
    target: SnmpTarget,
    *,
    inventory_uplinks: Iterable[str] = (),
    other_switch_macs: frozenset[str] = frozenset(),
    parallel: int = 4,
) -> SwitchReport:
    """Everything one switch tells; never raises for the switch's own failures."""
    started = time.monotonic()
    try:
        system = await read_system(client, target)
    except SnmpError as exc:
        return SwitchReport(target.label, False, None, error=exc.problem, seconds=time.monotonic() - started)
    ctx = SwitchContext(client, target, parallel=parallel)
    interfaces, port_map, (fdb_source, fdb_walks), arp, lldp_walks = await asyncio.gather(
        collect_interfaces(ctx), collect_port_map(ctx), walk_fdb(ctx), collect_arp(ctx), walk_lldp(ctx)
    )
    ifindexes = {i.ifindex for i in interfaces}
    fdb = parse_fdb(ctx, fdb_source, fdb_walks, port_map, ifindexes)
    lldp = parse_lldp(ctx, lldp_walks, interfaces, port_map)
    report = SwitchReport(
        device=target.label,
        reachable=True,
        system=system,
        interfaces=interfaces,
        fdb=fdb,
        fdb_source=fdb_source if fdb else None,
        bridge_ports=tuple(port_map.items()),
        arp=arp,
        lldp=lldp,
        mac_counts=mac_counts(fdb),
        skipped=ctx.notes.skipped(),
        problems=ctx.notes.problems(),
        seconds=time.monotonic() - started,
    )
    return with_uplinks(report, other_switch_macs, tuple(inventory_uplinks))


def with_uplinks(
    report: SwitchReport, other_switch_macs: frozenset[str], inventory_uplinks: tuple[str, ...]
) -> SwitchReport:
    """The report with ``uplinks`` decided (again) against the given other switches' MACs."""
    if not report.reachable:
        return report
    others = other_switch_macs - report.switch_macs()
    uplinks, unmatched = find_uplinks(
        report.interfaces, report.fdb, report.lldp, other_switch_macs=others, inventory_uplinks=inventory_uplinks
    )
    skipped = tuple(s for s in report.skipped if s.table != "uplinks")
    if unmatched:
        reason = "inventory uplink matches no interface"
        skipped += (Skip("uplinks", reason, len(unmatched), unmatched[0]),)
    return dataclasses.replace(report, uplinks=uplinks, skipped=skipped)


async def walk_switches(
    client: SnmpClient,
    jobs: Sequence[SwitchJob],
    *,
    limit: int = 64,
    deadline: float | None = 300.0,
    parallel: int = 2,
    on_done: Callable[[Outcome[SwitchReport]], None] | None = None,
) -> list[SwitchReport]:
    """Walk every switch, ``limit`` at a time; one report per job, in order, failures included."""

    async def one(job: SwitchJob) -> SwitchReport:
        return await walk_switch(client, job.target, parallel=parallel)

    outcomes = await run_bounded(
        jobs, one, label=lambda j: j.target.label, limit=limit, deadline=deadline, on_done=on_done
    )
    reports = [
        o.value if o.value is not None else SwitchReport(o.device, False, None, error=o.problem) for o in outcomes
    ]
    known = frozenset().union(*(r.switch_macs() | lldp_chassis_macs(r.lldp) for r in reports))
    return [with_uplinks(r, known, job.inventory_uplinks) for r, job in zip(reports, jobs, strict=True)]
