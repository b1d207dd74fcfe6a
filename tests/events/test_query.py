"""The search language: parsing, binding to the schema, and precise errors."""

from __future__ import annotations

import ipaddress

import pytest

from netguard.errors import QueryError
from netguard.events.query import plan as p
from netguard.events.query.parser import parse
from netguard.events.query.syntax import And, Between, Compare, Exists, Not, Or, Term, Wild
from netguard.events.query.to_es import to_es
from netguard.events.query.to_sqlite import glob_prefix, to_sqlite
from netguard.events.schema import FIELDS

NOW = 1_790_000_000_000


def bind(q: str) -> p.Plan:
    return p.compile_query(q, now=NOW)


def test_precedence_not_and_or() -> None:
    tree = parse("a:1 OR b:2 c:3 AND NOT d:4")
    assert isinstance(tree, Or)
    left, right = tree.items
    assert isinstance(left, Term) and left.field == "a"
    assert isinstance(right, And) and len(right.items) == 3
    assert isinstance(right.items[2], Not)


def test_field_group_applies_field_to_each_value() -> None:
    plan = bind("user:(alice OR bob*)")
    assert isinstance(plan, p.Any_)
    first, second = plan.items
    assert isinstance(first, p.Eq) and first.field.name == "user.name" and first.value == "alice"
    assert isinstance(second, p.Wildcard) and second.pattern == ("bob", Wild.STAR)


def test_value_may_contain_colons() -> None:
    tree = parse("@timestamp:>=2026-11-25T08:00:00Z source.ip:fd00::1")
    assert isinstance(tree, And)
    cmp_, term = tree.items
    assert isinstance(cmp_, Compare) and cmp_.value == "2026-11-25T08:00:00Z"
    assert isinstance(term, Term) and term.value == ("fd00::1",)


def test_quoted_phrase_is_literal_and_escapes_work() -> None:
    tree = parse(r'sql:"select * from \"t\"" user:a\*b')
    assert isinstance(tree, And)
    phrase, escaped = tree.items
    assert isinstance(phrase, Term) and phrase.quoted and phrase.value == ('select * from "t"',)
    assert isinstance(escaped, Term) and escaped.value == ("a*b",)


def test_ranges_and_exists() -> None:
    between = parse("bytes:[1000 TO 5000}")
    assert isinstance(between, Between) and between.include_low and not between.include_high
    assert isinstance(parse("error.message:*"), Exists)
    open_range = bind("bytes:[1000 TO *]")
    assert isinstance(open_range, p.Range) and open_range.gte == 1000 and open_range.lte is None


def test_ordinal_ranges_expand_to_levels() -> None:
    assert bind("risk:>=high") == p.OneOf(FIELDS["netguard.risk"], ("high", "critical"))
    assert bind("risk:{low TO critical}") == p.OneOf(FIELDS["netguard.risk"], ("medium", "high"))


def test_dates_days_and_relative_times() -> None:
    day = bind("@timestamp:2026-11-25")
    assert isinstance(day, p.Range) and day.lt is not None and day.gte is not None
    assert isinstance(day.lt, int) and isinstance(day.gte, int)
    assert day.lt - day.gte == 86_400_000
    rel = bind("@timestamp:>now-24h")
    assert isinstance(rel, p.Range) and rel.gt == NOW - 86_400_000
    window = p.time_window("24h", None, now=NOW)
    assert isinstance(window, p.Range) and window.gte == NOW - 86_400_000


def test_ip_exact_and_cidr() -> None:
    assert bind("source.ip:::ffff:10.1.2.3") == p.Eq(FIELDS["source.ip"], "10.1.2.3")
    cidr = bind("source.ip:10.1.0.0/16")
    assert isinstance(cidr, p.IpIn) and cidr.network == ipaddress.ip_network("10.1.0.0/16")


def test_bare_words_search_every_text_field() -> None:
    plan = bind("卫生院")
    assert isinstance(plan, p.Contains)
    assert {f.name for f in plan.fields} >= {"message", "db.query.text", "process.command_line"}


def test_lowercase_operators_are_words() -> None:
    tree = parse("drop or delete")
    assert isinstance(tree, And) and len(tree.items) == 3


@pytest.mark.parametrize(
    ("query", "message", "position"),
    [
        ("user:alice AND (", "the query ends where a term was expected", 16),
        ("(user:alice", "missing ')'", 0),
        ("user:alice)", "unbalanced ')'", 10),
        ('sql:"drop table', "unterminated quoted phrase", 4),
        ("usr:alice", "unknown field 'usr'", 0),
        ("user: alice", "a value must follow 'user:' without a space", 5),
        ("bytes:[1 5]", "expected 'TO'", 9),
        ("bytes:[1 TO 5", "a range must end with ']' or '}'", 6),
        ("risk:>=severe", "not 'severe'", 7),
        ("bytes:lots", "is a number", 6),
        ("source.ip:10.1.*", "wildcards apply to keyword and text fields", 10),
        ("source.ip:300.1.1.1", "is not an IP address", 10),
        ("mac:aa:bb:cc", "is not a MAC address", 4),
        ("message:>abc", "ranges do not apply to text field", 9),
        ("@timestamp:yesterday", "is not a date", 11),
        ("netguard.sql.where_less:yes", "true or false", 24),
        ("user:alice OR", "the query ends where a term was expected", 13),
        ("AND user:alice", "'AND' where a term was expected", 0),
        (":alice", "a field name is missing", 0),
    ],
)
def test_errors_name_the_position(query: str, message: str, position: int) -> None:
    with pytest.raises(QueryError) as info:
        bind(query)
    assert message in info.value.reason
    assert info.value.position == position
    rendered = str(info.value).splitlines()
    assert rendered[1].strip() == query.strip()
    assert rendered[2].index("^") - 2 == position


def test_unknown_field_suggests_the_closest() -> None:
    with pytest.raises(QueryError, match=r"did you mean 'user\.name'"):
        bind("user.nam:alice")


def test_compilers_escape_literal_wildcards() -> None:
    assert glob_prefix(("a*[b]?", Wild.STAR)) == "a[*][[]b][?]*"
    es = to_es(bind(r"user:a\*b*"))
    assert es == {"wildcard": {"user.name": {"value": "a\\*b*"}}}
    sql, params = to_sqlite(bind(r"user:a\*b*"))
    # The literal prefix goes to GLOB (an index range), the whole pattern to the linear matcher.
    assert "GLOB" in sql and params == ["a[*]b*", "a\\*b*"]


def test_not_keeps_events_without_the_field_in_sql() -> None:
    sql, _ = to_sqlite(bind("NOT user:alice"))
    assert sql.startswith("(NOT IFNULL(")


def test_macs_match_in_any_spelling() -> None:
    assert bind("mac:AA-BB-CC-DD-EE-FF") == p.Eq(FIELDS["host.mac"], "aa:bb:cc:dd:ee:ff")
    assert bind("mac:AA:BB:*") == p.Wildcard(FIELDS["host.mac"], ("aa:bb:", Wild.STAR))
