"""Number facts bucketed by the rules' thresholds: one bucket, one outcome, for every number operator."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import pytest

from audit.analysis import Analyser
from audit.fact_buckets import Buckets, bucketer, bucketers, thresholds
from audit.records import Statement
from audit.risk_settings import RiskSettings
from audit.sql_rules import SQL_DOMAIN, SqlClassifier, load_sql_rules
from rules.loader import builtin_pack, load_or_raise
from rules.model import Rule
from tests.audit.test_sql_rules import HIS

PACK = """\
pack: numbers
domain: sql
rules:
  - {id: N-GT, title: gt, severity: low, action: tag, when: {rows_sent: {gt: 1000}}}
  - {id: N-GTE, title: gte, severity: low, action: tag, when: {rows_sent: {gte: 7.5}}}
  - {id: N-LT, title: lt, severity: low, action: tag, when: {rows_examined: {lt: -3}}}
  - {id: N-LTE, title: lte, severity: low, action: tag, when: {rows_examined: {lte: 0}}}
  - {id: N-EQ, title: eq, severity: low, action: tag, when: {rows_sent: 42}}
  - {id: N-NE, title: ne, severity: low, action: tag, when: {rows_sent: {not_equals: 43}}}
  - {id: N-IN, title: in, severity: low, action: tag, when: {rows_examined: {in: [2, 4, 1e3]}}}
  - {id: N-NOT-IN, title: not in, severity: low, action: tag, when: {rows_examined: {not_in: [6]}}}
  - {id: N-BETWEEN, title: between, severity: low, action: tag, when: {rows_sent: {between: [10, 20]}}}
  - {id: N-OUTSIDE, title: outside, severity: low, action: tag, when: {rows_examined: {outside: [100, 200]}}}
  - {id: N-EXISTS, title: exists, severity: low, action: tag, when: {rows_sent: {exists: false}}}
  - id: N-NESTED
    title: nested
    severity: low
    action: tag
    when: {none: [{any: [{hour: {lt: 8}}, {hour: {gte: 18}}]}, {weekday: {in: [6, 7]}}]}
"""


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    path = tmp_path / "numbers.yaml"
    path.write_text(PACK, encoding="utf-8")
    return path


def test_constants_are_read_from_the_loaded_conditions(pack: Path) -> None:
    rules = load_or_raise([pack], SQL_DOMAIN)
    found = thresholds(rules, ["rows_sent", "rows_examined", "hour", "weekday", "user"])
    assert found == {
        "rows_sent": (7.5, 10.0, 20.0, 42.0, 43.0, 1000.0),
        "rows_examined": (-3.0, 0.0, 2.0, 4.0, 6.0, 100.0, 200.0, 1000.0),
        "hour": (8.0, 18.0),
        "weekday": (6.0, 7.0),
        "user": (),
    }


def _values(r: random.Random, limits: tuple[float, ...]) -> list[float | int | None]:
    near = [v + d for v in limits for d in (-1, -0.5, 0, 0.5, 1)]
    return [None, *near, *(r.randint(-50, 2000) for _ in range(200)), *(r.uniform(-5, 50) for _ in range(50))]


def test_equal_buckets_give_equal_outcomes(pack: Path) -> None:
    """For every rule: two values in one bucket make it match alike, and each bucket is one piece of the line."""
    rules = load_or_raise([pack], SQL_DOMAIN)
    found = thresholds(rules, ["rows_sent", "rows_examined", "hour", "weekday"])
    r = random.Random(5)
    for fact, limits in found.items():
        assert limits is not None
        bucket = bucketer(limits)
        values = _values(r, limits)
        for rule in (x for x in rules if fact in x.facts):
            outcome: dict[object, bool] = {}
            for v in values:
                facts = {} if v is None else {fact: v}
                hit = rule.matches(facts)
                assert outcome.setdefault(bucket(v), hit) == hit, (rule.id, v)
    # Buckets are ordered and tell the thresholds themselves apart.
    b = bucketer((10.0, 20.0))
    assert [b(x) for x in (9, 10, 10.5, 20, 21)] == [0, 1, 2, 3, 4]
    assert b(float("nan")) != b(9) and b(10**400) == ("raw", 10**400)
    # Past 2**53 an int is compared as float() makes it, as the rules do.
    edge = bucketer((2.0**53,))
    assert edge(2**53 + 1) == edge(float(2**53 + 1)) == 1


def test_remembered_buckets_equal_computed_ones() -> None:
    limits = (0.0, 1.0, 1000.0, 2.0**60)
    memo, plain = Buckets(limits), bucketer(limits)
    values = [None, True, False, 0, 1, 1.0, 0.5, -1, 999, 1000, 1000.0, 1001, 2**60, 2**60 + 1, float("inf"), 10**400]
    for _ in range(2):  # computed, then remembered
        for v in values:
            assert memo[v] == plain(v), v


def test_a_rule_without_its_condition_keeps_raw_values(pack: Path) -> None:
    rules = load_or_raise([pack], SQL_DOMAIN)
    built_in_code = [dataclasses.replace(x, condition=None) if x.id == "N-GT" else x for x in rules]
    assert thresholds(built_in_code, ["rows_sent", "rows_examined"]) == {
        "rows_sent": None,
        "rows_examined": (-3.0, 0.0, 2.0, 4.0, 6.0, 100.0, 200.0, 1000.0),
    }
    # The pack file is not read again: editing it after the load changes nothing.
    pack.write_text(PACK.replace("gt: 1000", "gt: 5"), encoding="utf-8")
    assert thresholds(rules, ["rows_sent"]) == {"rows_sent": (7.5, 10.0, 20.0, 42.0, 43.0, 1000.0)}
    assert bucketers({"rows_sent": None}) == {"rows_sent": None}


def _stmt(rows: int | None, examined: int | None = None) -> Statement:
    text = "SELECT id FROM 患者 WHERE id > 0"
    return Statement("f", 0, 1, text, "mysql", "mariadb", db="his", rows_sent=rows, rows_examined=examined)


@pytest.mark.parametrize("readable", [True, False])
def test_row_counts_share_a_cache_entry_per_bucket(readable: bool) -> None:
    settings = RiskSettings(sensitive={"his": HIS})
    rules = load_sql_rules(settings)
    if not readable:
        rules = dataclasses.replace(rules, rules=tuple(dataclasses.replace(x, condition=None) for x in rules))
    fast = SqlClassifier(rules, settings)
    analysis = Analyser().analyse(_stmt(0).text, "mysql")
    counts = [None, *range(0, 3000, 7), 1000, 999, 1001]
    for rows in counts:
        got = fast.classify(_stmt(rows), analysis)
        assert got == SqlClassifier(rules, settings).classify(_stmt(rows), analysis)
        assert ("SQL-SENSITIVE-LARGE-READ" in {m.id for m in got.rules}) == (rows is not None and rows > 1000)
    # Built-in pack: rows_sent > 1000 is the only threshold: missing, below, at, above.
    contexts = len(fast._contexts)
    assert contexts == 4 if readable else contexts == len(set(counts))


def test_builtin_pack_thresholds() -> None:
    rules: tuple[Rule, ...] = tuple(load_or_raise([builtin_pack("sql")], SQL_DOMAIN))
    assert thresholds(rules, ["rows_sent", "hour"]) == {"rows_sent": (1000.0,), "hour": ()}
