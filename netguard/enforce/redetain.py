"""Re-detaining a device that reappears on another port while it is isolated (NAV's rule).

An isolated device that someone re-cables to another port (or another switch)
is free again there. After a discovery, :func:`moved_while_isolated` pairs
every restricted isolation row with the places the device is seen now that
are not restricted for it; each becomes a plan with the *same method* as the
isolation it escaped (a shut port gets a shut port, a quarantined one the
quarantine VLAN), checked by every guard like any other eviction, and
journalled with a reason naming where it came from. The original entry stays
in force: its port is still down or quarantined.

A device that reappears where no switch port can hold it (seen only by an ARP
sweep, in an institution without a managed switch: a rogue carried to a
village clinic) is isolated there by ARP (``arp-isolate``), as ``evict
device`` would. A device isolated by ARP itself is not followed yet: its
isolation row names no place (switch and port are empty), so a move cannot
be told from a new address on the same segment.
"""

from __future__ import annotations

from dataclasses import dataclass

from netguard.discovery.current import DeviceRow, current_devices
from netguard.enforce.arp_plan import ARP_ISOLATE, arp_only
from netguard.inventory import Inventory
from netguard.store.isolation import IsolationRepository, IsolationState
from netguard.store.sightings import SightingRepository


@dataclass(frozen=True)
class Escape:
    """An isolated device seen at a place where it is not isolated."""

    isolated: IsolationState
    now: DeviceRow

    @property
    def method(self) -> str:
        if self.now.port is None:
            return ARP_ISOLATE
        return "quarantine-vlan" if self.isolated.status == "quarantined" else "port-shutdown"

    @property
    def reason(self) -> str:
        i, now = self.isolated, self.now
        if now.port is not None:
            where = f"on {now.switch} {now.port}"
        else:
            where = f"at {now.institution} ({', '.join(now.ips)})"
        return (
            f"re-detain: {i.mac} reappeared {where} while {i.status} "
            f"on {i.switch} {i.port} (journal entry {i.journal_id})"
        )


def moved_while_isolated(
    isolation: IsolationRepository, sightings: SightingRepository, inventory: Inventory
) -> list[Escape]:
    restricted = [s for s in isolation.restricted() if s.status in ("disabled", "quarantined")]
    if not restricted:
        return []
    rows = [
        r
        for r in current_devices(sightings, inventory)
        if (r.switch is not None and r.port is not None) or arp_only(inventory, r)
    ]
    escapes = []
    for state in restricted:
        # An ARP isolation's row has '' for switch and port, as a swept row's place is keyed here.
        held = {(s.switch, s.port) for s in isolation.for_mac(state.mac) if s.restricted}
        for row in rows:
            if row.mac == state.mac and (row.switch or "", row.port or "") not in held:
                escapes.append(Escape(state, row))
    # One plan per new place, however many isolations the device escaped.
    unique = {(e.now.mac, e.now.switch, e.now.port): e for e in escapes}
    return list(unique.values())
