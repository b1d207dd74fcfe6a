"""A PostgreSQL duration that arrives after the follower restarted, for a statement an idle flush stored before.

A real server: one session holds an advisory lock, another's statement waits for it (logged when it
starts, its duration once it has run). The follower's idle flush stores the waiting statement as it
stands; the follower is then stopped (SIGTERM) or killed (SIGKILL), the lock released (the duration is
written while nobody follows the log), and the follower started again. The duration is a late line like
one read without the restart: counted, named by file and byte, not added (the event is stored once, as it
stood) and not stored apart. Before, it was dropped without a word: a stop resumed past the statement
(the duration then found no session waiting for it), a kill at it (the statement was read again, now with
its duration, under the same id, which the store kept as first stored). Waits are bounded polls.
"""

from __future__ import annotations

import dataclasses
import io
import threading
from pathlib import Path
from typing import Any

import psycopg
import pytest

from audit.follow import IDLE_FLUSH
from audit.formats import FORMATS, PG_ENTRIES, ParseOptions
from audit.formats.pg_entries import PAUSED, csv_entries
from audit.formats.pg_statements import statements
from audit.lines import PAUSE
from audit.pg_pending import PendingStatements
from audit.records import BadLine, Record, Statement
from audit.timestamps import zone
from tests.audit.conftest import ServerRun
from tests.audit.test_follow_idle import ZONE, _interleaved, follow, kill, wait_checkpoint
from tests.audit.test_follow_pause import (
    PG_FORMATS,
    Paused,
    lines_at,
    pg_server,
    seen,
    stop_output,
    wait_seen,
)
from tests.harness.postgres import LOG_LINE_PREFIX, Postgres

__all__ = ["pg_server"]  # the module-scoped server fixture, shared


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    path = tmp_path / "netguard.yaml"
    path.write_text("state:\n  path: state.db\nevents:\n  sqlite:\n    path: events.db\n", encoding="utf-8")
    return path


def log_of(server: Postgres, fmt: str) -> Path:
    return {"postgres": server.stderr_log, "postgres-csv": server.csv_log, "postgres-json": server.json_log}[fmt]


def duration_entry(data: bytes, after: int, pid: int) -> int:
    """Where the first entry after byte ``after`` with ``pid``'s ``duration:`` starts (a line of the log)."""
    at = data.index(b"\n", after) + 1
    while True:
        end = data.index(b"\n", at)
        line = data[at:end]
        if str(pid).encode() in line and b"duration: " in line:
            return at
        at = end + 1


@pytest.mark.parametrize("how", ["stop", "kill"])
@pytest.mark.parametrize("fmt", PG_FORMATS)
def test_a_duration_after_a_restart_for_a_statement_stored_before_is_counted_and_reported(
    cfg: Path, pg_server: Postgres, fmt: str, how: str
) -> None:
    path = log_of(pg_server, fmt)
    tag = f"rs{fmt.rpartition('-')[2][:1]}{how[0]}"
    db = cfg.parent / "events.db"
    args: dict[str, Any] = {"host": "127.0.0.1", "port": pg_server.port, "user": "clerk", "dbname": "ward"}
    holder = psycopg.connect(**args, autocommit=True)
    waiter = psycopg.connect(**args, autocommit=True)
    lock = 5000 + PG_FORMATS.index(fmt) * 2 + (how == "kill")
    holder.execute(f"SELECT pg_advisory_lock({lock})")  # (test text, not user input)
    blocked = threading.Thread(target=waiter.execute, args=(f"SELECT pg_advisory_lock({lock}) AS {tag}_wait",))
    proc = follow(cfg, fmt, path, LOG_LINE_PREFIX)
    try:
        blocked.start()
        waiting = wait_seen(db, f"{tag}_wait", 1)
        assert len(waiting) == 1  # stored by an idle flush, its duration not yet written
        if how == "kill":
            # Killed once the checkpoint committed with the flush is past the waiting statement (before, it stayed
            # at its start: a restart read it again, now with its duration, under the id already stored).
            assert wait_checkpoint(cfg, above=waiting[0].offset) > waiting[0].offset
            kill(proc)
        else:
            stop_output(proc)
    finally:
        if proc.returncode is None:
            kill(proc)
    # Written while nobody follows the log: the waiting statement's duration, then one more statement.
    holder.execute(f"SELECT pg_advisory_unlock({lock})")
    blocked.join(60)
    waiter.execute(f"SELECT 1 AS {tag}_after")
    pid = waiter.info.backend_pid
    holder.close()
    waiter.close()
    proc = follow(cfg, fmt, path, LOG_LINE_PREFIX)
    try:
        assert len(wait_seen(db, f"{tag}_after", 1)) == 1
    finally:
        out, err = stop_output(proc)
    duration = duration_entry(path.read_bytes(), waiting[0].offset, pid)
    summary = next(line for line in out.splitlines() if line.startswith("real: "))
    assert summary.endswith(", 1 late line"), (summary, err)
    assert "real: 1 late line (arrived after an idle flush had stored the statement; " in err
    assert err.rstrip().endswith(f"{path} byte {duration}")
    assert f"{tag}_wait" not in err
    found = seen(db, f"{tag}_wait")
    assert len(found) == 1  # stored once, as it stood at the flush: no second event, no changed one


LATE_MS = 500 * IDLE_FLUSH  # what the follower takes (half its idle flush)


def resumed_at(
    data: bytes, at: int, fmt: str, prefix: str, late_ms: float = LATE_MS
) -> tuple[list[Record], list[tuple[int, int]]]:
    """The records of a parse resumed at byte ``at`` (offsets made the file's again) and what it told on_late."""
    late: list[tuple[int, int]] = []
    options = ParseOptions(
        source="x",
        tz=zone(ZONE),
        log_line_prefix=prefix,
        on_late=lambda o, n: late.append((o + at, n)),
        resumed=late_ms,
    )
    got = [
        r._replace(offset=r.offset + at) if isinstance(r, Statement) else dataclasses.replace(r, offset=r.offset + at)
        for r in FORMATS[fmt](io.BytesIO(data[at:]), options)
    ]
    return got, late


def marks(data: bytes, fmt: str, prefix: str) -> tuple[list[Statement], set[int]]:
    """Every statement of ``data`` and every mark a follower reading it whole (no pause) could commit."""
    options = ParseOptions(source="x", tz=zone(ZONE), log_line_prefix=prefix)
    pending = PendingStatements()
    every: list[Statement] = []
    found: set[int] = set()
    for record in statements(pending.entries(PG_ENTRIES[fmt](io.BytesIO(data), options)), options):
        if isinstance(record, Statement):
            pending.emitted(record.offset)
            every.append(record)
            at = pending.mark()
            assert at is not None
            found.add(at)
    return every, found


def same(records: list[Record]) -> list[tuple[object, ...]]:
    """What a statement is, line number aside (a resumed parse counts lines from where it starts)."""
    return sorted(
        (s.offset, s.text, s.params, s.duration_ns, s.outcome, s.error) for s in records if isinstance(s, Statement)
    )


@pytest.mark.parametrize("fmt", [*PG_FORMATS, "postgres-interleaved"])
def test_a_parse_resumed_at_any_mark_reads_each_statement_whole_and_nothing_late(
    fmt: str, postgres_run: ServerRun
) -> None:
    """Without a pause nothing is late: a parse resumed at a mark (a restart) takes nothing for late, and reads
    each statement from the mark on whole. With two sessions at once (one statement waiting while the other
    runs several), a mark lies inside the waiting one (at the other's last statement): its duration, after
    the mark, was read before it; it is not late, being shorter than an idle flush (a statement an idle flush
    stored ran at least that long). One that long would be counted late there (see audit.pg_pending)."""
    prefix = postgres_run.log_line_prefix
    if fmt == "postgres-interleaved":
        fmt = "postgres"
        data, held_at = _interleaved(postgres_run.logs[fmt].read_bytes())
    else:
        data, held_at = postgres_run.logs[fmt].read_bytes(), -1
    every, found = marks(data, fmt, prefix)
    if held_at >= 0:
        waiting = next(s for s in every if s.offset == held_at)
        assert waiting.duration_ns is not None and waiting.duration_ns < LATE_MS * 1_000_000
        inside = [at for at in found if held_at < at < data.index(b"duration: ", data.index(b"\n", held_at))]
        assert inside  # what the case is about; were its duration longer, the parse resumed there counts it:
        assert len(resumed_at(data, inside[-1], fmt, prefix, late_ms=0.0)[1]) == 1
    for at in sorted(found):
        got, late = resumed_at(data, at, fmt, prefix)
        assert late == [], at
        assert not [r for r in got if isinstance(r, BadLine)], at
        assert same(got) == same([s for s in every if s.offset >= at]), at


def test_a_resumed_stderr_parse_that_starts_inside_an_entry_tells_its_lines_late(postgres_run: ServerRun) -> None:
    """After a pause the checkpoint is where the stream stood: a multi-line statement's next lines, written
    after the pause, come first when the follower restarts there. They are late lines, not bad ones."""
    prefix = postgres_run.log_line_prefix
    data = postgres_run.logs["postgres"].read_bytes()
    every, _ = marks(data, "postgres", prefix)
    multiline = next(s for s in every if "\n" in s.text)
    at = data.index(b"\n", multiline.offset) + 1  # its second line
    # (Its duration is short: the real statement was not stored at a pause. A late_ms of 0 takes it as if it had.)
    got, late = resumed_at(data, at, "postgres", prefix, late_ms=0.0)
    after = lines_at(data, at, multiline.text.count("\n") + 2)  # its lines, its parameters, its duration
    assert (multiline.params, multiline.duration_ns is not None) == (("'张三'",), True)
    assert b" DETAIL:  parameters: " in data[after[-2][0] : after[-1][0]]
    assert b" LOG:  duration: " in data[after[-1][0] : data.index(b"\n", after[-1][0])]
    assert [o for o, _ in late] == [o for o, _ in after]  # (a resumed parse numbers lines from where it starts)
    assert [o for o, _ in resumed_at(data, at, "postgres", prefix)[1]] == [o for o, _ in after[:-1]]
    assert not [r for r in got if isinstance(r, BadLine)]
    assert same(got) == same([s for s in every if s.offset > multiline.offset])


def test_a_csvlog_pause_inside_a_record_is_not_passed_on(postgres_run: ServerRun) -> None:
    """The checkpoint after a pause is where the stream stood: never inside a CSV record (a quote still open)."""
    data = postgres_run.logs["postgres-csv"].read_bytes()
    every, _ = marks(data, "postgres-csv", "")
    multiline = next(s for s in every if "\n" in s.text)
    cut = data.index(b"\n", multiline.offset) + 1  # after the record's first line
    options = ParseOptions(source="x", tz=zone(ZONE))
    entries = list(csv_entries(Paused([data[:cut], PAUSE, data[cut:], PAUSE]), options))  # type: ignore[arg-type]
    assert [e.offset for e in entries if e is PAUSED] == [-1]  # the one at the end, none inside the record
    assert len(entries) == 1 + len(list(csv_entries(io.BytesIO(data), options)))
