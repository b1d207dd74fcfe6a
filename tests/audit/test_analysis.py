"""Masking, the per-shape analysis cache and the built-in risk rules."""

from __future__ import annotations

import logging

import pytest

from audit.analysis import Analyser, analyse, shape_key
from audit.masking import Masker, bind_parameters
from audit.pipeline import Pipeline, to_json
from audit.records import Statement


@pytest.fixture(autouse=True)
def _quiet_sqlglot() -> None:
    logging.getLogger("sqlglot").setLevel(logging.ERROR)


@pytest.mark.parametrize(
    ("dialect", "text", "masked"),
    [
        (
            "mysql",
            "SELECT * FROM 患者 WHERE 姓名='张三' AND phone=\"13800138000\"",
            "SELECT * FROM 患者 WHERE 姓名=? AND phone=?",
        ),
        (
            "mysql",
            "SELECT * FROM t1 WHERE id_card = '11010119900307123X' AND x = -5.5e3",
            "SELECT * FROM t1 WHERE id_card = ? AND x = -?",
        ),
        (
            "mysql",
            "SELECT 'it''s', 'a\\'b', `col2` FROM `表1` /* pid 1234567 */",
            "SELECT ?, ?, `col2` FROM `表1` /* pid ? */",
        ),
        (
            "postgres",
            'SELECT "姓名" FROM "患者" WHERE id = $1 AND n = E\'x\\\'y\' AND b = $$张三$$',
            'SELECT "姓名" FROM "患者" WHERE id = $1 AND n = ? AND b = ?',
        ),
        ("postgres", "SELECT x'1F', N'李四', 0x1F, 3", "SELECT ?, ?, ?, ?"),
        ("mysql", "SELECT * FROM t WHERE name = '张三", "SELECT * FROM t WHERE name = ?"),  # cut: mask to the end
    ],
)
def test_masking(dialect: str, text: str, masked: str) -> None:
    assert Masker(dialect).mask(text) == masked


def test_bind_parameters() -> None:
    assert bind_parameters("SELECT $1, $2, $10", ("'a'", "NULL")) == "SELECT 'a', NULL, $10"


def test_analysis_of_dml_and_ddl() -> None:
    a = analyse("UPDATE his.患者 SET phone = ?, 姓名 = ?", "mysql")
    assert (a.statement_type, a.tables, a.where_less) == ("UPDATE", ("his.患者",), True)
    assert a.columns_written == ("phone", "姓名")
    a = analyse("SELECT p.姓名, v.date FROM 患者 p JOIN visit v ON v.pid = p.id WHERE p.id = ? LIMIT ?", "mysql")
    assert (a.statement_type, a.tables, a.joins, a.has_limit) == ("SELECT", ("visit", "患者"), 1, True)
    assert set(a.columns_read) >= {"p.姓名", "v.date", "v.pid", "p.id"}
    a = analyse("WITH x AS (SELECT * FROM 患者) SELECT * FROM x", "postgres")
    assert (a.tables, a.select_star) == (("患者",), True)
    a = analyse("INSERT INTO 患者 (id, 姓名) VALUES (?, ?)", "mysql")
    assert (a.statement_type, a.columns_written) == ("INSERT", ("id", "姓名"))
    assert analyse("DELETE FROM t WHERE id = ?", "mysql").where_less is False
    assert analyse("TRUNCATE TABLE his.t", "mysql").statement_type == "TRUNCATE"
    assert analyse("GRANT SELECT ON his.* TO ?@?", "mysql").statement_type == "GRANT"
    bad = analyse("SELEC 姓名 FROM 患者", "mysql")
    assert bad.parse_error is not None and bad.statement_type == "SELEC"


def test_analysis_runs_once_per_shape() -> None:
    analyser = Analyser()
    for i in range(500):
        ids = ", ".join("?" for _ in range(1 + i % 7))
        analyser.analyse(f"SELECT * FROM 患者 WHERE id IN ({ids})  AND  phone = ?", "mysql")
    assert (analyser.misses, analyser.hits) == (1, 499)
    assert shape_key("SELECT a\n  FROM t WHERE x IN (?, ?,?)") == "SELECT a FROM t WHERE x IN (?+)"
    # Identifiers are part of the shape: t1 and t2 are not the same table (pt's fingerprint says they are).
    assert analyser.analyse("SELECT * FROM t1", "mysql").tables == ("t1",)
    assert analyser.analyse("SELECT * FROM t2", "mysql").tables == ("t2",)


def _stmt(text: str, dialect: str = "mysql") -> Statement:
    return Statement(source="x.log", offset=0, line=1, text=text, dialect=dialect, system="mysql")


@pytest.mark.parametrize(
    ("text", "risk", "rules"),
    [
        ("SELECT * FROM 患者 WHERE id = 1", "info", []),
        ("DELETE FROM 患者", "high", ["sql-where-less"]),
        ("DROP TABLE 患者", "high", ["sql-destructive-ddl"]),
        ("ALTER TABLE 患者 ADD x INT", "high", ["sql-destructive-ddl"]),
        ("TRUNCATE 患者", "high", ["sql-destructive-ddl"]),
        ("GRANT ALL ON his.* TO 'x'@'%'", "medium", ["sql-privilege-change"]),
        ("CREATE USER 'x'@'%' IDENTIFIED BY 'pw'", "medium", ["sql-privilege-change"]),
        ("SET PASSWORD FOR 'x'@'%' = PASSWORD('pw')", "medium", ["sql-privilege-change"]),
        ("DROP ROLE auditor", "medium", ["sql-privilege-change"]),
    ],
)
def test_builtin_risk(text: str, risk: str, rules: list[str]) -> None:
    out = to_json(Pipeline().process(_stmt(text)))
    assert out["risk"] == risk
    assert [r["id"] for r in out["rules"]] == rules
    assert "pw" not in out["statement"]
