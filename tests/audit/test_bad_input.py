"""Garbage, truncation, huge statements and the wrong --format: counted, reported, nothing crashes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from audit.formats import FORMATS
from tests.audit.helpers import parse_bytes

ROOT = Path(__file__).resolve().parents[2]
GENERAL = b"261130 17:06:53\t     6 Connect\tdoc@127.0.0.1 on his using TCP/IP\n\t\t     6 Query\tSELECT 1\n"
SLOW = b"# Time: 261130 17:06:53\n# User@Host: doc[doc] @  [127.0.0.1]\n# Query_time: 0.1  Lock_time: 0.0  Rows_sent: 1  Rows_examined: 1\nSET timestamp=1796058413;\nSELECT 1;\n"  # noqa: E501


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), *args],
        check=False,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_binary_garbage_is_counted_not_fatal(fmt: str) -> None:
    garbage = bytes(range(256)) * 40 + b"\n\xff\xfe\x00\x01\n" + os.urandom(4096)
    stmts, bad = parse_bytes(fmt, garbage, dialect="mysql")
    assert stmts == []
    assert bad and all(b.reason for b in bad)
    assert all(b.excerpt.isprintable() for b in bad)


def test_garbage_between_good_entries_keeps_the_good_ones() -> None:
    data = GENERAL + b"\xff\xfe garbage \x00\n" + b"\t\t     6 Query\tSELECT 2\n"
    stmts, bad = parse_bytes("mysql-general", data)
    assert [s.text for s in stmts] == ["SELECT 1", "SELECT 2"]
    assert [(b.line, b.reason) for b in bad] == [(3, "NUL bytes (binary data?)")]


def test_truncated_last_line_still_yields_the_statement() -> None:
    stmts, bad = parse_bytes("mysql-general", GENERAL + "\t\t     6 Query\tSELECT * FROM 患".encode())
    assert bad == []
    assert stmts[-1].text == "SELECT * FROM 患"
    # A UTF-8 character cut in half is a bad line, not a crash.
    stmts, bad = parse_bytes("mysql-general", GENERAL + "\t\t     6 Query\tSELECT '患".encode()[:-1])
    assert len(bad) == 1 and "not UTF-8" in bad[0].reason


def test_truncated_csv_record_is_reported() -> None:
    stmts, bad = parse_bytes(
        "postgres-csv", b'2026-11-30 09:00:00.000 CST,"his","his",1,"","s.1",1,"","",,0,LOG,00000,"statement: SELECT\n'
    )
    assert stmts == []
    assert [b.reason for b in bad] == ["CSV record not terminated (file cut off?)"]


def test_ten_megabyte_statement(tmp_path: Path) -> None:
    values = ",".join(f"({i}, '110101199003071234')" for i in range(400_000))
    big = f"INSERT INTO 患者 (id, id_card) VALUES {values}"
    assert len(big) > 10_000_000
    log = tmp_path / "general.log"
    log.write_bytes(GENERAL + f"\t\t     6 Query\t{big}\n\t\t     6 Query\tSELECT 2\n".encode())
    out = cli("audit", "parse", "--format", "mysql-general", str(log), "--json")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 3
    assert "110101199003071234" not in out.stdout
    assert '"parse_error": "not analysed' in lines[1]
    assert '"fingerprint": "insert into 患者 (id, id_card) values(?+)"' in lines[1]


def test_wrong_format_says_so(tmp_path: Path) -> None:
    log = tmp_path / "slow.log"
    log.write_bytes(SLOW * 3)
    out = cli("audit", "parse", "--format", "postgres", str(log), "--json")
    assert out.returncode == 1
    assert out.stdout == ""
    assert f"{log}:1: does not match the log_line_prefix" in out.stderr
    assert "0 statements, 15 bad lines - nothing looked like --format postgres: wrong format?" in out.stderr
    assert "Traceback" not in out.stderr


def test_bad_lines_are_listed_with_line_numbers_and_exit_1(tmp_path: Path) -> None:
    log = tmp_path / "general.log"
    log.write_bytes(b"stray continuation\n" + GENERAL + b"\x1b[31mnot utf8 \xff\n")
    out = cli("audit", "parse", "--format", "mysql-general", str(log))
    assert out.returncode == 1
    assert f"{log}:1: not a general-log entry" in out.stderr
    # The escape sequence is data: shown visibly, never interpreted by the terminal.
    assert "\x1b" not in out.stderr and "\\x1b[31m" in out.stderr
    assert "1 statements, 2 bad lines" in out.stderr


def test_unknown_timezone_and_missing_file_are_usage_errors(tmp_path: Path) -> None:
    log = tmp_path / "general.log"
    log.write_bytes(GENERAL)
    out = cli("audit", "parse", "--format", "mysql-general", str(log), "--timezone", "Mars/Olympus")
    assert out.returncode == 2 and "unknown time zone 'Mars/Olympus'" in out.stderr
    out = cli("audit", "parse", "--format", "mysql-general", str(tmp_path / "nope.log"))
    assert out.returncode == 2 and "does not exist" in out.stderr


def test_short_pgaudit_line_excerpt_shows_control_characters() -> None:
    data = b"2026-11-30 17:06:53.123 CST [42] LOG:  AUDIT: SESSION,1\x1b[31m,\x07\n"
    stmts, bad = parse_bytes("pgaudit", data)
    assert stmts == []
    assert [b.reason for b in bad] == ["pgaudit line with fewer than 8 fields"]
    assert "\x1b" not in bad[0].excerpt and "\x07" not in bad[0].excerpt
    assert "\\x1b[31m" in bad[0].excerpt


PREFIX_MISMATCH = "does not match the log_line_prefix (wrong --log-line-prefix or format?)"


@pytest.mark.parametrize("port", ["\u00b2", "\u0661\u0662", "9" * 5000, "70000", "5432"])
def test_odd_client_port_is_no_port_not_a_crash(port: str) -> None:
    """A port int() refuses ("²", past its digit limit) or no TCP port can be: the statement kept, without it."""
    want = int(port) if port == "5432" else None
    line = f"2026-11-30 08:00:00.123 CST [5] u@d 10.0.0.1({port}) LOG:  statement: SELECT 1\n".encode()
    stmts, bad = parse_bytes("postgres", line, prefix="%m [%p] %u@%d %r ")
    if port == "\u00b2":  # not a digit to the prefix's (?P<port>\d+): the line does not match it
        assert (stmts, [b.reason for b in bad]) == ([], [PREFIX_MISMATCH])
    else:
        assert (bad, [(s.text, s.client, s.client_port) for s in stmts]) == ([], [("SELECT 1", "10.0.0.1", want)])
    row = ["2026-11-30 08:00:00.123 CST", "u", "d", "5", f"10.0.0.1:{port}", "s", "1", "idle", "", "3/4", "0", "LOG"]
    row += ["00000", "statement: SELECT 1", "", "", "", "", "", "", "", "psql", "client backend", "", "0"]
    stmts, bad = parse_bytes("postgres-csv", (",".join(row) + "\n").encode())
    assert (bad, [(s.text, s.client, s.client_port) for s in stmts]) == ([], [("SELECT 1", "10.0.0.1", want)])


@pytest.mark.parametrize(
    ("fields", "want"),
    [
        ('"duration_ms": 1e999, "rows": 2', (None, 2)),  # json reads 1e999 as inf
        ('"duration_ms": NaN, "rows": true', (None, None)),  # json reads NaN; true is not a count
        ('"duration_ms": -Infinity, "rows": 99999999999999999999', (None, None)),  # past a long
        ('"duration_ms": 1.5, "rows": 3', (1_500_000, 3)),
    ],
)
def test_jsonl_odd_numbers_are_none_not_a_crash(fields: str, want: tuple[int | None, int | None]) -> None:
    line = ('{"statement": "SELECT 1", ' + fields + "}\n").encode()
    stmts, bad = parse_bytes("jsonl", line, dialect="mysql")
    assert (bad, [(s.text, s.duration_ns, s.rows_sent) for s in stmts]) == ([], [("SELECT 1", *want)])


@pytest.mark.parametrize("port", ["true", "99999999999999999999", "-1", "5432"])
def test_postgres_jsonlog_odd_port_is_none(port: str) -> None:
    line = (
        '{"timestamp": "2026-11-30 08:00:00.123 CST", "pid": 5, "remote_host": "10.0.0.1", '
        f'"remote_port": {port}, "error_severity": "LOG", "message": "statement: SELECT 1"}}\n'
    ).encode()
    stmts, bad = parse_bytes("postgres-json", line)
    want = 5432 if port == "5432" else None
    assert (bad, [(s.text, s.client, s.client_port) for s in stmts]) == ([], [("SELECT 1", "10.0.0.1", want)])


def test_json_lone_surrogate_is_a_bad_line(tmp_path: Path) -> None:
    """A JSON "\\ud800" decodes to no character UTF-8 can write: a bad line, as undecodable bytes are,
    not an internal error of parse --json on output; a pair that makes a character is kept."""
    log = tmp_path / "x.jsonl"
    log.write_text(
        '{"statement": "SELECT 1", "user": "\\ud800x"}\n'
        '{"statement": "SELECT \'\\ud83d\\ude00\'", "user": "u"}\n'
        '{"statement": "SELECT 2", "user": "\\\\ud800"}\n'
    )
    stmts, bad = parse_bytes("jsonl", log.read_bytes(), dialect="mysql")
    assert [(b.line, b.reason) for b in bad] == [(1, "a JSON string holds a lone surrogate (not text)")]
    assert [(s.text, s.user) for s in stmts] == [("SELECT '\U0001f600'", "u"), ("SELECT 2", "\\ud800")]
    done = cli("audit", "parse", "--format", "jsonl", "--dialect", "mysql", "--json", str(log))
    assert done.returncode == 1, done.stderr
    assert [json.loads(line)["user"] for line in done.stdout.splitlines()] == ["u", "\\ud800"]
    assert "lone surrogate" in done.stderr


def test_parse_text_shows_control_characters_of_who_ran_it(tmp_path: Path) -> None:
    """The user, client and database come from the log: shown visibly, like the statement."""
    log = tmp_path / "x.jsonl"
    log.write_text(
        '{"statement": "SELECT 1", "dialect": "mysql", "user": "\\u001b[31mroot", '
        '"client": "10.0.0.1\\u0007", "db": "his\\r"}\n'
    )
    out = cli("audit", "parse", "--format", "jsonl", str(log))
    assert out.returncode == 0, out.stderr
    assert "\x1b" not in out.stdout and "\x07" not in out.stdout and "\r" not in out.stdout
    assert "\\x1b[31mroot@10.0.0.1\\x07 his\\r [" in out.stdout
