"""The two port actions over SNMP, each SET read back (Netdisco's rule).

* **port-shutdown**: ``ifAdminStatus.<ifIndex>`` = 2 (down); undone with 1 (up).
* **quarantine-vlan**: ``dot1qPvid.<bridgePort>`` = the quarantine VLAN; undone
  with the original PVID, which the journal entry's state before remembers
  (NAV does the same).

A SET the agent refuses or does not answer, or one that reads back as anything
but the value written, raises :class:`~netguard.enforce.guards.EnforcementFailed`
with one line naming the switch and port (never a community).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from netguard.discovery import oids
from netguard.enforce.guards import EnforcementFailed
from netguard.snmp import SnmpError, SnmpTarget
from netguard.snmp.values import Oid

if TYPE_CHECKING:  # types only: importing this module loads no pysnmp API
    from netguard.snmp.client import SnmpClient

ADMIN_UP = 1
ADMIN_DOWN = 2


@dataclass(frozen=True)
class PortRef:
    """One switch port as SNMP names it: ``ifindex`` for IF-MIB, ``bridge_port`` for Q-BRIDGE."""

    switch: str
    port: str
    ifindex: int
    bridge_port: int | None

    def admin_oid(self) -> Oid:
        return (*oids.IF_ADMIN_STATUS, self.ifindex)

    def pvid_oid(self) -> Oid:
        if self.bridge_port is None:
            raise EnforcementFailed(f"{self.switch} {self.port} has no bridge port, so its VLAN cannot be set")
        return (*oids.DOT1Q_PVID, self.bridge_port)


@dataclass(frozen=True)
class PortReading:
    """What the switch says about the port now (None: the agent has no such value)."""

    admin_status: int | None
    pvid: int | None

    def as_dict(self) -> dict[str, int | None]:
        return {"admin_status": self.admin_status, "pvid": self.pvid}


async def read_port(client: SnmpClient, target: SnmpTarget, ref: PortRef) -> PortReading:
    wanted = [ref.admin_oid()] + ([ref.pvid_oid()] if ref.bridge_port is not None else [])
    try:
        values = await client.get(target, wanted)
    except SnmpError as exc:
        raise EnforcementFailed(f"reading {ref.switch} {ref.port}: {exc.problem.message}") from None
    admin = values.get(ref.admin_oid())
    pvid = values.get(ref.pvid_oid()) if ref.bridge_port is not None else None
    return PortReading(admin if isinstance(admin, int) else None, pvid if isinstance(pvid, int) else None)


async def set_verified(client: SnmpClient, target: SnmpTarget, ref: PortRef, oid: Oid, value: int, what: str) -> None:
    """SET and read back; raise :class:`EnforcementFailed` unless the switch now holds ``value``."""
    try:
        result = await client.set(target, oid, value)
    except SnmpError as exc:
        raise EnforcementFailed(f"{what} on {ref.switch} {ref.port}: {exc.problem.message}") from None
    if not result.verified:
        raise EnforcementFailed(
            f"{what} on {ref.switch} {ref.port}: the switch reads back {result.after!r}, not {value} (not applied)"
        )


async def shut_down(client: SnmpClient, target: SnmpTarget, ref: PortRef) -> None:
    await set_verified(client, target, ref, ref.admin_oid(), ADMIN_DOWN, "ifAdminStatus down")


async def bring_up(client: SnmpClient, target: SnmpTarget, ref: PortRef) -> None:
    await set_verified(client, target, ref, ref.admin_oid(), ADMIN_UP, "ifAdminStatus up")


async def set_pvid(client: SnmpClient, target: SnmpTarget, ref: PortRef, vlan: int) -> None:
    await set_verified(client, target, ref, ref.pvid_oid(), vlan, f"PVID {vlan}")
