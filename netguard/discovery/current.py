"""The devices present now: the state store's open sightings, one row per device and place.

A device's place is its open ``fdb`` sighting (switch, port, VLAN); its IPs
are those of its open ``arp-table`` and ``arp`` (ARP sweep) sightings,
wherever they were read. A MAC only an ARP sweep or a router's ARP table
knows (a host behind an unmanaged segment, another switch's address on the
transit network) is still a device: one row with the switch whose ARP table
holds it (none for a sweep) and no port. Each row carries its verdict from
:func:`~netguard.discovery.authorise.classify` against the *current*
inventory and device policy, so adding a device to the inventory (or a rule
to the policy) changes its status without a new discovery.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from netguard.discovery.authorise import Verdict, classify, infrastructure_macs
from netguard.discovery.changes import address_maps
from netguard.discovery.run import vendor_of
from netguard.inventory import Inventory
from netguard.store.sightings import SightingRecord, SightingRepository
from rules.engine import RuleSet


@dataclass(frozen=True)
class DeviceRow:
    mac: str
    ips: tuple[str, ...]
    vendor: str
    institution: str | None
    switch: str | None
    port: str | None
    vlan: int | None
    first_seen: dt.datetime
    last_seen: dt.datetime
    how: tuple[str, ...]
    verdict: Verdict

    def as_dict(self) -> dict[str, object]:
        return {
            "mac": self.mac,
            "ips": list(self.ips),
            "vendor": self.vendor,
            "institution": self.institution,
            "switch": self.switch,
            "port": self.port,
            "vlan": self.vlan,
            "first_seen": self.first_seen.isoformat(),
            "last_seen": self.last_seen.isoformat(),
            "how": list(self.how),
            "status": self.verdict.status.value,
            "authorised": self.verdict.authorised,
            "reason": self.verdict.reason,
            "rule": self.verdict.rule_id,
            "rules": list(self.verdict.matched),
        }


def current_devices(repo: SightingRepository, inventory: Inventory, policy: RuleSet | None = None) -> list[DeviceRow]:
    """Every device present now, ordered by institution, switch, port, MAC; ``policy`` the device rules."""
    open_rows = repo.open_sightings()
    arp: dict[str, list[SightingRecord]] = defaultdict(list)
    fdb: list[SightingRecord] = []
    for r in open_rows:
        if r.how in ("arp-table", "arp"):
            arp[r.mac].append(r)
        elif r.how == "fdb":
            fdb.append(r)
    infrastructure = infrastructure_macs(inventory)
    _, users = address_maps(a for records in arp.values() for a in records)
    rows: list[DeviceRow] = []

    def row(mac: str, place: SightingRecord, others: list[SightingRecord]) -> DeviceRow:
        ips = tuple(sorted({a.ip for a in arp.get(mac, []) if a.ip}))
        every = [place, *others]
        how = tuple(sorted({r.how for r in every}))
        verdict = classify(
            inventory,
            mac,
            ips,
            place.institution_id,
            infrastructure=infrastructure,
            ip_users=users,
            policy=policy,
            switch=place.switch,
            port=place.port,
            vlan=place.vlan,
        )
        return DeviceRow(
            mac,
            ips,
            vendor_of(mac),
            place.institution_id,
            place.switch,
            place.port,
            place.vlan,
            min(r.first_seen for r in every),
            max(r.last_seen for r in every),
            how,
            verdict,
        )

    placed = set()
    for r in fdb:
        placed.add(r.mac)
        rows.append(row(r.mac, r, arp.get(r.mac, [])))
    for mac, records in arp.items():
        if mac not in placed:
            rows.append(row(mac, records[0], records[1:]))
    return sorted(rows, key=lambda d: (d.institution or "", d.switch or "", d.port or "", d.mac))
