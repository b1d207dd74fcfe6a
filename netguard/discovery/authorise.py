"""Is a sighted device allowed where it was seen? One verdict per device and place.

The inventory is the allowlist: each institution lists its authorised devices
(MAC, optionally bound to one IP), and its ``banned`` list names MACs denied
everywhere. The device policy (:mod:`netguard.discovery.policy`: YAML rules in
``rules/``) covers what cannot be listed one by one. A device seen at an
institution (its switch port, or its IP in that institution's subnets) is,
checked in this order:

``infrastructure``
    one of the network's own switches (a MAC a walked switch reports as its
    own, an LLDP chassis, or an inventory device of kind ``switch``): never a
    rogue, whichever segment it appears on; no rule can change that.
``denied``
    listed in the inventory's ``banned``, or matched by a ``deny`` rule (the
    first in load order decides). A deny is stronger than anything below: an
    OUI denied everywhere is denied even where the inventory lists one of its
    MACs, unless the rule says otherwise (``in_inventory: false``).
``conflict``
    an authorised MAC seen on another institution's network; a MAC seen with
    an IP other than the one its device is bound to; any MAC using an IP the
    inventory binds to a different device (the usual sign of a spoof or a
    copied static address); or an IP that another MAC uses at the same time
    (a duplicate address: both MACs are in conflict). No rule allows a
    conflict away: it is a fact about addresses, for a person to sort out.
``authorised``
    the MAC is one of the institution's devices, and its IP matches when the
    device is IP-bound (a device with no IP seen yet is authorised on its
    MAC); or it is not in the inventory and an ``allow`` rule matches it
    (e.g. a medical-device OUI at one institution).
``unknown``
    not in the inventory and allowed by no rule.

``warn`` and ``tag`` rules never change the status; they are recorded on the
verdict (a randomised MAC is flagged, and stays unknown). The verdict names
the rule that decided (``rule``), or else the strongest flag, and every rule
that matched. Everything here is pure: the inventory, the rules and the
sighting in, a verdict out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

from netguard.discovery.policy import device_facts
from netguard.inventory import Device, Inventory
from netguard.store.codec import normalize_ip, normalize_mac
from rules.engine import RuleSet
from rules.model import Action, Rule


class Status(StrEnum):
    AUTHORISED = "authorised"
    INFRASTRUCTURE = "infrastructure"
    UNKNOWN = "unknown"
    DENIED = "denied"
    CONFLICT = "conflict"

    @property
    def needs_action(self) -> bool:
        return self in (Status.UNKNOWN, Status.DENIED, Status.CONFLICT)


@dataclass(frozen=True)
class Verdict:
    """``reason`` says why in one line; ``device`` is the inventory entry of this MAC, if any;
    ``conflicting_mac`` is the MAC an IP is bound to when that is the conflict; ``rule`` the
    rule that decided the status (allow, deny), else the strongest flag (warn, tag) that
    matched; ``matched`` every rule id that matched, in load order."""

    status: Status
    reason: str
    device: Device | None = None
    conflicting_mac: str | None = None
    rule: Rule | None = None
    matched: tuple[str, ...] = ()

    @property
    def authorised(self) -> bool:
        return self.status in (Status.AUTHORISED, Status.INFRASTRUCTURE)

    @property
    def rule_id(self) -> str | None:
        return self.rule.id if self.rule is not None else None


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
    policy: RuleSet | None = None,
    switch: str | None = None,
    port: str | None = None,
    vlan: int | None = None,
) -> Verdict:
    """The verdict for ``mac`` seen with ``ips`` at ``institution_id`` (None: place unknown);
    ``ip_users`` maps each IP seen to every MAC seen using it (for duplicate addresses);
    ``policy`` the device rules (none: the inventory alone decides); ``switch``, ``port``
    and ``vlan`` the place, for rules that test it."""
    root = inventory.root
    mac = normalize_mac(mac)
    seen_ips = sorted({ip for ip in (normalize_ip(i) for i in ips) if ip})
    device = root.by_mac(mac)
    if mac in infrastructure or (device is not None and device.kind == "switch"):
        return Verdict(Status.INFRASTRUCTURE, "a switch of the network", device)
    matches: tuple[Rule, ...] = ()
    if policy is not None:
        facts = device_facts(inventory, mac, seen_ips, institution_id, switch=switch, port=port, vlan=vlan)
        matches = policy.evaluate(facts).matches
    matched = tuple(r.id for r in matches)
    ban = root.ban(mac)
    if ban is not None:
        return Verdict(
            Status.DENIED, f"banned in the inventory: {ban.reason or 'no reason given'}", device, None, None, matched
        )
    deny = _first(matches, Action.DENY)
    if deny is not None:
        return Verdict(Status.DENIED, f"denied by rule {deny.id}: {deny.title}", device, None, deny, matched)
    verdict = _inventory_verdict(root, mac, seen_ips, institution_id, device, ip_users)
    allow = _first(matches, Action.ALLOW)
    if verdict.status is Status.UNKNOWN and allow is not None:
        return Verdict(Status.AUTHORISED, f"allowed by rule {allow.id}: {allow.title}", None, None, allow, matched)
    flag = _first(matches, Action.WARN) or _first(matches, Action.TAG)
    if flag is None:
        return replace(verdict, matched=matched) if matched else verdict
    return replace(verdict, reason=f"{verdict.reason}; {flag.id}: {flag.title}", rule=flag, matched=matched)


def _first(matches: tuple[Rule, ...], action: Action) -> Rule | None:
    return next((r for r in matches if r.action is action), None)


def _inventory_verdict(
    root: Inventory,
    mac: str,
    seen_ips: list[str],
    institution_id: str | None,
    device: Device | None,
    ip_users: Mapping[str, Iterable[str]] | None,
) -> Verdict:
    """Conflict, authorised or unknown, from the inventory's devices alone."""
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
