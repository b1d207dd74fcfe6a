"""Which ports are uplinks or trunks, as Netdisco decides, and how many MACs each port holds.

A port is an uplink when any of these holds, and the report says which:

* ``lldp``: it has an LLDP neighbour (a switch, a router, a phone's switch:
  in every case not a port to evict a single terminal from);
* ``switch-mac``: it learned a MAC that belongs to another known switch
  (a bridge address or interface MAC from another switch's walk, or an LLDP
  chassis id seen anywhere);
* ``inventory``: the inventory's ``uplinks`` names it (ifName, ifDescr or the
  ifIndex as text; an inventory name that matches no port is reported).

Enforcement must treat every uplink as untouchable; when in doubt a port is
an uplink (PacketFence does nothing when it cannot tell).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from netguard.discovery.records import FdbEntry, Interface, LldpNeighbour, PortMacCount, Uplink


def names_port(wanted: str, ifindex: int, name: str | None, descr: str | None) -> bool:
    """Whether an inventory port name means this interface: its ifName or ifDescr (case and surrounding
    blanks aside), or its ifIndex as text. Discovery, the eviction guards and the link checks all read
    the inventory's ``uplinks`` this way."""
    key = wanted.strip().lower()
    return key in ((name or "").lower(), (descr or "").lower(), str(ifindex))


def find_uplinks(
    interfaces: tuple[Interface, ...],
    fdb: tuple[FdbEntry, ...],
    lldp: tuple[LldpNeighbour, ...],
    *,
    other_switch_macs: frozenset[str] = frozenset(),
    inventory_uplinks: Iterable[str] = (),
) -> tuple[tuple[Uplink, ...], tuple[str, ...]]:
    """The uplinks, and the inventory uplink names that matched no interface."""
    reasons: dict[int, list[str]] = {}

    def add(ifindex: int, reason: str) -> None:
        found = reasons.setdefault(ifindex, [])
        if reason not in found:
            found.append(reason)

    for neighbour in lldp:
        if neighbour.ifindex is not None:
            add(neighbour.ifindex, "lldp")
    for entry in fdb:
        if entry.ifindex is not None and entry.mac in other_switch_macs:
            add(entry.ifindex, f"switch-mac {entry.mac}")
    unmatched = []
    for name in inventory_uplinks:
        matches = [i.ifindex for i in interfaces if names_port(name, i.ifindex, i.name, i.descr)]
        if not matches:
            unmatched.append(name)
        for ifindex in matches:
            add(ifindex, "inventory")
    uplinks = tuple(Uplink(ifindex, tuple(r)) for ifindex, r in sorted(reasons.items()))
    return uplinks, tuple(unmatched)


def mac_counts(fdb: tuple[FdbEntry, ...]) -> tuple[PortMacCount, ...]:
    """Distinct MACs learned per ifIndex (rows without an ifIndex are not counted here)."""
    seen: dict[int, set[str]] = {}
    for entry in fdb:
        if entry.ifindex is not None:
            seen.setdefault(entry.ifindex, set()).add(entry.mac)
    counts = Counter({ifindex: len(macs) for ifindex, macs in seen.items()})
    return tuple(PortMacCount(ifindex, n) for ifindex, n in sorted(counts.items()))


def lldp_chassis_macs(neighbours: Iterable[LldpNeighbour]) -> frozenset[str]:
    """Chassis ids that are MACs: each is a switch (or at least an LLDP speaker)."""
    return frozenset(n.chassis_id for n in neighbours if n.chassis_id_subtype == 4 and n.chassis_id)
