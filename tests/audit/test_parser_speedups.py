"""The faster general-log and PostgreSQL stderr parsers, block reader and time cache give what the old code gave.

``_reference_general`` is the general-log parser as it was before it was
restructured for speed, kept here only as the oracle for randomised logs.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import BinaryIO

import pytest

from audit.formats import parse_postgres, pg_statements
from audit.formats.base import ParseOptions, bad, port_number
from audit.formats.mysql_general import (
    _CONNECT,
    _ENTRY,
    _SQL_EXECUTE,
    _STATEMENT_COMMANDS,
    BANNER,
    _Connection,
    parse_general,
)
from audit.formats.mysql_slow import _PAIRS, _QUERY_KEYS, _QUERY_LINE, parse_slow
from audit.formats.pg_entries import PgEntry, stderr_entries
from audit.formats.pg_prefix import compile_prefix
from audit.lines import Line, decode_line, read_lines
from audit.records import BadLine, Record, Statement
from audit.timestamps import from_epoch, with_zone, zone

OPTIONS = ParseOptions(source="x.log", tz=zone("Asia/Shanghai"), log_line_prefix="%m [%p] %u@%d ")


def _reference_general(stream: BinaryIO, options: ParseOptions) -> Iterator[Record]:
    system = options.system or "mysql"
    source = options.source
    tz = options.tz
    connections: dict[str, _Connection] = {}
    held: dict[str, Statement] = {}
    last_ts: dt.datetime | None = None
    open_entry: tuple[Line, str, str, dt.datetime | None, list[str]] | None = None

    def finish() -> Statement | None:
        assert open_entry is not None
        line, cmd, conn_id, ts, parts = open_entry
        if cmd not in _STATEMENT_COMMANDS:
            return None
        conn = connections.get(conn_id) or _Connection()
        return Statement(
            source=source,
            offset=line.offset,
            line=line.number,
            text="\n".join(parts),
            dialect="mysql",
            system=system,
            ts=ts,
            user=conn.user,
            db=conn.db,
            client=conn.client,
            connection_id=conn_id,
        )

    for line in read_lines(stream):
        text = line.text
        if text is None:
            yield bad(options, line)
            continue
        m = _ENTRY.match(text)
        if m is None:
            if BANNER.match(text):
                if open_entry is not None:
                    done = finish()
                    if done is not None:
                        yield done
                    open_entry = None
                continue
            if open_entry is not None:
                open_entry[4].append(text)
            elif text:
                yield bad(options, line, "not a general-log entry, and no statement before it to continue")
            continue
        if open_entry is not None:
            done = finish()
            if done is not None:
                if _SQL_EXECUTE.match(done.text):
                    held[done.connection_id or ""] = done
                else:
                    yield done
            open_entry = None
        conn_id = m.group("id")
        cmd = m.group("cmd")
        previous = held.pop(conn_id, None)
        if previous is not None and cmd != "Execute":
            yield previous
        old, iso = m.group("old"), m.group("iso")
        if old is not None:
            last_ts = with_zone(dt.datetime.strptime(old.replace("  ", " 0"), "%y%m%d %H:%M:%S"), None, tz)
        elif iso is not None:
            last_ts = with_zone(dt.datetime.fromisoformat(iso), m.group("zone"), tz)
        arg = m.group("arg") or ""
        if cmd in ("Connect", "Change user"):
            c = _CONNECT.match(arg)
            if c is not None:
                connections[conn_id] = _Connection(
                    c.group("user") or None, c.group("host") or None, c.group("db") or None
                )
        elif cmd == "Init DB":
            connections[conn_id] = replace(connections.get(conn_id) or _Connection(), db=arg.strip() or None)
        elif cmd == "Quit":
            connections.pop(conn_id, None)
        open_entry = (line, cmd, conn_id, last_ts, [arg])
    if open_entry is not None:
        done = finish()
        if done is not None:
            yield done
    yield from held.values()


_TIMES = [
    "261130  8:00:00",
    "261130  8:00:00",
    "261130  8:00:01",
    "261130 10:11:12",
    "",
    "",
    "",
    "2026-11-30T08:00:00.123456Z",
    "2026-11-30T08:00:00.5+08:00",
    "2026-11-30T08:00:01",
]
_COMMANDS = ["Query", "Query", "Query", "Execute", "Prepare", "Connect", "Init DB", "Quit", "Change user", "Ping"]
_ARGS = [
    "SELECT 1",
    "EXECUTE s1 USING @a",
    " execute s2",
    "SELECT *\n  FROM t",
    "u@10.0.0.1 on db using TCP/IP",
    "app@h as x on  using TCP/IP",
    "his",
    "  ",
    "",
    "SELECT '患者'",
    "Time  Id",
    "a, Version: b started with:",
]
_OTHER = [
    "/usr/sbin/mariadbd, Version: 10.11 (Debian). started with:",
    "Tcp port: 3306  Unix socket: /s",
    "Time\t\t    Id Command\tArgument",
    "stray text",
    "",
    "Timeless",
    "\x00bin",
    "x, Version: y",
]


def _general_log(r: random.Random) -> bytes:
    out: list[str] = []
    for _ in range(r.randint(0, 40)):
        if r.random() < 0.15:
            out.append(r.choice(_OTHER))
            continue
        cmd = r.choice(_COMMANDS)
        arg = r.choice(_ARGS)
        out.append(f"{r.choice(_TIMES)}\t{r.randint(1, 4):6d} {cmd}" + (f"\t{arg}" if r.random() < 0.9 else ""))
    data = "\n".join(out).encode()
    return data + (b"\n" if r.random() < 0.5 else b"") + (b"\xff\n" if r.random() < 0.1 else b"")


def test_general_parser_matches_the_reference() -> None:
    r = random.Random(11)
    for _ in range(3000):
        data = _general_log(r)
        for options in (OPTIONS, replace(OPTIONS, system="mariadb")):
            got = list(parse_general(io.BytesIO(data), options))
            assert got == list(_reference_general(io.BytesIO(data), options)), data


def test_fast_block_path_matches_decode_line() -> None:
    """Blocks with no NUL or CR skip decode_line's checks: every Line is still what decode_line gives."""
    r = random.Random(3)
    pieces = [b"a", b"bc", b"\n", b"\n", "患".encode(), "患".encode()[:2], b"\x00", b"\r", b"\r\n", b"xyzxyz", b"\xff"]
    for _ in range(2000):
        data = b"".join(r.choice(pieces) for _ in range(r.randint(0, 60)))
        for chunk in (1, 7, 4096):
            for max_line in (5, 1 << 20):
                got = list(read_lines(io.BytesIO(data), max_line, chunk))
                expected = []
                offset = 0
                rows = data.split(b"\n")
                if data.endswith(b"\n") or not data:
                    rows.pop()
                for number, raw in enumerate(rows, 1):
                    expected.append(decode_line(number, offset, raw, max_line))
                    offset += len(raw) + 1
                if max_line > len(data):  # no line can be overlong: each is exactly what decode_line makes
                    assert got == expected, (data, chunk, max_line)
                else:  # an overlong line's excerpt depends on the blocks: same lines, same positions
                    assert [(x.number, x.offset) for x in got] == [(x.number, x.offset) for x in expected]


def test_pg_time_cache_gives_the_written_time() -> None:
    r = random.Random(7)
    lines: list[str] = []
    for _ in range(5000):
        second = f"2026-11-30 08:00:{r.randint(0, 3):02d}"
        zone_text = r.choice([" CST", " UTC", " +08", " -03:30", ""])
        lines.append(f"{second}.{r.randint(0, 999):03d}{zone_text} [{r.randint(1, 9)}] u@d LOG:  statement: SELECT 1")
    entries = list(stderr_entries(io.BytesIO("\n".join(lines).encode()), OPTIONS))
    assert len(entries) == len(lines)
    time_re = re.compile(r"(\S+ \S+?)(?: (\S+))? \[")
    for text, entry in zip(lines, entries, strict=True):
        assert not isinstance(entry, BadLine)
        m = time_re.match(text)
        assert m is not None
        assert entry.ts == with_zone(dt.datetime.fromisoformat(m.group(1)), m.group(2), OPTIONS.tz), text
        assert (
            entry.ts is not None
            and entry.ts.utcoffset()
            == with_zone(dt.datetime.fromisoformat(m.group(1)), m.group(2), OPTIONS.tz).utcoffset()
        )


def test_slow_log_header_lines_read_as_the_generic_pairs() -> None:
    """The slow-log parser reads the Query_time line with one anchored match: the pairs _PAIRS finds there."""
    r = random.Random(4)
    values = ["0.000826", "12", "", "1:2", "a b", "-1", "nan", "7 Rows_sent: 9", "１"]
    spaces = [" ", "  ", "  ", "   ", "\t", ""]
    lines = []
    for _ in range(20000):
        parts = ["# Query_time:", " " + r.choice(values), r.choice(spaces), "Lock_time:", " " + r.choice(values)]
        parts += [r.choice(spaces), "Rows_sent:", " " + r.choice(values), r.choice(spaces), "Rows_examined:"]
        parts += [" " + r.choice(values), r.choice(["", " ", "  Rows_affected: 0"])]
        lines.append("".join(parts))
    fast_used = 0
    for line in lines:
        fixed = _QUERY_LINE.fullmatch(line)
        if fixed is not None:
            fast_used += 1
            assert dict(zip(_QUERY_KEYS, fixed.groups(), strict=True)) == dict(_PAIRS.findall(line)), line
    assert fast_used > 100


_SLOW_TIMES = [
    "# Time: 261130  8:00:00\n",
    "# Time: 261130  8:00:01\n",
    "# Time: 2026-11-30T08:00:02.5Z\n",
    "# Time: ?\n",
]
_SLOW_USERS = [
    "# User@Host: his_app[his_app] @  [10.20.1.11]\n",
    "# User@Host: emr[emr] @ db.local [10.20.2.5]  Id:    42\n",
    "# User@Host: 张三[张三] @  [10.0.0.1]\n",
    "# User@Host: garbage\n",
]
_SLOW_META = [
    "",
    "# Thread_id: 6  Schema: his  QC_hit: No\n",
    "# Thread_id: 7  Schema:   QC_hit: No\n",
    "# Schema: lis\n",
]
_SLOW_QUERY = [
    "# Query_time: 0.000826  Lock_time: 0.000010  Rows_sent: 1  Rows_examined: 144\n",
    "# Query_time: 1.5  Lock_time: 0.000010  Rows_sent: 12  Rows_examined: 0\n",
    "# Query_time: 0.1 Lock_time: 0.2 Rows_sent: 3 Rows_examined: 4\n",
    "# Query_time: 0.1  Lock_time: 0.2  Rows_sent: 3  Rows_examined: 4  Rows_affected: 0\n",
    "# Query_time: 1.2.3  Lock_time: nan  Rows_sent: 1  Rows_examined: １\n",
    "# Query_time: 0.1  Lock_time: 0.2  Rows_sent: -1  Rows_examined: 4\n",
    "",
]
_SLOW_AFTER = ["", "", "# Rows_affected: 0  Bytes_sent: 64\n", "# Thread_id: 9\n"]
_SLOW_USE = ["", "", "use his;\n", "use `lis`;\n"]
_SLOW_SET = ["SET timestamp=1796058413;\n", "SET timestamp=1796058414;\n", "SET timestamp=1796058413.5;\n", ""]
_SLOW_BODIES = [
    "SELECT * FROM his.患者 WHERE id = 1;\n",
    "SELECT 1;;\n",
    "SELECT p.姓名\n  FROM his.处方 d\n WHERE d.id = 2;\n",
    ";\n",
    "",
    "# administrator command: Quit;\n",
    "UPDATE t SET a = 1\n",
    "SELECT 1;\n\n",
    "SELECT 'x\x00y';\n",
    "/usr/sbin/mariadbd, Version: 10.11.19-MariaDB-log (Debian 12). started with:\n",
    "SELECT 2;\nTcp port: 3306  Unix socket: /run/mysqld/mysqld.sock\n",
]


def _slow_log(r: random.Random) -> bytes:
    out = []
    for _ in range(r.randint(0, 30)):
        entry = (r.choice(_SLOW_TIMES) if r.random() < 0.3 else "") + r.choice(_SLOW_USERS) + r.choice(_SLOW_META)
        entry += r.choice(_SLOW_QUERY) + r.choice(_SLOW_AFTER) + r.choice(_SLOW_USE) + r.choice(_SLOW_SET)
        data = (entry + r.choice(_SLOW_BODIES)).encode()
        if r.random() < 0.03:
            data = data.replace(b"SELECT", b"SEL\xffECT")
        if r.random() < 0.03:
            data = data.replace(b"emr", b"e\xffmr")
        out.append(data)
    return b"".join(out)


def test_slow_parser_shortcut_gives_what_the_general_way_gives() -> None:
    """parse_slow reads the usual entry directly (fixed Query_time line, remembered headers): same records."""
    r = random.Random(12)
    for _ in range(3000):
        data = _slow_log(r)
        for options in (OPTIONS, replace(OPTIONS, system="mariadb")):
            got = list(parse_slow(io.BytesIO(data), options))
            assert got == list(parse_slow(io.BytesIO(data), options, shortcut=False)), data


@pytest.mark.parametrize(
    ("rows", "query_time", "want_rows", "want_ns"),
    [
        ("\u00b2", "0.5", None, 500_000_000),  # "²".isdigit(), but int() refuses it
        ("\uff11", "0.5", None, 500_000_000),  # fullwidth 1: not an ASCII count
        ("9" * 5000, "0.5", None, 500_000_000),  # past int()'s digit limit
        ("9223372036854775808", "1e15", None, None),  # past Elasticsearch's long: not storable
        ("9223372036854775807", "0.000001", 2**63 - 1, 1000),
    ],
)
def test_slow_log_odd_numbers_are_unreadable_not_a_crash(
    rows: str, query_time: str, want_rows: int | None, want_ns: int | None
) -> None:
    """A hostile header number is left out (None), the entry kept, by both the shortcut and the general way."""
    entry = (
        "# User@Host: doc[doc] @  [127.0.0.1]\n# Thread_id: 6  Schema: his\n"
        f"# Query_time: {query_time}  Lock_time: 0.0 Rows_sent: {rows}  Rows_examined: {rows}\n"
        "SET timestamp=1796058413;\nSELECT 1;\n"
    ).encode()
    for shortcut in (True, False):
        got = list(parse_slow(io.BytesIO(entry * 2), OPTIONS, shortcut=shortcut))
        assert [type(r).__name__ for r in got] == ["Statement", "Statement"]
        for stmt in got:
            assert isinstance(stmt, Statement)
            assert (stmt.rows_sent, stmt.rows_examined, stmt.duration_ns) == (want_rows, want_rows, want_ns)


def _entry_by_groupdict(line: Line, m: re.Match[str], parts: list[str], tz: dt.tzinfo) -> PgEntry:
    """stderr_entries' entry as it was built before (groupdict, keyword call), the oracle for its shortcuts."""
    groups = m.groupdict()
    raw_time = groups.get("m") or groups.get("t")
    ts = None
    if raw_time:
        ts = with_zone(dt.datetime.fromisoformat(raw_time), groups.get("tz_m") or groups.get("tz_t"), tz)
    elif groups.get("n"):
        ts = from_epoch(float(groups["n"]))
    client = groups.get("client") or groups.get("host")
    return PgEntry(
        offset=line.offset,
        line=line.number,
        severity=groups["severity"],
        message="\n".join(parts),
        ts=ts,
        pid=groups.get("pid"),
        session=groups.get("session"),
        user=groups.get("user") or None,
        db=groups.get("db") or None,
        client=None if client in (None, "", "[local]") else client,
        client_port=port_number(groups.get("port")),
        application=groups.get("app") or None,
    )


_NO_PREFIX = "does not match the log_line_prefix (wrong --log-line-prefix or format?)"
_PREFIXES = [
    "%m [%p] %u@%d %h ",
    "%m [%p] %u@%d %h",
    "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%r ",
    "%n %c %q%u@%d ",
    "%-10u %m ",
    "%m %m [%p] ",
    "",
    "%r %h %a %e %i %x %v %b %P %Q %s %% ",
]


def _prefix_text(r: random.Random, prefix: str) -> str:
    """A prefix as PostgreSQL would write it (or not quite: the parser must then report the line)."""
    values: dict[str, Callable[[], str]] = {
        "m": lambda: (
            f"2026-11-30 08:00:{r.randint(0, 2):02d}.{r.randint(0, 999):03d}"
            + r.choice([" CST", " UTC", " +08", " -03:30", ""])
        ),
        "t": lambda: f"2026-12-31 23:59:{r.randint(58, 59):02d}" + r.choice([" CST", " UTC", ""]),
        "n": lambda: f"{r.randint(1764460800, 1764460803)}.{r.randint(0, 999):03d}",
        "p": lambda: str(r.randint(1, 99)),
        "u": lambda: r.choice(["his_app", "张医生", "", "postgres"]),
        "d": lambda: r.choice(["his", "", "lis"]),
        "h": lambda: r.choice(["10.0.0.1", "[local]", "", "::1"]),
        "r": lambda: r.choice(["10.0.0.1(5432)", "[local]", "10.0.0.2", "", "::1(65536)", "h(99999999999999999999)"]),
        "a": lambda: r.choice(["psql", "", "app x"]),
        "c": lambda: f"{r.randint(1, 255):x}.{r.randint(1, 9):x}",
        "l": lambda: str(r.randint(1, 9)),
        "e": lambda: r.choice(["00000", "42P01"]),
        "i": lambda: r.choice(["SELECT", "idle"]),
        "x": lambda: "0",
        "v": lambda: "3/7",
        "b": lambda: "client backend",
        "P": lambda: r.choice(["", "12"]),
        "Q": lambda: r.choice(["0", "-123"]),
        "s": lambda: "2026-11-30 07:00:00 CST",
        "%": lambda: "%",
    }
    out = []
    pos = 0
    for m in re.finditer(r"%(-?\d+)?(.)", prefix):
        out.append(prefix[pos : m.start()])
        pos = m.end()
        if m.group(2) == "q":
            if r.random() < 0.2:  # a background process: the prefix stops here
                return "".join(out)
            continue
        value = values[m.group(2)]()
        out.append(f"{value:<10}" if m.group(1) else value)
    out.append(prefix[pos:])
    return "".join(out)


@pytest.mark.parametrize("prefix", _PREFIXES)
def test_pg_stderr_entries_as_groupdict_gave_them(prefix: str) -> None:
    """Entries read through the match's group tuple (places found per prefix) against groupdict's."""
    r = random.Random(prefix)
    options = replace(OPTIONS, log_line_prefix=prefix)
    lines = []
    for _ in range(3000):
        head = _prefix_text(r, prefix)
        lines.append(head + r.choice(["LOG:  statement: SELECT 1", "DETAIL:  parameters: $1 = '1'", "ERROR:  x"]))
        if r.random() < 0.1:
            lines.append("\tAND 2")
    data = "\n".join(lines).encode()
    got = list(stderr_entries(io.BytesIO(data), options))
    pattern = compile_prefix(prefix)
    expected: list[PgEntry | BadLine] = []
    current: tuple[Line, re.Match[str], list[str]] | None = None
    for line in read_lines(io.BytesIO(data)):
        assert line.text is not None
        m = pattern.match(line.text)
        if m is None and current is not None and line.text.startswith("\t"):
            current[2].append(line.text[1:])
            continue
        if current is not None:
            expected.append(_entry_by_groupdict(*current, options.tz))
            current = None
        if m is None:
            expected.append(bad(options, line, _NO_PREFIX))
        else:
            current = (line, m, [m.group("message")])
    if current is not None:
        expected.append(_entry_by_groupdict(*current, options.tz))
    assert sum(isinstance(e, PgEntry) for e in expected) > 1000
    assert got == expected
    for g, e in zip(got, expected, strict=True):  # == on datetimes ignores a differing offset's spelling
        if isinstance(g, PgEntry) and isinstance(e, PgEntry) and g.ts is not None and e.ts is not None:
            assert (g.ts.tzinfo, g.ts.utcoffset(), g.ts.fold) == (e.ts.tzinfo, e.ts.utcoffset(), e.ts.fold)


def test_pg_duration_statement_shortcut_gives_what_the_general_way_gives(monkeypatch: pytest.MonkeyPatch) -> None:
    """``duration: N ms  statement: …`` read with one match, against the general way (shortcut off)."""
    r = random.Random(5)
    lines = []
    for i in range(6000):
        pid = r.randint(1, 6)
        message = r.choice([
            f"duration: {r.choice(['0.5', '12', '1.250', '٣.5', '1e3'])} ms  statement: SELECT {i}",
            f"duration: 1.5 ms  statement: SELECT {i}\n\tAND x = '\n'",
            f"duration: 2.0 ms  execute S_{i % 3}: SELECT $1",
            "duration: 3.0 ms",
            "duration: 3.0 ms  statement:SELECT 1",
            "duration: 3.0 ms statement: SELECT 1",
            "duration: 4 ms  parse S_1: SELECT $1",
            f"statement: UPDATE t SET a = {i}",
            f"execute S_{i % 3}: SELECT $1",
            "disconnection: session time: 0:00:01.000",
        ])  # fmt: skip
        sev = r.choices(["LOG", "DETAIL", "ERROR", "STATEMENT"], [8, 1, 1, 1])[0]
        if sev == "DETAIL":
            message = f"parameters: $1 = '{i}'"
        elif sev == "ERROR":
            message = "syntax error"
        elif sev == "STATEMENT":
            message = f"SELECT {i}"
        lines.append(f"2026-11-30 08:00:00.{i % 1000:03d} CST [{pid}] u@d {sev}:  {message}")
    data = "\n".join(lines).encode()
    got = list(parse_postgres(io.BytesIO(data), OPTIONS))
    monkeypatch.setattr(pg_statements, "_DURATION_STATEMENT", re.compile(r"(?!)"))
    expected = list(parse_postgres(io.BytesIO(data), OPTIONS))
    assert len(got) > 2000
    assert got == expected
