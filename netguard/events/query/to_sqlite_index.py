"""The plan as a set of event rowids read from the embedded store's indexes alone, when it can be.

:mod:`.to_sqlite` compiles a plan into a condition checked on each event row;
this module compiles it, when every condition in it is one an index answers
exactly, into the set of matching rowids, so that counting the matches reads
posting lists and index ranges, never the events (a million rows, 0.5-15 s):

- a keyword, mac, boolean or ordinal value (``user:alice``, ``risk:>=high``,
  ``tags:pii``, ``kind:device``): its token in ``events_terms``
  (:mod:`netguard.events.sqlite_index.terms`); a list of values is the OR of their
  tokens;
- a keyword wildcard (``mac:3C:52:82:*``, ``user:adm*``): tried on the field's
  distinct values (``event_values``), then the matching values' tokens, if
  there are at most :data:`MAX_TOKENS`;
- ``field:*``: the OR of the shapes that carry the field (``event_shapes``);
- a number, or a range of them (``bytes:[1000 TO 5000]``): an index range on
  ``event_numbers``;
- an IP address or network: ranges on ``event_ips``
  (:meth:`.to_sqlite.SQLiteCompiler.ip_lookup`).

AND, OR and NOT of such sets are one FTS5 query when every part is a token
(``a AND b``, ``a OR b``, ``a NOT b``, with ``a`` the token every event has),
else compound SELECTs (INTERSECT, UNION, EXCEPT). An AND whose items are not
all indexable still gets a set from those that are (:class:`Driver`): the
others are checked on those rows only. Text conditions are never exact in an
index (trigrams name candidates), so they are always such a check.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from netguard.events.query import plan as p
from netguard.events.query.matching import matcher_set, pattern_text
from netguard.events.query.to_sqlite import SQLiteCompiler
from netguard.events.sqlite_index.addresses import IP_FIELD_BITS
from netguard.events.sqlite_index.terms import ALL_TOKEN, NO_TOKEN, NUMBER_FIELDS, TERM_FIELDS, term_token

# Past this many tokens in one query (a pasted list, a wildcard matching many values) the plan is
# left to the row check: FTS5 parses each token of an OR.
MAX_TOKENS = 2_000
# An index set larger than this is no help beside a text condition, whose trigrams name fewer rows.
LARGE_DRIVER = 100_000
# A time window holding at most this many events is read through the time index, the rest checked.
SHORT_WINDOW = 20_000
# SQLite allows 500 SELECTs in a compound; past this many, the row check is as quick anyway.
MAX_SELECTS = 64


@dataclass(frozen=True)
class RowSet:
    """A set of event rowids: an ``events_terms`` MATCH expression (``fts``) or a SELECT of one column."""

    fts: str | None = None
    sql: str = ""
    params: tuple[Any, ...] = ()
    tokens: int = 0
    selects: int = 1  # SELECTs in the compound (SQLite allows 500)

    def select(self) -> tuple[str, tuple[Any, ...]]:
        if self.fts is not None:
            return "SELECT rowid FROM events_terms WHERE events_terms MATCH ?", (self.fts,)
        return self.sql, self.params


@dataclass(frozen=True)
class Driver:
    """The rowids an index names (``rows``), of which those that also satisfy ``rest`` (if any) match."""

    rows: RowSet
    rest: p.Plan | None = None

    @property
    def exact(self) -> bool:
        """Whether ``rows`` is the whole answer (nothing left to check on them)."""
        return self.rest is None


def _quote(token: str) -> str:
    return f'"{token}"'


def _fts_any(tokens: Sequence[str]) -> RowSet:
    if not tokens:
        return RowSet(fts=_quote(NO_TOKEN), tokens=1)
    return RowSet(fts=" OR ".join(_quote(t) for t in dict.fromkeys(tokens)), tokens=len(tokens))


class IndexCompiler:
    """Compiles plans into :class:`RowSet` s; reads the shapes and values dictionaries through ``conn``."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def driver(self, plan: p.Plan) -> Driver | None:
        """The rows to start from: the plan's exact set, or for an AND the set of its indexable items."""
        if not isinstance(plan, p.All):
            exact = self.exact(plan)
            return None if exact is None else Driver(exact)
        # Each item compiled once (a wildcard reads the values dictionary, field:* the shapes), for the
        # whole AND as _exact makes it (NOTs to the right of one NOT) and for its indexable items alone.
        negated = [isinstance(item, p.Not) for item in plan.items]
        inner = [self._exact(item.item if isinstance(item, p.Not) else item) for item in plan.items]
        if all(s is not None for s in inner):
            pairs = [(neg, s) for neg, s in zip(negated, inner, strict=True) if s is not None]
            whole = self._all([s for neg, s in pairs if not neg], [s for neg, s in pairs if neg])
            if _within_limits(whole):
                return Driver(whole)
        window = self.short_window(plan.items)
        if window is not None:
            return window
        each = [None if s is None else self._all([], [s]) if neg else s for neg, s in zip(negated, inner, strict=True)]
        sets = [
            (item, s if s is not None and _within_limits(s) else None) for item, s in zip(plan.items, each, strict=True)
        ]
        found = [s for _, s in sets if s is not None]
        rows = self._all(found, []) if found else None
        rest = [item for item, s in sets if s is None]
        if rows is not None and _within_limits(rows):
            if any(isinstance(item, p.Contains) for item in rest) and self.larger_than(rows, LARGE_DRIVER):
                # The text index names fewer candidates than "NOT user:alice" does (to_sqlite's own).
                return None
            return Driver(rows, rest[0] if len(rest) == 1 else p.All(tuple(rest)))
        return None

    def larger_than(self, rows: RowSet, size: int) -> bool:
        """Whether the set holds more than ``size`` rows (counted no further)."""
        sql, params = rows.select()
        (count,) = self.conn.execute(f"SELECT count(*) FROM ({sql} LIMIT {size + 1})", params).fetchone()
        return bool(count > size)

    def short_window(self, items: Sequence[p.Plan]) -> Driver | None:
        """A time window of at most :data:`SHORT_WINDOW` events among the items of an AND, as the rows to
        start from (the time index), the rest checked on them: ``user:alice --since 1h`` reads an hour's
        events, not every one of Alice's."""
        for i, item in enumerate(items):
            if not isinstance(item, p.Range) or item.field.name != "@timestamp":
                continue
            bounds = item.bounds()
            where = " AND ".join(f"ts {op} ?" for op, _ in bounds) or "1"
            params = tuple(b for _, b in bounds)
            sql = f"SELECT rowid FROM events WHERE {where}"
            (size,) = self.conn.execute(f"SELECT count(*) FROM ({sql} LIMIT {SHORT_WINDOW + 1})", params).fetchone()
            if size <= SHORT_WINDOW:
                rest = [x for j, x in enumerate(items) if j != i]
                return Driver(RowSet(sql=sql, params=params), rest[0] if len(rest) == 1 else p.All(tuple(rest)))
        return None

    def exact(self, plan: p.Plan) -> RowSet | None:
        """The plan's matches as a row set, or None if some condition in it has no exact index (or it is
        too large for one query: :data:`MAX_TOKENS`, :data:`MAX_SELECTS`)."""
        result = self._exact(plan)
        return result if result is not None and _within_limits(result) else None

    def _exact(self, plan: p.Plan) -> RowSet | None:
        if isinstance(plan, p.MatchAll):
            return RowSet(fts=_quote(ALL_TOKEN), tokens=1)
        if isinstance(plan, p.Any_):
            parts = [self._exact(item) for item in plan.items]
            sets = [x for x in parts if x is not None]
            return self._any(sets) if len(sets) == len(parts) else None
        if isinstance(plan, p.All):
            # NOT items go to the right of one NOT: "a AND NOT b" is "a NOT b", no pass over every row.
            positive: list[RowSet] = []
            negative: list[RowSet] = []
            for item in plan.items:
                inner = self._exact(item.item if isinstance(item, p.Not) else item)
                if inner is None:
                    return None
                (negative if isinstance(item, p.Not) else positive).append(inner)
            return self._all(positive, negative)
        if isinstance(plan, p.Not):
            inner = self._exact(plan.item)
            return None if inner is None else self._all([], [inner])
        return self.leaf(plan)

    def leaf(self, plan: p.Plan) -> RowSet | None:
        if isinstance(plan, p.Exists):
            return self.exists(plan.field.name)
        if isinstance(plan, p.IpIn | p.Eq | p.OneOf) and plan.field.name in IP_FIELD_BITS:
            compiler = SQLiteCompiler()
            lookup = compiler.ip_lookup(plan)
            # One row per address and event: a list field's event may come once per address.
            sql = f"SELECT DISTINCT event FROM ({lookup})" if plan.field.array else lookup
            return RowSet(sql=sql, params=tuple(compiler.params))
        if isinstance(plan, p.Eq | p.OneOf | p.Range) and plan.field.name in NUMBER_FIELDS:
            return self.numbers(plan)
        if not isinstance(plan, p.Eq | p.OneOf | p.Wildcard) or plan.field.name not in TERM_FIELDS:
            return None
        name = plan.field.name
        if isinstance(plan, p.Wildcard):
            values: Sequence[Any] | None = self.values_matching(name, plan.pattern)
            if values is None:
                return None
        else:
            values = (plan.value,) if isinstance(plan, p.Eq) else plan.values
        if len(values) > MAX_TOKENS:
            return None
        return _fts_any([term_token(name, v) for v in values])

    def exists(self, name: str) -> RowSet:
        shapes = [
            token
            for token, fields in self.conn.execute("SELECT token, fields FROM event_shapes")
            if name in json.loads(fields)
        ]
        return _fts_any(shapes)

    def values_matching(self, name: str, pattern: Any) -> list[str] | None:
        """The field's distinct stored values that the wildcard matches (None: too many to list)."""
        check = matcher_set(json.dumps([pattern_text(pattern)]), False, False)
        prefix = pattern[0] if pattern and isinstance(pattern[0], str) else ""
        # The values starting with the literal prefix are one range of the index (SQLite compares
        # UTF-8 bytes, which sort as code points do).
        end = _prefix_end(prefix)
        upper = "" if end is None else " AND value < ?"
        rows = self.conn.execute(
            f"SELECT value FROM event_values WHERE field = ? AND value >= ?{upper}",
            (name, prefix) if end is None else (name, prefix, end),
        )
        out = []
        for (value,) in rows:
            if check(value):
                out.append(value)
                if len(out) > MAX_TOKENS:
                    return None
        return out

    def numbers(self, plan: p.Eq | p.OneOf | p.Range) -> RowSet:
        code = NUMBER_FIELDS[plan.field.name]
        distinct = "DISTINCT " if plan.field.array else ""
        head = f"SELECT {distinct}event FROM event_numbers WHERE field = {code}"
        if isinstance(plan, p.Eq):
            return RowSet(sql=f"{head} AND value = ?", params=(plan.value,))
        if isinstance(plan, p.OneOf):
            values = json.dumps(list(plan.values))
            return RowSet(sql=f"{head} AND value IN (SELECT value FROM json_each(?))", params=(values,))
        bounds = plan.bounds()
        sql = head + "".join(f" AND value {op} ?" for op, _ in bounds)
        return RowSet(sql=sql, params=tuple(b for _, b in bounds))

    @staticmethod
    def _any(sets: list[RowSet]) -> RowSet:
        if all(s.fts is not None for s in sets):
            return RowSet(fts=" OR ".join(f"({s.fts})" for s in sets), tokens=sum(s.tokens for s in sets))
        return _compound(" UNION ", sets)

    @staticmethod
    def _all(positive: list[RowSet], negative: list[RowSet]) -> RowSet:
        """The rows in every ``positive`` set and in no ``negative`` one (every row if no positive)."""
        pos = positive or [RowSet(fts=_quote(ALL_TOKEN), tokens=1)]
        sets = pos + negative
        tokens = sum(s.tokens for s in sets)
        if all(s.fts is not None for s in sets):
            expr = " AND ".join(f"({s.fts})" for s in pos)
            if negative:
                expr = f"({expr}) NOT ({' OR '.join(f'({s.fts})' for s in negative)})"
            return RowSet(fts=expr, tokens=tokens)
        selects = sum(s.selects for s in sets)
        sql, params = _compound(" INTERSECT ", pos).select()
        for s in negative:
            inner, more = s.select()
            sql, params = f"{sql} EXCEPT SELECT * FROM ({inner})", (*params, *more)
        return RowSet(sql=f"SELECT * FROM ({sql})", params=tuple(params), tokens=tokens, selects=selects)


def _within_limits(rows: RowSet) -> bool:
    """Whether one query can hold the set (:data:`MAX_TOKENS`, :data:`MAX_SELECTS`)."""
    return rows.tokens <= MAX_TOKENS and rows.selects <= MAX_SELECTS


def _prefix_end(prefix: str) -> str | None:
    """The least string above every string that starts with ``prefix`` (None: no string is above them all).

    Not ``prefix + "\\U0010ffff"``: ``u\\U0010ffffx`` starts with ``u`` and sorts above it.
    """
    head = prefix.rstrip("\U0010ffff")
    if not head:
        return None
    code = ord(head[-1]) + 1
    if 0xD800 <= code <= 0xDFFF:  # surrogates are no characters of a stored (UTF-8) text
        code = 0xE000
    return head[:-1] + chr(code)


def _compound(op: str, sets: list[RowSet]) -> RowSet:
    selects = [s.select() for s in sets]
    sql = op.join(f"SELECT * FROM ({q})" for q, _ in selects)
    params = tuple(x for _, ps in selects for x in ps)
    return RowSet(sql=sql, params=params, tokens=sum(s.tokens for s in sets), selects=sum(s.selects for s in sets))
