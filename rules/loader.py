"""Rule packs from YAML files, every problem reported with its file and line.

A pack file::

    pack: bastion-commands          # the pack's id
    title: Dangerous shell commands
    domain: command                 # must be the domain the caller loads for
    rules:
      - id: CMD-RM-ROOT
        title: Recursive delete from the root
        severity: critical          # info, low, medium, high, critical
        action: deny                # tag, warn, deny (and allow where the domain takes it)
        rationale: ...
        remediation: ...
        references: [等保2.0 8.1.3.5 d]
        tags: [destructive]
        when: {command: {matches: '...'}}
    disable: [CMD-OTHER]            # ids of rules from packs loaded earlier to switch off

Packs load in order (the built-in pack first, then the admin's and each
institution's), so a later pack can add rules and switch off earlier ones. A
rule id must be unique across the packs loaded together; a duplicate is an
error naming both places. Loading never stops at the first problem: it returns
the rule set of the valid rules and a report of every error, and the caller
decides whether any error is fatal (the CLI refuses to run with one).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from netguard.errors import EXIT_FINDINGS, NetGuardError
from netguard.inventory.issues import Location, Report
from netguard.inventory.nodes import Reader, compose, join
from rules.conditions import compile_condition, referenced_facts
from rules.engine import RuleSet
from rules.model import Action, Domain, Rule, Severity

BUILTIN_DIR = Path(__file__).parent / "packs"
_RULE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_PACK_KEYS = ("title", "rules", "disable", "description")
_RULE_KEYS = ("rationale", "remediation", "references", "tags", "description")


class RulesInvalid(NetGuardError):
    """A rule file has errors; carries the report (exit 1, like an invalid inventory)."""

    exit_code = EXIT_FINDINGS

    def __init__(self, report: Report) -> None:
        self.report = report
        first = report.errors[0]
        more = len(report.errors) - 1
        super().__init__(f"invalid rules: {first}" + (f" (and {more} more)" if more else ""))


@dataclass
class Loaded:
    rules: RuleSet
    report: Report = field(default_factory=Report)


def builtin_pack(name: str) -> Path:
    return BUILTIN_DIR / f"{name}.yaml"


def load_packs(paths: Iterable[Path], domain: Domain) -> Loaded:
    """Every rule of every pack for ``domain``; problems in the report, never raised."""
    report = Report()
    rules: dict[str, Rule] = {}
    for path in paths:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            report.error(_loc(path), f"cannot read rule file: {exc.strerror}")
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            report.error(_loc(path, line), "not UTF-8 text")
            continue
        _load_text(text, str(path), domain, rules, report)
    report.sort()
    return Loaded(RuleSet(tuple(rules.values()), domain), report)


def load_or_raise(paths: Iterable[Path], domain: Domain) -> RuleSet:
    loaded = load_packs(paths, domain)
    if not loaded.report.ok:
        raise RulesInvalid(loaded.report)
    return loaded.rules


def _loc(path: Path, line: int = 1) -> Location:
    return Location(str(path), line, "")


def _load_text(text: str, file: str, domain: Domain, rules: dict[str, Rule], report: Report) -> None:
    reader = Reader(file, report)
    try:
        root = compose(text, file)
    except NetGuardError as exc:
        line, message = _split_location(str(exc), file)
        report.error(_loc(Path(file), line), message)
        return
    if root is None:
        report.error(_loc(Path(file)), "the file is empty")
        return
    top = reader.mapping(root, "", ("pack", "domain"), _PACK_KEYS)
    if top is None:
        return
    pack = reader.text(top, "pack") or ""
    pack_domain = reader.text(top, "domain")
    if pack_domain is not None and pack_domain != domain.name:
        node = top.get("domain")
        assert node is not None
        reader.error(node, "domain", f"this pack is for '{pack_domain}' rules, loaded as '{domain.name}' rules")
        return
    for path, item, rule_id in reader.scalar_items(top, "disable"):
        if rules.pop(rule_id, None) is None:
            reader.warning(item, path, f"disables '{rule_id}', which no earlier pack defines")
    for path, node in reader.sequence(top, "rules"):
        rule = _rule(reader, node, path, pack, domain)
        if rule is None:
            continue
        earlier = rules.get(rule.id)
        if earlier is not None and earlier.where is not None and rule.where is not None:
            report.error(rule.where, f"rule id '{rule.id}' is defined twice", related=[earlier.where])
            continue
        rules[rule.id] = rule


def _split_location(message: str, file: str) -> tuple[int, str]:
    """``FILE:LINE: text`` (the YAML reader's form) into the line and the text."""
    match = re.match(re.escape(file) + r"(?::(\d+))?: (.*)", message, re.DOTALL)
    if match is None:
        return 1, message
    return int(match.group(1) or 1), match.group(2)


def _rule(reader: Reader, node: yaml.Node, path: str, pack: str, domain: Domain) -> Rule | None:
    f = reader.mapping(node, path, ("id", "title", "severity", "action", "when"), _RULE_KEYS)
    if f is None:
        return None
    rule_id = reader.text(f, "id")
    id_node = f.get("id")
    if rule_id is not None and id_node is not None and not _RULE_ID.fullmatch(rule_id):
        reader.error(id_node, join(path, "id"), f"'{rule_id}' is not a rule id (letters, digits, . _ -)")
        rule_id = None
    title = reader.text(f, "title")
    severity = reader.choice(f, "severity", [s.value for s in Severity], "severity")
    action = reader.choice(f, "action", [a.value for a in domain.actions], "action")
    when = f.get("when")
    predicate = compile_condition(reader, when, join(path, "when"), domain) if when is not None else None
    if None in (rule_id, title, severity, action, predicate):
        return None
    assert rule_id and title and severity and action and predicate
    return Rule(
        id=rule_id,
        title=title,
        severity=Severity(severity),
        action=Action(action),
        predicate=predicate,
        pack=pack,
        rationale=(reader.text(f, "rationale") or "") if "rationale" in f else "",
        remediation=(reader.text(f, "remediation") or "") if "remediation" in f else "",
        references=tuple(t for _, _, t in reader.scalar_items(f, "references")),
        tags=tuple(t for _, _, t in reader.scalar_items(f, "tags")),
        where=f.source(reader.file).location,
        facts=referenced_facts(when, domain),
        condition=when,
    )
