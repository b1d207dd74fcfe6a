"""Planning one ARP isolation: which device, on which segment, seen from which interface, and what forbids it.

For a device on a segment no managed switch serves (a village clinic behind an
unmanaged switch), there is no port to act on; the enforcer, a host with a leg
on that segment, isolates it by ARP instead (:mod:`netguard.enforce.arp_isolate`).

1. *Address*: the device's IP is the argument, or, for a MAC, the IP of its
   open sightings that carry one (an ARP sweep's, a router's ARP table). Its
   institution is the one whose subnet holds the IP; the gateway is that
   subnet's gateway, else the institution's.
2. *Interface*: ``enforce.arp_interfaces`` names the enforcer's interface
   facing that institution; none configured means NetGuard cannot act there.
3. *Live*: both addresses are resolved now from that interface with RFC 5227
   probes (no cache is changed), so the journal records the real MACs and a
   stale sighting is caught: the IP must answer from exactly one MAC, the MAC
   given if one was.
4. *Guards*, collected (a dry run lists them): protected or inventory-listed
   device (as for the port methods), the gateway's own MAC (a router answering
   for the IP by proxy ARP), the enforcer itself, a switch, and an enforcer
   whose interface forwards IPv4 (it would relay the traffic, not drop it).

:func:`arp_only` says which of discovery's devices only ARP isolation can
reach (seen by an ARP sweep alone, in an institution without a managed
switch): ``evict device`` with ``auto``, ``evict unauthorised`` and re-detain
send those here.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

from netguard import addresses
from netguard.discovery.authorise import Verdict, classify, infrastructure_macs
from netguard.discovery.current import DeviceRow
from netguard.enforce.arp_link import Link, forwards_ipv4, resolve
from netguard.enforce.guards import AlreadyIsolated, ForwardingEnforcer, ProtectedTarget, Refused, target_refusals
from netguard.enforce.plan import NotFound
from netguard.enforce.settings import EnforceSettings
from netguard.inventory import Institution, Inventory
from netguard.store.isolation import IsolationRepository
from netguard.store.sightings import SightingRepository
from rules.engine import RuleSet

ARP_ISOLATE = "arp-isolate"


@dataclass(frozen=True)
class Segment:
    """Where a device is to be isolated by ARP: its IP, institution, gateway and the enforcer's interface."""

    mac: str | None  # as given (or None when the device was named by its IP)
    ip: str
    institution: Institution
    gateway_ip: str
    interface: str


@dataclass(frozen=True)
class Sides:
    """The two hosts and the enforcer as resolved live: what poisoning and restoring need."""

    interface: str
    enforcer_mac: str
    device_mac: str
    device_ip: str
    gateway_mac: str
    gateway_ip: str

    def as_state(self) -> dict[str, str]:
        return {
            "interface": self.interface,
            "enforcer_mac": self.enforcer_mac,
            "device_mac": self.device_mac,
            "device_ip": self.device_ip,
            "gateway_mac": self.gateway_mac,
            "gateway_ip": self.gateway_ip,
        }

    @classmethod
    def from_state(cls, state: Mapping[str, object]) -> Sides:
        """The sides a journal entry recorded; ValueError naming the first missing or malformed field."""
        values: dict[str, str] = {}
        for name in ("interface", "enforcer_mac", "device_mac", "device_ip", "gateway_mac", "gateway_ip"):
            value = state.get(name)
            if not isinstance(value, str) or not value:
                raise ValueError(f"no {name.replace('_', ' ')} recorded")
            if name.endswith("_mac"):
                value = addresses.normalize_mac(value)
            elif name.endswith("_ip"):
                value = addresses.normalize_ip(value)
            values[name] = value
        return cls(**values)


@dataclass(frozen=True)
class ArpPlan:
    segment: Segment
    sides: Sides
    verdict: Verdict
    refusals: tuple[Refused, ...]

    @property
    def state_before(self) -> dict[str, str]:
        return {**self.sides.as_state(), "institution": self.segment.institution.id}

    @property
    def state_after(self) -> dict[str, str]:
        return {"device_sees_gateway_at": self.sides.enforcer_mac, "gateway_sees_device_at": self.sides.enforcer_mac}

    def as_dict(self) -> dict[str, object]:
        s = self.sides
        return {
            "mac": s.device_mac,
            "ips": [s.device_ip],
            "status": self.verdict.status.value,
            "institution": self.segment.institution.id,
            "switch": None,
            "port": None,
            "interface": s.interface,
            "gateway": {"ip": s.gateway_ip, "mac": s.gateway_mac},
            "method": ARP_ISOLATE,
            "state_before": self.state_before,
            "state_after": self.state_after,
            "refusals": [{"guard": r.kind, "message": str(r)} for r in self.refusals],
        }


def arp_only(inventory: Inventory, row: DeviceRow) -> bool:
    """``row`` is on no switch port and no router's ARP table, in an institution with no managed switch."""
    if row.switch is not None or row.port is not None or row.institution is None:
        return False
    institution = inventory.root.by_id(row.institution)
    return institution is not None and not institution.switches


def device_address(sightings: SightingRepository, what: str) -> tuple[str | None, str]:
    """(the MAC given or None, the IP) for ``what``, a MAC or an IP (step 1 of the module docstring)."""
    try:
        mac = addresses.normalize_mac(what)
    except ValueError:
        try:
            return None, addresses.normalize_ip(what)
        except ValueError:
            raise NotFound(f"'{what}' is neither a MAC nor an IP address") from None
    ips = sorted({r.ip for r in sightings.open_sightings(mac=mac) if r.ip})
    if not ips:
        raise NotFound(
            f"no IP is known for {mac} (no open sighting carries one): give its IP, or run a discovery "
            "that sweeps its segment"
        )
    if len(ips) > 1:
        raise NotFound(f"{mac} is seen with several IPs ({', '.join(ips)}); evict it by the IP to cut off")
    return mac, ips[0]


def find_segment(sightings: SightingRepository, inventory: Inventory, settings: EnforceSettings, what: str) -> Segment:
    """Steps 1 and 2 of the module docstring; NotFound naming what is missing."""
    mac, ip = device_address(sightings, what)
    institution = inventory.root.by_ip(ip)
    if institution is None:
        raise NotFound(f"{ip} is in no institution's subnet in the inventory")
    iface = settings.arp_interface(institution.id)
    if iface is None:
        raise NotFound(
            f"no enforce.arp_interfaces entry for {institution.id}: NetGuard needs to know which interface of "
            "this host faces its segment"
        )
    address = ipaddress.ip_address(ip)
    subnet = next(s for s in institution.subnets if address in s.network)
    gateway = subnet.gateway or institution.gateway
    return Segment(mac, ip, institution, str(gateway), iface)


def _one_mac(link: Link, ip: str, what: str) -> str:
    macs = resolve(link, ip)
    if not macs:
        raise NotFound(f"{what} {ip} does not answer ARP on {link.iface}: it is not on this segment now")
    if len(macs) > 1:
        raise NotFound(
            f"{what} {ip} answers from several MACs ({', '.join(sorted(macs))}): an address conflict; "
            "NetGuard does not pick one"
        )
    return macs.pop()


def make_arp_plan(
    link: Link,
    segment: Segment,
    inventory: Inventory,
    isolation: IsolationRepository,
    policy: RuleSet | None = None,
    *,
    elsewhere_ok: bool = False,
) -> ArpPlan:
    """Steps 3 and 4 of the module docstring (``link`` is open on ``segment.interface``).

    ``elsewhere_ok`` (re-detain): a port the device is still isolated at does
    not stop isolating it here; an ARP isolation of the same MAC always does.
    """
    device_mac = _one_mac(link, segment.ip, "device")
    if segment.mac is not None and device_mac != segment.mac:
        raise NotFound(
            f"{segment.ip} answers from {device_mac} now, not from {segment.mac}: the sighting is stale; "
            "run the discovery again"
        )
    gateway_mac = _one_mac(link, segment.gateway_ip, "the gateway")
    for state in isolation.for_mac(device_mac):
        if state.restricted and not (elsewhere_ok and state.switch):
            where = f" on {state.switch} {state.port}" if state.switch else ""
            raise AlreadyIsolated(
                f"{device_mac} is already {state.status}{where} (journal entry {state.journal_id}); restore it first"
            )
    sides = Sides(link.iface, link.mac, device_mac, segment.ip, gateway_mac, segment.gateway_ip)
    infrastructure = infrastructure_macs(inventory)
    verdict = classify(
        inventory, device_mac, [segment.ip], segment.institution.id, infrastructure=infrastructure, policy=policy
    )
    listed = verdict.authorised or verdict.device is not None
    refusals: list[Refused] = target_refusals(inventory, device_mac, [segment.ip], verdict.reason if listed else None)
    if device_mac == gateway_mac:
        refusals.append(
            ProtectedTarget(f"{segment.ip} answers from the gateway's own MAC {gateway_mac}; NetGuard never evicts it")
        )
    if device_mac == link.mac:
        refusals.append(ProtectedTarget(f"{device_mac} is this enforcer's own interface {link.iface}"))
    if forwards_ipv4(link.iface):
        refusals.append(
            ForwardingEnforcer(
                f"{link.iface} forwards IPv4, so poisoning would relay {segment.ip}'s traffic, not cut it off "
                f"(set net.ipv4.conf.{link.iface}.forwarding=0)"
            )
        )
    return ArpPlan(segment, sides, verdict, tuple(refusals))
