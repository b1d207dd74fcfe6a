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

import threading
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.audit.test_follow_idle import follow, kill, wait_checkpoint
from tests.audit.test_follow_pause import PG_FORMATS, pg_server, seen, stop_output, wait_seen
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
