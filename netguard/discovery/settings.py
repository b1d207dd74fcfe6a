"""The ``discovery`` section of ``netguard.yaml``: the device policy rule files::

    discovery:
      device_rules:
        - rules/county-devices.yaml                          # county-wide: every device
        - {file: rules/thc1-devices.yaml, institution: lab-thc1}  # only devices seen at lab-thc1

The built-in pack (``rules/packs/devices.yaml``) always loads first; these files
load after it in the order written, so they may add rules and switch built-in
ones off (``disable:``). A file given with an ``institution`` is that
institution's own: each of its rules only ever applies to devices seen on that
institution's network, whatever its ``when`` says. Relative paths are relative
to the configuration file. The files are read when discovery needs them (see
:func:`netguard.discovery.policy.load_device_policy`), where a problem in one
is reported with the rule file's own name and line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from netguard.inventory.issues import Location
from netguard.section import Section, SectionReader


@dataclass(frozen=True)
class RuleFile:
    """One device rule file; ``institution`` scopes its rules, ``where`` is the config line naming it."""

    path: Path
    institution: str | None = None
    where: Location | None = None


@dataclass(frozen=True)
class DiscoverySettings:
    device_rules: tuple[RuleFile, ...] = ()


def _path(r: SectionReader, text: str) -> Path:
    path = Path(text).expanduser()
    return path if path.is_absolute() else r.base / path


def _parse(r: SectionReader, node: yaml.Node) -> DiscoverySettings | None:
    fields = r.mapping(node, "discovery", (), ("device_rules",))
    if fields is None:
        return None
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
    return DiscoverySettings(tuple(files))


DISCOVERY = Section("discovery", DiscoverySettings, _parse)
