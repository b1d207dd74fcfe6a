"""The plan as an SQLite WHERE clause over the embedded event store.

Events live in ``events(rowid, id, ts, kind, user, outcome, risk, action,
doc)`` with ``doc`` the JSON of all fields; text fields are also indexed in a
contentless FTS5 table with the trigram tokenizer, and addresses and short CJK
words in side indexes (:mod:`netguard.events.sqlite_index`). A text match works
like Elasticsearch's wildcard field: the trigram index (or, for runs of one or
two CJK characters, the CJK index) finds candidates, then
:func:`contains_match` (a Python function registered on the connection) checks
the exact pattern with the linear matcher of :mod:`.matching`; a keyword
wildcard is checked the same way (:func:`wildcard_match`), after a ``GLOB
'prefix*'`` on its literal prefix, or on the distinct values of an indexed
column (:meth:`SQLiteCompiler.distinct_matching`). Neither SQLite's GLOB nor a
regex sees a pattern with more than one ``*``: both backtrack. An IP condition
is a range scan of the address index (:meth:`SQLiteCompiler.ip_lookup`), exact;
a condition on a field only some kinds carry reads only those kinds' events.

Every such condition costs a ``json_extract`` and a call into Python per row,
so the CIDRs, wildcards and text patterns ORed on the same field(s) are
gathered into one call (:func:`_gathered`: networks by bisection, patterns in
a :class:`~.matching.MatcherSet`, one FTS query with OR), and so are the
excluded ones (``-a -b`` is ``NOT (a OR b)``). A thousand pasted wildcards
took three minutes on 100,000 events one by one, one second gathered.

The matching functions read values as JSON text (``e.doc -> path``), never
through ``json_extract``, which cuts a string at an escaped NUL (a bastion
command may hold one); the FTS body has its NULs as separators, since FTS5
indexes text up to the first. Known limit: an exact comparison (``tags:x``)
still reads through ``json_extract``, so it also matches a stored ``x\0y``.

Under a ``NOT`` every leaf is made two-valued (NULL → 0) so that ``NOT
user:alice`` keeps events that lack the field, as Elasticsearch does;
elsewhere NULL already means "no match", and the bare comparison lets SQLite
use an index on the expression.

Size: SQLite refuses an expression more than 1,000 levels deep (a chain of
1,000 ORs is one), more than ~50 nested parentheses, and binds a limited
number of parameters. So a list of values is one ``IN`` (a long one reads its
values from one JSON parameter with ``json_each``), long AND/OR lists are
grouped in parenthesised chunks of :data:`CHUNK` (depth ~2 for the 1,024
clauses the plan allows, not 1,024), and the plan's limits
(:func:`netguard.events.query.plan.check_limits`) bound the rest; a test runs
the largest and deepest query they allow.
"""

from __future__ import annotations

import bisect
import functools
import ipaddress
import json
import re
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any

from netguard.events.query import plan as p
from netguard.events.query.matching import matcher, matcher_set, pattern_text
from netguard.events.query.syntax import Pattern
from netguard.events.schema import DEFAULT_TEXT_FIELDS, KINDS, Field, FieldType
from netguard.events.sqlite_index.addresses import IP_FIELD_BITS
from netguard.events.sqlite_index.batch import Batch
from netguard.events.sqlite_index.cjk import cjk_terms, cjk_word
from netguard.events.sqlite_index.migrations import register_index_functions
from netguard.events.sqlite_index.terms import RARE_SYMBOLS, symbol_token
from netguard.events.sqlite_index.trigrams import trigram_terms

# AND/OR lists longer than this are split into parenthesised groups of this size.
CHUNK = 32
# A value list longer than this is bound as one JSON array rather than one parameter each.
LONG_LIST = 32
# The longest literal prefix a keyword wildcard gives to GLOB (see glob_prefix).
GLOB_PREFIX = 200

# Columns of the events table that mirror a field, for speed.
COLUMNS = {
    "@timestamp": "e.ts",
    "event.id": "e.id",
    "netguard.kind": "e.kind",
    "user.name": "e.user",
    "event.outcome": "e.outcome",
    "netguard.risk": "e.risk",
    "event.action": "e.action",
}
# Columns that lead an index: a wildcard on one is matched against the distinct values the
# index holds (one seek each), then looked up, rather than tried on every row.
DISTINCT_SCAN = {"netguard.kind": "kind", "user.name": "user"}
# The kinds that may carry each field: a condition on a field only some kinds have is confined to them
# (the kind index), since make_event refuses a field its kind does not allow.
_KINDS_OF = {
    name: tuple(k.name for k in KINDS.values() if name in k.allowed)
    for name in {n for k in KINDS.values() for n in k.allowed}
}


# The text fields of an event are indexed together, joined by this separator, in
# one FTS5 column: one column costs less to index than one per field, and the
# index only finds candidates; the exact check is per field. A trigram that spans
# the separator can only add a candidate, never lose a match.
FTS_SEPARATOR = "\x1f"


_TEXT_OF_KIND = {k.name: tuple(n for n in DEFAULT_TEXT_FIELDS if n in k.allowed) for k in KINDS.values()}


def fts_body(fields: Mapping[str, Any]) -> str:
    # Only the text fields the event's kind can have: this runs once per stored event.
    names = _TEXT_OF_KIND.get(fields.get("netguard.kind", ""), DEFAULT_TEXT_FIELDS)
    body = FTS_SEPARATOR.join([v for n in names if (v := fields.get(n))])
    # FTS5 indexes text only up to a NUL; as a separator the NUL loses nothing, since the query
    # side splits its runs there too (SQLiteCompiler.contains). Purge rebuilds the same body.
    return body.replace("\x00", FTS_SEPARATOR) if "\x00" in body else body


def fts_bodies(batch: Batch) -> list[str]:
    """:func:`fts_body` of each event of a batch, in its order, worked out per group of events with the same fields."""
    bodies: list[str] = [""] * len(batch)
    for group in batch.groups:
        kinds = set(group.column("netguard.kind")) if "netguard.kind" in group.names else {""}
        present = set(group.names)
        names = [n for n in _TEXT_OF_KIND.get(next(iter(kinds)), DEFAULT_TEXT_FIELDS) if n in present]
        columns = [group.column(n) for n in names]
        # The usual case in C, where built: False (nothing put) if a value is not a non-empty str.
        if (
            len(kinds) == 1
            and columns
            and batch.accel is not None
            and batch.accel.bodies(tuple(columns), bodies, group.at)
        ):
            continue
        # fts_body leaves out an empty value: a column with one is taken event by event, as is a group of kinds.
        if len(kinds) == 1 and all(map(all, columns)):
            made = map(FTS_SEPARATOR.join, zip(*columns, strict=True)) if columns else repeat("", len(group.at))
            made = map(str.replace, made, repeat("\x00"), repeat(FTS_SEPARATOR))  # as fts_body, see there
        else:
            made = map(fts_body, group.fields)
        batch.scatter(group, made, bodies)
    return bodies


def _texts_of(value: Any) -> list[str]:
    """The strings in a JSON value handed to the matching functions: a string, an array of them, or NULL.

    Values reach Python as JSON text (``e.doc -> path``, ``json_quote(column)``), never through
    ``json_extract``, which cuts a string at an escaped NUL: ``sudo\\u0000rm`` would be ``sudo``.
    """
    if value is None:
        return []
    decoded = json.loads(value)
    items = decoded if isinstance(decoded, list) else [decoded]
    out: list[str] = []
    for item in items:
        if isinstance(item, list):  # several fields at once (json_extract with many paths), one an array
            out.extend(str(x) for x in item if x is not None)
        elif item is not None:
            out.append(str(item))
    return out


def contains_match(value: Any, pattern: str) -> int:
    """1 if ``pattern`` (wildcard syntax, see :mod:`.matching`) occurs in the JSON value, ignoring case."""
    m = matcher(pattern, True, True)
    return 1 if any(m(t) for t in _texts_of(value)) else 0


def contains_any(value: Any, patterns: str) -> int:
    """1 if one of the patterns (a JSON list) occurs in the JSON value, ignoring case."""
    m = matcher_set(patterns, True, True)
    return 1 if any(m(t) for t in _texts_of(value)) else 0


def wildcard_any(value: Any, patterns: str) -> int:
    """1 if one of the patterns (a JSON list) matches the whole JSON value (or an item of it), case-sensitively."""
    m = matcher_set(patterns, False, False)
    return 1 if any(m(t) for t in _texts_of(value)) else 0


def wildcard_match(value: Any, pattern: str) -> int:
    """1 if ``pattern`` matches the whole JSON value (or an item of it), case-sensitively."""
    m = matcher(pattern, False, False)
    return 1 if any(m(t) for t in _texts_of(value)) else 0


# IPv4 addresses live in IPv6 space as ::ffff:a.b.c.d (see :class:`~.plan.IpIn`).
_MAPPED_BASE = 0xFFFF << 32


def _address_number(text: str) -> int | None:
    """The address as a number in IPv6 space, or None if it is not an address."""
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv4Address):
        return _MAPPED_BASE + int(addr)
    return int(addr)


@functools.lru_cache(maxsize=64)
def _intervals(networks: str) -> tuple[list[int], list[int]]:
    """A JSON list of networks as merged, sorted [start, end] intervals in IPv6 space."""
    spans = []
    for text in json.loads(networks):
        net = ipaddress.ip_network(text, strict=False)
        base = _MAPPED_BASE if net.version == 4 else 0
        spans.append((base + int(net.network_address), base + int(net.broadcast_address)))
    starts: list[int] = []
    ends: list[int] = []
    for start, end in sorted(spans):
        if ends and start <= ends[-1] + 1:
            ends[-1] = max(ends[-1], end)
        else:
            starts.append(start)
            ends.append(end)
    return starts, ends


def ip_in(value: Any, networks: str) -> int:
    """1 if the address is in one of the networks (a JSON list), an IPv4 address counting as ``::ffff:a.b.c.d``.

    One call checks a whole list of networks by bisection, so a thousand pasted CIDRs cost one
    call per row, not a thousand.
    """
    if value is None:
        return 0
    number = _address_number(str(value))
    if number is None:
        return 0
    starts, ends = _intervals(networks)
    i = bisect.bisect_right(starts, number) - 1
    return 1 if i >= 0 and number <= ends[i] else 0


def register_functions(conn: sqlite3.Connection) -> None:
    register_index_functions(conn, fts_body)
    conn.create_function("ng_contains", 2, contains_match, deterministic=True)
    conn.create_function("ng_wildcard", 2, wildcard_match, deterministic=True)
    conn.create_function("ng_contains_any", 2, contains_any, deterministic=True)
    conn.create_function("ng_wildcard_any", 2, wildcard_any, deterministic=True)
    conn.create_function("ng_ip_in", 2, ip_in, deterministic=True)
    conn.create_function("ng_unhex", 1, bytes.fromhex, deterministic=True)


def glob_prefix(pattern: Pattern) -> str | None:
    """``GLOB 'prefix*'`` for the literal prefix of a wildcard pattern (None if it starts with a wildcard).

    One trailing ``*`` never backtracks, and SQLite turns a literal prefix into an index range.
    The prefix is cut to :data:`GLOB_PREFIX` characters: the check stays a superset, and SQLite
    refuses GLOB patterns over 50,000 bytes ("LIKE or GLOB pattern too complex").
    """
    if not pattern or not isinstance(pattern[0], str):
        return None
    # json_extract, which GLOB reads, cuts a string at a NUL: so does the prefix.
    return re.sub(r"([*?\[])", r"[\1]", pattern[0][:GLOB_PREFIX].split("\x00")[0]) + "*"


def _json_path(name: str) -> str:
    return "'$.\"" + name.replace('"', '\\"') + "\"'"


class SQLiteCompiler:
    def __init__(self, *, index_ips: bool = True) -> None:
        self.params: list[Any] = []
        self.negated = False
        # False: IP conditions checked on each row read (a walk that stops after a page of matches),
        # rather than through the address index (which gathers every match first).
        self.index_ips = index_ips

    def compile(self, plan: p.Plan) -> tuple[str, list[Any]]:
        self.params = []
        self.negated = False
        return self.node(plan), self.params

    def bind(self, value: Any) -> str:
        self.params.append(value)
        return "?"

    def node(self, plan: p.Plan | _Gathered) -> str:
        if isinstance(plan, p.MatchAll):
            return "1"
        if isinstance(plan, p.All):
            return _joined(" AND ", [self.node(i) for i in _negations_together(plan.items)])
        if isinstance(plan, p.Any_):
            return _joined(" OR ", [self.node(i) for i in _gathered(plan.items)])
        if isinstance(plan, p.Not):
            outer, self.negated = self.negated, True
            try:
                return f"(NOT {self.node(plan.item)})"
            finally:
                self.negated = outer
        if isinstance(plan, p.Contains | _ContainsAny):
            fields = plan.fields
            patterns = [plan.pattern] if isinstance(plan, p.Contains) else list(plan.patterns)
            words = [cjk_word(pt[0]) if len(pt) == 1 and isinstance(pt[0], str) else None for pt in patterns]
            if len(fields) == len(DEFAULT_TEXT_FIELDS) and all(words):
                # Bare CJK words of one or two characters: the CJK index holds every text field and
                # answers exactly, with no check per event.
                match = self.bind(_any_of([w for w in words if w]))
                return f"e.rowid IN (SELECT rowid FROM events_cjk WHERE events_cjk MATCH {match})"
            return self.of_kinds(fields, lambda: self.contains(fields, patterns))
        if self.index_ips and isinstance(plan, p.IpIn | _IpInAny | p.Eq | p.OneOf) and plan.field.name in IP_FIELD_BITS:
            return f"e.rowid IN ({self.ip_lookup(plan)})"
        if isinstance(plan, p.Wildcard | _WildcardAny) and plan.field.name in DISTINCT_SCAN:
            return self.leaf(plan.field, lambda v: f"{v} IN ({self.distinct_matching(plan)})")
        return self.of_kinds((plan.field,), lambda: self.field_condition(plan))

    def field_condition(self, plan: p.Plan | _Gathered) -> str:
        if isinstance(plan, _WildcardAny):
            texts = json.dumps([pattern_text(x) for x in plan.patterns])
            return f"ng_wildcard_any({self.json_expr(plan.field)}, {self.bind(texts)})"
        if isinstance(plan, p.Wildcard):
            return self.wildcard(plan)
        if isinstance(plan, p.Exists):
            if plan.field.name in COLUMNS:
                return f"({self.expr(plan.field)} IS NOT NULL)"
            return f"({self.in_doc(plan.field, None)}{self.expr(plan.field)} IS NOT NULL)"
        if isinstance(plan, p.Eq) and isinstance(plan.value, str | bool) and self.scalar_in_doc(plan.field):
            text = self.in_doc(plan.field, plan.value)
            return self.leaf(plan.field, lambda v: f"({text}{self.predicate(plan, v)})")
        if isinstance(plan, p.Eq) and isinstance(plan.value, str) and plan.field.array:
            # The value as a JSON string somewhere in the text first (in C), then the list itself.
            text = f"instr(e.doc, {self.bind(json.dumps(plan.value, ensure_ascii=False))}) AND "
            return f"({text}{self.leaf(plan.field, lambda v: self.predicate(plan, v))})"
        if isinstance(plan, _IpInAny):
            nets = json.dumps([str(n) for n in plan.networks])
            return self.leaf(plan.field, lambda v: f"ng_ip_in({v}, {self.bind(nets)})")
        assert isinstance(plan, p.Eq | p.OneOf | p.IpIn | p.Range)
        return self.leaf(plan.field, lambda v: self.predicate(plan, v))

    def of_kinds(self, fields: Sequence[Field], condition: Callable[[], str]) -> str:
        """The condition confined to the kinds that may carry one of the fields (the kind index), if not all do."""
        kinds = sorted({k for f in fields for k in _KINDS_OF.get(f.name, KINDS)})
        if len(kinds) == len(KINDS) or fields[0].name in COLUMNS:
            return condition()
        # Parameters bind in the order they appear in the SQL: the kinds first.
        listed = ", ".join(self.bind(k) for k in kinds)
        return f"(e.kind IN ({listed}) AND {condition()})"

    def ip_lookup(self, plan: p.IpIn | _IpInAny | p.Eq | p.OneOf) -> str:
        """Events whose field holds an address in the networks (or equal to the addresses): index ranges
        on ``event_ips`` (see :mod:`netguard.events.sqlite_index.addresses`), one per merged network."""
        if isinstance(plan, p.IpIn | _IpInAny):
            networks = [str(plan.network)] if isinstance(plan, p.IpIn) else [str(n) for n in plan.networks]
        else:
            values = (plan.value,) if isinstance(plan, p.Eq) else plan.values
            networks = [str(v) for v in values]  # an address is its own one-address network
        if not networks:
            return "SELECT NULL WHERE 0"
        starts, ends = _intervals(json.dumps(networks))
        spans = json.dumps(
            [[a.to_bytes(16, "big").hex(), b.to_bytes(16, "big").hex()] for a, b in zip(starts, ends, strict=True)]
        )
        return (
            f"SELECT i.event FROM json_each({self.bind(spans)}) r CROSS JOIN event_ips i "
            "WHERE i.addr BETWEEN ng_unhex(r.value ->> 0) AND ng_unhex(r.value ->> 1) "
            f"AND i.fields & {IP_FIELD_BITS[plan.field.name]}"
        )

    def distinct_matching(self, plan: p.Wildcard | _WildcardAny) -> str:
        """The distinct values of an indexed column that match the pattern(s): a loose index scan (one seek
        per distinct value, then one check each), so the check runs per value, not per row."""
        column = DISTINCT_SCAN[plan.field.name]
        patterns = (plan.pattern,) if isinstance(plan, p.Wildcard) else plan.patterns
        texts = json.dumps([pattern_text(x) for x in patterns])
        return (
            f"WITH RECURSIVE v(x) AS (SELECT min({column}) FROM events WHERE {column} IS NOT NULL "
            f"UNION ALL SELECT (SELECT min({column}) FROM events WHERE {column} > v.x) FROM v WHERE v.x IS NOT NULL) "
            f"SELECT x FROM v WHERE x IS NOT NULL AND ng_wildcard_any(json_quote(x), {self.bind(texts)})"
        )

    def expr(self, f: Field) -> str:
        return COLUMNS.get(f.name) or f"json_extract(e.doc, {_json_path(f.name)})"

    def json_expr(self, f: Field) -> str:
        """The field as JSON text (an array for an array field), for the matching functions."""
        column = COLUMNS.get(f.name)
        return f"json_quote({column})" if column else f"(e.doc -> {_json_path(f.name)})"

    def wildcard(self, plan: p.Wildcard) -> str:
        check = f"ng_wildcard({self.json_expr(plan.field)}, {{}})"
        prefix = glob_prefix(plan.pattern)
        if prefix is None or plan.field.array:
            return check.format(self.bind(pattern_text(plan.pattern)))
        # GLOB on the literal prefix first (an index range on a column); parameters bind in SQL order.
        glob = f"{self.expr(plan.field)} GLOB {self.bind(prefix)}"
        return f"({glob} AND {check.format(self.bind(pattern_text(plan.pattern)))})"

    @staticmethod
    def scalar_in_doc(f: Field) -> bool:
        return not f.array and f.name not in COLUMNS

    def in_doc(self, f: Field, value: str | bool | None) -> str:
        """``instr(e.doc, ...) AND``: the document's text holds the key (and the value), searched in C.

        Stored documents are compact JSON (``"name":value``, no spaces, non-ASCII as is). Inside a
        JSON string every ``"`` is escaped, so ``"name":`` occurs in the text only as a key: this
        finds the same events as parsing every document, and is ten times cheaper.
        """
        needle = json.dumps(f.name, ensure_ascii=False) + ":"
        if value is not None:
            needle += json.dumps(value, ensure_ascii=False)
        return f"instr(e.doc, {self.bind(needle)}) AND "

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
            values = [int(x) if isinstance(x, bool) else x for x in plan.values]
            if len(values) > LONG_LIST:
                # One parameter however long the list: SQLite reads it into a temporary index once.
                return f"{v} IN (SELECT value FROM json_each({self.bind(json.dumps(values))}))"
            return f"{v} IN ({', '.join(self.bind(x) for x in values)})"
        if isinstance(plan, p.IpIn):
            net = plan.network
            glob = ""
            octets = min(net.prefixlen // 8, 3)
            if net.version == 4 and octets:
                # Canonical IPv4 text starts with the network's leading whole octets (at most three:
                # a /32 is the whole address, with no dot after it): a GLOB in C drops most rows
                # before the exact check in Python.
                lead = ".".join(str(net.network_address).split(".")[:octets]) + ".*"
                glob = f"{v} GLOB {self.bind(lead)} AND "
            return f"({glob}ng_ip_in({v}, {self.bind(json.dumps([str(net)]))}))"
        if isinstance(plan, p.Range):
            parts = [f"{v} {op} {self.bind(bound)}" for op, bound in plan.bounds()]
            return "(" + " AND ".join(parts) + ")" if parts else f"{v} IS NOT NULL"
        raise TypeError(f"no SQLite form for {plan!r}")  # pragma: no cover

    def contains(self, fields: tuple[Field, ...], patterns: list[Pattern]) -> str:
        """One or several patterns (ORed) occurring in one of the text fields."""
        call, text = self.contains_call(patterns), _texts(patterns)
        prefilter = self.text_candidates(patterns)
        if len(fields) == 1:
            value = self.json_expr(fields[0])
        else:
            # All the fields at once, their values as one JSON array: one call per row, not one per field.
            value = f"json_extract(e.doc, {', '.join(_json_path(f.name) for f in fields)})"
        literal = _plain_literal(patterns, several=len(fields) > 1)
        if literal is None:
            return f"({prefilter}{call}({value}, {self.bind(text)}))"
        # A plain ASCII word is found in C in the value's JSON text, lowered. In a text without a
        # backslash (no JSON escape), found there means in the value (the word holds no character JSON
        # escapes, and cannot span two values), and not found in a text that is all ASCII means not in
        # the value. A backslash goes to the matcher: the word could lie inside an escape (``nblah`` in
        # ``a\\nblah``, a newline then ``blah``), or JSON may spell a letter of it as one. So does a
        # text with other letters, whose lower case Python and SQLite may disagree on (K, the Kelvin
        # sign, is k to Python). The backslash is looked for only where it decides, once a row: looked
        # for first, it cost a full scan 11 % more CPU (100,000 events, 396 ms against 355).
        escaped = f"instr({value}, '\\')"
        found = f"instr(lower({value}), {self.bind(literal)})"
        found_in_value = f"CASE WHEN {escaped} THEN {call}({value}, {self.bind(text)}) ELSE 1 END"
        ascii_only = f"length({value}) = length(CAST({value} AS BLOB)) AND NOT {escaped}"
        check = (
            f"CASE WHEN {found} THEN {found_in_value} WHEN {ascii_only} THEN 0 "
            f"ELSE {call}({value}, {self.bind(text)}) END"
        )
        return f"({prefilter}{check})"

    def text_candidates(self, patterns: list[Pattern]) -> str:
        """``e.rowid IN (...) AND`` naming the events the text indexes say may match, or '' if they cannot tell.

        A pattern is looked up by its literal runs of three characters or more in the trigram
        index, else by the CJK characters of its shorter runs in the CJK index, else by the rare
        symbols of its shorter runs (``*``, ``=``: :data:`~netguard.events.sqlite_index.terms.RARE_SYMBOLS`)
        in the terms index; a pattern with none of these could match rows no index names, and then
        every row is checked.
        """
        queries: dict[str, list[str]] = {"events_fts": [], "events_cjk": [], "events_terms": []}
        for pt in patterns:
            # FTS5 reads its query as a C string: a NUL would end it, so a run is split there.
            runs = [r for seg in pt if isinstance(seg, str) for r in seg.split("\x00") if r]
            long = [t for r in runs if len(r) >= 3 for t in trigram_terms(r)]
            short = [t for r in runs if len(r) < 3 for t in cjk_terms(r)]
            symbols = sorted({f'"{symbol_token(c)}"' for r in runs if len(r) < 3 for c in r if c in RARE_SYMBOLS})
            if long:
                queries["events_fts"].append(" AND ".join(long))
            elif short:
                queries["events_cjk"].append(" AND ".join(short))
            elif symbols:
                queries["events_terms"].append(" AND ".join(symbols))
            else:
                return ""
        lookups = [
            f"SELECT rowid FROM {table} WHERE {table} MATCH {self.bind(_any_of(found))}"
            for table, found in queries.items()
            if found
        ]
        return f"e.rowid IN ({' UNION '.join(lookups)}) AND "

    @staticmethod
    def contains_call(patterns: Sequence[Pattern]) -> str:
        return "ng_contains" if len(patterns) == 1 else "ng_contains_any"


# Characters a plain literal may hold for the SQL check in :meth:`SQLiteCompiler.contains`: none that
# JSON escapes (quote, backslash, controls) or that joins values in a JSON array (quote, comma, brackets).
_PLAIN = re.compile(r"[A-Za-z0-9 ._\-/:@*()=<>;!?#$%&+~^|{}']+")


def _plain_literal(patterns: Sequence[Pattern], *, several: bool) -> str | None:
    """The pattern's literal, lowered, when it is one plain ASCII run (no wildcard) checkable in SQL; else None.

    Several fields are read as one JSON array, where a missing one is ``null``: a literal inside
    ``null`` could be found there, so it is not plain.
    """
    if len(patterns) != 1 or len(patterns[0]) != 1 or not isinstance(patterns[0][0], str):
        return None
    literal = patterns[0][0].lower()
    if not _PLAIN.fullmatch(literal) or (several and literal in "null"):
        return None
    return literal


def _any_of(queries: Sequence[str]) -> str:
    """FTS5 queries ORed."""
    return queries[0] if len(queries) == 1 else " OR ".join(f"({q})" for q in queries)


def _texts(patterns: Sequence[Pattern]) -> str:
    """One pattern as its text (``ng_contains``), several as a JSON list of texts (``ng_contains_any``)."""
    if len(patterns) == 1:
        return pattern_text(patterns[0])
    return json.dumps([pattern_text(pt) for pt in patterns])


@dataclass(frozen=True)
class _IpInAny:
    """Several :class:`~.plan.IpIn` on one field, ORed: one bisecting call instead of one call each."""

    field: Field
    networks: tuple[p.IpNetwork, ...]


@dataclass(frozen=True)
class _WildcardAny:
    """Several :class:`~.plan.Wildcard` on one field, ORed: one :class:`~.matching.MatcherSet` call."""

    field: Field
    patterns: tuple[Pattern, ...]


@dataclass(frozen=True)
class _ContainsAny:
    """Several :class:`~.plan.Contains` on the same fields, ORed: one index query, one call per field."""

    fields: tuple[Field, ...]
    patterns: tuple[Pattern, ...]


_Gathered = _IpInAny | _WildcardAny | _ContainsAny


def _key(item: p.Plan) -> tuple[str, tuple[str, ...]] | None:
    """What items :func:`_gathered` puts together: CIDRs, wildcards or text patterns on the same field(s)."""
    if isinstance(item, p.IpIn | p.Wildcard):
        return type(item).__name__, (item.field.name,)
    if isinstance(item, p.Contains):
        return "Contains", tuple(f.name for f in item.fields)
    return None


def _gathered(items: Sequence[p.Plan]) -> list[p.Plan | _Gathered]:
    """The items of an OR, with the CIDRs, the wildcards and the text patterns on the same field(s)
    gathered into one condition each, at the first one's place.

    Each condition repeats the work of reading its field out of the document (``json_extract``)
    and a call into Python for every row: a thousand pasted wildcards cost minutes on 100,000
    events one by one, and well under a second gathered.
    """

    groups: dict[tuple[str, tuple[str, ...]], list[p.Plan]] = {}
    for item in items:
        k = _key(item)
        if k is not None:
            groups.setdefault(k, []).append(item)
    sizes = {k: len(v) for k, v in groups.items()}
    out: list[p.Plan | _Gathered] = []
    for item in items:
        k = _key(item)
        if k is None or sizes[k] < 2:
            out.append(item)
            continue
        members = groups.pop(k, None)
        if members is None:
            continue  # already placed with the first of its group
        first = members[0]
        if isinstance(first, p.IpIn):
            out.append(_IpInAny(first.field, tuple(m.network for m in members if isinstance(m, p.IpIn))))
        elif isinstance(first, p.Wildcard):
            out.append(_WildcardAny(first.field, tuple(m.pattern for m in members if isinstance(m, p.Wildcard))))
        elif isinstance(first, p.Contains):
            out.append(_ContainsAny(first.fields, tuple(m.pattern for m in members if isinstance(m, p.Contains))))
    return out


def _negations_together(items: Sequence[p.Plan]) -> list[p.Plan]:
    """The items of an AND, with ``NOT a AND NOT b`` on the same field(s) as ``NOT (a OR b)``, so that
    :func:`_gathered` makes one condition of a thousand excluded CIDRs or wildcards."""
    groups: dict[tuple[str, tuple[str, ...]], list[p.Plan]] = {}
    for item in items:
        if isinstance(item, p.Not) and (k := _key(item.item)) is not None:
            groups.setdefault(k, []).append(item.item)
    out: list[p.Plan] = []
    placed: set[tuple[str, tuple[str, ...]]] = set()
    for item in items:
        k = _key(item.item) if isinstance(item, p.Not) else None
        if k is None or len(groups[k]) < 2:
            out.append(item)
        elif k not in placed:
            out.append(p.Not(p.Any_(tuple(groups[k]))))
            placed.add(k)
    return out


def _joined(op: str, parts: Sequence[str]) -> str:
    """``(a OP b OP ...)``, in nested groups of at most :data:`CHUNK` so that SQLite's expression stays shallow."""
    while len(parts) > CHUNK:
        parts = ["(" + op.join(parts[i : i + CHUNK]) + ")" for i in range(0, len(parts), CHUNK)]
    return "(" + op.join(parts) + ")"


def to_sqlite(plan: p.Plan, *, index_ips: bool = True) -> tuple[str, list[Any]]:
    return SQLiteCompiler(index_ips=index_ips).compile(plan)


def count_from_index(plan: p.Plan) -> tuple[str, list[Any]] | None:
    """A query counting the plan's matches in the address index alone, when the plan is one IP condition
    (or its negation); None otherwise.

    Counting through ``events`` would visit every matching row (``source.ip:::/0`` is half a
    million); the index holds one row per address and event, so for a field with one value its
    rows are the events, and for a list field (``related.ip``) the distinct events.
    """
    negated = isinstance(plan, p.Not)
    leaf = plan.item if isinstance(plan, p.Not) else plan
    if not isinstance(leaf, p.IpIn | p.Eq | p.OneOf) or leaf.field.name not in IP_FIELD_BITS:
        return None
    compiler = SQLiteCompiler()
    lookup = compiler.ip_lookup(leaf)
    count = f"SELECT count(DISTINCT event) FROM ({lookup})" if leaf.field.array else f"SELECT count(*) FROM ({lookup})"
    if negated:
        return f"SELECT (SELECT count(*) FROM events) - ({count})", compiler.params
    return count, compiler.params
