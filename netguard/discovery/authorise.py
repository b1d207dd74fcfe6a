"""Is a sighted device allowed where it was seen? One verdict per device and place.

The inventory is the allowlist: each institution lists its authorised devices
(MAC, optionally bound to one IP). A device seen at an institution (its switch
port, or its IP in that institution's subnets) is, checked in this order:

``infrastructure``
    one of the network's own switches (a MAC a walked switch reports as its
    own, an LLDP chassis, or an inventory device of kind ``switch``): never a
    rogue, whichever segment it appears on.
``conflict``
    an authorised MAC seen on another institution's network; a MAC seen with
    an IP other than the one its device is bound to; any MAC using an IP the
    inventory binds to a different device (the usual sign of a spoof or a
    copied static address); or an IP that another MAC uses at the same time
    (a duplicate address: both MACs are in conflict).
``authorised``
    the MAC is one of the institution's devices, and its IP matches when the
    device is IP-bound (a device with no IP seen yet is authorised on its MAC).
``unknown``
    not in the inventory at all.

The inventory has no list of banned devices, so there is no ``denied`` verdict
yet. Everything here is pure: the inventory and the sighting in, a verdict out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from netguard.inventory import Device, Inventory
from netguard.store.codec import normalize_ip, normalize_mac


class Status(StrEnum):
    AUTHORISED = "authorised"
    INFRASTRUCTURE = "infrastructure"
    UNKNOWN = "unknown"
    CONFLICT = "conflict"

    @property
    def needs_action(self) -> bool:
        return self in (Status.UNKNOWN, Status.CONFLICT)


@dataclass(frozen=True)
class Verdict:
    """``reason`` says why in one line; ``device`` is the inventory entry of this MAC, if any;
    ``conflicting_mac`` is the MAC an IP is bound to when that is the conflict."""

    status: Status
    reason: str
    device: Device | None = None
    conflicting_mac: str | None = None

    @property
    def authorised(self) -> bool:
        return self.status in (Status.AUTHORISED, Status.INFRASTRUCTURE)


def infrastructure_macs(inventory: Inventory, walked: Iterable[str] = ()) -> frozenset[str]:
    """Switch MACs: those the walks reported plus the inventory's devices of kind ``switch``."""
    macs = {normalize_mac(m) for m in walked}
    macs.update(normalize_mac(d.mac) for d in inventory.root.devices() if d.kind == "switch")
    return frozenset(macs)


def classify(
    inventory: Inventory,
    mac: str,
    ips: Iterable[str],
    institution_id: str | None,
    *,
    infrastructure: frozenset[str] = frozenset(),
    ip_users: Mapping[str, Iterable[str]] | None = None,
) -> Verdict:
    """The verdict for ``mac`` seen with ``ips`` at ``institution_id`` (None: place unknown);
    ``ip_users`` maps each IP seen to every MAC seen using it (for duplicate addresses)."""
    root = inventory.root
    mac = normalize_mac(mac)
    seen_ips = sorted({ip for ip in (normalize_ip(i) for i in ips) if ip})
    device = root.by_mac(mac)
    if mac in infrastructure or (device is not None and device.kind == "switch"):
        return Verdict(Status.INFRASTRUCTURE, "a switch of the network", device)
    for ip in seen_ips:
        bound = root.device_by_ip(ip)
        if bound is not None and normalize_mac(bound.mac) != mac:
            owner = normalize_mac(bound.mac)
            return Verdict(Status.CONFLICT, f"uses {ip}, which is bound to {owner}", device, owner)
        others = sorted({normalize_mac(m) for m in (ip_users or {}).get(ip, ())} - {mac})
        if others:
            return Verdict(Status.CONFLICT, f"{ip} is also used by {', '.join(others)}", device, others[0])
    if device is None:
        return Verdict(Status.UNKNOWN, "not in the inventory")
    if institution_id is not None and device.institution != institution_id:
        return Verdict(
            Status.CONFLICT, f"authorised at {device.institution}, seen on {institution_id}'s network", device
        )
    if device.ip is not None and seen_ips and str(device.ip) not in seen_ips:
        return Verdict(Status.CONFLICT, f"bound to {device.ip}, seen with {', '.join(seen_ips)}", device)
    return Verdict(Status.AUTHORISED, f"authorised device of {device.institution}", device)
