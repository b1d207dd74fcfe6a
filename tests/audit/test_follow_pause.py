"""Following a live MariaDB's general and slow logs through idle flushes: no replay, right attribution.

A real server writes the logs while the test runs statements on one open
connection in rounds; the follower has to flush each round's last statement on
its own (nothing follows it), then read on. Before, an idle flush ended the
parse and the follower parsed the file again from byte 0 (to rebuild the
connections) after each one. Waits are bounded polls, not timing assertions.
"""

from __future__ import annotations

import io
import itertools
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pymysql
import pytest

from audit.follow import IngestCounts, LogFollower
from audit.formats import FORMATS, PG_ENTRIES, ParseOptions
from audit.lines import PAUSE
from audit.records import Record, Statement
from audit.settings import LogSource
from audit.timestamps import zone
from netguard.events.sink import EventSink
from netguard.events.sqlite_store import SQLiteEventStore
from tests.audit.conftest import ServerRun
from tests.audit.test_follow_idle import ZONE, follow, kill, parse_all, statement_end, stop, wait_checkpoint
from tests.audit.test_ingest import _expected, count, stored
from tests.harness.mariadb import MariaDB, start_mariadb
from tests.harness.peers import PeerUnavailable, require_peer
from tests.harness.postgres import LOG_LINE_PREFIX, Postgres, start_postgres

PASSWORD = "Pause-flush-9"
ROUNDS = 4


@pytest.fixture(scope="module")
def server() -> Iterator[MariaDB]:
    try:
        live = start_mariadb()
    except PeerUnavailable as exc:
        require_peer(f"MariaDB unavailable: {exc}")
        return
    try:
        live.sql(
            "CREATE DATABASE ward CHARACTER SET utf8mb4;"
            f"CREATE USER 'clerk'@'127.0.0.1' IDENTIFIED BY '{PASSWORD}';"
            "GRANT ALL ON ward.* TO 'clerk'@'127.0.0.1'"
        )
        yield live
    finally:
        live.stop()


@pytest.fixture(scope="module")
def pg_server() -> Iterator[Postgres]:
    try:
        live = start_postgres()
    except PeerUnavailable as exc:
        require_peer(f"PostgreSQL unavailable: {exc}")
        return
    try:
        live.psql("CREATE ROLE clerk LOGIN")
        live.psql("CREATE DATABASE ward OWNER clerk")
        yield live
    finally:
        live.stop()


def connect(server: MariaDB) -> pymysql.Connection[pymysql.cursors.Cursor]:
    return pymysql.connect(
        host="127.0.0.1", port=server.port, user="clerk", password=PASSWORD, database="ward", autocommit=True
    )


def run_round(conn: pymysql.Connection[pymysql.cursors.Cursor], tag: str, n: int) -> list[str]:
    """``n`` statements told apart by their column aliases (masking keeps identifiers), the last on two lines."""
    names = [f"{tag}_s{i}" for i in range(n)]
    with conn.cursor() as cur:
        for name in names[:-1]:
            cur.execute(f"SELECT 1 AS {name}")
        cur.execute(f"SELECT 1 AS {names[-1]},\n  2 AS {names[-1]}_b")
    return names


@dataclass
class Seen:
    offset: int
    text: str
    user: str | None
    db: str | None
    ip: str | None


def seen(db_path: Path, tag: str) -> list[Seen]:
    """The stored sql events whose text names ``tag`` (each stored event once)."""
    if not db_path.exists():
        return []
    store = SQLiteEventStore(db_path)
    try:
        return [
            Seen(
                int(e.get("log.offset")),
                str(e.get("db.query.text")),
                e.get("user.name"),
                e.get("db.namespace"),
                e.get("source.ip"),
            )
            for e in store.iter_search("", kinds=("sql",))
            if tag in str(e.get("db.query.text"))
        ]
    finally:
        store.close()


def wait_seen(db_path: Path, tag: str, n: int, timeout: float = 60.0) -> list[Seen]:
    deadline = time.monotonic() + timeout
    while len(found := seen(db_path, tag)) < n and time.monotonic() < deadline:
        time.sleep(0.1)
    return found


class Starts:
    """Where each parser run over the followed file started, and the bytes it read (wraps FORMATS' parser)."""

    def __init__(self, parse: Callable[[Any, ParseOptions], Iterator[Any]]) -> None:
        self.parse = parse
        self.at: list[int] = []
        self.bytes = 0

    def __call__(self, stream: Any, options: ParseOptions) -> Iterator[Any]:
        self.at.append(stream.pos)  # the follower's stream (audit.follow._Tail): where its parse starts
        outer = self

        class Counted:
            def read(self, n: int = -1) -> bytes:
                data: bytes = stream.read(n)
                outer.bytes += len(data)
                return data

        return self.parse(Counted(), options)  # read() is all a parser uses


def pg_round(conn: psycopg.Connection[tuple[object, ...]], tag: str, n: int) -> list[str]:
    names = [f"{tag}_s{i}" for i in range(n)]
    for name in names[:-1]:
        conn.execute(f"SELECT 1 AS {name}")  # (test text, not user input)
    conn.execute(f"SELECT 1 AS {names[-1]},\n  2 AS {names[-1]}_b")
    return names


class Running:
    """An in-process follower on its own thread, into a real SQLite store through the real sink."""

    def __init__(self, tmp_path: Path, fmt: str, path: Path, prefix: str = "%m [%p] ") -> None:
        self.db = tmp_path / f"{fmt}-events.db"
        self.store = SQLiteEventStore(self.db)
        self.sink = EventSink(self.store, tmp_path / f"{fmt}-spool.db")
        self.stop = threading.Event()
        source = LogSource("live", path, fmt, ZONE, log_line_prefix=prefix)
        self.follower = LogFollower(
            source, tmp_path / f"{fmt}-state.db", self.sink, follow=True, stop=self.stop, poll_interval=0.05,
            idle_flush=0.3,
        )  # fmt: skip
        self.result: dict[str, Any] = {}
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        self.result["counts"] = self.follower.run()

    def finish(self) -> IngestCounts:
        self.stop.set()
        self.thread.join(60)
        self.sink.close()
        self.store.close()
        counts = self.result["counts"]
        assert isinstance(counts, IngestCounts)
        return counts


@pytest.mark.parametrize("fmt", ["mysql-general", "mysql-slow"])
def test_idle_flushes_of_a_live_log_store_each_statement_once_attributed_without_replay(
    tmp_path: Path, server: MariaDB, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = server.general_log if fmt == "mysql-general" else server.slow_log
    starts = Starts(FORMATS[fmt])
    monkeypatch.setitem(FORMATS, fmt, starts)
    tag = f"p{fmt[6]}"  # each test's own statements: the server's logs hold every test's
    conn = connect(server)  # its Connect line (user, client, database) is written now, before any flush
    running = Running(tmp_path, fmt, path)
    try:
        names: list[str] = []
        for r in range(ROUNDS):
            names += run_round(conn, f"{tag}r{r}", 3)
            # The round's last statement is stored only by an idle flush: nothing follows it in the log.
            assert len(wait_seen(running.db, tag, len(names))) == len(names), r
        conn.close()
    finally:
        counts = running.finish()
    found = seen(running.db, tag)
    assert sorted(s.text.split(" AS ")[1].split(",")[0] for s in found) == sorted(names)  # each once
    assert {(s.user, s.db, s.ip) for s in found} == {("clerk", "ward", "127.0.0.1")}
    # One parser run, from byte 0, reading each byte once: no replay after a flush (before: a run per flush).
    assert starts.at == [0]
    assert 0 < starts.bytes <= path.stat().st_size  # (the server may write more: the Quit)
    assert (counts.parses, counts.bytes_parsed) == (1, starts.bytes)
    assert counts.idle_flushes >= ROUNDS


def test_sigkill_after_an_idle_flush_then_restart_loses_and_doubles_nothing(
    cfg: Path, tmp_path: Path, server: MariaDB
) -> None:
    path = server.general_log
    tag = "pk"
    conn = connect(server)
    proc = follow(cfg, "mysql-general", path)
    try:
        first = run_round(conn, f"{tag}r0", 3)
        flushed = wait_seen(cfg.parent / "events.db", tag, len(first))
        assert len(flushed) == len(first)
        last = max(s.offset for s in flushed)  # stored by the idle flush: nothing followed it
        at = wait_checkpoint(cfg, above=last - 1)
    finally:
        kill(proc)
    assert at >= last  # committed after the flush
    # Written while nobody follows, on the connection opened before the flush and the kill.
    second = run_round(conn, f"{tag}r1", 3)
    conn.close()
    proc = follow(cfg, "mysql-general", path)
    try:
        found = wait_seen(cfg.parent / "events.db", tag, len(first) + len(second))
        every = parse_all(path, "mysql-general")
        assert len(wait_seen(cfg.parent / "events.db", "", len(every))) >= len(every)
    finally:
        stop(proc)
    assert sorted(s.text.split(" AS ")[1].split(",")[0] for s in found) == sorted(first + second)
    assert {(s.user, s.db, s.ip) for s in found} == {("clerk", "ward", "127.0.0.1")}
    assert stored(cfg) == _expected(path, "mysql-general", "")  # every statement of the log once, whole
    assert count(cfg) == len(every)


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    path = tmp_path / "netguard.yaml"
    path.write_text("state:\n  path: state.db\nevents:\n  sqlite:\n    path: events.db\n", encoding="utf-8")
    return path


class Paused:
    """A follower's stream, scripted: hands out ``parts`` in turn, PAUSE (the log went quiet) among them."""

    def __init__(self, parts: list[bytes]) -> None:
        self.parts = parts

    def read(self, n: int = -1) -> bytes:
        return self.parts.pop(0) if self.parts else b""


def parse_paused(
    data: bytes, cuts: list[int], fmt: str, prefix: str = "%m [%p] ", late: list[tuple[int, int]] | None = None
) -> list[Record]:
    """The records of ``data`` read with a pause at each cut; ``late`` gets what the parser told on_late."""
    points = [0, *sorted(set(cuts)), len(data)]
    parts: list[bytes] = []
    for a, b in itertools.pairwise(points):
        parts += [data[a:b], PAUSE]
    on_late = None if late is None else lambda offset, line: late.append((offset, line))
    options = ParseOptions(source="x", tz=zone(ZONE), log_line_prefix=prefix, on_late=on_late)
    return list(FORMATS[fmt](Paused(parts), options))  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", ["mysql-general", "mysql-slow"])
def test_a_pause_before_every_entry_changes_nothing(fmt: str, mariadb_run: ServerRun) -> None:
    data = mariadb_run.logs[fmt].read_bytes()
    options = ParseOptions(source="x", tz=zone(ZONE))
    whole = list(FORMATS[fmt](io.BytesIO(data), options))
    # Not before a general log's Execute entry: a pause between a Query "EXECUTE …" and its Execute entry
    # (the server writes them together) emits the query as well, as an idle end did before.
    cuts = [
        r.offset
        for r in whole
        if isinstance(r, Statement) and b" Execute\t" not in data[r.offset : data.index(b"\n", r.offset)]
    ]
    # Each statement emitted at the pause after it, with the user, client, database and time read before.
    late: list[tuple[int, int]] = []
    assert parse_paused(data, cuts, fmt, late=late) == whole
    assert late == []  # nothing arrived for a statement already emitted


@pytest.mark.parametrize("fmt", ["mysql-general", "mysql-slow"])
def test_lines_after_a_pause_inside_a_statement_are_skipped(fmt: str, mariadb_run: ServerRun) -> None:
    data = mariadb_run.logs[fmt].read_bytes()
    options = ParseOptions(source="x", tz=zone(ZONE))
    whole = list(FORMATS[fmt](io.BytesIO(data), options))
    multiline = next(r for r in whole if isinstance(r, Statement) and "\n" in r.text)
    first = multiline.text.split("\n")[0].encode()
    cut = data.index(first, multiline.offset) + len(first) + 1  # after its first line
    late: list[tuple[int, int]] = []
    got = parse_paused(data, [cut], fmt, late=late)
    # Emitted as it stood at the pause; its later lines are not read as anything (no bad line), the rest unchanged.
    assert got == [r._replace(text=first.decode()) if r is multiline else r for r in whole]
    # ... but each is told to on_late (the follower counts them): where it starts and its number.
    assert late == lines_at(data, cut, multiline.text.count("\n"))


def lines_at(data: bytes, at: int, n: int) -> list[tuple[int, int]]:
    """(offset, line number) of the ``n`` lines of ``data`` from byte ``at`` (a line's start)."""
    found = []
    number = data.count(b"\n", 0, at) + 1
    for _ in range(n):
        found.append((at, number))
        at, number = data.index(b"\n", at) + 1, number + 1
    return found


PG_FORMATS = ["postgres", "postgres-csv", "postgres-json"]


def pg_whole(fmt: str, run: ServerRun) -> tuple[bytes, list[Record]]:
    data = run.logs[fmt].read_bytes()
    options = ParseOptions(source="x", tz=zone(ZONE), log_line_prefix=run.log_line_prefix)
    return data, list(FORMATS[fmt](io.BytesIO(data), options))


def entry_end(data: bytes, fmt: str, stmt: Statement) -> int:
    """The byte after the entry that starts ``stmt`` (jsonlog: one line; the others: a line per line of text)."""
    if fmt == "postgres-json":
        return data.index(b"\n", stmt.offset) + 1
    return statement_end(data, stmt)


@pytest.mark.parametrize("fmt", PG_FORMATS)
def test_a_postgres_pause_before_every_statement_changes_nothing(fmt: str, postgres_run: ServerRun) -> None:
    data, whole = pg_whole(fmt, postgres_run)
    cuts = [r.offset for r in whole if isinstance(r, Statement)]
    # The workload's sessions take turns: before a statement starts, nothing waits for its duration.
    late: list[tuple[int, int]] = []
    assert parse_paused(data, cuts, fmt, postgres_run.log_line_prefix, late=late) == whole
    assert late == []


@pytest.mark.parametrize("fmt", PG_FORMATS)
@pytest.mark.parametrize("which", ["timed", "failed", "multiline"])
def test_what_arrives_for_a_postgres_statement_after_a_pause_is_not_added(
    fmt: str, which: str, postgres_run: ServerRun
) -> None:
    data, whole = pg_whole(fmt, postgres_run)
    stmts = [r for r in whole if isinstance(r, Statement)]
    if which == "timed":
        held = next(s for s in stmts if s.duration_ns is not None and s.outcome == "success")
        cut = entry_end(data, fmt, held)  # before its duration
        expected = held._replace(duration_ns=None, outcome="unknown")
    elif which == "failed":
        held = next(s for s in stmts if s.outcome == "failure" and s.error and "syntax" not in s.error)
        cut = entry_end(data, fmt, held)  # before its error
        expected = held._replace(outcome="unknown", error=None)
    else:
        held = next(s for s in stmts if "\n" in s.text)
        first = held.text.split("\n")[0]
        if fmt != "postgres":  # a csv record or json line is whole or not read: the pause comes after it
            cut = entry_end(data, fmt, held)
            expected = held._replace(duration_ns=None, outcome="unknown")
        else:  # stderr: after its first line; the rest (tab-indented lines) are passed over
            cut = data.index(b"\n", held.offset) + 1
            expected = held._replace(text=first, duration_ns=None, outcome="unknown")
    if fmt == "postgres":  # stderr: its parameters are a DETAIL entry of their own, after the pause
        expected = expected._replace(params=())
    late: list[tuple[int, int]] = []
    got = parse_paused(data, [cut], fmt, postgres_run.log_line_prefix, late=late)
    # Emitted as it stood at the pause; its duration, error, parameters or lines are neither added nor read as
    # anything else (no bad line, no second statement); the rest as from the whole file.
    assert got == [expected if r is held else r for r in whole]
    # ... but each entry (stderr: each line of its text) that held them is told to on_late, the follower counts.
    lines = len(held.text.split("\n")) - len(expected.text.split("\n"))  # stderr: its text's lines after the cut
    params = len(held.params) > len(expected.params)  # stderr: the DETAIL entry
    error = 0 if held.error is None else 2 if fmt == "postgres" else 1  # stderr: ERROR, then STATEMENT
    timed = held.duration_ns is not None
    assert len(late) == lines + params + error + timed > 0
    assert late[0][0] >= cut
    assert all(data[offset - 1 : offset] == b"\n" and data.count(b"\n", 0, offset) + 1 == n for offset, n in late)


@pytest.mark.parametrize("fmt", PG_FORMATS)
def test_idle_flushes_of_a_live_postgres_log_store_each_statement_once_without_replay(
    tmp_path: Path, pg_server: Postgres, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = {"postgres": pg_server.stderr_log, "postgres-csv": pg_server.csv_log, "postgres-json": pg_server.json_log}
    starts = Starts(PG_ENTRIES[fmt])  # what the follower runs: the entry reader, under the statement parser
    monkeypatch.setitem(PG_ENTRIES, fmt, starts)
    tag = "q" + fmt.rpartition("-")[2][:1]
    conn = psycopg.connect(host="127.0.0.1", port=pg_server.port, user="clerk", dbname="ward", autocommit=True)
    running = Running(tmp_path, fmt, path[fmt], LOG_LINE_PREFIX)
    try:
        names: list[str] = []
        for r in range(ROUNDS):
            names += pg_round(conn, f"{tag}r{r}", 3)
            # The round's last entry (the last statement's duration) is complete only once the log is quiet.
            assert len(wait_seen(running.db, tag, len(names))) == len(names), r
        conn.close()
    finally:
        counts = running.finish()
    found = seen(running.db, tag)
    assert sorted(s.text.split(" AS ")[1].split(",")[0] for s in found) == sorted(names)  # each once
    assert {(s.user, s.db, s.ip) for s in found} == {("clerk", "ward", "127.0.0.1")}
    assert starts.at == [0]  # one parser run (before: one more from the first statement flushed, per flush)
    assert 0 < starts.bytes <= path[fmt].stat().st_size
    assert (counts.parses, counts.bytes_parsed) == (1, starts.bytes)
    assert counts.idle_flushes >= ROUNDS


def stop_output(proc: subprocess.Popen[bytes]) -> tuple[str, str]:
    """Stop a following ``audit ingest`` (SIGTERM) and return what it printed: its summary, its messages."""
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode in (0, 1), err.decode()
    return out.decode(), err.decode()


def wait_count(cfg: Path, n: int, timeout: float = 60.0) -> int:
    deadline = time.monotonic() + timeout
    while (found := count(cfg)) < n and time.monotonic() < deadline:
        time.sleep(0.1)
    return found


def test_a_general_log_continuation_after_the_idle_flush_is_counted_and_reported(
    cfg: Path, tmp_path: Path, mariadb_run: ServerRun
) -> None:
    """A real MariaDB general log, written out in two parts: the second starts inside a multi-line statement."""
    log = mariadb_run.logs["mysql-general"]
    data = log.read_bytes()
    every = parse_all(log, "mysql-general")
    multiline = next(s for s in every if "\n" in s.text)
    first = multiline.text.split("\n")[0].encode()
    cut = data.index(first, multiline.offset) + len(first) + 1  # after its first line
    path = tmp_path / "general.log"
    path.write_bytes(data[:cut])
    proc = follow(cfg, "mysql-general", path)
    try:
        # The log goes quiet after the statement's first line: the idle flush stores it as it stands.
        before = sum(s.offset <= multiline.offset for s in every)
        assert wait_count(cfg, before) == before
        with path.open("ab") as f:
            f.write(data[cut:])  # its other lines, then the rest of the log
        assert wait_count(cfg, len(every)) == len(every)
    finally:
        out, err = stop_output(proc)
    late = multiline.text.count("\n")
    assert late > 0
    # Counted in the source's summary and named by where they start in the message, not by their text.
    summary = next(line for line in out.splitlines() if line.startswith("real: "))
    assert summary.startswith(f"real: {len(every)} statements, 0 bad lines")
    assert summary.endswith(f", {late} late lines")
    assert f"real: {late} late lines (arrived after an idle flush had stored the statement; " in err
    assert f"{path} byte {cut}, " in err
    assert not any(part.strip() in err for part in multiline.text.split("\n")[1:])
    assert count(cfg) == len(every)  # nothing stored twice or apart


@pytest.mark.parametrize("fmt", PG_FORMATS)
def test_a_live_postgres_duration_after_the_idle_flush_is_counted_and_reported(
    cfg: Path, pg_server: Postgres, fmt: str
) -> None:
    """A statement that waits for a lock: logged when it starts, its duration once it has run. The follower's
    idle flush stores it while it waits (no timing: the test waits until it is stored, then releases the lock)."""
    path = {"postgres": pg_server.stderr_log, "postgres-csv": pg_server.csv_log, "postgres-json": pg_server.json_log}
    tag = "late" + fmt.rpartition("-")[2][:1]
    db = cfg.parent / "events.db"
    args: dict[str, Any] = {"host": "127.0.0.1", "port": pg_server.port, "user": "clerk", "dbname": "ward"}
    holder = psycopg.connect(**args, autocommit=True)
    waiter = psycopg.connect(**args, autocommit=True)
    holder.execute("SELECT pg_advisory_lock(4242)")
    proc = follow(cfg, fmt, path[fmt], LOG_LINE_PREFIX)
    try:
        blocked = threading.Thread(target=waiter.execute, args=(f"SELECT pg_advisory_lock(4242) AS {tag}_wait",))
        blocked.start()
        waiting = wait_seen(db, f"{tag}_wait", 1)
        assert len(waiting) == 1  # stored by an idle flush, its duration not yet written
        holder.execute("SELECT pg_advisory_unlock(4242)")
        blocked.join(60)
        waiter.execute(f"SELECT 1 AS {tag}_after")  # stored only after the follower read past the duration
        assert len(wait_seen(db, f"{tag}_after", 1)) == 1
        pid = str(waiter.info.backend_pid).encode()
    finally:
        out, err = stop_output(proc)
        holder.close()
        waiter.close()
    data = path[fmt].read_bytes()
    line_starts = itertools.accumulate(len(line) for line in data[waiting[0].offset :].splitlines(keepends=True))
    duration = next(  # the waiting statement's duration entry: its session's next line with a duration
        waiting[0].offset + at
        for at in itertools.chain([0], line_starts)
        if pid in data[waiting[0].offset + at : data.index(b"\n", waiting[0].offset + at)]
        and b"duration: " in data[waiting[0].offset + at : data.index(b"\n", waiting[0].offset + at)]
    )
    summary = next(line for line in out.splitlines() if line.startswith("real: "))
    assert summary.endswith(", 1 late line")
    assert "real: 1 late line (arrived after an idle flush had stored the statement; " in err
    assert err.rstrip().endswith(f"{path[fmt]} byte {duration}")
    assert len(seen(db, f"{tag}_wait")) == 1  # stored once, as it stood
