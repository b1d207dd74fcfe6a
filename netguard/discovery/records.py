"""Typed, frozen records of what a switch told us, and of what was skipped.

A record is built only from values that parsed; whatever did not parse is not
dropped silently but counted in a :class:`Skip` (table, reason, count and one
example index), and a table whose walk failed or stopped early leaves a
:class:`TableProblem`. A :class:`SwitchReport` is *complete* only when every
table it walked finished: reconciliation must not expire sightings on the
strength of a partial walk (NAV's rule).
"""

from __future__ import annotations

from dataclasses import dataclass

from netguard.snmp.problems import SnmpProblem


@dataclass(frozen=True)
class SystemInfo:
    descr: str | None = None
    object_id: str | None = None
    uptime_ticks: int | None = None
    contact: str | None = None
    name: str | None = None
    location: str | None = None
    bridge_address: str | None = None


@dataclass(frozen=True)
class Interface:
    ifindex: int
    name: str | None
    descr: str | None
    alias: str | None
    type: int | None
    admin_status: str | None
    oper_status: str | None
    speed_mbps: int | None
    mac: str | None


@dataclass(frozen=True)
class FdbEntry:
    """One forwarding-table row: ``mac`` learned on ``bridge_port`` (``ifindex`` when it maps)."""

    mac: str
    bridge_port: int
    ifindex: int | None
    vlan: int | None
    status: str | None
    source: str  # "q-bridge" or "bridge"


@dataclass(frozen=True)
class ArpEntry:
    ip: str
    mac: str
    ifindex: int
    source: str  # "ipNetToMedia" or "ipNetToPhysical" (or both, comma-separated)


@dataclass(frozen=True)
class LldpNeighbour:
    local_port: int
    ifindex: int | None
    chassis_id: str | None
    chassis_id_subtype: int | None
    port_id: str | None
    port_id_subtype: int | None
    port_descr: str | None
    sys_name: str | None
    sys_descr: str | None


@dataclass(frozen=True)
class Uplink:
    ifindex: int
    reasons: tuple[str, ...]  # "lldp", "switch-mac <mac>", "inventory"


@dataclass(frozen=True)
class PortMacCount:
    ifindex: int
    macs: int


@dataclass(frozen=True)
class Skip:
    """Rows of ``table`` left out for ``reason``; ``example`` is one index (OID suffix) among them."""

    table: str
    reason: str
    count: int
    example: str


@dataclass(frozen=True)
class TableProblem:
    """A table whose walk failed (``rows_kept`` 0) or stopped part way (``rows_kept`` > 0)."""

    table: str
    problem: SnmpProblem
    rows_kept: int


@dataclass(frozen=True)
class SwitchReport:
    """Everything one switch walk found. ``reachable`` is False when not even the system group answered."""

    device: str
    reachable: bool
    system: SystemInfo | None
    interfaces: tuple[Interface, ...] = ()
    fdb: tuple[FdbEntry, ...] = ()
    fdb_source: str | None = None
    bridge_ports: tuple[tuple[int, int], ...] = ()  # (bridge port, ifIndex): dot1dBasePortIfIndex as read
    arp: tuple[ArpEntry, ...] = ()
    lldp: tuple[LldpNeighbour, ...] = ()
    uplinks: tuple[Uplink, ...] = ()
    mac_counts: tuple[PortMacCount, ...] = ()
    skipped: tuple[Skip, ...] = ()
    problems: tuple[TableProblem, ...] = ()
    error: SnmpProblem | None = None
    seconds: float = 0.0

    @property
    def complete(self) -> bool:
        return self.reachable and self.error is None and not self.problems

    @property
    def partial(self) -> bool:
        return self.reachable and not self.complete

    def switch_macs(self) -> frozenset[str]:
        """The MACs that are this switch itself (bridge address, interface MACs): for uplink detection elsewhere."""
        macs = {i.mac for i in self.interfaces if i.mac}
        if self.system and self.system.bridge_address:
            macs.add(self.system.bridge_address)
        return frozenset(macs)
