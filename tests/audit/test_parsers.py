"""Log layouts the real servers in the suite do not write (MySQL 8, other prefixes, PG 13/14 csvlog, exports)."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator

from audit.formats.base import ParseOptions
from audit.formats.pg_entries import PgEntry, stderr_entries
from audit.formats.pg_statements import statements
from audit.records import BadLine, Statement
from tests.audit.helpers import SHANGHAI, parse_bytes

MYSQL8_GENERAL = b"""/usr/sbin/mysqld, Version: 8.0.36 (MySQL Community Server - GPL). started with:
Tcp port: 3306  Unix socket: /var/run/mysqld/mysqld.sock
Time                 Id Command    Argument
2026-11-30T09:00:00.123456Z\t   12 Connect\this@10.1.2.3 on his using TCP/IP
2026-11-30T09:00:01.000001Z\t   12 Query\tSELECT *
FROM patient
WHERE id = 7
2026-11-30T09:00:02.5+08:00\t   13 Query\tSELECT 1
2026-11-30T09:00:03.000000Z\t   12 Init DB\tlis
2026-11-30T09:00:04.000000Z\t   12 Query\tSELECT 2
2026-11-30T09:00:05.000000Z\t   12 Quit\t
"""


def test_general_log_iso_timestamps_and_connection_state() -> None:
    stmts, bad = parse_bytes("mysql-general", MYSQL8_GENERAL)
    assert bad == []
    first, unknown, after_init = stmts
    assert first.text == "SELECT *\nFROM patient\nWHERE id = 7"
    assert (first.user, first.client, first.db) == ("his", "10.1.2.3", "his")
    assert first.ts == dt.datetime(2026, 11, 30, 9, 0, 1, 1, tzinfo=dt.UTC)
    assert first.offset == MYSQL8_GENERAL.index(b"2026-11-30T09:00:01")
    # Connection 13 never connected in this file: kept, user unknown.
    assert (unknown.user, unknown.connection_id) == (None, "13")
    assert unknown.ts is not None and unknown.ts.utcoffset() == dt.timedelta(hours=8)
    assert after_init.db == "lis"


def test_general_log_old_timestamps_are_inherited_and_read_in_the_zone() -> None:
    log = (
        "261130  9:05:01\t     7 Connect\tdoc@127.0.0.1 on his using TCP/IP\n"
        "\t\t     7 Query\tSELECT 姓名 FROM 患者\n"
        "\t\t     7 Prepare\tSELECT ? FROM t\n"
        "\t\t     7 Execute\tSELECT 3 FROM t\n"
    ).encode()
    stmts, bad = parse_bytes("mysql-general", log)
    assert bad == []
    assert [s.text for s in stmts] == ["SELECT 姓名 FROM 患者", "SELECT 3 FROM t"]
    assert stmts[0].ts == dt.datetime(2026, 11, 30, 9, 5, 1, tzinfo=SHANGHAI)


MYSQL8_SLOW = b"""# Time: 2026-11-30T01:00:00.000100Z
# User@Host: his[his] @ app01 [10.1.2.3]  Id:    42
# Query_time: 1.500000  Lock_time: 0.000200 Rows_sent: 5  Rows_examined: 9000
use his;
SET timestamp=1796086800;
SELECT * FROM patient
WHERE name LIKE '%x%';
# Time: 2026-11-30T01:00:01.000100Z
# User@Host: his[his] @ app01 [10.1.2.3]  Id:    42
# Query_time: 0.000100  Lock_time: 0.000000 Rows_sent: 0  Rows_examined: 0
SET timestamp=1796086801;
# administrator command: Quit;
"""


def test_mysql8_slow_log() -> None:
    stmts, bad = parse_bytes("mysql-slow", MYSQL8_SLOW)
    assert bad == []
    (s,) = stmts
    assert s.text == "SELECT * FROM patient\nWHERE name LIKE '%x%'"
    assert (s.user, s.client, s.db, s.connection_id) == ("his", "10.1.2.3", "his", "42")
    assert (s.duration_ns, s.lock_time_ns, s.rows_sent, s.rows_examined) == (1_500_000_000, 200_000, 5, 9000)
    assert s.ts == dt.datetime.fromtimestamp(1796086800, dt.UTC)


def test_slow_log_entry_cut_off_is_reported() -> None:
    cut = b"# Time: 261130 17:06:53\n# User@Host: doc[doc] @  [127.0.0.1]\n# Thread_id: 6  Schema: his  QC_hit: No\n"
    stmts, bad = parse_bytes("mysql-slow", cut)
    assert stmts == []
    assert [(b.line, b.reason) for b in bad] == [(1, "slow-log entry without a statement (file cut off?)")]


def test_postgres_prefix_with_t_r_and_padding() -> None:
    prefix = "%t [%-6p] user=%u,db=%d,client=%r,app=%a "
    log = (
        b"2026-11-30 09:00:00 UTC [123   ] user=his,db=his,client=10.1.2.3(5432),app=psql LOG:  duration: 1.5 ms"
        b"  statement: SELECT 1\n"
        b"2026-11-30 09:00:01 UTC [123   ] user=his,db=his,client=10.1.2.3(5432),app=psql LOG:  "
        b"execute S_1: SELECT $1\n"
        b"2026-11-30 09:00:01 UTC [123   ] user=his,db=his,client=10.1.2.3(5432),app=psql DETAIL:  parameters: "
        b"$1 = 'it''s, here'\n"
        b"2026-11-30 09:00:01 UTC [123   ] user=his,db=his,client=10.1.2.3(5432),app=psql LOG:  duration: 0.2 ms\n"
        b"2026-11-30 09:00:02 CST [124   ] user=,db=,client=,app= LOG:  checkpoint starting: time\n"
    )
    stmts, bad = parse_bytes("postgres", log, prefix)
    assert bad == []
    one, two = stmts
    assert (one.text, one.duration_ns, one.client, one.client_port) == ("SELECT 1", 1_500_000, "10.1.2.3", 5432)
    assert one.ts == dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
    assert (two.text, two.params, two.duration_ns, two.outcome) == ("SELECT $1", ("'it''s, here'",), 200_000, "success")


def test_postgres_prefix_q_makes_the_rest_optional() -> None:
    prefix = "%m [%p] %q%u@%d "
    log = (
        b"2026-11-30 09:00:00.000 CST [1] LOG:  database system is ready to accept connections\n"
        b"2026-11-30 09:00:01.000 CST [2] his@his LOG:  statement: SELECT\n\t  1\n"
    )
    stmts, bad = parse_bytes("postgres", log, prefix)
    assert bad == []
    assert [(s.text, s.user) for s in stmts] == [("SELECT\n  1", "his")]
    # CST is ambiguous: read in the configured zone.
    assert stmts[0].ts == dt.datetime(2026, 11, 30, 9, 0, 1, tzinfo=SHANGHAI)


def _csv_row(columns: int, message: str, detail: str = "") -> str:
    base = [
        "2026-11-30 09:00:00.000 CST", "his", "his", "77", "10.1.2.3:5000", "6b0dad4f.281c", "1", "SELECT",
        "2026-11-30 09:00:00 CST", "3/1", "0", "LOG", "00000", message, detail, "", "", "", "", "", "", "", "psql",
    ]  # fmt: skip
    extra = {23: [], 24: ["client backend"], 26: ["client backend", "", "0"]}[columns]
    return ",".join('"' + v.replace('"', '""') + '"' for v in base + extra) + "\n"


def test_csvlog_column_sets_of_pg12_to_17() -> None:
    for columns in (23, 24, 26):
        data = _csv_row(columns, "statement: SELECT '张\n三'") + _csv_row(
            columns, "execute <unnamed>: SELECT $1", "parameters: $1 = '5'"
        )
        stmts, bad = parse_bytes("postgres-csv", data.encode())
        assert bad == [], columns
        assert [(s.text, s.params, s.client, s.client_port) for s in stmts] == [
            ("SELECT '张\n三'", (), "10.1.2.3", 5000),
            ("SELECT $1", ("'5'",), "10.1.2.3", 5000),
        ]


def test_jsonl_export_needs_a_dialect() -> None:
    data = (
        b'{"ts": "2026-11-30T09:00:00", "user": "HIS", "statement": "SELECT * FROM PAT WHERE ROWNUM <= 5",'
        b' "dialect": "oracle", "client": "10.1.2.3"}\n'
        b'{"statement": "SELECT TOP 5 * FROM pat"}\n'
    )
    stmts, bad = parse_bytes("jsonl", data)
    assert [(s.dialect, s.system) for s in stmts] == [("oracle", "oracle")]
    assert stmts[0].ts == dt.datetime(2026, 11, 30, 9, tzinfo=SHANGHAI)
    assert [b.reason for b in bad] == ["no dialect: name it in the record or with --dialect"]
    stmts, bad = parse_bytes("jsonl", data, dialect="tsql")
    assert bad == [] and [s.system for s in stmts] == ["oracle", "mssql"]


def test_postgres_sessions_that_end_unlogged_are_not_held_forever() -> None:
    """Without log_disconnections (the default) nothing says a session ended: its last statement and a
    failed login's FATAL would be held until the input ends, one per session, which a follower on a
    busy server never reaches. Past ``max_sessions`` the longest-held statement goes out as it is."""
    lines = []
    for pid in range(100, 130):
        lines.append(f"2026-11-30 08:00:{pid % 60:02d}.000 CST [{pid}] LOG:  statement: SELECT {pid}\n")
        lines.append(f"2026-11-30 08:00:{pid % 60:02d}.000 CST [{pid + 1000}] FATAL:  password authentication failed\n")
    options = ParseOptions(source="pg.log", tz=SHANGHAI)
    read = 0

    def counted(entries: Iterator[PgEntry | BadLine]) -> Iterator[PgEntry | BadLine]:
        nonlocal read
        for e in entries:
            read += 1
            yield e

    seen: list[tuple[int, str]] = []
    for stmt in statements(counted(stderr_entries(io.BytesIO("".join(lines).encode()), options)), options, 4):
        assert isinstance(stmt, Statement)
        seen.append((read, stmt.text))
    assert [t for _, t in seen] == [f"SELECT {pid}" for pid in range(100, 130)]
    # SELECT 100 went out once a fifth session started (its entry the 9th read), not at the end.
    assert seen[0][0] == 9
