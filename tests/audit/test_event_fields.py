"""Every statement from the real servers' logs makes a valid ``sql`` event."""

from __future__ import annotations

import datetime as dt
import logging
import random

import pytest

from audit.event_fields import SqlEvents, event_fields, log_position
from audit.pipeline import Pipeline
from audit.records import Statement
from bench.audit import workload
from netguard.events import make_event
from netguard.events.schema import MAX_STRING
from tests.audit.conftest import ServerRun
from tests.audit.test_real_servers import parse


@pytest.mark.parametrize(
    ("run_name", "fmt"),
    [("mariadb_run", "mysql-general"), ("mariadb_run", "mysql-slow"), ("mariadb_run", "mariadb-audit"),
     ("postgres_run", "postgres"), ("postgres_run", "postgres-csv"), ("postgres_run", "pgaudit")],
)  # fmt: skip
def test_statements_become_sql_events(request: pytest.FixtureRequest, run_name: str, fmt: str) -> None:
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    run: ServerRun = request.getfixturevalue(run_name)
    stmts, _ = parse(fmt, run.logs[fmt], run.log_line_prefix)
    pipeline = Pipeline()
    events = []
    fast = SqlEvents(host="db01")
    for s in stmts:
        item = pipeline.process(s)
        events.append(make_event("sql", event_fields(item, host="db01"), position=log_position(item, fmt, "f1")))
        assert fast.event(item, log_position(item, fmt, "f1")) == events[-1]
    assert len(events) == len(stmts) > 10
    docs = [dict(e.fields) for e in events]
    text = repr(docs)
    for pii in ("110101199003071234", "13800138000", "张三"):
        assert pii not in text
    update = next(d for d in docs if "UPDATE 患者" in str(d))
    assert "sql-where-less" in repr(update)


def test_identical_statements_at_two_offsets_stay_two_events(mariadb_run: ServerRun) -> None:
    stmts, _ = parse("mysql-general", mariadb_run.logs["mysql-general"], mariadb_run.log_line_prefix)
    pipeline = Pipeline()
    item = pipeline.process(stmts[0])
    fields = event_fields(item)
    first = make_event("sql", fields, position=log_position(item, "db01-general", "f1"))
    again = make_event("sql", fields, position=log_position(item, "db01-general", "f1"))
    other = make_event("sql", fields, position=log_position(pipeline.process(stmts[1]), "db01-general", "f1"))
    assert first.id == again.id and first.id != other.id
    assert first.fields["log.offset"] == stmts[0].offset


def test_events_from_templates_equal_make_event() -> None:
    """SqlEvents (a template per shape) gives make_event's events, whatever varies per statement."""
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    r = random.Random(4)
    texts = [w.text for w in workload(400)] + [
        "DROP TABLE his.患者",
        "UPDATE his.患者 SET 电话 = '1'",
        "GRANT ALL ON *.* TO 'x'@'%'",
        "SELEC broken",
        "select 'it''s' from t1",
        "x" * 9000,
    ]
    pipeline = Pipeline()
    fast = SqlEvents(host="db01", institution="county-hospital")
    for i, text in enumerate(texts * 2):
        stmt = Statement(
            "/var/log/x.log", i * 7, i + 1, text, r.choice(["mysql", "postgres"]), r.choice(["mysql", "mariadb"]),
            ts=r.choice([None, dt.datetime(2026, 11, 30, 8, 0, r.randint(0, 59), r.randint(0, 999999), tzinfo=dt.UTC)]),
            user=r.choice([None, "his_app", "张医生"]), db=r.choice([None, "his"]),
            client=r.choice([None, "10.20.1.11", "::ffff:10.20.1.12", "localhost", "app01.his"]),
            client_port=r.choice([None, 50123]), connection_id=r.choice([None, "12"]),
            duration_ns=r.choice([None, 1500]), rows_sent=r.choice([None, 0, 3]),
            outcome=r.choice(["success", "failure"]),
            error=r.choice([None, 'invalid input syntax for type integer: "张三"']),
        )  # fmt: skip
        item = pipeline.process(stmt)
        position = log_position(item, "db01", "f1")
        fields = event_fields(item, host="db01") | {"organization.id": "county-hospital"}
        got = fast.event(item, position)
        # Without a time both take "now"; give make_event the same one.
        now = got.timestamp_ms / 1000 if stmt.ts is None else None
        assert got == make_event("sql", fields, timestamp=now, position=position)


@pytest.mark.parametrize("host", [None, "db01"])
def test_direct_layout_equals_make_event_on_edge_values(host: str | None) -> None:
    """The direct path (audit.sql_event_layout) or its fallback: make_event's event, byte for byte."""
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    r = random.Random(5)
    pipeline = Pipeline()
    events = SqlEvents(host=host)
    long = "长" * (MAX_STRING + 1)
    cst = dt.timezone(dt.timedelta(hours=8))
    for i in range(300):
        stmt = Statement(
            r.choice(["/var/log/x.log", ""]), i * 11, i + 1, r.choice(["SELECT 1", "SELECT * FROM t WHERE a = 5"]),
            "mysql", "mysql",
            ts=r.choice([dt.datetime(2026, 11, 30, 8, 0, i % 60, tzinfo=cst), dt.datetime(1, 1, 1, tzinfo=dt.UTC)]),
            user=r.choice(["", None, "u", long, "%s %d"]), db=r.choice(["", "his", long]),
            client=r.choice(["", "db01", "localhost", "10.0.0.1", "::ffff:10.0.0.2", "fe80::1", long]),
            client_port=r.choice([None, 0, 5432]), connection_id=r.choice(["", "7", None]),
            duration_ns=r.choice([None, 0, 10**15]), rows_sent=r.choice([None, 0]), rows_examined=r.choice([None, 9]),
            outcome=r.choice(["success", "unknown", ""]), error=r.choice([None, "", "e %", long]),
        )  # fmt: skip
        item = pipeline.process(stmt)
        position = log_position(item, "src", "f1")
        got = events.event(item, position)
        assert got.json == make_event("sql", event_fields(item, host=host), position=position).json
        assert got == make_event("sql", event_fields(item, host=host), position=position)
