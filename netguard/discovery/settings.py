"""The ``discovery`` section of ``netguard.yaml``: device policy rule files, and where and how
``discover run`` sweeps by ARP::

    discovery:
      device_rules:
        - rules/county-devices.yaml                          # county-wide: every device
        - {file: rules/thc1-devices.yaml, institution: lab-thc1}  # only devices seen at lab-thc1
      sweep_interface: eth1          # faces every institution that has no managed switch
      sweep_interfaces:              # per institution, wins over sweep_interface
        vc-nagu-07: ens19.107
      sweep_rate: 500                # ARP requests per second
      sweep_retries: 1               # attempts after the first
      sweep_timeout_ms: 500          # wait for a reply before retrying an address
      sweep_deadline_s: 300          # the whole sweep of one institution
      sweep_max_hosts: 65536         # addresses per sweep (a /16); larger subnets are refused

The built-in device pack (``rules/packs/devices.yaml``) always loads first; the
``device_rules`` files load after it in the order written, so they may add rules
and switch built-in ones off (``disable:``). A file given with an ``institution``
is that institution's own: each of its rules only ever applies to devices seen
on that institution's network, whatever its ``when`` says. Relative paths are
relative to the configuration file. The files are read when discovery needs them
(see :func:`netguard.discovery.policy.load_device_policy`), where a problem in
one is reported with the rule file's own name and line.

With neither interface key, ``discover run`` sweeps nothing and lists the
institutions it could not cover.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from netguard.addresses import is_interface_name
from netguard.arpsweep import SweepError, SweepOptions
from netguard.inventory.issues import Location
from netguard.inventory.nodes import Fields, is_null, join
from netguard.section import Section, SectionReader

KEYS = (
    "device_rules",
    "sweep_interface",
    "sweep_interfaces",
    "sweep_rate",
    "sweep_retries",
    "sweep_timeout_ms",
    "sweep_deadline_s",
    "sweep_max_hosts",
)


@dataclass(frozen=True)
class RuleFile:
    """One device rule file; ``institution`` scopes its rules, ``where`` is the config line naming it."""

    path: Path
    institution: str | None = None
    where: Location | None = None


@dataclass(frozen=True)
class DiscoverySettings:
    sweep_interface: str | None = None
    sweep_interfaces: tuple[tuple[str, str], ...] = ()  # (institution id, interface)
    sweep: SweepOptions = field(default_factory=SweepOptions)
    device_rules: tuple[RuleFile, ...] = ()

    def interface_for(self, institution_id: str) -> str | None:
        return dict(self.sweep_interfaces).get(institution_id, self.sweep_interface)


def _path(r: SectionReader, text: str) -> Path:
    path = Path(text).expanduser()
    return path if path.is_absolute() else r.base / path


def _interface(r: SectionReader, node: yaml.Node, path: str) -> str | None:
    value = r.node_text(node, path)
    if value is not None and not is_interface_name(value):
        r.error(node, path, f"'{value}' is not an interface name (1-15 characters, no '/', ':' or spaces)")
        return None
    return value


def _rule_files(r: SectionReader, fields: Fields) -> tuple[RuleFile, ...]:
    files: list[RuleFile] = []
    for path, item in r.sequence(fields, "device_rules"):
        if isinstance(item, yaml.ScalarNode):
            text = r.node_text(item, path)
            if text is not None:
                files.append(RuleFile(_path(r, text), None, r.loc(item, path)))
            continue
        entry = r.mapping(item, path, ("file",), ("institution",))
        if entry is None:
            continue
        file_text, institution = r.text(entry, "file"), r.text(entry, "institution")
        if file_text is not None and ("institution" not in entry or institution is not None):
            files.append(RuleFile(_path(r, file_text), institution, r.loc(item, path)))
    return tuple(files)


def _parse(r: SectionReader, node: yaml.Node) -> DiscoverySettings | None:
    fields = r.mapping(node, "discovery", (), KEYS)
    if fields is None:
        return None
    default = fields.get("sweep_interface")
    interface = _interface(r, default, "discovery.sweep_interface") if default is not None else None
    per: list[tuple[str, str]] = []
    node_per = fields.get("sweep_interfaces")
    if node_per is not None and not is_null(node_per):
        mapping = r.mapping(node_per, "discovery.sweep_interfaces", (), any_key=True)
        for name, (_key, value) in (mapping.values if mapping else {}).items():
            iface = _interface(r, value, join("discovery.sweep_interfaces", name))
            if iface is not None:
                per.append((name, iface))
    base = SweepOptions()
    retries = r.integer(fields, "sweep_retries", 0, 10)
    try:
        options = SweepOptions(
            rate=r.number(fields, "sweep_rate", 1, 1_000_000) or base.rate,
            retries=base.retries if retries is None else retries,
            timeout_ms=r.number(fields, "sweep_timeout_ms", 1, 60_000) or base.timeout_ms,
            deadline_s=r.number(fields, "sweep_deadline_s", 1, 86_400) or base.deadline_s,
            max_hosts=r.integer(fields, "sweep_max_hosts", 1, 1 << 24) or base.max_hosts,
        )
    except SweepError as exc:  # the ranges above are the same: only a defensive net
        r.error(node, "discovery", str(exc))
        return None
    return DiscoverySettings(interface, tuple(per), options, _rule_files(r, fields))


DISCOVERY = Section("discovery", DiscoverySettings, _parse)
