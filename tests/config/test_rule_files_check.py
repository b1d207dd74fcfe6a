"""``config check`` loads the rule files the configuration names, as their commands would.

A device rule file (``discovery.device_rules``) or an SQL rule file
(``audit.rules``) with a mistake is reported at its own file and line by
``config check``, not first by the discovery or the audit that loads it.
"""

from __future__ import annotations

import json
from pathlib import Path

from commands.config import run_checks
from netguard.config import load_config
from tests.config.conftest import run_cli

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

GOOD_DEVICES = """\
pack: county-devices
title: County device rules
domain: device
rules:
  - id: MED-MINDRAY
    title: Mindray analysers
    severity: info
    action: allow
    when: {oui: "00:0f:14"}
"""

BAD_DEVICES = """\
pack: county-devices
title: County device rules
domain: device
rules:
  - id: MED-MINDRAY
    title: Mindray analysers
    severity: info
    action: allow
    when: {oiu: "00:0f:14"}
  - id: NO-RANDOM
    title: Randomised MACs
    severity: high
    action: deny
    when: {vendor: {matches: "(unclosed"}}
"""

BAD_SQL = """\
pack: sql-local
title: Local SQL rules
domain: sql
rules:
  - id: LOCAL-ALLOW
    title: Allowed is not an SQL action
    severity: low
    action: allow
    when: {statement_type: SELECT}
"""


def _config(tmp_path: Path, device_rules: str, sql_rules: str) -> Path:
    path = tmp_path / "netguard.yaml"
    path.write_text(
        f"inventory: {EXAMPLES / 'huize-county.yaml'}\n"
        "state:\n  path: s.db\nevents:\n  sqlite:\n    path: e.db\n"
        f"discovery:\n  device_rules:\n{device_rules}"
        f"audit:\n  rules: [{sql_rules}]\n",
        encoding="utf-8",
    )
    return path


def _rule_checks(path: Path) -> list[tuple[str, bool, str]]:
    checks = run_checks(load_config(path))
    return [(c.name, c.ok, c.detail) for c in checks if c.name in ("device rules", "SQL rules")]


def test_valid_rule_files_are_loaded_and_counted(tmp_path: Path) -> None:
    (tmp_path / "devices.yaml").write_text(GOOD_DEVICES, encoding="utf-8")
    (tmp_path / "sql-local.yaml").write_text(BAD_SQL.replace("action: allow", "action: warn"), encoding="utf-8")
    path = _config(tmp_path, "    - {file: devices.yaml, institution: hz-dc}\n", "sql-local.yaml")
    checks = _rule_checks(path)
    assert [(name, ok) for name, ok, _ in checks] == [("device rules", True), ("SQL rules", True)]
    assert f"then {tmp_path / 'devices.yaml'}): valid" in checks[0][2]
    assert f"then {tmp_path / 'sql-local.yaml'}): valid" in checks[1][2]


def test_every_mistake_in_the_rule_files_is_reported_at_its_line(tmp_path: Path) -> None:
    devices, sql = tmp_path / "devices.yaml", tmp_path / "sql-local.yaml"
    devices.write_text(BAD_DEVICES, encoding="utf-8")
    sql.write_text(BAD_SQL, encoding="utf-8")
    path = _config(tmp_path, "    - devices.yaml\n", "sql-local.yaml")

    code, out = run_cli("--config", str(path), "config", "check", "--json")
    assert code == 1
    failed = [c for c in json.loads(out) if not c["ok"] and c["check"] in ("device rules", "SQL rules")]
    details: dict[str, list[str]] = {c["check"]: [] for c in failed}
    for c in failed:
        details[c["check"]].append(c["detail"])
    assert [d.split(": ")[0] for d in details["device rules"]] == [f"{devices}:9", f"{devices}:14"]
    assert "oiu" in details["device rules"][0]
    assert [d.split(": ")[0] for d in details["SQL rules"]] == [f"{sql}:8"]
    assert "allow" in details["SQL rules"][0]


def test_a_missing_rule_file_and_an_unknown_institution_fail_the_check(tmp_path: Path) -> None:
    (tmp_path / "devices.yaml").write_text(GOOD_DEVICES, encoding="utf-8")
    path = _config(tmp_path, "    - {file: devices.yaml, institution: hz-dcc}\n", "nowhere.yaml")
    checks = _rule_checks(path)
    assert [(name, ok) for name, ok, _ in checks] == [
        ("device rules", True),
        ("device rules", False),
        ("SQL rules", False),
    ]
    assert checks[1][2] == (
        f"{path}:9: discovery.device_rules[0]: device rules {tmp_path / 'devices.yaml'} are for institution "
        "'hz-dcc', which is not in the inventory"
    )
    assert checks[2][2].startswith(f"{tmp_path / 'nowhere.yaml'}:1: cannot read rule file")
