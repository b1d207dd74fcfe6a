"""The pipeline's per-shape fast path (verdict and rendered JSON cached per shape and verdict) changes no output.

Each statement goes through two pipelines: the fast one with a SqlClassifier (its caches,
interned verdicts, the per-verdict rendered fields) and a plain one whose classifier builds a
fresh SqlClassifier for every statement (no cache survives), rendered with ``to_json`` and
``make_event``. The JSON lines (keys, order, values) and the events must be the same.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
from collections.abc import Callable, Iterable
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from audit.analysis import Analysis
from audit.event_fields import SqlEvents, event_fields, log_position
from audit.pipeline import Pipeline, to_json
from audit.records import Statement
from audit.risk import Verdict
from audit.risk_settings import RiskSettings, WorkingHours
from audit.sql_rules import ClientRoles, SqlClassifier, load_sql_rules
from bench.audit import workload
from netguard.events import make_event
from netguard.inventory import Inventory, load_inventory
from tests.audit.conftest import ServerRun
from tests.audit.test_real_servers import parse
from tests.audit.test_sql_rules import HIS, INVENTORY, SHANGHAI

logging.getLogger("sqlglot").setLevel(logging.ERROR)

CONTEXT_PACK = """\
pack: test-context
domain: sql
rules:
  - id: T-NIGHT-DOCTOR
    title: doctor at night
    severity: medium
    action: tag
    references: ['等保2.0 8.1.4.3 a']
    when: {user: {in: [doc, 张医生]}, hour: {lt: 8}}
  - id: T-DB-SERVER-SELECT
    title: SELECT from the database server
    severity: low
    action: tag
    references: ['等保2.0 8.1.4.3 a']
    when: {client: {in: ['127.90.0.21', localhost]}, operation: SELECT}
  - id: T-WEEKEND-WRITE
    title: writes at the weekend
    severity: high
    action: tag
    references: ['等保2.0 8.1.4.3 a']
    when: {weekday: {gt: 5}, operation: {in: [UPDATE, DELETE, INSERT]}}
  # Number facts enter the cache key as buckets among these thresholds (audit/fact_buckets.py).
  - id: T-ROW-BANDS
    title: odd row counts
    severity: low
    action: tag
    references: ['等保2.0 8.1.4.3 a']
    when:
      any:
        - rows_sent: {between: [10, 20]}
        - rows_sent: {in: [0, 3]}
        - all: [{rows_examined: {outside: [5, 10]}}, {rows_sent: {not_equals: 1500}}]
  - id: T-LUNCH
    title: lunch break, working day
    severity: low
    action: tag
    references: ['等保2.0 8.1.4.3 a']
    when: {hour: {between: [12, 13]}, working_hours: true}
  - id: T-EXACT
    title: exactly a thousand rows, not on Wednesday
    severity: medium
    action: tag
    references: ['等保2.0 8.1.4.3 a']
    when: {rows_sent: 1000, weekday: {not_in: [3]}, rows_examined: {exists: true}}
"""
# Turns every built-in context rule off: what is left looks only at the shape.
SHAPE_PACK = """\
pack: test-shape
domain: sql
disable: [SQL-SENSITIVE-LARGE-READ, SQL-OUTSIDE-HOURS, SQL-UNKNOWN-CLIENT, SQL-PRIVILEGED-ACCOUNT]
rules:
  - id: T-LIS-DELETE
    title: delete in 检验
    severity: critical
    action: tag
    references: ['等保2.0 8.1.4.3 a']
    when: {operation: DELETE, tables: {contains_any: [检验]}}
"""
HOURS = WorkingHours(days=frozenset({1, 2, 3, 4, 5}), start=8 * 60, end=18 * 60, timezone="Asia/Shanghai")


@pytest.fixture(scope="module")
def inventory(tmp_path_factory: pytest.TempPathFactory) -> Inventory:
    path = tmp_path_factory.mktemp("inv") / "county.yaml"
    path.write_text(INVENTORY, encoding="utf-8")
    return load_inventory(path)


Make = Callable[[], SqlClassifier]


@pytest.fixture(params=["builtin-pack", "context-pack", "shape-only"])
def make(request: pytest.FixtureRequest, tmp_path: Path, inventory: Inventory) -> Make:
    packs: tuple[Path, ...] = ()
    if request.param != "builtin-pack":
        pack = tmp_path / "pack.yaml"
        pack.write_text(CONTEXT_PACK if request.param == "context-pack" else SHAPE_PACK, encoding="utf-8")
        packs = (pack,)
    settings = RiskSettings(
        rules=packs, sensitive={"his": HIS}, working_hours=HOURS, privileged_users=frozenset({"root"})
    )
    rules = load_sql_rules(settings)
    clients = ClientRoles(inventory, settings.application_roles)

    def new() -> SqlClassifier:
        return SqlClassifier(rules, settings, clients)

    assert new().shape_only == (request.param == "shape-only")
    return new


class _Fresh:
    """The plain path: a new SqlClassifier, with empty caches, for every statement."""

    def __init__(self, make: Make) -> None:
        self.make = make

    def classify(self, statement: Statement, analysis: Analysis) -> Verdict:
        return self.make().classify(statement, analysis)


def _same_output(make: Make, stmts: Iterable[Statement]) -> list[Verdict]:
    fast, plain = Pipeline(make()), Pipeline(_Fresh(make))
    fast_events = SqlEvents(host="db01", institution="county-hospital")
    verdicts = []
    for s in stmts:
        got, want = fast.process(s), plain.process(s)
        assert got == want, s.text
        verdicts.append(got.verdict)
        for raw in (False, True):
            line = fast.json_line(got, raw)
            expected = json.dumps(to_json(want, raw), ensure_ascii=False)
            assert list(json.loads(line).items()) == list(json.loads(expected).items()), s.text
            assert fast.json_bytes(got, raw) == line.encode(), s.text  # what parse --json writes
        fields = {**event_fields(want, host="db01"), "organization.id": "county-hospital"}
        position = log_position(want, "db01", "f1")
        assert fast_events.event(got, position) == make_event("sql", fields, position=position), s.text
    return verdicts


@pytest.mark.parametrize(
    ("run_name", "fmt"),
    [("mariadb_run", "mysql-general"), ("mariadb_run", "mysql-slow"), ("mariadb_run", "mariadb-audit"),
     ("postgres_run", "postgres"), ("postgres_run", "postgres-csv"), ("postgres_run", "pgaudit")],
)  # fmt: skip
def test_real_server_logs(request: pytest.FixtureRequest, make: Make, run_name: str, fmt: str) -> None:
    run: ServerRun = request.getfixturevalue(run_name)
    stmts, _ = parse(fmt, run.logs[fmt], run.log_line_prefix)
    assert len(stmts) > 10
    # Twice over: the second pass meets every cache warm.
    _same_output(make, stmts * 2)


def _random_statements(n: int, seed: int) -> list[Statement]:
    r = random.Random(seed)
    # A few timestamp objects shared by runs of statements (as the parsers hand them out), and new equal ones.
    start = dt.datetime(2026, 11, 27, 6, 0, tzinfo=SHANGHAI)  # a Friday morning, into the weekend
    times = [start + dt.timedelta(hours=h, seconds=r.randint(0, 59)) for h in range(0, 60)]
    # Just before the rules' hour, working-hours and weekday edges, in other zones and folds too (the
    # time key is reused within a second: PostgreSQL's %m makes a new time object per statement).
    new_york = ZoneInfo("America/New_York")
    times += [
        dt.datetime(2026, 11, 30, 7, 59, 59, 998_000, tzinfo=SHANGHAI),
        dt.datetime(2026, 11, 30, 17, 59, 59, 999_000, tzinfo=SHANGHAI),
        dt.datetime(2026, 11, 28, 23, 59, 59, 999_999, tzinfo=SHANGHAI),
        dt.datetime(2026, 11, 1, 1, 59, 59, 999_000, tzinfo=new_york),
        dt.datetime(2026, 11, 1, 1, 59, 59, 999_000, tzinfo=new_york, fold=1),
        dt.datetime(2026, 11, 29, 23, 59, 59, 999_000, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 29, 23, 59, 59, 999_000, tzinfo=dt.timezone(dt.timedelta(hours=-10))),
    ]
    out = []
    ts = times[0]
    for i, w in enumerate(workload(n, seed=seed)):
        if r.random() < 0.05:
            ts = r.choice(times)  # no None: an event without a time is stamped with the clock
        elif r.random() < 0.05 and ts is not None:
            ts = ts.replace()  # an equal value, another object
        elif r.random() < 0.3:  # a new time a few milliseconds on: often the same second, sometimes not
            ts = ts + dt.timedelta(milliseconds=r.choice([0, 1, 1, 2, 500]))
        text = w.text if r.random() < 0.9 else r.choice(["DELETE FROM 检验 WHERE id = 3", "SELECT * FROM 患者"])
        out.append(
            Statement(
                "/var/log/mysql.log", i * 40, i + 1, text, "mysql", "mariadb", ts=ts,
                user=r.choice([None, "doc", "张医生", "root", "his_app", w.user]),
                db=r.choice([None, "his", "his", "lis"]),
                client=r.choice([None, "127.90.0.11", "127.90.0.21", "127.90.0.5", "localhost", "10.9.9.9", w.client]),
                # Around every threshold of the packs (1000 in the built-in one) and far from them.
                rows_sent=r.choice([None, 0, 1, 2, 3, 4, 9, 10, 11, 19, 20, 21, 999, 1000, 1001, 1500, 20000,
                                    r.randint(0, 100000), r.randint(0, 30)]),
                rows_examined=r.choice([None, 0, 4, 5, 6, 10, 11, r.randint(0, 10**6)]),
                duration_ns=r.choice([None, 2_500_000]),
                error=None if r.random() < 0.95 else "Unknown column '张三'",
            )
        )  # fmt: skip
    return out


def test_random_statements_with_context_rules(make: Make) -> None:
    stmts = _random_statements(4000, seed=11)
    verdicts = _same_output(make, stmts)
    # One object per distinct verdict (interned): what the per-verdict rendering relies on.
    assert len({id(v) for v in verdicts}) == len(set(verdicts)) < len(stmts) // 5
    assert len({v.risk for v in verdicts}) > 1


def test_shape_caches_are_bounded_in_text_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """20,000 shapes is a few MB of usual statements, but GBs of multi-row INSERTs (each row count its
    own masked text): the caches also forget everything once their keys pass SHAPE_TEXT characters."""
    from audit import event_fields, pipeline

    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    monkeypatch.setattr(pipeline, "SHAPE_TEXT", 100_000)
    monkeypatch.setattr(event_fields, "SHAPE_TEXT", 100_000)
    p, events = Pipeline(), SqlEvents(host=None)
    ts = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
    for i in range(40):
        text = "INSERT INTO t (a,b,c) VALUES (1,'x',2)" + ",(1,'x',2)" * (1000 + i)  # 10 KB, each its own shape
        item = p.process(Statement("x", i, 1, text, "mysql", "mysql", ts=ts))
        assert item.masked.count("(?,?,?)") == 1001 + i
        events.event(item, log_position(item, "s", "k"))
        assert sum(len(masked) for _, masked in p._shapes) <= 100_000
        assert sum(len(masked) for masked, _, _ in events._templates) <= 100_000
        assert p._shapes and events._templates  # the latest is remembered
