"""The Classifier interface, and a minimal built-in classifier.

A :class:`Classifier` takes the statement and its analysis and returns a
:class:`Verdict` (risk level and matched rules); the pipeline only ever calls
``classify``. The configured classifier is :class:`audit.sql_rules.SqlClassifier`
(the YAML packs of ``rules/``: sensitive tables and columns, working hours,
clients from the inventory); this one needs no configuration and is the
pipeline's default where none is given.

Built in: UPDATE/DELETE without WHERE; DROP, TRUNCATE, ALTER; GRANT, REVOKE and
account changes. Risk is the highest severity matched, ``info`` when none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from audit.analysis import Analysis
from audit.records import Statement
from netguard.events.schema import RISK_LEVELS


@dataclass(frozen=True, slots=True)
class RuleMatch:
    id: str
    title: str
    severity: str
    reference: str  # the 等保2.0 clause
    pack: str = "builtin"  # the rule pack it comes from (rule.ruleset)


@dataclass(frozen=True, slots=True)
class Verdict:
    risk: str
    rules: tuple[RuleMatch, ...] = ()


class Classifier(Protocol):
    def classify(self, statement: Statement, analysis: Analysis) -> Verdict: ...


@dataclass(frozen=True)
class _Rule:
    match: RuleMatch
    applies: Callable[[Analysis], bool]


_ACCOUNT_CHANGES = frozenset({"GRANT", "REVOKE", "RENAME USER", "SET PASSWORD"})
_ACCOUNT_OBJECTS = frozenset({"USER", "ROLE"})


def account_change(statement_type: str) -> bool:
    """GRANT, REVOKE, CREATE/ALTER/DROP/RENAME USER or ROLE, SET PASSWORD."""
    words = statement_type.split(" ")
    return statement_type in _ACCOUNT_CHANGES or (len(words) == 2 and words[1] in _ACCOUNT_OBJECTS)


def _account_change(a: Analysis) -> bool:
    return account_change(a.statement_type)


_BUILTIN: tuple[_Rule, ...] = (
    _Rule(RuleMatch("sql-where-less", "UPDATE or DELETE without WHERE", "high", "8.1.4.3 a)"), lambda a: a.where_less),
    _Rule(
        RuleMatch("sql-destructive-ddl", "DROP, TRUNCATE or ALTER", "high", "8.1.4.3 a)"),
        lambda a: a.statement_type.split(" ")[0] in ("DROP", "TRUNCATE", "ALTER") and not _account_change(a),
    ),
    _Rule(
        RuleMatch("sql-privilege-change", "GRANT, REVOKE or account change", "medium", "8.1.4.3 a)"), _account_change
    ),
)
_ORDER = {level: i for i, level in enumerate(RISK_LEVELS)}


def verdict_of(matched: tuple[RuleMatch, ...]) -> Verdict:
    """The verdict of these matches: the highest severity among them, ``info`` for none."""
    if not matched:
        return Verdict("info")
    return Verdict(max((m.severity for m in matched), key=_ORDER.__getitem__), matched)


class BuiltinClassifier:
    """The three built-in rules; the verdict depends only on the analysis, so it is cached with it."""

    def classify(self, statement: Statement, analysis: Analysis) -> Verdict:
        return verdict_of(tuple(rule.match for rule in _BUILTIN if rule.applies(analysis)))
