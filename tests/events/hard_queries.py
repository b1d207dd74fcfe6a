"""Queries at the documented size limits (docs/query.md), for the SQLite and the parity tests."""

from __future__ import annotations

from collections.abc import Callable

from netguard.errors import QueryError
from netguard.events.query import plan as p


def largest_queries() -> list[str]:
    """Queries right at the documented limits, in the shapes that nest SQL the most (test_parity runs them too)."""
    leaves = ["related.ip:10.1.0.0/16", "tags:a*b", "-user:a", "bytes:[1 TO 9]", "sel?ct"]

    def deepest(grow: Callable[[str, int], str], seed: str) -> str:
        query, i = seed, 0
        while True:
            bigger = grow(query, i)
            try:
                p.compile_query(bigger)
            except QueryError as exc:
                assert "too complex" in exc.reason
                return query
            query, i = bigger, i + 1

    wide = " OR ".join(f"related.ip:10.{i // 250}.{i % 250}.0/24" for i in range(p.MAX_CLAUSES - 100))
    deep_or = deepest(lambda q, i: f"{leaves[i % 5]} ({leaves[(i + 1) % 5]} OR {q})", "from?x")
    deep_not = deepest(lambda q, i: f"NOT ({leaves[i % 5]} {leaves[(i + 2) % 5]} {q})", "tags:x*")
    deep_list = deepest(lambda q, i: f"NOT (bytes:>{i} OR {q})", wide)
    return [wide, deep_or, deep_not, deep_list]
