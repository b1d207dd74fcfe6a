"""The controls of a scan: the built-in ``compliance`` pack plus the admin's packs, checked whole.

Controls are rules of the ``compliance`` domain (:mod:`rules.loader`: every
problem with its file and line). Each must name the evidence it reads with
exactly one ``evidence:NAME`` tag, NAME one of the collectors a scan has; a
control that names none, two, or an unknown one is an error at its
``file:line`` too. A scan refuses to start with any error (exit 2): running
half a policy would report a county compliant against controls it never ran.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from netguard.compliance.model import COMPLIANCE_DOMAIN
from netguard.errors import NetGuardError
from rules.loader import builtin_pack, load_packs
from rules.model import Rule

EVIDENCE_TAG = "evidence:"
BUILTIN = builtin_pack("compliance")


class ScanCannotRun(NetGuardError):
    """The scan itself cannot run (bad rule file, no inventory): exit 2."""


@dataclass(frozen=True)
class Control:
    rule: Rule
    evidence: str


def evidence_of(rule: Rule) -> list[str]:
    return [t[len(EVIDENCE_TAG) :] for t in rule.tags if t.startswith(EVIDENCE_TAG)]


def load_controls(extra: Iterable[Path], collectors: Sequence[str]) -> list[Control]:
    """Every control, built-in pack first; ScanCannotRun naming the first problem's file and line."""
    loaded = load_packs([BUILTIN, *extra], COMPLIANCE_DOMAIN)
    problems = [str(e) for e in loaded.report.errors]
    controls: list[Control] = []
    for rule in loaded.rules:
        names = evidence_of(rule)
        where = f"{rule.where.file}:{rule.where.line}" if rule.where else rule.pack
        if len(names) != 1:
            problems.append(f"{where}: control {rule.id} needs exactly one 'evidence:NAME' tag, has {len(names)}")
        elif names[0] not in collectors:
            problems.append(
                f"{where}: control {rule.id}: unknown evidence '{names[0]}' (one of {', '.join(collectors)})"
            )
        else:
            controls.append(Control(rule, names[0]))
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ScanCannotRun(f"invalid compliance rules: {problems[0]}{more}")
    if not controls:
        raise ScanCannotRun("no compliance controls to run (every control is disabled)")
    return controls
