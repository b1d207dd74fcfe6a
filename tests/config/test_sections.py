"""A capability's own section: the worked example from docs/architecture.md, as a test.

A fake ``links`` capability declares what it reads; the configuration module
knows nothing of it, yet its errors come at ``file:line: path`` and its secret
reference is resolved by ``config check``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from bastion.settings import BASTION
from commands.config import describe, run_checks
from commands.sections import SECTIONS
from netguard.config import load_config
from netguard.discovery.settings import DISCOVERY
from netguard.errors import ConfigError
from netguard.secrets import SecretRef, write_private
from netguard.section import Section, SectionReader
from tests.config.conftest import run_cli

VALUE = "c0mmunity-Never-Shown"


@dataclass(frozen=True)
class LinkSettings:
    interval_s: int = 60
    loss_warning: float = 0.2
    community: SecretRef | None = None


def _parse(r: SectionReader, node: yaml.Node) -> LinkSettings | None:
    fields = r.mapping(node, "links", (), ("interval_s", "loss_warning", "community"))
    if fields is None:
        return None
    interval = r.integer(fields, "interval_s", 1, 86_400)
    loss = r.number(fields, "loss_warning", 0.0, 1.0)
    return LinkSettings(
        interval_s=LinkSettings.interval_s if interval is None else interval,
        loss_warning=LinkSettings.loss_warning if loss is None else loss,
        community=r.ref(fields, "community"),
    )


LINKS = Section("links", LinkSettings, _parse)


def test_a_section_is_read_by_its_own_code(write_config) -> None:
    cfg = load_config(write_config("links:\n  interval_s: 30\n  community: secret:snmp-ro\n"))
    assert cfg.section(LINKS) == LinkSettings(30, 0.2, SecretRef("secret", "snmp-ro"))


def test_an_absent_or_empty_section_gives_the_defaults(write_config) -> None:
    assert load_config(write_config("state: {}\n")).section(LINKS) == LinkSettings()
    assert load_config(write_config("links:\n", "empty.yaml")).section(LINKS) == LinkSettings()


def test_a_bad_value_is_reported_at_file_line_path(write_config) -> None:
    path = write_config("state: {}\nlinks:\n  interval_s: 30\n  loss_warning: lots\n  comunity: secret:x\n")
    cfg = load_config(path)  # the core does not read the section, so loading succeeds
    with pytest.raises(ConfigError) as info:
        cfg.section(LINKS)
    assert info.value.issues == (
        f"{path}:4: links.loss_warning: 'lots' is not a number",
        f"{path}:5: links: unknown key 'comunity' (did you mean 'community'?)",
    )


def test_config_check_checks_the_section_and_resolves_its_reference(write_config, tmp_path: Path) -> None:
    write_private(tmp_path / "secrets.yaml", f"snmp-ro: {VALUE}\n")
    path = write_config(
        "secrets_file: secrets.yaml\nstate:\n  path: s.db\nevents:\n  sqlite:\n    path: e.db\n"
        "links:\n  community: secret:snmp-r0\n"
    )
    cfg = load_config(path)
    checks = [c for c in run_checks(cfg, [LINKS]) if c.name.startswith("links") or c.name == "section links"]
    assert [(c.name, c.ok) for c in checks] == [("section links", True), ("links.community", False)]
    assert checks[1].detail.startswith(f"{path}:8: links.community: secret:snmp-r0: ")
    assert "did you mean secret:snmp-ro?" in checks[1].detail
    path.write_text(path.read_text(encoding="utf-8").replace("snmp-r0", "snmp-ro"), encoding="utf-8")
    checks = run_checks(load_config(path), [LINKS])
    assert all(c.ok for c in checks), checks
    assert VALUE not in repr(checks)
    assert describe(load_config(path), [LINKS])["links"] == LinkSettings(community=SecretRef("secret", "snmp-ro"))


def test_a_section_no_capability_reads_fails_config_check(write_config) -> None:
    # Every capability of this NetGuard reads its section, so "read by nothing" is what a
    # build without the discovery capability would say: the checks are given the others.
    path = write_config("state:\n  path: s.db\nevents:\n  sqlite:\n    path: e.db\ndiscovery:\n  daily: true\n")
    cfg = load_config(path)
    without = [s for s in SECTIONS if s.name != "discovery"]
    check = next(c for c in run_checks(cfg, without) if c.name == "section discovery")
    assert not check.ok and check.detail.startswith(f"{path}:7: no capability in this NetGuard reads 'discovery'")
    assert describe(cfg, without)["discovery"] == f"{path}:7 (read by nothing)"


def test_the_discovery_section_is_checked_at_file_line(write_config) -> None:
    path = write_config(
        "state:\n  path: s.db\nevents:\n  sqlite:\n    path: e.db\ndiscovery:\n  daily: true\n"
        "  sweep_interfaces: {vc-1: 'eth 0'}\n  sweep_rate: 0\n"
    )
    code, out = run_cli("--config", str(path), "config", "check", "--json")
    assert code == 1
    check = next(c for c in json.loads(out) if c["check"] == "section discovery")
    assert check["detail"].startswith(f"{path}:7: discovery: unknown key 'daily'")
    with pytest.raises(ConfigError) as caught:
        load_config(path).section(DISCOVERY)
    assert caught.value.issues[1:] == (
        f"{path}:8: discovery.sweep_interfaces.vc-1: 'eth 0' is not an interface name"
        " (1-15 characters, no '/', ':' or spaces)",
        f"{path}:9: discovery.sweep_rate: 0 is out of range (1-1e+06)",
    )
    path = write_config(
        "state:\n  path: s.db\nevents:\n  sqlite:\n    path: e.db\ndiscovery:\n  device_rules:\n"
        "    - local.yaml\n    - {file: /x/thc.yaml, institution: thc1, extra: 1}\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config(path).section(DISCOVERY)
    assert any(i.startswith(f"{path}:9: discovery.device_rules[1]: unknown key 'extra'") for i in info.value.issues)


def test_the_bastion_section_is_checked_at_file_line(write_config) -> None:
    path = write_config(
        "state:\n  path: s.db\nevents:\n  sqlite:\n    path: e.db\nbastion:\n  listen: nowhere\n"
        "  lockout: {max_failures: 0}\n"
    )
    code, out = run_cli("--config", str(path), "config", "check", "--json")
    assert code == 1
    check = next(c for c in json.loads(out) if c["check"] == "section bastion")
    assert f"{path}:7: bastion.listen: 'nowhere' is not HOST:PORT" in check["detail"]
    with pytest.raises(ConfigError) as info:
        load_config(path).section(BASTION)
    assert f"{path}:8: bastion.lockout.max_failures: 0 is out of range (1-100)" in info.value.issues


def test_an_unknown_section_name_is_refused_at_load_and_in_code(write_config) -> None:
    path = write_config("link:\n  interval_s: 3\n")
    with pytest.raises(ConfigError, match=re.escape("unknown key 'link' (did you mean 'links'?)")):
        load_config(path)
    with pytest.raises(ValueError, match=re.escape("not in netguard.section_names.CAPABILITIES")):
        Section("linkz", LinkSettings, _parse)


def test_a_parse_function_returning_the_wrong_type_is_a_programming_error(write_config) -> None:
    def wrong(r: SectionReader, node: yaml.Node) -> Any:
        return {"interval_s": 1}

    with pytest.raises(TypeError):
        load_config(write_config("links: {}\n")).section(Section("links", LinkSettings, wrong))
