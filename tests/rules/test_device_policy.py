"""Device policy: real YAML rule files over the lab county's inventory, judged by ``classify``.

The inventory is the one ``lab up`` writes (the plan is pure, no namespaces
needed): township 1 has an authorised Mindray medical device and a rogue with
a randomised MAC. Each test writes its rule files and, where it matters, a
``netguard.yaml`` naming them, as an administrator would.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from bastion.command_rules import COMMAND_DOMAIN
from netguard.config import load_config
from netguard.discovery.authorise import Status, classify
from netguard.discovery.policy import load_device_policy, policy_from_config
from netguard.discovery.settings import RuleFile
from netguard.errors import ConfigError
from netguard.inventory import Inventory, InventoryInvalid, load_inventory
from netguard.lab.labfiles import inventory_document
from netguard.lab.topology import Host, plan_county
from rules.engine import RuleSet
from rules.loader import RulesInvalid, load_packs

PLAN = plan_county("unit", 1, 2)
MEDICAL = next(h for h in PLAN.hosts if h.kind == "medical-device")
RANDOMISED = next(h for h in PLAN.hosts if h.role == "rogue" and int(h.mac[:2], 16) & 0x02)
ROGUE = next(h for h in PLAN.hosts if h.role == "rogue" and h.site == "t1v1")
PC = next(h for h in PLAN.hosts if h.kind == "pc" and h.role == "authorised" and h.site == "t1v1")


def write_inventory(tmp_path: Path, change: Any = None) -> Inventory:
    doc = copy.deepcopy(inventory_document(PLAN))
    if change is not None:
        change(doc)
    path = tmp_path / "inventory.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return load_inventory(path)


def without_medical(doc: dict[str, Any]) -> None:
    """The medical device is not listed one by one: the OUI rule has to authorise it."""
    for inst in doc["institutions"]:
        inst["devices"] = [d for d in inst.get("devices", []) if d["mac"] != MEDICAL.mac]


def rule_file(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def judge(inv: Inventory, policy: RuleSet | None, host: Host, institution: str | None = None) -> Any:
    return classify(inv, host.mac, [str(host.ip)], institution or host.institution, policy=policy, port=host.port)


MEDICAL_RULES = """\
pack: thc1-devices
title: 乡镇1卫生院 own devices
domain: device
rules:
  - id: THC1-MINDRAY
    title: Mindray monitors and analysers of the laboratory
    severity: info
    action: allow
    references: ["等保2.0 8.1.3.1 b"]
    when:
      oui: "00:0f:14"
"""


def test_the_builtin_pack_flags_a_randomised_mac_and_leaves_it_unknown(tmp_path: Path) -> None:
    inv = write_inventory(tmp_path)
    policy = load_device_policy()
    verdict = judge(inv, policy, RANDOMISED)
    assert verdict.status is Status.UNKNOWN and verdict.status.needs_action
    assert verdict.rule_id == "DEV-RANDOMISED-MAC" and verdict.matched == ("DEV-RANDOMISED-MAC",)
    assert "DEV-RANDOMISED-MAC" in verdict.reason
    # A rogue with a burnt-in MAC matches nothing; without rules the randomised one is plainly unknown.
    assert judge(inv, policy, ROGUE).matched == ()
    assert judge(inv, None, RANDOMISED).rule is None


def test_an_institution_rule_file_allows_its_medical_oui_there_and_only_there(tmp_path: Path) -> None:
    inv = write_inventory(tmp_path, without_medical)
    assert judge(inv, load_device_policy(), MEDICAL).status is Status.UNKNOWN  # no rule: unknown
    path = rule_file(tmp_path, "thc1.yaml", MEDICAL_RULES)
    policy = load_device_policy([RuleFile(path, MEDICAL.institution)], inv)
    here = judge(inv, policy, MEDICAL)
    assert here.status is Status.AUTHORISED and here.authorised and here.rule_id == "THC1-MINDRAY"
    assert "allowed by rule THC1-MINDRAY" in here.reason
    # The same OUI at another institution: that institution's rules did not allow it.
    elsewhere = judge(inv, policy, MEDICAL, institution="lab-vc1-1")
    assert elsewhere.status is Status.UNKNOWN and elsewhere.matched == ()
    # The same file county-wide would allow it everywhere.
    county = load_device_policy([RuleFile(path)], inv)
    assert judge(inv, county, MEDICAL, institution="lab-vc1-1").status is Status.AUTHORISED


def test_an_allow_by_tier_and_a_deny_by_oui_and_by_mac(tmp_path: Path) -> None:
    inv = write_inventory(tmp_path, without_medical)
    path = rule_file(
        tmp_path,
        "county.yaml",
        f"""\
pack: county-devices
title: County device policy
domain: device
rules:
  - id: MED-TOWNSHIP
    title: Medical devices at township health centres
    severity: info
    action: allow
    when: {{all: [{{vendor: {{matches: mindray}}}}, {{tier: township}}]}}
  - id: NO-TPLINK
    title: Consumer routers are not allowed on the intranet
    severity: high
    action: deny
    when: {{oui: {{in: ["{ROGUE.mac[:8]}"]}}}}
  - id: STOLEN-PC
    title: A reported stolen laptop
    severity: critical
    action: deny
    when: {{mac: "{PC.mac.upper()}"}}
""",
    )
    policy = load_device_policy([RuleFile(path)], inv)
    assert judge(inv, policy, MEDICAL).rule_id == "MED-TOWNSHIP"
    assert judge(inv, policy, MEDICAL, institution="lab-vc1-1").status is Status.UNKNOWN  # a village
    rogue = judge(inv, policy, ROGUE)
    assert (rogue.status, rogue.rule_id, rogue.authorised) == (Status.DENIED, "NO-TPLINK", False)
    assert rogue.status.needs_action and "denied by rule NO-TPLINK" in rogue.reason
    # A deny is stronger than the inventory: the listed PC is denied, and the verdict still names its entry.
    pc = judge(inv, policy, PC)
    assert (pc.status, pc.rule_id) == (Status.DENIED, "STOLEN-PC") and pc.device is not None
    assert judge(inv, None, PC).status is Status.AUTHORISED


def test_an_allow_rule_never_clears_a_conflict(tmp_path: Path) -> None:
    inv = write_inventory(tmp_path, without_medical)
    path = rule_file(tmp_path, "thc1.yaml", MEDICAL_RULES)
    policy = load_device_policy([RuleFile(path)], inv)
    # The medical device takes the PC's bound address: an allowed OUI, but a conflict of addresses.
    verdict = classify(inv, MEDICAL.mac, [str(PC.ip)], MEDICAL.institution, policy=policy)
    assert verdict.status is Status.CONFLICT and verdict.matched == ("THC1-MINDRAY",)


def test_a_mac_banned_in_the_inventory_is_denied(tmp_path: Path) -> None:
    def ban(doc: dict[str, Any]) -> None:
        doc["banned"] = [{"mac": ROGUE.mac.replace(":", "-"), "reason": "工单 2026-118: 私接路由器"}]

    inv = write_inventory(tmp_path, ban)
    assert inv.ban(ROGUE.mac) is not None and inv.ban(PC.mac) is None
    verdict = judge(inv, load_device_policy(), ROGUE)
    assert verdict.status is Status.DENIED and verdict.rule is None
    assert verdict.reason == "banned in the inventory: 工单 2026-118: 私接路由器"


def test_a_banned_mac_that_is_also_authorised_is_an_inventory_error_at_its_line(tmp_path: Path) -> None:
    def ban(doc: dict[str, Any]) -> None:
        doc["banned"] = [{"mac": PC.mac}]

    with pytest.raises(InventoryInvalid) as info:
        write_inventory(tmp_path, ban)
    [error] = info.value.report.errors
    text = (tmp_path / "inventory.yaml").read_text(encoding="utf-8").splitlines()
    assert text[error.location.line - 1].strip() == f"- mac: {PC.mac}"
    assert error.location.path == "banned[0].mac" and "banned and also an authorised device" in error.message


def test_a_broken_rule_file_names_file_and_line(tmp_path: Path) -> None:
    path = rule_file(
        tmp_path,
        "broken.yaml",
        """\
pack: broken
title: Mistakes
domain: device
rules:
  - id: OK-ONE
    title: fine
    severity: low
    action: tag
    when: {locally_administered: true}
  - id: BAD-FACT
    title: a fact devices do not have
    severity: low
    action: warn
    when:
      hostname: printer
  - id: BAD-ACTION
    title: an action that does not exist
    severity: low
    action: evict
    when: {oui: "00:0f:14"}
  - id: BAD-REGEX
    title: a pattern that does not compile
    severity: low
    action: deny
    when: {vendor: {matches: "(mindray"}}
""",
    )
    with pytest.raises(RulesInvalid) as info:
        load_device_policy([RuleFile(path)])
    problems = {(e.location.file, e.location.line): e.message for e in info.value.report.errors}
    assert set(problems) == {(str(path), 15), (str(path), 19), (str(path), 25)}
    assert "unknown fact 'hostname'" in problems[(str(path), 15)]
    assert "unknown action 'evict'" in problems[(str(path), 19)] and "allow" in problems[(str(path), 19)]
    assert "does not compile" in problems[(str(path), 25)]
    assert str(info.value).startswith(f"invalid rules: {path}:15:")


def test_allow_is_only_for_domains_that_take_it(tmp_path: Path) -> None:
    path = rule_file(
        tmp_path,
        "commands.yaml",
        """\
pack: local
title: Local
domain: command
rules:
  - id: LS
    title: listing is fine
    severity: info
    action: allow
    when: {command: ls}
""",
    )
    [error] = load_packs([path], COMMAND_DOMAIN).report.errors
    assert error.location.line == 8 and "unknown action 'allow'" in error.message


def test_the_config_names_the_files_and_a_later_file_can_switch_a_builtin_rule_off(tmp_path: Path) -> None:
    inv = write_inventory(tmp_path)
    rule_file(
        tmp_path,
        "quiet.yaml",
        "pack: quiet\ntitle: Quiet\ndomain: device\ndisable: [DEV-RANDOMISED-MAC]\nrules: []\n",
    )
    config = tmp_path / "netguard.yaml"
    config.write_text(
        f"inventory: {tmp_path / 'inventory.yaml'}\nstate: {{path: s.db}}\n"
        "discovery:\n  device_rules:\n    - quiet.yaml\n",
        encoding="utf-8",
    )
    policy = policy_from_config(load_config(config), inv)
    assert policy.get("DEV-RANDOMISED-MAC") is None
    assert judge(inv, policy, RANDOMISED).matched == ()


def test_a_file_scoped_to_an_unknown_institution_is_a_config_error_at_its_line(tmp_path: Path) -> None:
    inv = write_inventory(tmp_path)
    rule_file(tmp_path, "thc1.yaml", MEDICAL_RULES)
    config = tmp_path / "netguard.yaml"
    config.write_text(
        "state: {path: s.db}\ndiscovery:\n  device_rules:\n    - {file: thc1.yaml, institution: lab-thc9}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        policy_from_config(load_config(config), inv)
    assert str(info.value).startswith(f"{config}:4: discovery.device_rules[0]: device rules ")
    assert "'lab-thc9', which is not in the inventory" in str(info.value)


def test_the_example_rule_file_loads_against_the_example_inventory() -> None:
    root = Path(__file__).parents[2] / "examples"
    inv = load_inventory(root / "huize-county.yaml")
    policy = load_device_policy([RuleFile(root / "device-rules.yaml")], inv)
    assert [r.id for r in policy] == ["DEV-RANDOMISED-MAC", "HZ-MED-TOWNSHIP", "HZ-NO-CONSUMER-ROUTER"]
    township = next(i for i in inv if i.tier.value == "township")
    verdict = classify(inv, "00:0f:14:12:34:56", [], township.id, policy=policy)
    assert (verdict.status, verdict.rule_id) == (Status.AUTHORISED, "HZ-MED-TOWNSHIP")
