"""The plan as an SQLite WHERE clause over the embedded event store.

Events live in ``events(rowid, id, ts, kind, doc)`` with ``doc`` the JSON of
all fields; text fields are also indexed in a contentless FTS5 table with the
trigram tokenizer. A text match works like Elasticsearch's wildcard field: the
trigram index finds candidates from every literal run of three or more
characters, then :func:`contains_match` (a Python function registered on the
connection) checks the exact pattern. Under a ``NOT`` every leaf is made
two-valued (NULL → 0) so that ``NOT user:alice`` keeps events that lack the
field, as Elasticsearch does; elsewhere NULL already means "no match", and the
bare comparison lets SQLite use an index on the expression.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import sqlite3
from collections.abc import Mapping
from typing import Any

from netguard.events.query import plan as p
from netguard.events.query.syntax import Pattern, Wild
from netguard.events.schema import DEFAULT_TEXT_FIELDS, KINDS, Field, FieldType

# Columns of the events table that mirror a field, for speed.
COLUMNS = {"@timestamp": "e.ts", "event.id": "e.id", "netguard.kind": "e.kind", "user.name": "e.user"}


# The text fields of an event are indexed together, joined by this separator, in
# one FTS5 column: one column costs less to index than one per field, and the
# index only finds candidates; the exact check is per field. A trigram that spans
# the separator can only add a candidate, never lose a match.
FTS_SEPARATOR = "\x1f"


_TEXT_OF_KIND = {k.name: tuple(n for n in DEFAULT_TEXT_FIELDS if n in k.allowed) for k in KINDS.values()}


def fts_body(fields: Mapping[str, Any]) -> str:
    # Only the text fields the event's kind can have: this runs once per stored event.
    names = _TEXT_OF_KIND.get(fields.get("netguard.kind", ""), DEFAULT_TEXT_FIELDS)
    return FTS_SEPARATOR.join([v for n in names if (v := fields.get(n))])


@functools.lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.DOTALL)


def contains_match(value: Any, regex: str) -> int:
    if value is None:
        return 0
    return 1 if _regex(regex).search(str(value).lower()) else 0


@functools.lru_cache(maxsize=256)
def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(text, strict=False)


def ip_in(value: Any, network: str) -> int:
    if value is None:
        return 0
    try:
        return 1 if ipaddress.ip_address(str(value)) in _network(network) else 0
    except ValueError:
        return 0


def register_functions(conn: sqlite3.Connection) -> None:
    conn.create_function("ng_contains", 2, contains_match, deterministic=True)
    conn.create_function("ng_ip_in", 2, ip_in, deterministic=True)


def contains_regex(pattern: Pattern) -> str:
    out = []
    for seg in pattern:
        if seg is Wild.STAR:
            out.append(".*")
        elif seg is Wild.ONE:
            out.append(".")
        else:
            out.append(re.escape(str(seg).lower()))
    return "".join(out)


def glob_pattern(pattern: Pattern) -> str:
    out = []
    for seg in pattern:
        if isinstance(seg, Wild):
            out.append(seg.value)
        else:
            out.append(re.sub(r"([*?\[])", r"[\1]", seg))
    return "".join(out)


# Characters JSON text escapes: a literal containing one cannot be looked for in JSON text.
_JSON_ESCAPED = re.compile(r'["\\\x00-\x1f]')


def _json_path(name: str) -> str:
    return "'$.\"" + name.replace('"', '\\"') + "\"'"


class SQLiteCompiler:
    def __init__(self) -> None:
        self.params: list[Any] = []
        self.negated = False

    def compile(self, plan: p.Plan) -> tuple[str, list[Any]]:
        self.params = []
        self.negated = False
        return self.node(plan), self.params

    def bind(self, value: Any) -> str:
        self.params.append(value)
        return "?"

    def node(self, plan: p.Plan) -> str:
        if isinstance(plan, p.MatchAll):
            return "1"
        if isinstance(plan, p.All):
            return "(" + " AND ".join(self.node(i) for i in plan.items) + ")"
        if isinstance(plan, p.Any_):
            return "(" + " OR ".join(self.node(i) for i in plan.items) + ")"
        if isinstance(plan, p.Not):
            outer, self.negated = self.negated, True
            try:
                return f"(NOT {self.node(plan.item)})"
            finally:
                self.negated = outer
        if isinstance(plan, p.Contains):
            return self.contains(plan)
        if isinstance(plan, p.Exists):
            return f"({self.expr(plan.field)} IS NOT NULL)"
        return self.leaf(plan.field, lambda v: self.predicate(plan, v))

    def expr(self, f: Field) -> str:
        return COLUMNS.get(f.name) or f"json_extract(e.doc, {_json_path(f.name)})"

    def leaf(self, f: Field, pred: Any) -> str:
        if f.array:
            return f"EXISTS (SELECT 1 FROM json_each(e.doc, {_json_path(f.name)}) j WHERE {pred('j.value')})"
        test = pred(self.expr(f))
        return f"IFNULL({test}, 0)" if self.negated else test

    def predicate(self, plan: p.Plan, v: str) -> str:
        if isinstance(plan, p.Eq):
            value = int(plan.value) if plan.field.type is FieldType.BOOLEAN else plan.value
            return f"{v} = {self.bind(value)}"
        if isinstance(plan, p.OneOf):
            if not plan.values:
                return "0"
            return f"{v} IN ({', '.join(self.bind(x) for x in plan.values)})"
        if isinstance(plan, p.Wildcard):
            return f"{v} GLOB {self.bind(glob_pattern(plan.pattern))}"
        if isinstance(plan, p.IpIn):
            net = plan.network
            glob = ""
            if net.version == 4 and net.prefixlen >= 8:
                # Canonical IPv4 text starts with the network's leading whole octets: a GLOB in C
                # drops most rows before the exact check in Python. (Parameters bind in SQL order.)
                lead = ".".join(str(net.network_address).split(".")[: net.prefixlen // 8]) + ".*"
                glob = f"{v} GLOB {self.bind(lead)} AND "
            return f"({glob}ng_ip_in({v}, {self.bind(str(net))}))"
        if isinstance(plan, p.Range):
            parts = [
                f"{v} {op} {self.bind(bound)}"
                for op, bound in ((">", plan.gt), (">=", plan.gte), ("<", plan.lt), ("<=", plan.lte))
                if bound is not None
            ]
            return "(" + " AND ".join(parts) + ")" if parts else f"{v} IS NOT NULL"
        raise TypeError(f"no SQLite form for {plan!r}")  # pragma: no cover

    def contains(self, plan: p.Contains) -> str:
        runs = [seg for seg in plan.pattern if isinstance(seg, str) and len(seg) >= 3]
        prefilter = ""
        if runs:
            match = self.bind(" AND ".join('"' + r.replace('"', '""') + '"' for r in runs))
            prefilter = f"e.rowid IN (SELECT rowid FROM events_fts WHERE events_fts MATCH {match}) AND "
        regex = contains_regex(plan.pattern)
        if len(plan.fields) > 1 and not any(isinstance(s, str) and _JSON_ESCAPED.search(s) for s in plan.pattern):
            # One pass over all the fields at once (their values as one JSON array) before the
            # exact check per field: a cheap way to drop most rows when the index cannot help.
            paths = ", ".join(_json_path(f.name) for f in plan.fields)
            prefilter += f"ng_contains(json_extract(e.doc, {paths}), {self.bind(regex)}) AND "
        checks = " OR ".join(f"ng_contains({self.expr(f)}, {self.bind(regex)})" for f in plan.fields)
        return f"({prefilter}({checks}))"


def to_sqlite(plan: p.Plan) -> tuple[str, list[Any]]:
    return SQLiteCompiler().compile(plan)
