"""The workloads the audit tests run against real servers, and what each must leave in the logs.

Each :class:`Ran` is one statement a client sent, with who sent it, to which
database, from where, and whether the server refused it. The tests parse the
logs the servers wrote and check every one came through exactly once with that
attribution.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
import pymysql

from tests.harness.mariadb import MariaDB
from tests.harness.postgres import Postgres

DOC_PASSWORD = "doc-pw-1"
NURSE_PASSWORD = "nurse-pw-1"


@dataclass(frozen=True)
class Ran:
    user: str
    db: str
    client: str
    text: str  # as the server logs it (PostgreSQL: with $n placeholders)
    fails: bool = False  # the server rejected it
    sqlglot_fails: bool = False  # valid for the server, not for sqlglot
    params: tuple[str, ...] = ()  # PostgreSQL: the bound parameters, as logged
    prepared: bool = False  # MariaDB: a server-side prepared execution (logged as the executed text)


MULTILINE_MY = "SELECT 姓名, id_card\n  FROM 患者\n  WHERE 姓名 = '张三' -- 按姓名查找\n    AND id > 0"
MULTILINE_PG = "SELECT 姓名, id_card\n  FROM 患者\n  WHERE 姓名 = $1 -- 按姓名查找\n    AND id > 0"


def mariadb_workload(server: MariaDB) -> list[Ran]:
    """Run the workload; return what ran as users doc and nurse (root's set-up is not checked)."""
    server.sql(
        f"CREATE DATABASE his CHARACTER SET utf8mb4; CREATE DATABASE lis CHARACTER SET utf8mb4;"
        f"CREATE USER 'doc'@'127.0.0.1' IDENTIFIED BY '{DOC_PASSWORD}';"
        f"CREATE USER 'nurse'@'127.0.0.1' IDENTIFIED BY '{NURSE_PASSWORD}';"
        "GRANT ALL ON his.* TO 'doc'@'127.0.0.1'; GRANT ALL ON lis.* TO 'doc'@'127.0.0.1';"
        "GRANT ALL ON lis.* TO 'nurse'@'127.0.0.1'"
    )
    ran: list[Ran] = []
    doc = pymysql.connect(
        host="127.0.0.1", port=server.port, user="doc", password=DOC_PASSWORD, database="his", charset="utf8mb4",
        autocommit=True,
    )  # fmt: skip

    def run(
        conn: pymysql.Connection[pymysql.cursors.Cursor],
        user: str,
        db: str,
        sql: str,
        fails: bool = False,
        sqlglot_fails: bool = False,
    ) -> None:
        with conn.cursor() as cur:
            try:
                cur.execute(sql)
            except pymysql.MySQLError:
                if not fails:
                    raise
            else:
                assert not fails, sql
        ran.append(Ran(user, db, "127.0.0.1", sql, fails=fails, sqlglot_fails=sqlglot_fails))

    run(
        doc,
        "doc",
        "his",
        "CREATE TABLE 患者 (id INT PRIMARY KEY, 姓名 VARCHAR(50), id_card CHAR(18), phone VARCHAR(20))",
    )
    run(
        doc,
        "doc",
        "his",
        "INSERT INTO 患者 VALUES (1, '张三', '110101199003071234', '13800138000'),"
        " (2, '李四', '110101198512120021', '13900139000')",
    )
    run(doc, "doc", "his", MULTILINE_MY)
    run(doc, "doc", "his", "/* his-app: 门诊 */ SELECT * FROM 患者 WHERE phone = '13800138000'")
    run(doc, "doc", "his", "UPDATE 患者 SET phone = '13700000000'")
    run(doc, "doc", "his", "SELEC 姓名 FROM 患者", fails=True, sqlglot_fails=False)
    run(doc, "doc", "his", "SELECT * FROM 不存在的表", fails=True)
    run(doc, "doc", "his", "HANDLER 患者 OPEN", sqlglot_fails=True)
    run(doc, "doc", "his", "HANDLER 患者 CLOSE", sqlglot_fails=True)
    run(doc, "doc", "his", "PREPARE q FROM 'SELECT 姓名 FROM 患者 WHERE id = ?'")
    run(doc, "doc", "his", "SET @pid = 2")
    # The general log writes the EXECUTE as the executed text; the slow log and
    # server_audit write only that.
    with doc.cursor() as cur:
        cur.execute("EXECUTE q USING @pid")
    ran.append(Ran("doc", "his", "127.0.0.1", "SELECT 姓名 FROM 患者 WHERE id = 2", prepared=True))
    doc.select_db("lis")  # Init DB
    run(doc, "doc", "lis", "CREATE TABLE 检验 (id INT, 结果 TEXT)")
    run(doc, "doc", "lis", "DELETE FROM 检验")
    doc.close()

    nurse = pymysql.connect(
        host="127.0.0.1", port=server.port, user="nurse", password=NURSE_PASSWORD, database="lis", charset="utf8mb4",
        autocommit=True,
    )  # fmt: skip
    run(nurse, "nurse", "lis", "SELECT 结果 FROM 检验 WHERE id IN (1, 2, 3)")
    run(nurse, "nurse", "lis", "DROP TABLE 检验")
    nurse.close()
    server.flush_logs()
    return ran


def postgres_workload(server: Postgres) -> list[Ran]:
    server.psql("CREATE ROLE doc LOGIN")
    server.psql("CREATE ROLE nurse LOGIN")
    server.psql("CREATE DATABASE his OWNER doc")
    server.psql("CREATE DATABASE lis OWNER nurse")
    server.psql("CREATE EXTENSION pgaudit", db="his")
    ran: list[Ran] = []
    doc = psycopg.connect(
        host="127.0.0.1", port=server.port, user="doc", dbname="his", application_name="his-app", autocommit=True
    )

    def run(
        conn: psycopg.Connection[tuple[object, ...]],
        user: str,
        db: str,
        sql: str,
        params: tuple[object, ...] | None = None,
        logged: tuple[str, ...] = (),
        fails: bool = False,
        prepare: bool | None = None,
        sqlglot_fails: bool = False,
    ) -> None:
        try:
            conn.execute(sql.replace("$1", "%s").replace("$2", "%s"), params, prepare=prepare)
        except psycopg.Error:
            if not fails:
                raise
        else:
            assert not fails, sql
        ran.append(Ran(user, db, "127.0.0.1", sql, fails=fails, params=logged, sqlglot_fails=sqlglot_fails))

    run(doc, "doc", "his", "CREATE TABLE 患者 (id int PRIMARY KEY, 姓名 text, id_card char(18), phone text)")
    run(
        doc, "doc", "his", "INSERT INTO 患者 VALUES (1, $1, $2, '13800138000')",
        ("张三", "110101199003071234"), ("'张三'", "'110101199003071234'"),
    )  # fmt: skip
    run(doc, "doc", "his", MULTILINE_PG, ("张三",), ("'张三'",), prepare=True)
    run(doc, "doc", "his", MULTILINE_PG, ("李四",), ("'李四'",), prepare=True)
    run(doc, "doc", "his", "/* his-app: 门诊 */ SELECT * FROM 患者 WHERE phone = '13800138000'")
    run(doc, "doc", "his", "UPDATE 患者 SET phone = '13700000000'")
    run(doc, "doc", "his", "SELEC 姓名 FROM 患者", fails=True)
    run(doc, "doc", "his", "SELECT 1 / 0", fails=True)
    run(doc, "doc", "his", "SELECT * FROM 患者 ORDER BY id USING >", sqlglot_fails=True)
    doc.close()
    nurse = psycopg.connect(host="127.0.0.1", port=server.port, user="nurse", dbname="lis", autocommit=True)
    run(nurse, "nurse", "lis", "CREATE TABLE 检验 (id int, 结果 text)")
    run(nurse, "nurse", "lis", "SELECT 结果 FROM 检验 WHERE id IN (1, 2, 3)")
    run(nurse, "nurse", "lis", "DELETE FROM 检验")
    run(nurse, "nurse", "lis", "DROP TABLE 检验")
    nurse.close()
    server.psql("SELECT 'netguard-workload-done'")
    return ran
