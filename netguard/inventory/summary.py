"""Counts per tier and per township: what a county admin reads first.

Kept apart from rendering so that ``--json`` and the rich tables show the
same numbers, and so compliance reports can reuse them. ``addresses`` is the
total size of the subnets, a rough measure of how much a sweep must cover.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from netguard.inventory.inventory import Inventory
from netguard.inventory.model import Institution, Tier

NO_TOWNSHIP = "(county seat)"


@dataclass(frozen=True)
class SummaryRow:
    key: str
    institutions: int = 0
    subnets: int = 0
    addresses: int = 0
    switches: int = 0
    servers: int = 0
    services: int = 0
    devices: int = 0
    devices_with_ip: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _row(key: str, institutions: Iterable[Institution]) -> SummaryRow:
    counts = dict.fromkeys(
        ("institutions", "subnets", "addresses", "switches", "servers", "services", "devices", "devices_with_ip"), 0
    )
    for inst in institutions:
        counts["institutions"] += 1
        counts["subnets"] += len(inst.subnets)
        counts["addresses"] += sum(s.network.num_addresses for s in inst.subnets)
        counts["switches"] += len(inst.switches)
        counts["servers"] += len(inst.servers)
        counts["services"] += sum(len(s.services) for s in inst.servers)
        counts["devices"] += len(inst.devices)
        counts["devices_with_ip"] += sum(1 for d in inst.devices if d.ip is not None)
    return SummaryRow(key, **counts)


def by_tier(inventory: Inventory) -> list[SummaryRow]:
    """One row per tier, county first."""
    return [_row(tier.value, (i for i in inventory if i.tier is tier)) for tier in Tier]


def by_township(inventory: Inventory) -> list[SummaryRow]:
    """One row per township in file order; institutions without one are grouped last."""
    groups: dict[str, list[Institution]] = {}
    for inst in inventory:
        groups.setdefault(inst.township or NO_TOWNSHIP, []).append(inst)
    keys = sorted(groups, key=lambda k: k == NO_TOWNSHIP)
    return [_row(key, groups[key]) for key in keys]


def totals(inventory: Inventory) -> SummaryRow:
    return _row("total", inventory)
