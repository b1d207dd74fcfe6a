"""``discover run``'s ARP sweeps: the institutions no managed switch covers, swept and reconciled.

1. *Plan*: every institution of the selection with no switch in the inventory
   is swept from the interface the ``discovery`` section names for it
   (:mod:`netguard.discovery.settings`), over its IPv4 subnets. One with no
   interface configured, or no IPv4 subnet, is listed as *uncovered* with the
   reason, never skipped in silence; so is an interface configured for an
   institution the inventory does not have.
2. *Sweep*: one institution after the other (they usually share the
   interface, and two sweeps at once would only halve each one's rate). A
   sweep that cannot start (no such interface, no CAP_NET_RAW) is a failed
   institution with its reason; the others go on.
3. *Reconcile*: each sweep's replies are ``arp`` sightings (MAC, IP, the
   institution whose subnet holds the IP) under the scope
   ``arp-sweep:INSTITUTION``, complete unless the run deadline cut the sweep
   short, so a sweep expires devices exactly as a complete switch walk does
   (after ``state.grace_runs`` misses). New, moved (same MAC, another IP) and
   gone sightings become ``device`` events, with the verdicts of
   :mod:`netguard.discovery.authorise`, as for the switches.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from netguard.arpsweep import SweepError, SweepOptions, SweepResult, sweep
from netguard.discovery.authorise import infrastructure_macs
from netguard.discovery.changes import DeviceChange, Judge, address_maps, reconcile_changes
from netguard.discovery.run import vendor_of, verdict_fields
from netguard.discovery.settings import DiscoverySettings
from netguard.events import Event, make_event
from netguard.inventory import Institution, Inventory
from netguard.store.sightings import Sighting, SightingRepository
from rules.engine import RuleSet

SCOPE = "arp-sweep:"

Sweeper = Callable[[str, Sequence[ipaddress.IPv4Network], SweepOptions], SweepResult]


@dataclass(frozen=True)
class SweepJob:
    institution: Institution
    interface: str
    networks: tuple[ipaddress.IPv4Network, ...]


@dataclass(frozen=True)
class Uncovered:
    """An institution no switch and no sweep covers, and why."""

    institution: str
    reason: str


@dataclass(frozen=True)
class SweepPlan:
    jobs: tuple[SweepJob, ...]
    uncovered: tuple[Uncovered, ...]


@dataclass(frozen=True)
class SweepOutcome:
    """One institution's sweep: its result, or why it did not run; the device changes it made."""

    job: SweepJob
    result: SweepResult | None
    problem: str | None = None
    changes: tuple[DeviceChange, ...] = ()

    @property
    def complete(self) -> bool:
        return self.result is not None and self.result.complete

    @property
    def reason(self) -> str | None:
        if self.problem is not None:
            return self.problem
        return self.result.stopped if self.result is not None else None


@dataclass(frozen=True)
class SweepRun:
    outcomes: tuple[SweepOutcome, ...]
    uncovered: tuple[Uncovered, ...]
    sightings: int
    seconds: float

    @property
    def failed(self) -> tuple[SweepOutcome, ...]:
        return tuple(o for o in self.outcomes if not o.complete)

    @property
    def changes(self) -> tuple[DeviceChange, ...]:
        return tuple(c for o in self.outcomes for c in o.changes)


def plan_sweeps(selection: Inventory, settings: DiscoverySettings) -> SweepPlan:
    """Step 1: a job per switchless institution of ``selection`` that has an interface and IPv4 subnets."""
    jobs, uncovered = [], []
    for inst in selection.institutions:
        if inst.switches:
            continue
        interface = settings.interface_for(inst.id)
        networks = tuple(n for n in inst.networks if isinstance(n, ipaddress.IPv4Network))
        if interface is None:
            uncovered.append(Uncovered(inst.id, "no managed switch, and no sweep interface configured for it"))
        elif not networks:
            uncovered.append(Uncovered(inst.id, "no managed switch, and no IPv4 subnet to sweep"))
        else:
            jobs.append(SweepJob(inst, interface, networks))
    for inst_id, _ in settings.sweep_interfaces:
        if selection.root.by_id(inst_id) is None:
            uncovered.append(Uncovered(inst_id, "discovery.sweep_interfaces names an institution not in the inventory"))
    return SweepPlan(tuple(jobs), tuple(uncovered))


def sweep_and_reconcile(
    inventory: Inventory,
    plan: SweepPlan,
    options: SweepOptions,
    repo: SightingRepository,
    *,
    seen_events: bool = False,
    policy: RuleSet | None = None,
    now: dt.datetime | None = None,
    sweeper: Sweeper = sweep,
    on_done: Callable[[SweepOutcome], None] | None = None,
) -> SweepRun:
    """Steps 2 and 3 for every job of ``plan``; ``on_done`` hears of each institution swept (progress)."""
    started = time.monotonic()
    outcomes: list[SweepOutcome] = []
    stored = 0
    for job in plan.jobs:
        try:
            result = sweeper(job.interface, job.networks, options)
        except SweepError as exc:
            outcome = SweepOutcome(job, None, str(exc))
        else:
            changes, count = _reconcile(repo, inventory, job, result, seen_events, policy, now)
            stored += count
            outcome = SweepOutcome(job, result, None, tuple(changes))
        outcomes.append(outcome)
        if on_done is not None:
            on_done(outcome)
    return SweepRun(tuple(outcomes), plan.uncovered, stored, time.monotonic() - started)


def sightings_of(inventory: Inventory, job: SweepJob, result: SweepResult) -> list[Sighting]:
    """A sweep's replies as ``arp`` sightings, each of the institution whose subnet holds its IP."""
    out = []
    for reply in result.replies:
        owner = inventory.root.by_ip(reply.ip)
        out.append(Sighting(reply.mac, "arp", reply.ip, owner.id if owner else job.institution.id))
    return out


def _reconcile(
    repo: SightingRepository,
    inventory: Inventory,
    job: SweepJob,
    result: SweepResult,
    seen_events: bool,
    policy: RuleSet | None,
    now: dt.datetime | None,
) -> tuple[list[DeviceChange], int]:
    sightings = sightings_of(inventory, job, result)
    ips, users = address_maps(sightings)
    judge = Judge(inventory, ips, users, infrastructure_macs(inventory), policy)
    outcome = repo.reconcile(SCOPE + job.institution.id, sightings, result.complete, now=now)
    return reconcile_changes(judge, outcome, seen_events=seen_events), len(sightings)


def sweep_events(inventory: Inventory, run: SweepRun, at: dt.datetime) -> list[Event]:
    """``device`` events for the sweeps' changes: the collector and its interface are the observer."""
    collector = socket.gethostname()
    events = []
    for outcome in run.outcomes:
        iface = outcome.job.interface
        for c in outcome.changes:
            r = c.record
            inst = inventory.root.by_id(r.institution_id) if r.institution_id else None
            where = f"{r.ip} on {r.institution_id}'s network"
            what = {
                "new": f"new device {r.mac} at {where}",
                "moved": f"{r.mac} moved from {c.previous.ip if c.previous else '?'} to {r.ip}",
                "gone": f"{r.mac} gone from {where}",
                "seen": f"{r.mac} seen at {where}",
                "conflict": f"{r.mac} at {where}: {c.verdict.reason}",
            }[c.action]
            device = c.verdict.device
            fields: dict[str, object] = {
                "event.action": c.action,
                "organization.id": r.institution_id,
                "organization.name": inst.name if inst else None,
                "host.mac": r.mac,
                "host.ip": r.ip,
                "observer.name": collector,
                "observer.ingress.interface.name": iface,
                "netguard.device.vendor": vendor_of(r.mac),
                "netguard.device.kind": device.kind if device else None,
                "netguard.device.authorised": c.verdict.authorised,
                **verdict_fields(c.verdict),
                "netguard.device.seen_by": ["arp"],
                "netguard.device.conflicting_mac": c.verdict.conflicting_mac if c.action == "conflict" else None,
                "message": f"{what} (ARP sweep from {iface}; {c.verdict.status.value})",
            }
            events.append(make_event("device", {k: v for k, v in fields.items() if v is not None}, timestamp=at))
    return events
