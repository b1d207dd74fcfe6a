"""Evaluating a rule set against facts: every rule, in load order, into one verdict."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from rules.model import Domain, Rule, Verdict


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    domain: Domain

    def evaluate(self, facts: Mapping[str, Any]) -> Verdict:
        """The rules that match; a rule whose test fails on a value of the wrong type does not match."""
        matched = []
        for rule in self.rules:
            try:
                hit = rule.matches(facts)
            except (TypeError, ValueError):
                hit = False  # e.g. a number test on a non-numeric value: no match, not a crash
            if hit:
                matched.append(rule)
        return Verdict(tuple(matched))

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def get(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)
