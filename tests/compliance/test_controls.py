"""The control packs: the built-in one, and rule files that refuse the scan (exit 2, file:line)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from netguard.compliance.controls import BUILTIN, ScanCannotRun, load_controls
from netguard.compliance.scan import COLLECTORS


def test_builtin_pack_has_every_control_of_the_issue_with_its_clause() -> None:
    controls = {c.rule.id: c for c in load_controls([], COLLECTORS)}
    assert {c.evidence for c in controls.values()} == set(COLLECTORS)
    clauses = {ref for c in controls.values() for ref in c.rule.references}
    for clause in ("8.1.3.1 b", "8.1.5.4 c", "8.1.4.4 c", "8.1.4.3 c", "8.1.5.4 d", "8.1.4.3 a"):
        assert any(clause in ref for ref in clauses), clause
    for c in controls.values():
        assert c.rule.rationale and c.rule.remediation and c.rule.where is not None


def _run(tmp_path: Path, pack: str) -> tuple[int, str, Path]:
    rules = tmp_path / "site.yaml"
    rules.write_text(pack, encoding="utf-8")
    config = tmp_path / "netguard.yaml"
    # The inventory does not exist: the rules are checked first, so the scan never gets that far.
    config.write_text(f"inventory: {tmp_path / 'none.yaml'}\nscan: {{rules: [site.yaml]}}\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["--config", str(config), "scan"])
    return result.exit_code, result.output, rules


def test_a_rule_file_with_a_syntax_error_refuses_the_scan_with_file_and_line(tmp_path: Path) -> None:
    code, output, rules = _run(tmp_path, "pack: site\ndomain: compliance\nrules:\n  - id: X\n    title: [unclosed\n")
    assert code == 2, output
    assert output.startswith(f"error: invalid compliance rules: {rules}:")
    line = int(output.split(f"{rules}:", 1)[1].split(":", 1)[0])
    assert 4 <= line <= 6 and "Traceback" not in output


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        ("[evidence:nonsense]", "unknown evidence 'nonsense'"),
        ("[audit]", "needs exactly one 'evidence:NAME' tag, has 0"),
    ],
)
def test_a_control_must_name_known_evidence(tmp_path: Path, tags: str, message: str) -> None:
    pack = (
        "pack: site\ndomain: compliance\nrules:\n  - id: SITE-1\n    title: t\n    severity: low\n"
        f"    action: warn\n    tags: {tags}\n    when: {{link_state: up}}\n"
    )
    code, output, rules = _run(tmp_path, pack)
    assert code == 2 and f"{rules}:4" in output and message in output, output


def test_an_unknown_fact_is_an_error_at_its_line(tmp_path: Path) -> None:
    pack = (
        "pack: site\ndomain: compliance\nrules:\n  - id: SITE-1\n    title: t\n    severity: low\n"
        "    action: warn\n    tags: [evidence:links]\n    when: {link_sate: up}\n"
    )
    code, output, rules = _run(tmp_path, pack)
    assert code == 2 and f"{rules}:9" in output and "link_sate" in output, output


def test_disabling_every_control_is_refused(tmp_path: Path) -> None:
    ids = [c.rule.id for c in load_controls([], COLLECTORS)]
    pack = tmp_path / "off.yaml"
    pack.write_text(f"pack: off\ndomain: compliance\ndisable: [{', '.join(ids)}]\n", encoding="utf-8")
    with pytest.raises(ScanCannotRun, match="no compliance controls"):
        load_controls([pack], COLLECTORS)
    assert BUILTIN.exists()


def test_a_bad_scan_section_is_an_error_at_its_line(tmp_path: Path) -> None:
    config = tmp_path / "netguard.yaml"
    config.write_text("scan:\n  sql_window_hours: 24\n  audit_retention: six months\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["--config", str(config), "scan"])
    assert result.exit_code == 2
    assert f"{config}:3" in result.output and "'six months' is not a duration" in result.output, result.output
