"""Re-detaining a device that reappears on another port while it is isolated (NAV's rule).

An isolated device that someone re-cables to another port (or another switch)
is free again there. After a discovery, :func:`moved_while_isolated` pairs
every restricted isolation row with the places the device is seen now that
are not restricted for it; each becomes a plan with the *same method* as the
isolation it escaped (a shut port gets a shut port, a quarantined one the
quarantine VLAN), checked by every guard like any other eviction, and
journalled with a reason naming where it came from. The original entry stays
in force: its port is still down or quarantined.
"""

from __future__ import annotations

from dataclasses import dataclass

from netguard.discovery.current import DeviceRow, current_devices
from netguard.enforce.plan import Method
from netguard.inventory import Inventory
from netguard.store.isolation import IsolationRepository, IsolationState
from netguard.store.sightings import SightingRepository


@dataclass(frozen=True)
class Escape:
    """An isolated device seen at a place where it is not isolated."""

    isolated: IsolationState
    now: DeviceRow

    @property
    def method(self) -> Method:
        return "quarantine-vlan" if self.isolated.status == "quarantined" else "port-shutdown"

    @property
    def reason(self) -> str:
        i = self.isolated
        return (
            f"re-detain: {i.mac} reappeared on {self.now.switch} {self.now.port} while {i.status} "
            f"on {i.switch} {i.port} (journal entry {i.journal_id})"
        )


def moved_while_isolated(
    isolation: IsolationRepository, sightings: SightingRepository, inventory: Inventory
) -> list[Escape]:
    restricted = [s for s in isolation.restricted() if s.status in ("disabled", "quarantined")]
    if not restricted:
        return []
    rows = [r for r in current_devices(sightings, inventory) if r.switch is not None and r.port is not None]
    escapes = []
    for state in restricted:
        held = {(s.switch, s.port) for s in isolation.for_mac(state.mac) if s.restricted}
        for row in rows:
            if row.mac == state.mac and (row.switch, row.port) not in held:
                escapes.append(Escape(state, row))
    # One plan per new place, however many isolations the device escaped.
    unique = {(e.now.mac, e.now.switch, e.now.port): e for e in escapes}
    return list(unique.values())
