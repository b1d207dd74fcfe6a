"""The ``enforce`` section of ``netguard.yaml``::

enforce:
  max_actions_per_run: 10   # the per-run limit (evict unauthorised; --limit overrides it for one run)
  snmp_timeout_s: 2         # per SNMP request to a switch
  snmp_retries: 1           # after the first try
  arp_interfaces:           # ARP isolation: the enforcer's interface facing each unmanaged segment
    lab-vc1-2: eth0         #   institution id -> interface name on the host that runs netguard
  arp_refresh_s: 2          # how often `evict hold` re-sends the poison (--interval overrides it)

An institution without an ``arp_interfaces`` entry cannot be ARP-isolated: the
enforcer must have a leg on the segment, and only the operator knows which.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml

from netguard.addresses import is_interface_name
from netguard.enforce.guards import DEFAULT_LIMIT
from netguard.inventory.nodes import join
from netguard.section import Section, SectionReader

DEFAULT_REFRESH_S = 2.0


@dataclass(frozen=True)
class EnforceSettings:
    max_actions_per_run: int = DEFAULT_LIMIT
    snmp_timeout_s: float = 2.0
    snmp_retries: int = 1
    arp_interfaces: tuple[tuple[str, str], ...] = field(default=())  # (institution id, interface)
    arp_refresh_s: float = DEFAULT_REFRESH_S

    def arp_interface(self, institution: str) -> str | None:
        return dict(self.arp_interfaces).get(institution)


def _interfaces(r: SectionReader, node: yaml.Node | None, path: str) -> tuple[tuple[str, str], ...]:
    if node is None:
        return ()
    fields = r.mapping(node, path, (), any_key=True)  # institution ids are the operator's
    if fields is None:
        return ()
    found = []
    for name in fields.values:
        text = r.text(fields, name)
        if text is None:
            continue
        if not is_interface_name(text):
            value = fields.get(name)
            assert value is not None
            r.error(value, join(path, name), f"'{text}' is not an interface name")
            continue
        found.append((name, text))
    return tuple(found)


def _parse(r: SectionReader, node: yaml.Node) -> EnforceSettings | None:
    keys = ("max_actions_per_run", "snmp_timeout_s", "snmp_retries", "arp_interfaces", "arp_refresh_s")
    fields = r.mapping(node, "enforce", (), keys)
    if fields is None:
        return None
    defaults = EnforceSettings()
    retries = r.integer(fields, "snmp_retries", 0, 10)
    return EnforceSettings(
        max_actions_per_run=r.integer(fields, "max_actions_per_run", 1, 10_000) or defaults.max_actions_per_run,
        snmp_timeout_s=r.number(fields, "snmp_timeout_s", 0.1, 60) or defaults.snmp_timeout_s,
        snmp_retries=defaults.snmp_retries if retries is None else retries,
        arp_interfaces=_interfaces(r, fields.get("arp_interfaces"), "enforce.arp_interfaces"),
        arp_refresh_s=r.number(fields, "arp_refresh_s", 0.2, 60) or defaults.arp_refresh_s,
    )


ENFORCE = Section("enforce", EnforceSettings, _parse)
