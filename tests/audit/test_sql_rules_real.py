"""SQL risk rules on logs written by real MariaDB and PostgreSQL servers (tests/audit/conftest.py)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from audit.formats import ParseOptions
from audit.pipeline import Audited, Pipeline
from audit.reader import Counts, audit_file
from audit.risk_settings import RiskSettings, Sensitive, WorkingHours
from audit.sql_rules import sql_classifier
from audit.timestamps import zone
from netguard.inventory import load_inventory
from tests.audit.conftest import ServerRun
from tests.audit.workloads import MULTILINE_MY, MULTILINE_PG

logging.getLogger("sqlglot").setLevel(logging.ERROR)

# What each workload statement must match, by text as the server logs it (masked the same way
# on both sides, so compared on the raw text). 患者 and its id_card/phone/姓名 are marked in 'his'.
EXPECTED = {
    MULTILINE_MY: {"SQL-SENSITIVE-COLUMNS", "SQL-SENSITIVE-NO-LIMIT"},
    MULTILINE_PG: {"SQL-SENSITIVE-COLUMNS", "SQL-SENSITIVE-NO-LIMIT"},
    "/* his-app: 门诊 */ SELECT * FROM 患者 WHERE phone = '13800138000'": {
        "SQL-SENSITIVE-SELECT-STAR",
        "SQL-SENSITIVE-NO-LIMIT",
        "SQL-SENSITIVE-COLUMNS",
    },
    "UPDATE 患者 SET phone = '13700000000'": {"SQL-WHERE-LESS"},
    "DELETE FROM 检验": {"SQL-WHERE-LESS"},
    "DROP TABLE 检验": {"SQL-DESTRUCTIVE-DDL"},
    "SELECT 结果 FROM 检验 WHERE id IN (1, 2, 3)": set(),
    "CREATE TABLE 检验 (id INT, 结果 TEXT)": set(),
    "CREATE TABLE 检验 (id int, 结果 text)": set(),
}
SETTINGS = RiskSettings(
    sensitive={"his": Sensitive(frozenset({"患者"}), frozenset({"id_card", "phone", "姓名"}))},
    working_hours=WorkingHours(days=frozenset(range(1, 8)), start=0, end=24 * 60),  # always inside
)


def audited(run: ServerRun, fmt: str, pipeline: Pipeline) -> list[Audited]:
    path = run.logs[fmt]
    prefix = run.log_line_prefix or "%m [%p] "
    options = ParseOptions(source=str(path), tz=zone("Asia/Shanghai"), log_line_prefix=prefix)
    return [i for i in audit_file(path, fmt, options, pipeline, Counts()) if isinstance(i, Audited)]


def check(items: list[Audited]) -> None:
    checked = 0
    for item in items:
        s = item.statement
        if s.user in ("doc", "nurse") and s.text in EXPECTED:
            assert {m.id for m in item.verdict.rules} == EXPECTED[s.text], s.text
            checked += 1
        if s.user == "root" and s.text.startswith(("CREATE USER", "GRANT")):
            assert {"SQL-ACCOUNT-CHANGE", "SQL-PRIVILEGED-ACCOUNT"} <= {m.id for m in item.verdict.rules}
            checked += 1
    assert checked >= 7


@pytest.mark.parametrize("fmt", ["mysql-general", "mariadb-audit"])
def test_mariadb_logs_classified(mariadb_run: ServerRun, fmt: str) -> None:
    check(audited(mariadb_run, fmt, Pipeline(sql_classifier(SETTINGS, None))))


@pytest.mark.parametrize("fmt", ["postgres", "postgres-csv"])
def test_postgres_logs_classified(postgres_run: ServerRun, fmt: str) -> None:
    items = audited(postgres_run, fmt, Pipeline(sql_classifier(SETTINGS, None)))
    seen = {i.statement.text for i in items if i.statement.user in ("doc", "nurse")}
    assert MULTILINE_PG in seen and "DROP TABLE 检验" in seen
    for item in items:
        if item.statement.user in ("doc", "nurse") and item.statement.text in EXPECTED:
            assert {m.id for m in item.verdict.rules} == EXPECTED[item.statement.text], item.statement.text


def test_client_and_hours_from_a_real_log(mariadb_run: ServerRun, tmp_path: Path) -> None:
    """The workload's client 127.0.0.1 is the database server itself in one inventory, an app server in another."""
    inventory = tmp_path / "county.yaml"
    base = (
        "county: {name: 县, code: t}\ndata_centre: dc\ninstitutions:\n  - id: dc\n    name: 中心\n    tier: county\n"
        "    kind: data-centre\n    subnets: [127.0.0.0/24]\n    gateway: 127.0.0.254\n    servers:\n"
        "      - {id: s1, role: ROLE, address: 127.0.0.1}\n"
    )
    never = RiskSettings(sensitive=SETTINGS.sensitive, working_hours=WorkingHours(days=frozenset()))
    for role, settings, flagged in [
        ("database", SETTINGS, {"SQL-UNKNOWN-CLIENT"}),
        ("his", SETTINGS, set()),
        ("database", never, {"SQL-UNKNOWN-CLIENT", "SQL-OUTSIDE-HOURS"}),
        ("his", never, set()),  # application servers work around the clock
    ]:
        inventory.write_text(base.replace("ROLE", role), encoding="utf-8")
        pipeline = Pipeline(sql_classifier(settings, load_inventory(inventory)))
        items = [i for i in audited(mariadb_run, "mysql-general", pipeline) if i.statement.user == "nurse"]
        assert items
        for item in items:
            context = {m.id for m in item.verdict.rules} & {"SQL-UNKNOWN-CLIENT", "SQL-OUTSIDE-HOURS"}
            assert context == flagged, (role, item.statement.text)
