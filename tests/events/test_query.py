"""The search language: parsing, binding to the schema, and precise errors."""

from __future__ import annotations

import ipaddress
import json

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
    sql, params = to_sqlite(bind(r"host.name:a\*b*"))
    # The literal prefix goes to GLOB, the whole pattern to the linear matcher.
    assert "GLOB" in sql and params == ["a[*]b*", "a\\*b*"]
    # On a column that leads an index, the pattern is tried on its distinct values.
    sql, params = to_sqlite(bind(r"user:a\*b*"))
    assert "WITH RECURSIVE" in sql and params == ['["a\\\\*b*"]']


def test_not_keeps_events_without_the_field_in_sql() -> None:
    sql, _ = to_sqlite(bind("NOT user:alice"))
    assert sql.startswith("(NOT IFNULL(")


def test_macs_match_in_any_spelling() -> None:
    assert bind("mac:AA-BB-CC-DD-EE-FF") == p.Eq(FIELDS["host.mac"], "aa:bb:cc:dd:ee:ff")
    assert bind("mac:AA:BB:*") == p.Wildcard(FIELDS["host.mac"], ("aa:bb:", Wild.STAR))


# --- long lists, limits, values out of range (issue 5)


def test_long_or_lists_become_one_clause() -> None:
    users = bind(" OR ".join(f"user:u{i}" for i in range(1000)))
    assert users == p.OneOf(FIELDS["user.name"], tuple(f"u{i}" for i in range(1000)))
    addresses = [f"10.{i // 250}.{i % 250}.1" for i in range(1000)]
    ips = bind("source.ip:(" + " OR ".join([*addresses, "::ffff:10.0.0.1"]) + ")")
    assert ips == p.OneOf(FIELDS["source.ip"], tuple(addresses))  # the mapped spelling is 10.0.0.1 again
    excluded = bind(" ".join(f"-user:u{i}" for i in range(1000)) + " kind:sql")
    assert isinstance(excluded, p.All) and len(excluded.items) == 2
    assert excluded.items[0] == p.Not(p.OneOf(FIELDS["user.name"], tuple(f"u{i}" for i in range(1000))))
    # Other conditions stay where they were; different fields are not merged.
    mixed = bind("user:a OR host.name:h OR user:b OR risk:>=high OR risk:low")
    assert mixed == p.Any_(
        (
            p.OneOf(FIELDS["user.name"], ("a", "b")),
            p.Eq(FIELDS["host.name"], "h"),
            p.OneOf(FIELDS["netguard.risk"], ("high", "critical", "low")),
        )
    )


def test_long_lists_compile_to_one_parameter_in_sql() -> None:
    sql, params = to_sqlite(bind(" OR ".join(f"user:u{i}" for i in range(1000))))
    assert "json_each" in sql and len(params) == 1
    es = to_es(bind(" OR ".join(f"user:u{i}" for i in range(1000))))
    assert list(es) == ["terms"] and len(es["terms"]["user.name"]) == 1000


def _too_complex(query: str) -> QueryError:
    with pytest.raises(QueryError, match="the query is too complex") as info:
        bind(query)
    return info.value


def test_deep_nesting_is_refused_at_its_position() -> None:
    deep = "(" * (p.MAX_DEPTH + 1) + "user:a" + ")" * (p.MAX_DEPTH + 1)
    assert _too_complex(deep).position == p.MAX_DEPTH
    nots = "NOT " * 300 + "user:a"
    assert _too_complex(nots).position == 4 * p.MAX_DEPTH
    assert _too_complex("-" * 300 + "user:a").position == p.MAX_DEPTH
    # Python's recursion limit is never what stops it.
    _too_complex("(" * 5000 + "a")
    # Alternating AND/OR groups nest in the plan even when each paren adds one level only.
    q = "drop"
    for i in range(p.MAX_DEPTH // 2 + 1):
        q = f"user:a{i} (user:b{i} OR {q})"
    assert "nest" in _too_complex(q).reason
    just = "user:a"
    for _ in range(p.MAX_DEPTH):
        just = f"NOT {just}"
    bind(just)  # exactly at the limit: accepted


def test_too_many_clauses_is_refused() -> None:
    assert p.MAX_CLAUSES >= 1000
    ranges = " OR ".join(f"bytes:>{i}" for i in range(p.MAX_CLAUSES + 1))
    error = _too_complex(ranges)
    assert f"{p.MAX_CLAUSES + 1} conditions" in error.reason
    bind(" OR ".join(f"bytes:>{i}" for i in range(p.MAX_CLAUSES)))
    words = len(p.compile_query("x", now=NOW).fields)  # type: ignore[union-attr]
    _too_complex(" OR ".join(f"word{i}" for i in range(p.MAX_CLAUSES // words + 1)))
    # Hundreds of excluded values for one field are one clause.
    bind(" ".join(f"-user:u{i}" for i in range(5000)))


@pytest.mark.parametrize(
    ("query", "message", "position"),
    [
        ("netguard.link.loss:nan", "is a number; 'nan' is not", 19),
        ("netguard.link.loss:>-inf", "is a number; '-inf' is not", 20),
        ("netguard.link.loss:[inf TO *]", "is a number; 'inf' is not", 19),
        ("netguard.link.loss:1e400", "out of range", 19),
        ("file.size:99999999999999999999", "out of range for 'file.size' (a 64-bit integer)", 10),
        ("file.size:<-9223372036854775809", "out of range", 11),
        ("file.size:>1e19", "out of range", 11),
        ("file.size:Infinity", "is a number", 10),
        ("file.size:1_000", "is a number", 10),
        ("file.size:١٢", "is a number", 10),
        ("@timestamp:now-99999999999w", "out of range (times run from year 1 to 9999)", 11),
        ("@timestamp:>now+99999999999w", "out of range", 12),
        ("@timestamp:[now-99999999999w TO now]", "out of range", 11),
        ("@timestamp:[2026-01-01 TO now+9000000w]", "out of range", 11),
        ("user:a OR @timestamp:00001-01-01", "is not a date", 21),
    ],
)
def test_values_out_of_range_are_usage_errors_with_position(query: str, message: str, position: int) -> None:
    with pytest.raises(QueryError) as info:
        bind(query)
    assert message in info.value.reason
    assert info.value.position == position
    assert str(info.value).splitlines()[2].index("^") - 2 == position


def test_numbers_at_the_edges_are_accepted() -> None:
    assert bind("file.size:9223372036854775807") == p.Eq(FIELDS["file.size"], 2**63 - 1)
    assert bind("file.size:-9223372036854775808") == p.Eq(FIELDS["file.size"], -(2**63))
    assert bind("file.size:1e3") == p.Eq(FIELDS["file.size"], 1000)
    assert bind("netguard.link.loss:1e300") == p.Eq(FIELDS["netguard.link.loss"], 1e300)
    assert bind("netguard.link.loss:-.5") == p.Eq(FIELDS["netguard.link.loss"], -0.5)


def test_time_window_out_of_range_is_a_usage_error() -> None:
    with pytest.raises(QueryError, match=r"--since '99999999999w' is out of range"):
        p.time_window("99999999999w", None, now=NOW)
    with pytest.raises(QueryError, match=r"--until 'now\+9000000w' is out of range"):
        p.time_window(None, "now+9000000w", now=NOW)
    last = bind("@timestamp:9999-12-31")  # the last day there is: no next day to end at, still a query
    assert isinstance(last, p.Range) and last.lt == p.TIME_MAX_MS + 1


def test_ipv4_mapped_networks_are_ipv4_networks() -> None:
    mapped = bind("source.ip:::ffff:10.0.0.0/104")
    assert mapped == p.IpIn(FIELDS["source.ip"], ipaddress.ip_network("10.0.0.0/8"))
    whole = bind("source.ip:::/0")
    assert isinstance(whole, p.IpIn) and whole.network == ipaddress.ip_network("::/0")


def test_sqlite_ip_in_treats_ipv4_as_mapped() -> None:
    from netguard.events.query.to_sqlite import ip_in

    def inside(address: str, *networks: str) -> int:
        return ip_in(address, json.dumps(networks))

    assert inside("10.1.2.3", "::/0") == inside("10.1.2.3", "::/64") == inside("10.1.2.3", "::ffff:0:0/96") == 1
    assert inside("10.1.2.3", "::/96") == inside("fd00::1", "::/64") == inside("fd00::1", "0.0.0.0/0") == 0
    assert inside("10.1.2.3", "10.1.2.3/32") == inside("::ffff:10.1.2.3", "10.0.0.0/8") == 1
    # Many networks at once, overlapping and adjacent, by bisection: the same answers as one by one.
    nets = ["10.0.0.0/8", "10.1.0.0/16", "192.168.1.0/25", "192.168.1.128/25", "fd00::/8", "::/96", "172.16.5.4/32"]
    for address in ("10.9.9.9", "11.0.0.0", "192.168.1.200", "192.168.2.0", "fd12::1", "::7", "172.16.5.4", "x"):
        assert inside(address, *nets) == max(inside(address, n) for n in nets), address


def test_host_networks_are_addresses_and_cidr_lists_one_call() -> None:
    assert bind("source.ip:10.1.2.3/32") == p.Eq(FIELDS["source.ip"], "10.1.2.3")
    assert bind("source.ip:::ffff:10.1.2.3/128") == p.Eq(FIELDS["source.ip"], "10.1.2.3")
    assert bind("source.ip:fd00::1/128") == p.Eq(FIELDS["source.ip"], "fd00::1")
    cidrs = [f"10.{i // 250}.{i % 250}.0/24" for i in range(1000)]
    sql, params = to_sqlite(bind("user:x OR source.ip:(" + " OR ".join(cidrs) + ") OR related.ip:10.0.0.0/8"))
    # One lookup in the address index per field; the thousand /24s merge into four ranges (10.0-10.3).
    assert sql.count("event_ips") == 2 and len(json.loads(params[1])) == 4
    es = to_es(bind("source.ip:(" + " OR ".join(cidrs) + ")"))
    assert len(es["bool"]["should"]) == 1000  # Elasticsearch: one term query (clause) each


def test_plans_built_by_code_are_held_to_the_same_limits() -> None:
    from netguard.events.store import build_plan

    wide = p.Any_(tuple(p.Range(FIELDS["destination.bytes"], gt=i) for i in range(p.MAX_CLAUSES + 1)))
    with pytest.raises(QueryError, match="too complex"):
        build_plan(wide, (), None, None, NOW)


@pytest.mark.parametrize(
    ("query", "position"),
    [
        ("command:a" + "?" * 9, 8),
        ("x" + "?" * 9, 0),
        ("user:*a" + "?" * 9 + "b", 5),
        ("user:a*b????*c?????", 5),
        ("mac:*" + "?" * 9, 4),
    ],
)
def test_patterns_elasticsearch_cannot_compile_are_refused_alike(query: str, position: int) -> None:
    with pytest.raises(QueryError, match="the pattern is too complex") as info:
        bind(query)
    assert info.value.position == position


def test_question_marks_within_the_limit_are_patterns() -> None:
    bind("command:a" + "?" * 8)
    bind("user:*a" + "?" * 8 + "b")
    bind("user:" + "?" * 40)  # no '*' before them: anchored, nothing to blow up
    bind('command:"' + "?" * 40 + '"')  # quoted: literal question marks


def test_a_list_longer_than_elasticsearch_takes_is_refused() -> None:
    bind(" OR ".join(f"user:u{i}" for i in range(p.MAX_VALUES)))
    error = _too_complex(" OR ".join(f"user:u{i}" for i in range(p.MAX_VALUES + 1)))
    assert f"a list of {p.MAX_VALUES + 1} values" in error.reason
