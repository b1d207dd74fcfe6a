"""From reconciled sightings to device changes, each with its verdict: the same for switch walks and ARP sweeps.

A collection's ARP evidence (a switch's ARP table, a sweep's replies) gives
two maps: each MAC's IPs, and each IP's MACs (two MACs on one IP is a
conflict). A :class:`Judge` holds them with the infrastructure MACs and the
device policy, and turns each reconciled sighting into a
:class:`DeviceChange` with its verdict (:func:`netguard.discovery.authorise.classify`):
a device is judged by the IPs this collection saw it use, or, when it saw none
(a device gone from a sweep), by the IP its sighting had. A new or moved
device in conflict also gets a ``conflict`` change (first seen in that
state), not one on every run.

:func:`reconcile_changes` walks one :class:`~netguard.store.sightings.ReconcileResult`
in a fixed order: new, moved, gone, then (only when asked) ``seen`` for the
kept ones; sightings a cross-switch move has joined are left to that move.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Set
from dataclasses import dataclass
from typing import Protocol

from netguard.discovery.authorise import Verdict, classify
from netguard.inventory import Inventory
from netguard.store.sightings import ReconcileResult, SightingRecord
from rules.engine import RuleSet


class Addressed(Protocol):
    @property
    def mac(self) -> str: ...

    @property
    def ip(self) -> str | None: ...


@dataclass(frozen=True)
class DeviceChange:
    """A device event to write: ``action`` new, moved, conflict, gone or seen."""

    action: str
    record: SightingRecord
    verdict: Verdict
    ips: tuple[str, ...]
    previous: SightingRecord | None = None


def device_changes(
    action: str, record: SightingRecord, verdict: Verdict, ips: tuple[str, ...], previous: SightingRecord | None
) -> list[DeviceChange]:
    """The change, and a ``conflict`` beside it when a new or moved device's IP is another MAC's."""
    out = [DeviceChange(action, record, verdict, ips, previous)]
    if action in ("new", "moved") and verdict.status == "conflict":
        out.append(DeviceChange("conflict", record, verdict, ips, previous))
    return out


def address_maps(seen: Iterable[Addressed]) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(MAC → the IPs it was seen with, IP → the MACs seen using it) from sightings with an IP."""
    ips: dict[str, set[str]] = defaultdict(set)
    users: dict[str, set[str]] = defaultdict(set)
    for s in seen:
        if s.ip:
            ips[s.mac].add(s.ip)
            users[s.ip].add(s.mac)
    return ips, users


@dataclass(frozen=True)
class Judge:
    """Verdicts for one collection's sightings (module docstring)."""

    inventory: Inventory
    ips: dict[str, set[str]]
    users: dict[str, set[str]]
    infrastructure: frozenset[str]
    policy: RuleSet | None = None

    def change(self, action: str, record: SightingRecord, previous: SightingRecord | None = None) -> list[DeviceChange]:
        seen = self.ips.get(record.mac) or ({record.ip} if record.ip else set())
        verdict = classify(
            self.inventory,
            record.mac,
            seen,
            record.institution_id,
            infrastructure=self.infrastructure,
            ip_users=self.users,
            policy=self.policy,
            switch=record.switch,
            port=record.port,
            vlan=record.vlan,
        )
        return device_changes(action, record, verdict, tuple(sorted(seen)), previous)


def reconcile_changes(
    judge: Judge, result: ReconcileResult, *, seen_events: bool, joined: Set[int] = frozenset()
) -> list[DeviceChange]:
    """The changes of one reconciliation, in the module docstring's order; ``joined``: ids left to a move."""
    changes: list[DeviceChange] = []
    for r in result.new:
        changes += judge.change("new", r) if r.id not in joined else []
    for m in result.moved:
        changes += judge.change("moved", m.after, m.before)
    for r in result.gone:
        changes += judge.change("gone", r) if r.id not in joined else []
    if seen_events:
        for r in result.kept:
            changes += judge.change("seen", r)
    return changes
