"""Device policy: rules (``rules/``, YAML) over what discovery knows of one device at one place.

The inventory says which MACs are authorised where; the policy says what the
inventory cannot list one by one: a vendor's medical devices allowed at one
institution or tier, an OUI or a MAC denied everywhere, randomised MACs
flagged. The facts a rule may test (:data:`DEVICE_DOMAIN`):

=====================  ======  ==============================================
``mac``                text    the MAC, ``aa:bb:cc:dd:ee:ff``
``oui``                text    its first three octets, ``aa:bb:cc``
``vendor``             text    the IEEE registrant of the OUI (absent if none)
``locally_administered`` bool  bit 1 of the first octet: a randomised MAC
``institution``        text    where it was seen (inventory id)
``tier``               text    that institution's tier: county, township, village
``township``           text    that institution's township
``switch`` ``port``    text    the switch and port it was seen on
``vlan``               number  the VLAN
``ips``                list    the IPs it was seen with
``in_inventory``       bool    the inventory lists this MAC as a device
``kind``               text    the inventory's kind for it (pc, medical-device ...)
``listed_at``          text    the institution the inventory lists it under
=====================  ======  ==============================================

A rule's action is ``allow``, ``deny``, ``warn`` or ``tag``; how the actions
combine with the inventory is :func:`netguard.discovery.authorise.classify`'s
job. The built-in pack ``rules/packs/devices.yaml`` loads first, then the
configured files (:mod:`netguard.discovery.settings`) in order. A file scoped
to an institution has every rule wrapped so that it only ever matches devices
seen at that institution: an institution's file cannot allow or deny devices
anywhere else.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

from netguard.config import Config
from netguard.discovery.settings import DISCOVERY, RuleFile
from netguard.errors import ConfigError
from netguard.inventory import Inventory, mac_vendor
from rules.engine import RuleSet
from rules.loader import builtin_pack, load_or_raise
from rules.model import Action, Domain, Predicate, Rule

DEVICE_DOMAIN = Domain(
    "device",
    {
        "mac": "text",
        "oui": "text",
        "vendor": "text",
        "locally_administered": "bool",
        "institution": "text",
        "tier": "text",
        "township": "text",
        "switch": "text",
        "port": "text",
        "vlan": "number",
        "ips": "list",
        "in_inventory": "bool",
        "kind": "text",
        "listed_at": "text",
    },
    "a device (MAC) seen by discovery at one place",
    actions=(Action.TAG, Action.WARN, Action.ALLOW, Action.DENY),
)

BUILTIN_PACK = "devices"


class DeviceFacts(Mapping[str, Any]):
    """One device's facts. ``vendor`` is looked up only when a rule tests it: netaddr's OUI
    lookup reads its registry file each time and costs more than every other fact together."""

    def __init__(self, facts: dict[str, Any]) -> None:
        self._facts = facts
        self._vendor_known = False

    def _complete(self) -> dict[str, Any]:
        if not self._vendor_known:
            self._vendor_known = True
            vendor = mac_vendor(self._facts["mac"])
            if vendor is not None:
                self._facts["vendor"] = vendor
        return self._facts

    def __getitem__(self, key: str) -> Any:
        if key == "vendor":
            return self._complete()[key]
        return self._facts[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._complete())

    def __len__(self) -> int:
        return len(self._complete())


def device_facts(
    inventory: Inventory,
    mac: str,
    ips: Iterable[str],
    institution_id: str | None,
    *,
    switch: str | None = None,
    port: str | None = None,
    vlan: int | None = None,
) -> DeviceFacts:
    """The facts for one normalised MAC at one place; unknown values are left out (a rule never matches them)."""
    root = inventory.root
    device = root.by_mac(mac)
    inst = root.by_id(institution_id) if institution_id else None
    facts: dict[str, Any] = {
        "mac": mac,
        "oui": mac[:8],
        "locally_administered": bool(int(mac[:2], 16) & 0x02),
        "institution": institution_id,
        "tier": inst.tier.value if inst else None,
        "township": inst.township if inst else None,
        "switch": switch,
        "port": port,
        "vlan": vlan,
        "ips": sorted(set(ips)),
        "in_inventory": device is not None,
        "kind": device.kind if device else None,
        "listed_at": device.institution if device else None,
    }
    return DeviceFacts({k: v for k, v in facts.items() if v is not None})


def _scoped(rule: Rule, institution: str) -> Rule:
    inner = rule.predicate

    def predicate(facts: Any) -> bool:
        return bool(facts.get("institution") == institution and inner(facts))

    wrapped: Predicate = predicate
    return replace(rule, predicate=wrapped)


def unknown_scopes(files: Sequence[RuleFile], inventory: Inventory) -> list[str]:
    """One line for each rule file scoped to an institution the inventory does not have."""
    return [
        f"{f.where or f.path}: device rules {f.path} are for institution '{f.institution}', "
        "which is not in the inventory"
        for f in files
        if f.institution is not None and inventory.root.by_id(f.institution) is None
    ]


def load_device_policy(files: Sequence[RuleFile] = (), inventory: Inventory | None = None) -> RuleSet:
    """The built-in pack then ``files``; :class:`~rules.loader.RulesInvalid` names the rule file and line.

    An institution a file is scoped to must be in the inventory (a
    :class:`~netguard.errors.ConfigError` at the configuration's line otherwise),
    so a typo never silently turns an institution's rules off.
    """
    unknown = unknown_scopes(files, inventory) if inventory is not None else []
    if unknown:
        raise ConfigError.of(unknown)
    rules = load_or_raise([builtin_pack(BUILTIN_PACK), *(f.path for f in files)], DEVICE_DOMAIN)
    scope = {str(f.path): f.institution for f in files if f.institution is not None}
    if not scope:
        return rules
    scoped = tuple(
        _scoped(r, scope[r.where.file]) if r.where is not None and r.where.file in scope else r for r in rules
    )
    return RuleSet(scoped, rules.domain)


def policy_from_config(config: Config, inventory: Inventory) -> RuleSet:
    """The device policy ``config`` names (``discovery.device_rules``) after the built-in pack."""
    return load_device_policy(config.section(DISCOVERY).device_rules, inventory)
