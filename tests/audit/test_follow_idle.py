"""The follower on logs real servers wrote: idle flush, PostgreSQL checkpoints mid-file, SIGKILL and restart.

Each test knows every statement in its log (parsed from the whole file) and
checks the store ends with each one once, whole, whatever the follower went
through. Waits are bounded polls, not timing assertions.
"""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from audit.formats import FORMATS, ParseOptions
from audit.formats.pg_entries import stderr_entries
from audit.formats.pg_statements import statements
from audit.pg_pending import PendingStatements
from audit.records import Statement
from audit.timestamps import zone
from netguard.store import StateStore
from tests.audit.conftest import ServerRun
from tests.audit.test_ingest import ROOT, _expected, count, stored, wait_for

ZONE = "Asia/Shanghai"
# An entry's first line under the harness's log_line_prefix ('%m [%p] ...'): its pid groups a session's entries.
_PG_ENTRY = re.compile(rb"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \S+ \[(\d+)\] ")


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    path = tmp_path / "netguard.yaml"
    path.write_text("state:\n  path: state.db\nevents:\n  sqlite:\n    path: events.db\n", encoding="utf-8")
    return path


def follow(cfg: Path, fmt: str, path: Path, prefix: str = "") -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "cli", "--config", str(cfg), "audit", "ingest", "--format", fmt]
    cmd += ["--timezone", ZONE, "--source", "real", "--follow", str(path)]
    if prefix:
        cmd += ["--log-line-prefix", prefix]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode in (0, 1), err.decode()


def kill(proc: subprocess.Popen[bytes]) -> None:
    proc.kill()
    proc.wait(timeout=30)


def checkpoint(cfg: Path) -> int:
    with StateStore.open(cfg.parent / "state.db") as state:
        found = state.checkpoints.all("real")
    return found[0].offset if found else 0


def wait_checkpoint(cfg: Path, above: int = 0, timeout: float = 60.0) -> int:
    deadline = time.monotonic() + timeout
    while (at := checkpoint(cfg)) <= above and time.monotonic() < deadline:
        time.sleep(0.2)
    return at


def statement_end(data: bytes, stmt: Statement) -> int:
    """The byte after the last line of ``stmt`` as logged (its text spans that many lines)."""
    at = stmt.offset
    for _ in range(stmt.text.count("\n") + 1):
        at = data.index(b"\n", at) + 1
    return at


def parse_all(path: Path, fmt: str, prefix: str = "") -> list[Statement]:
    options = ParseOptions(source=str(path), tz=zone(ZONE), log_line_prefix=prefix or "%m [%p] ")
    with path.open("rb") as f:
        return [r for r in FORMATS[fmt](f, options) if isinstance(r, Statement)]


def test_idle_flush_emits_the_last_multiline_statement_of_a_real_general_log_once(
    cfg: Path, tmp_path: Path, mariadb_run: ServerRun
) -> None:
    real = mariadb_run.logs["mysql-general"]
    data = real.read_bytes()
    every = parse_all(real, "mysql-general")
    multiline = next(s for s in every if "\n" in s.text)
    cut = statement_end(data, multiline)  # the log ends with it: only the next entry would say it is complete
    path = tmp_path / real.name
    path.write_bytes(data[:cut])
    before = len([s for s in every if s.offset <= multiline.offset])
    proc = follow(cfg, "mysql-general", path)
    try:
        assert wait_for(cfg, before, timeout=60) == before  # the held statement came out on its own
        with path.open("ab") as f:
            f.write(data[cut:])
        assert wait_for(cfg, len(every), timeout=60) == len(every)
    finally:
        stop(proc)
    assert stored(cfg) == _expected(path, "mysql-general", "")  # each once, whole


def _interleaved(data: bytes) -> tuple[bytes, int]:
    """The real log with a second session's entries written while the first one's statement runs.

    The first session's first statement is followed (before its duration line) by every entry of the
    next session that runs statements, as a server writes them when the two run concurrently. Returns
    the log and where the held statement starts.
    """
    entries: list[tuple[bytes, bytes]] = []  # (pid, the entry's lines)
    for line in data.splitlines(keepends=True):
        m = _PG_ENTRY.match(line)
        if m is not None or not entries:
            entries.append((m.group(1) if m else b"", line))
        else:
            entries[-1] = (entries[-1][0], entries[-1][1] + line)
    starts = [i for i, (_, e) in enumerate(entries) if b"LOG:  statement: " in e or b"LOG:  execute " in e]
    first = starts[0]
    held_pid = entries[first][0]
    other = next(entries[i][0] for i in starts if entries[i][0] != held_pid)
    moved = [e for e in entries if e[0] == other]
    rest = [e for e in entries[first + 1 :] if e[0] != other]
    out = b"".join(e for _, e in entries[: first + 1])
    held_at = len(b"".join(e for _, e in entries[:first]))
    return out + b"".join(e for _, e in moved) + b"".join(e for _, e in rest), held_at


def test_postgres_checkpoint_marks_never_pass_a_held_statement(postgres_run: ServerRun, tmp_path: Path) -> None:
    prefix = postgres_run.log_line_prefix
    data, held_at = _interleaved(postgres_run.logs["postgres"].read_bytes())
    options = ParseOptions(source="x", tz=zone(ZONE), log_line_prefix=prefix)
    pending = PendingStatements()
    emitted: list[tuple[int, int | None]] = []  # (statement offset, the mark right after it)
    for record in statements(pending.entries(stderr_entries(io.BytesIO(data), options)), options):
        if isinstance(record, Statement):
            pending.emitted(record.offset)
            emitted.append((record.offset, pending.mark()))
    # The composition is the one FORMATS uses.
    direct = [r for r in FORMATS["postgres"](io.BytesIO(data), options) if isinstance(r, Statement)]
    assert [o for o, _ in emitted] == [s.offset for s in direct]
    offsets = [o for o, _ in emitted]
    assert offsets != sorted(offsets)  # the held statement left after the other session's
    for i, (_, mark) in enumerate(emitted):
        later = offsets[i + 1 :]
        assert mark is not None
        assert all(o >= mark for o in later), (i, mark)  # resuming at the mark re-reads all that is to come
    assert any(mark == held_at for _, mark in emitted)  # held back while the statement waited
    assert emitted[-1][1] is not None and emitted[-1][1] > held_at  # and moved on once it came out


def test_sigkill_while_a_postgres_statement_waits_loses_and_doubles_nothing(
    cfg: Path, tmp_path: Path, postgres_run: ServerRun
) -> None:
    prefix = postgres_run.log_line_prefix
    data, held_at = _interleaved(postgres_run.logs["postgres"].read_bytes())
    # Cut where the other session's entries end: the first statement still waits for its duration.
    full = tmp_path / "full.log"
    full.write_bytes(data)
    every = parse_all(full, "postgres", prefix)
    waiting = next(s for s in every if s.offset == held_at)
    cut = _block_end(data, held_at)
    path = tmp_path / "postgresql.log"
    path.write_bytes(data[:cut])
    ready = [s for s in parse_all(path, "postgres", prefix) if s.offset != waiting.offset]
    proc = follow(cfg, "postgres", path, prefix)
    try:
        assert wait_for(cfg, len(ready), timeout=60) >= len(ready)
        at = wait_checkpoint(cfg)
    finally:
        kill(proc)
    # Committed mid-file, never past the waiting statement while it is held: only once the log went quiet and
    # the idle flush stored it as it stood (its duration, written later, is not added).
    assert at > 0
    assert at <= held_at or held_at in {o for o, _ in stored(cfg)}
    with path.open("ab") as f:
        f.write(data[cut:])
    proc = follow(cfg, "postgres", path, prefix)
    try:
        assert wait_for(cfg, len(every), timeout=60) >= len(every)
    finally:
        stop(proc)
    assert stored(cfg) == _expected(path, "postgres", prefix)
    assert count(cfg) == len(every)


def _block_end(data: bytes, held_at: int) -> int:
    """Where the moved session's entries end: the start of the first entry of the held session after it."""
    held_pid = _PG_ENTRY.match(data, held_at)
    assert held_pid is not None
    pid = held_pid.group(1)
    at = data.index(b"\n", held_at) + 1
    while True:
        m = _PG_ENTRY.match(data, at)
        if m is not None and m.group(1) == pid:
            return at
        at = data.index(b"\n", at) + 1
