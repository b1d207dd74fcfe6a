"""The ``enforce`` section of ``netguard.yaml``::

enforce:
  max_actions_per_run: 10   # the per-run limit (evict unauthorised; --limit overrides it for one run)
  snmp_timeout_s: 2         # per SNMP request to a switch
  snmp_retries: 1           # after the first try
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from netguard.enforce.guards import DEFAULT_LIMIT
from netguard.section import Section, SectionReader


@dataclass(frozen=True)
class EnforceSettings:
    max_actions_per_run: int = DEFAULT_LIMIT
    snmp_timeout_s: float = 2.0
    snmp_retries: int = 1


def _parse(r: SectionReader, node: yaml.Node) -> EnforceSettings | None:
    fields = r.mapping(node, "enforce", (), ("max_actions_per_run", "snmp_timeout_s", "snmp_retries"))
    if fields is None:
        return None
    defaults = EnforceSettings()
    retries = r.integer(fields, "snmp_retries", 0, 10)
    return EnforceSettings(
        max_actions_per_run=r.integer(fields, "max_actions_per_run", 1, 10_000) or defaults.max_actions_per_run,
        snmp_timeout_s=r.number(fields, "snmp_timeout_s", 0.1, 60) or defaults.snmp_timeout_s,
        snmp_retries=defaults.snmp_retries if retries is None else retries,
    )


ENFORCE = Section("enforce", EnforceSettings, _parse)
