"""What a statement does, from sqlglot, computed once per query shape.

sqlglot (compiled by ``sqlglotc``) parses about 13k statements a second; a
log has hundreds of thousands of executions of a few hundred shapes. So the
analysis runs on the *masked* text (literals already ``?``) and is cached in an
LRU keyed by the dialect and a shape key: the masked text with whitespace
collapsed and ``IN (?, ?, …)`` lists folded. It is not keyed by the
pt-query-digest fingerprint itself, because that fingerprint maps digits inside
identifiers to ``?`` too (``t1`` and ``t2`` share one), and an audit must not
report the table of the first statement for the second; for real workloads the
number of shape keys is the number of fingerprints.

From the tree: the statement type (``SELECT``, ``UPDATE``, ``DROP``, ``GRANT``…;
for statements sqlglot keeps as an opaque command, its first keyword), every
table as written (``schema.table``, common table expressions excluded), the
columns written (``INSERT`` column list, ``UPDATE … SET``) and read (every other
column reference), ``UPDATE``/``DELETE`` without ``WHERE``, ``LIMIT``, the number
of joins and ``SELECT *``.

A statement sqlglot cannot parse, or parses into something that is not a
statement (``SELEC broken`` reads as an alias), keeps its text and gets
``parse_error`` with the reason; its type is its first word. Statements longer
than :data:`MAX_ANALYSED` characters are not parsed (flagged likewise): a 10 MB
``INSERT`` would stall the pipeline for seconds.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

MAX_ANALYSED = 100_000
CACHE_SIZE = 4096

_SPACES = re.compile(r"\s+")
_IN_LIST = re.compile(r"\(\s*\?(?:\s*,\s*\?)*\s*\)")
# A comment ends at its first */ (atomic): letting .*? run on past it on a failed
# match made n leading comments cost 2^n tries.
_FIRST_WORD = re.compile(r"\s*(?:(?>/\*.*?\*/)\s*|--[^\n]*\n\s*)*([A-Za-z_]+)", re.S)
# sqlglot dialect names for the names people use
DIALECTS = {"mariadb": "mysql", "postgresql": "postgres", "mssql": "tsql", "sqlserver": "tsql"}

# Top-level expression kinds that are statements; anything else (an alias, a
# column, a literal) means sqlglot guessed at text that is not SQL.
_STATEMENTS: tuple[type, ...] = (
    exp.Query,
    exp.DML,
    exp.DDL,
    exp.Drop,
    exp.Alter,
    exp.TruncateTable,
    exp.Command,
    exp.Set,
    exp.Use,
    exp.Show,
    exp.Copy,
    exp.Commit,
    exp.Rollback,
    exp.Transaction,
    exp.Describe,
    exp.Pragma,
    exp.Analyze,
    exp.Values,
)
_TYPE_NAMES = {
    "truncatetable": "TRUNCATE",
    "union": "SELECT",
    "intersect": "SELECT",
    "except": "SELECT",
    "subquery": "SELECT",
    "transaction": "BEGIN",
}


@dataclass(frozen=True, slots=True)
class Analysis:
    statement_type: str
    tables: tuple[str, ...] = ()
    columns_read: tuple[str, ...] = ()
    columns_written: tuple[str, ...] = ()
    where_less: bool = False  # UPDATE or DELETE without WHERE
    has_limit: bool = False
    joins: int = 0
    select_star: bool = False
    statements: int = 1  # more than one when the log line held several
    parse_error: str | None = None


def shape_key(masked: str) -> str:
    """The cache key: masked text with whitespace and placeholder lists folded."""
    return _IN_LIST.sub("(?+)", _SPACES.sub(" ", masked).strip())


def first_word(text: str) -> str:
    m = _FIRST_WORD.match(text)
    return m.group(1).upper() if m else ""


def _type_of(tree: exp.Expression) -> str:
    if isinstance(tree, exp.Command):
        word = str(tree.this).upper()
        if word in ("CREATE", "DROP", "ALTER", "RENAME"):  # CREATE USER, DROP ROLE, ALTER USER ...
            following = first_word(str(tree.expression or ""))
            return f"{word} {following}".strip()
        return word
    if isinstance(tree, exp.Create | exp.Drop):
        kind = tree.args.get("kind")
        base = "CREATE" if isinstance(tree, exp.Create) else "DROP"
        return f"{base} {kind}".upper() if kind and str(kind).upper() != "TABLE" else base
    return _TYPE_NAMES.get(tree.key, tree.key.upper())


def _table_name(table: exp.Table) -> str:
    return ".".join(part for part in (table.catalog, table.db, table.name) if part)


def _column_name(column: exp.Column) -> str:
    return ".".join(part for part in (column.table, column.name) if part)


def _analyse_tree(tree: exp.Expression) -> tuple[set[str], set[str], set[str], bool, bool, int, bool]:
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    tables = {_table_name(t) for t in tree.find_all(exp.Table) if t.name and t.name not in ctes}
    written: set[str] = set()
    if isinstance(tree, exp.Insert) and isinstance(tree.this, exp.Schema):
        written = {c.name for c in tree.this.expressions if isinstance(c, exp.Identifier | exp.Column)}
    elif isinstance(tree, exp.Update):
        for assignment in tree.expressions:
            if isinstance(assignment, exp.EQ) and isinstance(assignment.this, exp.Column):
                written.add(_column_name(assignment.this))
    targets = set()
    if isinstance(tree, exp.Update):
        targets = {id(a.this) for a in tree.expressions if isinstance(a, exp.EQ)}
    read = {_column_name(c) for c in tree.find_all(exp.Column) if id(c) not in targets and c.name}
    where_less = isinstance(tree, exp.Update | exp.Delete) and tree.args.get("where") is None
    has_limit = any(True for _ in tree.find_all(exp.Limit)) or tree.args.get("limit") is not None
    joins = sum(1 for _ in tree.find_all(exp.Join))
    star = any(isinstance(s, exp.Star) for sel in tree.find_all(exp.Select) for s in sel.expressions) or any(
        isinstance(c.this, exp.Star) for c in tree.find_all(exp.Column)
    )
    return tables, read, written, where_less, has_limit, joins, star


def analyse(text: str, dialect: str) -> Analysis:
    """Analyse one (masked) statement; never raises on bad SQL."""
    dialect = DIALECTS.get(dialect, dialect)
    if len(text) > MAX_ANALYSED:
        return Analysis(first_word(text), parse_error=f"not analysed: {len(text)} characters (limit {MAX_ANALYSED})")
    try:
        trees = [t for t in sqlglot.parse(text, dialect=dialect) if isinstance(t, exp.Expression)]
    except SqlglotError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return Analysis(first_word(text), parse_error=f"sqlglot: {reason[:300]}")
    except Exception as exc:
        return Analysis(first_word(text), parse_error=f"sqlglot failed: {type(exc).__name__}: {str(exc)[:200]}")
    if not trees:
        return Analysis(first_word(text), parse_error="no statement")
    bad = next((t for t in trees if not isinstance(t, _STATEMENTS)), None)
    if bad is not None:
        return Analysis(first_word(text), parse_error=f"sqlglot: not a statement (read as {bad.key})")
    tables: set[str] = set()
    read: set[str] = set()
    written: set[str] = set()
    where_less = has_limit = star = False
    joins = 0
    for tree in trees:
        t, r, w, wl, lim, j, s = _analyse_tree(tree)
        tables |= t
        read |= r
        written |= w
        where_less |= wl
        has_limit |= lim
        joins += j
        star |= s
    statement_type = _type_of(trees[0])
    if statement_type in ("SET", "RENAME"):  # SET PASSWORD, RENAME USER: account changes
        words = _SPACES.sub(" ", text.strip()).split(" ")
        if len(words) > 1 and words[1].upper() in ("PASSWORD", "USER"):
            statement_type = f"{statement_type} {words[1].upper()}"
    return Analysis(
        statement_type=statement_type,
        tables=tuple(sorted(tables)),
        columns_read=tuple(sorted(read)),
        columns_written=tuple(sorted(written)),
        where_less=where_less,
        has_limit=has_limit,
        joins=joins,
        select_star=star,
        statements=len(trees),
    )


class Analyser:
    """:func:`analyse` behind an LRU cache of :data:`CACHE_SIZE` shapes (one per instance)."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._size = size
        self._cache: OrderedDict[tuple[str, str], Analysis] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def analyse(self, masked: str, dialect: str) -> Analysis:
        key = (dialect, shape_key(masked))
        cache = self._cache
        found = cache.get(key)
        if found is not None:
            self.hits += 1
            cache.move_to_end(key)
            return found
        self.misses += 1
        result = analyse(masked, dialect)
        cache[key] = result
        if len(cache) > self._size:
            cache.popitem(last=False)
        return result
