"""``discover run``: walk every managed switch of a selection, reconcile, and say what changed.

1. *Collect*: the runner (:mod:`netguard.runner`) runs :class:`WalkSwitch` on
   every inventory switch, bounded and with a deadline each: the switch's
   credential references are resolved through the configuration's resolver,
   then the switch is walked. A reference that does not resolve, an agent that
   does not answer or a walk past its deadline is a failed switch with its
   reason; the others go on. Processors (a progress bar) plug into the run.
2. *Uplinks* are decided after every walk, since "learns another switch's
   MAC" needs all switches' own MACs.
3. *Sightings*: per switch, every forwarding-table entry on a port that is not
   an uplink is an ``fdb`` sighting (MAC, switch, port name, VLAN) of the
   switch's institution; every ARP entry is an ``arp-table`` sighting (MAC, IP)
   of the institution whose subnet holds the IP. IPs are kept on their own
   sightings rather than on the FDB ones, so an ARP entry timing out never
   looks like a device moving.
4. *Reconcile*: each switch's two collections reconcile into the state store
   under the scopes ``fdb:SWITCH`` and ``arp-table:SWITCH``, with
   ``complete=report.complete``: a partial walk records what it saw but never
   expires anything (NAV's rule, see :mod:`netguard.store.sightings`).
5. *Moves across switches*: a device new on one switch whose FDB sighting
   on another switch went unseen in this run is one move, not a new device
   and a gone one (:meth:`~netguard.store.sightings.SightingRepository.join_moves`).
6. *Changes*: FDB sightings that are new, moved or gone become ``device``
   events, each with its verdict (:mod:`netguard.discovery.changes`, with
   the device policy's rules when given: the rule that decided is the event's
   ``rule.id``); a device in conflict gets a ``conflict`` event when its
   sighting is new or moved (first seen in that state), not on every run;
   ``seen`` events for kept sightings only when asked for.

A move is found within one switch (another port, another VLAN) by the
switch's own reconciliation, and across switches by step 5.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from netguard.discovery.authorise import Verdict, infrastructure_macs
from netguard.discovery.changes import DeviceChange, Judge, address_maps, reconcile_changes
from netguard.discovery.records import SwitchReport
from netguard.discovery.switch import walk_switch, with_uplinks
from netguard.discovery.uplinks import lldp_chassis_macs
from netguard.events import Event, make_event
from netguard.inventory import Inventory, Switch, mac_vendor
from netguard.runner import Processor, Runner
from netguard.secrets import SecretResolver
from netguard.snmp import target_for_switch
from netguard.store.sightings import ReconcileResult, Sighting, SightingRepository
from rules.engine import RuleSet

if TYPE_CHECKING:  # the session is opened below, where pysnmp is imported: importing this module loads no pysnmp API
    from netguard.snmp.client import SnmpClient

FDB_SCOPE = "fdb:"
ARP_SCOPE = "arp-table:"


@dataclass(frozen=True)
class SwitchOutcome:
    """One switch of the run: its report when it was walked, else why it was not."""

    switch: Switch
    report: SwitchReport | None
    problem: str | None = None

    @property
    def complete(self) -> bool:
        return self.report is not None and self.report.complete

    @property
    def reason(self) -> str | None:
        """Why the switch failed or is partial, in one line; None when complete."""
        if self.problem is not None:
            return self.problem
        if self.report is None or self.report.complete:
            return None
        if self.report.error is not None:
            return f"{self.report.error.kind.value}: {self.report.error.message}"
        return "; ".join(f"{p.table}: {p.problem.kind.value}: {p.problem.message}" for p in self.report.problems)


@dataclass(frozen=True)
class DiscoveryRun:
    """One run: every switch's outcome (failed and partial ones included), the changes, the sightings stored."""

    switches: tuple[SwitchOutcome, ...]
    changes: tuple[DeviceChange, ...]
    sightings: int
    seconds: float

    @property
    def failed(self) -> tuple[SwitchOutcome, ...]:
        return tuple(o for o in self.switches if not o.complete)


def vendor_of(mac: str) -> str:
    return mac_vendor(mac) or "unknown"


@dataclass(frozen=True)
class WalkContext:
    """What the walk task needs: one SNMP client for the run, the resolver, per-request timing."""

    client: SnmpClient
    resolver: SecretResolver
    timeout: float = 2.0
    retries: int = 1


class WalkSwitch:
    """The runner task: resolve the switch's credentials now, then walk it (uplinks decided later)."""

    name = "snmp-walk"

    def handles(self, target: Switch) -> bool:
        return True

    async def run(self, target: Switch, context: WalkContext) -> SwitchReport:
        snmp = target_for_switch(target, context.resolver, timeout=context.timeout, retries=context.retries)
        return await walk_switch(context.client, snmp, parallel=2)


async def collect(
    switches: Sequence[Switch],
    resolver: SecretResolver,
    *,
    timeout: float = 2.0,
    retries: int = 1,
    concurrency: int = 64,
    deadline: float = 300.0,
    processors: Sequence[Processor] = (),
) -> list[SwitchOutcome]:
    """Walk every switch on the runner, then decide uplinks against all switches' own MACs."""
    from netguard.snmp.client import SnmpClient

    async with SnmpClient() as client:
        context = WalkContext(client, resolver, timeout, retries)
        run = await Runner(concurrency=concurrency, timeout=deadline).run(
            switches, [WalkSwitch()], context, processors=processors, key=lambda s: s.id
        )
    reports = [(r.target, r.value if r.ok else None, r.reason) for r in run.results]
    known = frozenset().union(*(rep.switch_macs() | lldp_chassis_macs(rep.lldp) for _, rep, _ in reports if rep))
    return [
        SwitchOutcome(sw, with_uplinks(rep, known, sw.uplinks), None)
        if rep is not None
        else SwitchOutcome(sw, None, reason or "not walked")
        for sw, rep, reason in reports
    ]


def _port_name(names: dict[int, str], ifindex: int | None, bridge_port: int) -> str:
    # A bridge port the port map could not tie to an interface is still a place.
    return names.get(ifindex, f"bridge-port {bridge_port}") if ifindex is not None else f"bridge-port {bridge_port}"


def switch_sightings(
    inventory: Inventory, switch: Switch, report: SwitchReport
) -> tuple[list[Sighting], list[Sighting]]:
    """(fdb, arp-table) sightings of one walked switch; FDB rows on uplinks are left out."""
    names = {i.ifindex: i.name or i.descr or str(i.ifindex) for i in report.interfaces}
    uplinks = {u.ifindex for u in report.uplinks}
    fdb = [
        Sighting(e.mac, "fdb", None, switch.institution, switch.id, _port_name(names, e.ifindex, e.bridge_port), e.vlan)
        for e in report.fdb
        if e.ifindex not in uplinks
    ]
    arp = []
    for a in report.arp:
        inst = inventory.root.by_ip(a.ip)
        arp.append(Sighting(a.mac, "arp-table", a.ip, inst.id if inst else switch.institution, switch.id))
    return fdb, arp


def reconcile(
    repo: SightingRepository,
    inventory: Inventory,
    outcomes: Sequence[SwitchOutcome],
    *,
    seen_events: bool = False,
    now: dt.datetime | None = None,
    policy: RuleSet | None = None,
) -> tuple[list[DeviceChange], int]:
    """Reconcile every walked switch; the device changes and the number of sightings stored."""
    switch_macs: set[str] = set()
    per_switch: list[tuple[SwitchOutcome, list[Sighting], list[Sighting]]] = []
    for o in outcomes:
        if o.report is None or not o.report.reachable:
            continue
        switch_macs |= o.report.switch_macs() | lldp_chassis_macs(o.report.lldp)
        fdb, arp = switch_sightings(inventory, o.switch, o.report)
        per_switch.append((o, fdb, arp))
    ips, users = address_maps(s for _, _, arp in per_switch for s in arp)
    judge = Judge(inventory, ips, users, infrastructure_macs(inventory, switch_macs), policy)

    results: list[ReconcileResult] = []
    stored = 0
    for o, fdb, arp in per_switch:
        complete = o.complete
        repo.reconcile(ARP_SCOPE + o.switch.id, arp, complete, now=now)
        results.append(repo.reconcile(FDB_SCOPE + o.switch.id, fdb, complete, now=now))
        stored += len(fdb) + len(arp)
    across = repo.join_moves(results, now=now)
    joined = {m.after.id for m in across} | {m.before.id for m in across}
    changes: list[DeviceChange] = []
    for result in results:
        changes += reconcile_changes(judge, result, seen_events=seen_events, joined=joined)
    for m in across:
        changes += judge.change("moved", m.after, m.before)
    return changes, stored


def verdict_fields(verdict: Verdict) -> dict[str, object]:
    """The event fields of a verdict: status, the rules that matched and the one that decided."""
    rule = verdict.rule
    return {
        "netguard.device.status": verdict.status.value,
        "netguard.device.rules": list(verdict.matched) or None,
        "rule.id": rule.id if rule else None,
        "rule.name": rule.title if rule else None,
        "rule.ruleset": rule.pack if rule else None,
        "rule.reference": rule.references[0] if rule and rule.references else None,
        "tags": list(rule.tags) if rule and rule.tags else None,
    }


def device_events(inventory: Inventory, changes: Sequence[DeviceChange], at: dt.datetime) -> list[Event]:
    events = []
    for c in changes:
        r = c.record
        inst = inventory.root.by_id(r.institution_id) if r.institution_id else None
        device = c.verdict.device
        place = f"{r.switch} {r.port}" + (f" VLAN {r.vlan}" if r.vlan is not None else "")
        what = {
            "new": f"new device {r.mac} at {place}",
            "moved": f"{r.mac} moved from {c.previous.switch if c.previous else '?'} "
            f"{c.previous.port if c.previous else '?'} to {place}",
            "gone": f"{r.mac} gone from {place}",
            "seen": f"{r.mac} seen at {place}",
            "conflict": f"{r.mac} at {place}: {c.verdict.reason}",
        }[c.action]
        fields: dict[str, object] = {
            "event.action": c.action,
            "organization.id": r.institution_id,
            "organization.name": inst.name if inst else None,
            "host.mac": r.mac,
            "host.ip": c.ips[0] if c.ips else None,
            "observer.name": r.switch,
            "observer.ingress.interface.name": r.port,
            "network.vlan.id": str(r.vlan) if r.vlan is not None else None,
            "netguard.device.vendor": vendor_of(r.mac),
            "netguard.device.kind": device.kind if device else None,
            "netguard.device.authorised": c.verdict.authorised,
            **verdict_fields(c.verdict),
            "netguard.device.seen_by": ["fdb", "arp-table"] if c.ips else ["fdb"],
            "netguard.device.previous_port": (
                f"{c.previous.switch} {c.previous.port}" if c.previous is not None else None
            ),
            "netguard.device.conflicting_mac": c.verdict.conflicting_mac if c.action == "conflict" else None,
            "message": f"{what} ({c.verdict.status.value})",
        }
        events.append(make_event("device", {k: v for k, v in fields.items() if v is not None}, timestamp=at))
    return events


def discover(
    inventory: Inventory,
    switches: Sequence[Switch],
    resolver: SecretResolver,
    repo: SightingRepository,
    *,
    timeout: float = 2.0,
    retries: int = 1,
    seen_events: bool = False,
    processors: Sequence[Processor] = (),
    policy: RuleSet | None = None,
) -> DiscoveryRun:
    """Steps 1-6 above; the events (:func:`device_events`) are the caller's to write."""
    started = time.monotonic()
    outcomes = asyncio.run(collect(switches, resolver, timeout=timeout, retries=retries, processors=processors))
    changes, stored = reconcile(repo, inventory, outcomes, seen_events=seen_events, policy=policy)
    return DiscoveryRun(tuple(outcomes), tuple(changes), stored, time.monotonic() - started)
