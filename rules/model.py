"""Rules as data: what a rule says, and what matching it means.

Every capability's policy is written the same way (Wazuh SCA's shape: id,
title, rationale, remediation, compliance references, a condition), so a
security officer reads one format whether the rule is about a shell command,
an SQL statement, a device or a compliance control. What differs per
capability is only the *domain*: the facts a condition may name and their
types (:class:`Domain`), declared by the capability, not here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from netguard.inventory.issues import Location


class Severity(StrEnum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {s: i for i, s in enumerate(Severity)}


class Action(StrEnum):
    """What the capability does on a match; the strongest action of all matches wins."""

    TAG = "tag"  # record the match on the event, nothing else
    ALLOW = "allow"  # permit what would otherwise need action (only in domains that accept it: devices)
    WARN = "warn"  # record it and alert (the user is told where the capability can tell them)
    DENY = "deny"  # refuse where the capability can refuse (an exec request, an eviction guard...)

    @property
    def rank(self) -> int:
        return _ACTION_RANK[self]


_ACTION_RANK = {a: i for i, a in enumerate(Action)}
# Most domains only tag, warn or deny; ``allow`` means something only where a
# capability has a default verdict to overturn (an unknown device).
DEFAULT_ACTIONS: tuple[Action, ...] = (Action.TAG, Action.WARN, Action.DENY)

FACT_TYPES = ("text", "number", "bool", "list")


@dataclass(frozen=True)
class Domain:
    """The facts rules of one kind may test, with their types (``text``, ``number``, ``bool``, ``list``),
    and the actions its rules may take."""

    name: str
    facts: Mapping[str, str]
    description: str = ""
    actions: tuple[Action, ...] = DEFAULT_ACTIONS  # the actions a rule of this domain may take

    def __post_init__(self) -> None:
        bad = {k: v for k, v in self.facts.items() if v not in FACT_TYPES}
        if bad:
            raise ValueError(f"domain {self.name}: unknown fact types {bad}")


Predicate = Callable[[Mapping[str, Any]], bool]


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    severity: Severity
    action: Action
    predicate: Predicate = field(repr=False, compare=False)
    pack: str = ""
    rationale: str = ""
    remediation: str = ""
    references: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    where: Location | None = None
    facts: frozenset[str] = frozenset()  # the facts its condition names
    # The ``when:`` node it was compiled from (None for a rule built in code): what a cache reads the
    # constants from (audit/fact_buckets.py), since the predicate is opaque.
    condition: Any = field(default=None, repr=False, compare=False)

    def matches(self, facts: Mapping[str, Any]) -> bool:
        return self.predicate(facts)


@dataclass(frozen=True)
class Verdict:
    """All rules that matched one set of facts, with the strongest action and severity among them."""

    matches: tuple[Rule, ...] = ()

    @property
    def action(self) -> Action | None:
        return max((r.action for r in self.matches), key=lambda a: a.rank, default=None)

    @property
    def severity(self) -> Severity | None:
        return max((r.severity for r in self.matches), key=lambda s: s.rank, default=None)

    @property
    def denied(self) -> bool:
        return self.action is Action.DENY

    @property
    def rule_ids(self) -> tuple[str, ...]:
        return tuple(r.id for r in self.matches)

    def __bool__(self) -> bool:
        return bool(self.matches)
