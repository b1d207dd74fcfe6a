"""Rule regexes: a hostile rule file cannot hang the evaluator; non-linear features refused with file:line."""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path

import pytest

from bastion.command_rules import COMMAND_DOMAIN, command_facts
from rules.loader import RulesInvalid, builtin_pack, load_or_raise, load_packs
from rules.model import Action
from rules.regex import RegexError, compile_search

NOON = datetime(2026, 11, 30, 12, 0)

# Each of these takes Python's backtracking ``re`` from minutes to forever on the lines below.
HOSTILE = """pack: hostile
domain: command
rules:
  - id: H1
    title: nested quantifier
    severity: low
    action: warn
    when: {command: {matches: '^(a+)+$'}}
  - id: H2
    title: cubic
    severity: low
    action: warn
    when: {command: {matches: '.*a.*a.*a.*b'}}
  - id: H3
    title: alternation under a star
    severity: low
    action: deny
    when: {command: {matches: '^(a|aa)*c$'}}
  - id: H4
    title: still a working rule
    severity: high
    action: deny
    when: {command: {matches: '\\brm\\s+-rf\\s+/$'}}
"""


def _facts(command: str) -> dict[str, object]:
    return dict(command_facts(command, user="alice", account="root", target="his-db01", interactive=False, at=NOON))


def test_hostile_rule_file_does_not_hang_the_evaluator(tmp_path: Path) -> None:
    path = tmp_path / "hostile.yaml"
    path.write_text(HOSTILE)
    rules = load_or_raise([builtin_pack("bastion-commands"), path], COMMAND_DOMAIN)
    lines = ["a" * 50_000 + "!", "a" * 20_000, "a" * 40 + "x", "rm -rf /"]
    verdicts: list[tuple[str, ...]] = []

    def evaluate() -> None:
        for line in lines:
            verdicts.append(rules.evaluate(_facts(line)).rule_ids)

    worker = threading.Thread(target=evaluate, daemon=True)
    worker.start()
    worker.join(120)  # a backtracking engine is still at the first line long after this
    assert not worker.is_alive(), "a hostile rule pattern hung the evaluator"
    assert verdicts[0] == ()
    assert verdicts[1] == ("H1",)  # the patterns still mean what they say
    assert verdicts[2] == ()
    assert "H4" in verdicts[3]
    assert rules.evaluate(_facts("rm -rf /")).action is Action.DENY


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        (r"(\w+)\s+\1", "backreferences are not supported"),
        (r"rm(?=\s)", "lookaround is not supported"),
        (r"(?<!sudo )reboot", "lookaround is not supported"),
        (r"x{1001}", "repetition"),
        (r"(unclosed", "missing"),
    ],
)
def test_non_linear_or_broken_patterns_are_refused_at_load_with_file_and_line(
    tmp_path: Path, pattern: str, why: str
) -> None:
    path = tmp_path / "local.yaml"
    path.write_text(
        "pack: local\ndomain: command\nrules:\n"
        "  - id: L1\n    title: t\n    severity: low\n    action: deny\n"
        f"    when: {{command: {{matches: '{pattern}'}}}}\n"
    )
    loaded = load_packs([path], COMMAND_DOMAIN)
    messages = [str(issue) for issue in loaded.report.errors]
    assert any(m.startswith(f"{path}:8:") and "does not compile" in m and why in m for m in messages), messages
    with pytest.raises(RulesInvalid):
        load_or_raise([path], COMMAND_DOMAIN)


def test_case_and_syntax_as_before() -> None:
    assert compile_search(r"\bDROP\s+TABLE\b")("x; drop   table patients")
    assert not compile_search(r"(?-i)DROP")("drop")
    assert compile_search(r"患者\s*表")("select * from 患者 表")
    assert compile_search(r"^sudo (-u \w+ )?reboot$")("sudo -u root reboot")
    with pytest.raises(RegexError):
        compile_search("(?P<x>a)(?P=x)")
