"""Every statement from the real servers' logs makes a valid ``sql`` event."""

from __future__ import annotations

import logging

import pytest

from audit.event_fields import event_fields, log_position
from audit.pipeline import Pipeline
from netguard.events import make_event
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
    for s in stmts:
        item = pipeline.process(s)
        events.append(make_event("sql", event_fields(item, host="db01"), position=log_position(item, fmt, "f1")))
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
