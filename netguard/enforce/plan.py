"""Planning one eviction: where the device is, what its port is, what would be done, what forbids it.

1. *Locate*: the device (a MAC, or an IP its ARP sightings hold) among the
   devices present now (:func:`~netguard.discovery.current.current_devices`):
   its open ``fdb`` sighting gives switch, port and VLAN. A device only an ARP
   table or an ARP sweep knows has no port to act on: the error says which, and
   a swept one is for ARP isolation (:mod:`netguard.enforce.arp_plan`).
2. *Read the port live*: walk its switch, once per run (discovery's walk, with the
   inventory's uplinks and every known switch MAC, so uplinks are decided
   exactly as discovery decides them), find the port's ifIndex by name and its
   bridge port, read ifAdminStatus and the PVID, and list every MAC the switch
   has learned on it. The stored sightings on the same port count too.
3. *Choose*: ``auto`` is the quarantine VLAN when the switch has one
   configured (inherited from the inventory's defaults) and the port has a
   bridge port, else port shutdown.
4. *Guards* (:mod:`netguard.enforce.guards`) are collected, not raised: a dry
   run shows them, ``--apply`` refuses on the first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from netguard import addresses
from netguard.discovery.authorise import infrastructure_macs
from netguard.discovery.current import DeviceRow, current_devices
from netguard.discovery.records import SwitchReport
from netguard.discovery.switch import walk_switch
from netguard.enforce.actions import ADMIN_DOWN, PortReading, PortRef, read_port
from netguard.enforce.guards import AlreadyIsolated, Refused, port_refusals, target_refusals
from netguard.errors import NetGuardError
from netguard.inventory import Inventory, Switch
from netguard.snmp import SnmpTarget
from netguard.store.isolation import IsolationRepository
from netguard.store.sightings import SightingRepository
from rules.engine import RuleSet

if TYPE_CHECKING:  # types only: importing this module loads no pysnmp API
    from netguard.snmp.client import SnmpClient

Method = Literal["port-shutdown", "quarantine-vlan"]
METHODS = ("auto", "port-shutdown", "quarantine-vlan")


class NotFound(NetGuardError):
    """The device or its port cannot be found where eviction needs it."""


@dataclass(frozen=True)
class PortFacts:
    ref: PortRef
    reading: PortReading
    uplink_reasons: tuple[str, ...]
    macs: tuple[str, ...]  # every MAC learned on the port, live or stored


@dataclass(frozen=True)
class Plan:
    device: DeviceRow
    switch: Switch
    facts: PortFacts
    method: Method
    quarantine_vlan: int | None
    refusals: tuple[Refused, ...]

    @property
    def state_after(self) -> dict[str, int]:
        if self.method == "port-shutdown":
            return {"admin_status": ADMIN_DOWN}
        assert self.quarantine_vlan is not None
        return {"pvid": self.quarantine_vlan}

    @property
    def state_before(self) -> dict[str, object]:
        ref = self.facts.ref
        return {
            "ifindex": ref.ifindex,
            "bridge_port": ref.bridge_port,
            "vlan": self.device.vlan,
            **self.facts.reading.as_dict(),
        }

    def as_dict(self) -> dict[str, object]:
        d = self.device
        return {
            "mac": d.mac,
            "ips": list(d.ips),
            "status": d.verdict.status.value,
            "switch": self.switch.id,
            "port": self.facts.ref.port,
            "vlan": d.vlan,
            "method": self.method,
            "state_before": self.state_before,
            "state_after": self.state_after,
            "uplink": list(self.facts.uplink_reasons),
            "macs_on_port": list(self.facts.macs),
            "refusals": [{"guard": r.kind, "message": str(r)} for r in self.refusals],
        }


def locate(sightings: SightingRepository, inventory: Inventory, what: str, policy: RuleSet | None = None) -> DeviceRow:
    """The device named by a MAC or an IP, at its current switch port, judged with the device ``policy``
    (a device an allow rule authorises is then refused like any authorised one)."""
    rows = current_devices(sightings, inventory, policy)
    try:
        mac = addresses.normalize_mac(what)
        found = [r for r in rows if r.mac == mac]
    except ValueError:
        try:
            ip = addresses.normalize_ip(what)
        except ValueError:
            raise NotFound(f"'{what}' is neither a MAC nor an IP address") from None
        found = [r for r in rows if ip in r.ips]
    placed = [r for r in found if r.switch is not None and r.port is not None]
    if not placed:
        raise NotFound(f"{what} is not on any switch port the last discovery found{_seen_only(found)}")
    if len({(r.switch, r.port) for r in placed}) > 1:
        places = ", ".join(f"{r.switch} {r.port}" for r in placed)
        raise NotFound(f"{what} is seen on several ports ({places}); evict it by MAC once discovery settles")
    return placed[0]


def _seen_only(found: list[DeviceRow]) -> str:
    """Why a device discovery did see has no port, and what to do; the rerun hint when it was not seen."""
    if not found:
        return "; run: netguard discover run"
    if any(r.switch is None for r in found):
        return (
            " (seen only by an ARP sweep: no switch port to act on); isolate it by ARP: "
            "--method arp-isolate, with enforce.arp_interfaces naming the interface facing its segment"
        )
    tables = ", ".join(sorted({r.switch for r in found if r.switch}))
    return (
        f" (seen only in the ARP table of {tables}, on no port of a managed switch: it may be behind a router "
        "or an unmanaged switch); run: netguard discover run, or --method arp-isolate on its segment"
    )


class SwitchWalks:
    """The switch walks of one run, each switch walked once.

    Evicting many devices on one switch needs its interfaces, uplinks and
    bridge-port map once; isolating a port changes none of them. What an
    action does change, the port's own state, :func:`read_facts` still reads
    live for every device.
    """

    def __init__(self) -> None:
        self._reports: dict[str, SwitchReport] = {}

    async def report(
        self, client: SnmpClient, target: SnmpTarget, inventory: Inventory, switch: Switch
    ) -> SwitchReport:
        report = self._reports.get(switch.id)
        if report is None:
            report = await walk_switch(
                client,
                target,
                inventory_uplinks=switch.uplinks,
                other_switch_macs=infrastructure_macs(inventory),
                parallel=2,
            )
            self._reports[switch.id] = report
        return report


async def read_facts(
    client: SnmpClient,
    target: SnmpTarget,
    inventory: Inventory,
    switch: Switch,
    port: str,
    stored_macs: set[str],
    walks: SwitchWalks,
) -> PortFacts:
    """Walk the switch (once per ``walks``) and describe ``port`` (see step 2 of the module docstring)."""
    report = await walks.report(client, target, inventory, switch)
    if not report.reachable:
        reason = report.error.message if report.error else "no answer"
        raise NotFound(f"switch {switch.id} cannot be read ({reason}), so its port cannot be checked")
    matches = [i for i in report.interfaces if port in (i.name, i.descr, str(i.ifindex))]
    if len(matches) != 1:
        raise NotFound(f"switch {switch.id} has {'no' if not matches else 'more than one'} port named '{port}' now")
    ifindex = matches[0].ifindex
    bridge_ports = [bp for bp, ix in report.bridge_ports if ix == ifindex]
    ref = PortRef(switch.id, port, ifindex, bridge_ports[0] if len(bridge_ports) == 1 else None)
    reasons = tuple(r for u in report.uplinks if u.ifindex == ifindex for r in u.reasons)
    live = {e.mac for e in report.fdb if e.ifindex == ifindex}
    reading = await read_port(client, target, ref)
    return PortFacts(ref, reading, reasons, tuple(sorted(live | stored_macs)))


def choose_method(method: str, switch: Switch, facts: PortFacts) -> Method:
    if method == "port-shutdown":
        return "port-shutdown"
    if method == "quarantine-vlan":
        if switch.quarantine_vlan is None:
            raise NotFound(f"switch {switch.id} has no quarantine_vlan in the inventory; use --method port-shutdown")
        if facts.ref.bridge_port is None or facts.reading.pvid is None:
            raise NotFound(f"{switch.id} {facts.ref.port} has no PVID to set; use --method port-shutdown")
        return "quarantine-vlan"
    usable = switch.quarantine_vlan is not None and facts.ref.bridge_port is not None and facts.reading.pvid is not None
    return "quarantine-vlan" if usable else "port-shutdown"


async def make_plan(
    client: SnmpClient,
    target: SnmpTarget,
    inventory: Inventory,
    sightings: SightingRepository,
    isolation: IsolationRepository,
    device: DeviceRow,
    *,
    method: str,
    force_shared_port: bool,
    elsewhere_ok: bool = False,
    walks: SwitchWalks | None = None,
) -> Plan:
    """The plan for ``device``; pass one ``walks`` to every plan of a run so each switch is walked once."""
    assert device.switch is not None and device.port is not None
    switch = inventory.root.switch(device.switch)
    if switch is None:
        raise NotFound(f"{device.mac} is on switch {device.switch}, which the inventory no longer lists")
    for state in isolation.for_mac(device.mac):
        # Isolated elsewhere does not stop isolating it here (re-detaining a device that moved).
        here = (state.switch, state.port) == (device.switch, device.port)
        if state.restricted and (here or not elsewhere_ok):
            raise AlreadyIsolated(
                f"{device.mac} is already {state.status} on {state.switch} {state.port} "
                f"(journal entry {state.journal_id}); restore it first"
            )
    stored = {
        r.mac
        for r in sightings.open_sightings()
        if r.how == "fdb" and (r.switch, r.port) == (device.switch, device.port)
    }
    facts = await read_facts(client, target, inventory, switch, device.port, stored, walks or SwitchWalks())
    chosen = choose_method(method, switch, facts)
    infrastructure = infrastructure_macs(inventory)
    shared = [
        m for m in facts.macs if m != device.mac and (inventory.root.by_mac(m) is not None or m in infrastructure)
    ]
    verdict = device.verdict
    # A device the inventory lists is never evicted by NetGuard, even in conflict (its IP or place is wrong):
    # that is for a person to sort out, not a reason to cut off a known device.
    listed = verdict.authorised or verdict.device is not None
    refusals = [
        *target_refusals(inventory, device.mac, device.ips, verdict.reason if listed else None),
        *port_refusals(switch.id, device.port, facts.uplink_reasons, shared, force_shared_port=force_shared_port),
    ]
    return Plan(device, switch, facts, chosen, switch.quarantine_vlan, tuple(refusals))
