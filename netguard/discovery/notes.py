"""What a collection skipped and which walks failed, gathered while parsing.

One :class:`Notes` lives for one switch walk (never shared), and freezes into
the report's ``skipped`` and ``problems`` tuples at the end.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from netguard.discovery.records import Skip, TableProblem
from netguard.snmp.values import Oid, oid_text

if TYPE_CHECKING:  # types only: importing the discovery package loads no pysnmp API
    from netguard.snmp.client import Walk


@dataclass
class Notes:
    _counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    _examples: dict[tuple[str, str], str] = field(default_factory=dict)
    _problems: list[TableProblem] = field(default_factory=list)

    def skip(self, table: str, reason: str, index: Oid | str = ()) -> None:
        key = (table, reason)
        self._counts[key] += 1
        if key not in self._examples:
            self._examples[key] = index if isinstance(index, str) else oid_text(index)

    def walked(self, table: str, walk: Walk) -> Walk:
        """Record the walk's problem, if any, and hand the walk back."""
        if walk.problem is not None:
            self._problems.append(TableProblem(table, walk.problem, len(walk.rows)))
        if walk.unordered:
            key = (table, "agent returned OIDs out of order (rows kept)")
            self._counts[key] += walk.unordered
            self._examples.setdefault(key, oid_text(walk.root))
        return walk

    def skipped(self) -> tuple[Skip, ...]:
        return tuple(Skip(t, r, n, self._examples[(t, r)]) for (t, r), n in sorted(self._counts.items()))

    def problems(self) -> tuple[TableProblem, ...]:
        return tuple(self._problems)
