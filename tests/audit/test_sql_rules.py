"""SQL risk rules: the built-in pack, institution packs, the settings, and the per-shape / per-context caches."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from audit.pipeline import Pipeline
from audit.records import Statement
from audit.risk_settings import RiskSettings, Sensitive, WorkingHours
from audit.settings import AUDIT
from audit.sql_rules import SHAPE_FACTS, classifier_for, load_sql_rules, sql_classifier
from netguard.config import load_config
from netguard.errors import ConfigError
from netguard.inventory import Inventory, load_inventory
from rules.loader import RulesInvalid, builtin_pack, load_packs

logging.getLogger("sqlglot").setLevel(logging.ERROR)
SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY_10 = dt.datetime(2026, 11, 30, 10, 0, tzinfo=SHANGHAI)
SUNDAY_23 = dt.datetime(2026, 11, 29, 23, 30, tzinfo=SHANGHAI)
HIS = Sensitive(tables=frozenset({"患者", "patients"}), columns=frozenset({"id_card", "phone", "姓名"}))
SETTINGS = RiskSettings(sensitive={"his": HIS})

INVENTORY = """\
county: {name: 县, code: t}
data_centre: dc
institutions:
  - id: dc
    name: 数据中心
    tier: county
    kind: data-centre
    subnets: [127.90.0.0/24]
    gateway: 127.90.0.1
    servers:
      - {id: bastion01, role: bastion, address: 127.90.0.5}
      - {id: his-app01, role: his, address: 127.90.0.11}
      - {id: his-db01, role: database, address: 127.90.0.21}
"""


@pytest.fixture(scope="module")
def inventory(tmp_path_factory: pytest.TempPathFactory) -> Inventory:
    path = tmp_path_factory.mktemp("inv") / "county.yaml"
    path.write_text(INVENTORY, encoding="utf-8")
    return load_inventory(path)


def stmt(
    text: str, *, user: str = "doc", client: str = "127.90.0.11", db: str | None = "his", **kw: object
) -> Statement:
    fields: dict[str, object] = {"ts": MONDAY_10, "user": user, "client": client, "db": db, **kw}
    return Statement("test.log", 0, 1, text, "mysql", "mysql", **fields)  # type: ignore[arg-type]


def rules_of(pipeline: Pipeline, s: Statement) -> set[str]:
    return {m.id for m in pipeline.process(s).verdict.rules}


@pytest.fixture
def pipeline(inventory: Inventory) -> Pipeline:
    return Pipeline(sql_classifier(SETTINGS, inventory))


def test_every_builtin_rule_has_rationale_clause_and_title() -> None:
    rules = load_sql_rules(RiskSettings())
    assert len(rules) >= 10
    for rule in rules:
        assert rule.title and rule.rationale and rule.remediation, rule.id
        assert any(ref.startswith("等保2.0 8.1.") for ref in rule.references), rule.id


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("UPDATE 患者 SET phone = '1'", {"SQL-WHERE-LESS"}),
        ("DELETE FROM 检验", {"SQL-WHERE-LESS"}),
        ("DELETE FROM 检验 WHERE id = 3", set()),
        ("DROP TABLE 检验", {"SQL-DESTRUCTIVE-DDL"}),
        ("TRUNCATE TABLE 检验", {"SQL-DESTRUCTIVE-DDL"}),
        ("ALTER TABLE 检验 ADD COLUMN x INT", {"SQL-DESTRUCTIVE-DDL"}),
        ("GRANT SELECT ON his.* TO 'x'@'%'", {"SQL-ACCOUNT-CHANGE"}),
        ("CREATE USER 'x'@'%' IDENTIFIED BY 'pw'", {"SQL-ACCOUNT-CHANGE"}),
        ("DROP USER 'x'@'%'", {"SQL-ACCOUNT-CHANGE"}),
        ("SET PASSWORD FOR 'x'@'%' = PASSWORD('pw')", {"SQL-ACCOUNT-CHANGE"}),
        ("SELECT * FROM 患者 LIMIT 10", {"SQL-SENSITIVE-SELECT-STAR"}),
        ("SELECT * FROM 患者", {"SQL-SENSITIVE-SELECT-STAR", "SQL-SENSITIVE-NO-LIMIT"}),
        ("SELECT id FROM patients", {"SQL-SENSITIVE-NO-LIMIT"}),
        ("SELECT id FROM his.Patients WHERE id = 1 LIMIT 1", set()),
        ("SELECT p.id_card, p.姓名 FROM 门诊 p WHERE id = 1 LIMIT 1", {"SQL-SENSITIVE-COLUMNS"}),
        ("SELECT * FROM 检验 WHERE id = 1", set()),
        ("INSERT INTO 检验 (id) VALUES (1)", set()),
    ],
)
def test_shape_rules(pipeline: Pipeline, text: str, expected: set[str]) -> None:
    assert rules_of(pipeline, stmt(text)) == expected


def test_sensitive_is_per_database_or_schema(pipeline: Pipeline) -> None:
    # 患者 and id_card are marked in 'his' only: the same shape in 'lis' is not sensitive ...
    assert rules_of(pipeline, stmt("SELECT id_card FROM 患者 WHERE id = 1 LIMIT 1", db="lis")) == set()
    # ... unless the table is qualified with the schema that marks it.
    assert rules_of(pipeline, stmt("SELECT id FROM his.患者", db="lis")) == {"SQL-SENSITIVE-NO-LIMIT"}
    assert rules_of(pipeline, stmt("SELECT id_card FROM 患者 WHERE id = 1 LIMIT 1", db="his")) == {
        "SQL-SENSITIVE-COLUMNS"
    }


def test_default_sensitive_columns_apply_to_every_database() -> None:
    p = Pipeline(sql_classifier(RiskSettings(), None))
    assert rules_of(p, stmt("SELECT 身份证号 FROM t WHERE id = 1", db="anything")) == {"SQL-SENSITIVE-COLUMNS"}


def test_large_read_needs_rows_sent_from_the_log(pipeline: Pipeline) -> None:
    text = "SELECT id FROM 患者 WHERE id > 0 LIMIT 5000"
    assert rules_of(pipeline, stmt(text)) == set()
    assert rules_of(pipeline, stmt(text, rows_sent=5000)) == {"SQL-SENSITIVE-LARGE-READ"}
    assert rules_of(pipeline, stmt(text, rows_sent=10)) == set()


@pytest.mark.parametrize(
    ("client", "flagged"),
    [
        ("127.90.0.11", False),  # the application server
        ("127.90.0.5", False),  # the bastion
        ("::ffff:127.90.0.5", False),  # the bastion, as a v4-mapped address
        ("127.90.0.21", True),  # another server (the database itself)
        ("127.90.0.99", True),  # not in the inventory
        ("localhost", False),  # on the database server: not an address of the network
    ],
)
def test_unknown_client_from_the_inventory(pipeline: Pipeline, client: str, flagged: bool) -> None:
    got = rules_of(pipeline, stmt("SELECT 1", client=client))
    assert ("SQL-UNKNOWN-CLIENT" in got) is flagged


def test_no_inventory_never_calls_a_client_unknown() -> None:
    p = Pipeline(sql_classifier(SETTINGS, None))
    assert "SQL-UNKNOWN-CLIENT" not in rules_of(p, stmt("SELECT 1", client="192.0.2.7"))


def test_outside_working_hours_except_application_servers(pipeline: Pipeline) -> None:
    assert rules_of(pipeline, stmt("SELECT 1", client="127.90.0.5", ts=MONDAY_10)) == set()
    assert rules_of(pipeline, stmt("SELECT 1", client="127.90.0.5", ts=SUNDAY_23)) == {"SQL-OUTSIDE-HOURS"}
    assert rules_of(pipeline, stmt("SELECT 1", client="127.90.0.11", ts=SUNDAY_23)) == set()
    # The configured zone decides: 10:00 UTC is 18:00 in Shanghai, after hours.
    utc_10 = dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.UTC)
    shanghai = Pipeline(sql_classifier(RiskSettings(working_hours=WorkingHours(timezone="Asia/Shanghai")), None))
    assert rules_of(shanghai, stmt("SELECT 1", ts=utc_10)) == {"SQL-OUTSIDE-HOURS"}
    assert rules_of(Pipeline(sql_classifier(RiskSettings(), None)), stmt("SELECT 1", ts=utc_10)) == set()


def test_privileged_accounts(pipeline: Pipeline) -> None:
    assert rules_of(pipeline, stmt("SELECT 1", user="root")) == {"SQL-PRIVILEGED-ACCOUNT"}
    assert rules_of(pipeline, stmt("SELECT 1", user="doc")) == set()


def test_one_shape_many_contexts_each_get_their_own_verdict(pipeline: Pipeline) -> None:
    """The caches key on shape and context: a verdict never leaks from one user, client or hour to another."""
    seen = []
    for user, client, ts in [
        ("root", "127.90.0.99", SUNDAY_23),
        ("doc", "127.90.0.11", MONDAY_10),
        ("root", "127.90.0.11", MONDAY_10),
        ("doc", "127.90.0.99", MONDAY_10),
        ("root", "127.90.0.99", SUNDAY_23),
    ]:
        item = pipeline.process(stmt(f"DELETE FROM 检验 /* {user} */", user=user, client=client, ts=ts))
        seen.append((item.verdict.risk, sorted(m.id for m in item.verdict.rules)))
    assert seen == [
        ("high", ["SQL-OUTSIDE-HOURS", "SQL-PRIVILEGED-ACCOUNT", "SQL-UNKNOWN-CLIENT", "SQL-WHERE-LESS"]),
        ("high", ["SQL-WHERE-LESS"]),
        ("high", ["SQL-PRIVILEGED-ACCOUNT", "SQL-WHERE-LESS"]),
        ("high", ["SQL-UNKNOWN-CLIENT", "SQL-WHERE-LESS"]),
        seen[0],
    ]


def test_verdict_fields_carry_clause_and_pack(pipeline: Pipeline) -> None:
    item = pipeline.process(stmt("DROP TABLE 检验"))
    (match,) = item.verdict.rules
    assert (match.severity, match.pack) == ("high", "sql")
    assert "8.1.4.3 a" in match.reference


def test_institution_pack_adds_and_disables(tmp_path: Path, inventory: Inventory) -> None:
    local = tmp_path / "local.yaml"
    local.write_text(
        "pack: county-hospital\ndomain: sql\ndisable: [SQL-PRIVILEGED-ACCOUNT]\nrules:\n"
        "  - id: LOCAL-LIS-DELETE\n    title: 删除检验结果\n    severity: critical\n    action: warn\n"
        "    references: ['等保2.0 8.1.4.3 a']\n"
        "    when: {operation: DELETE, tables: {contains_any: [检验]}, user: {not_in: [lis_app]}}\n",
        encoding="utf-8",
    )
    p = Pipeline(sql_classifier(RiskSettings(rules=(local,)), inventory))
    item = p.process(stmt("DELETE FROM 检验 WHERE id = 1", user="root"))
    assert item.verdict.risk == "critical"
    assert [(m.id, m.pack) for m in item.verdict.rules] == [("LOCAL-LIS-DELETE", "county-hospital")]
    assert p.process(stmt("DELETE FROM 检验 WHERE id = 1", user="lis_app")).verdict.risk == "info"


def test_rule_file_errors_name_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "pack: x\ndomain: sql\nrules:\n  - id: X-1\n    title: t\n    severity: high\n    action: tag\n"
        "    when: {statment_type: DROP}\n"
        "  - id: X-2\n    title: t\n    severity: high\n    action: tag\n    when: {rows_sent: {gt: many}}\n",
        encoding="utf-8",
    )
    with pytest.raises(RulesInvalid) as caught:
        load_sql_rules(RiskSettings(rules=(bad,)))
    errors = [str(e) for e in caught.value.report.errors]
    assert errors[0].startswith(f"{bad}:8: ") and "unknown fact 'statment_type'" in errors[0]
    assert errors[1].startswith(f"{bad}:13: ") and "'many' is not a number" in errors[1]


def test_rules_know_which_facts_they_read() -> None:
    loaded = load_packs([builtin_pack("sql")], load_sql_rules(RiskSettings()).domain)
    facts = {r.id: r.facts for r in loaded.rules}
    assert facts["SQL-OUTSIDE-HOURS"] == {"working_hours", "client_role"}
    assert facts["SQL-SENSITIVE-SELECT-STAR"] <= SHAPE_FACTS.keys()


def test_settings_from_netguard_yaml(tmp_path: Path) -> None:
    (tmp_path / "inv.yaml").write_text(INVENTORY, encoding="utf-8")
    config = tmp_path / "netguard.yaml"
    config.write_text(
        "inventory: inv.yaml\naudit:\n  rules: [local.yaml]\n"
        "  sensitive:\n    his: {tables: [患者], columns: [ID_Card]}\n"
        "  working_hours: {days: [1, 2, 3, 4, 5, 6], start: '07:30', end: '20:00', timezone: Asia/Shanghai}\n"
        "  privileged_users: [dba]\n  application_roles: [his]\n",
        encoding="utf-8",
    )
    (tmp_path / "local.yaml").write_text("pack: empty\ndomain: sql\nrules: []\n", encoding="utf-8")
    risk = load_config(config).section(AUDIT).risk
    assert risk.rules == (tmp_path / "local.yaml",)
    assert risk.sensitive == {"his": Sensitive(frozenset({"患者"}), frozenset({"id_card"}))}
    assert risk.working_hours == WorkingHours(frozenset({1, 2, 3, 4, 5, 6}), 450, 1200, "Asia/Shanghai")
    assert risk.privileged_users == {"dba"} and risk.application_roles == {"his"}
    classifier = classifier_for(load_config(config))
    p = Pipeline(classifier)
    assert rules_of(p, stmt("SELECT 1", user="dba", client="127.90.0.21")) == {
        "SQL-PRIVILEGED-ACCOUNT",
        "SQL-UNKNOWN-CLIENT",
    }


@pytest.mark.parametrize(
    ("yaml_text", "line", "message"),
    [
        ("audit:\n  working_hours: {start: '25:00'}\n", 2, "'25:00' is not a time of day"),
        ("audit:\n  working_hours:\n    days: [1, 8]\n", 3, "'8' is not a weekday"),
        ("audit:\n  working_hours: {timezone: Mars/Base}\n", 2, "unknown time zone 'Mars/Base'"),
        ("audit:\n  sensitive:\n    his: {table: [x]}\n", 3, "unknown key 'table'"),
        ("audit:\n  priviledged_users: [x]\n", 2, "unknown key 'priviledged_users'"),
    ],
)
def test_settings_errors_name_the_line(tmp_path: Path, yaml_text: str, line: int, message: str) -> None:
    config = tmp_path / "netguard.yaml"
    config.write_text(yaml_text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(config).section(AUDIT)
    assert f"netguard.yaml:{line}:" in str(caught.value) and message in str(caught.value)
