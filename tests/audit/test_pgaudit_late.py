"""pgaudit's multi-line AUDIT entry whose next lines arrive after the idle flush stored it: counted late.

A real PostgreSQL stderr log with pgaudit's lines, written out in two parts: the second starts inside a
multi-line entry (a statement of several lines, logged as one CSV field). The follower's idle flush stores
the entry as it stands; its other lines, written later, are late lines: counted, named by file and byte,
never by their text, and not stored apart. Before, the follower ended its parse at the idle flush and
parsed on from that entry's start, reading it again whole and skipping it (stored already): its other
lines vanished without a word. Then it pauses the parse, as for PostgreSQL's other formats.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.audit.conftest import ServerRun
from tests.audit.test_follow_idle import follow, kill, parse_all, wait_checkpoint
from tests.audit.test_follow_pause import lines_at, stop_output, wait_count
from tests.audit.test_ingest import count


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    path = tmp_path / "netguard.yaml"
    path.write_text("state:\n  path: state.db\nevents:\n  sqlite:\n    path: events.db\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("restart", [False, True])
def test_a_pgaudit_entry_s_lines_after_the_idle_flush_are_counted_and_reported(
    cfg: Path, tmp_path: Path, postgres_run: ServerRun, restart: bool
) -> None:
    """With ``restart``, the follower is killed once it committed the flush and started again before the
    entry's other lines are written: they are late all the same (the checkpoint is past the entry)."""
    prefix = postgres_run.log_line_prefix
    log = postgres_run.logs["pgaudit"]
    data = log.read_bytes()
    every = parse_all(log, "pgaudit", prefix)
    multiline = next(s for s in every if "\n" in s.text)
    cut = data.index(b"\n", multiline.offset) + 1  # after the entry's first line
    path = tmp_path / "postgresql.log"
    path.write_bytes(data[:cut])
    proc = follow(cfg, "pgaudit", path, prefix)
    try:
        # The log goes quiet after the entry's first line: the idle flush stores it as it stands.
        before = sum(s.offset <= multiline.offset for s in every)
        assert wait_count(cfg, before) == before
        if restart:
            assert wait_checkpoint(cfg, above=multiline.offset) > multiline.offset
            kill(proc)
            proc = follow(cfg, "pgaudit", path, prefix)
        with path.open("ab") as f:
            f.write(data[cut:])  # its other lines, then the rest of the log
        assert wait_count(cfg, len(every)) == len(every)
    finally:
        out, err = stop_output(proc)
    late = multiline.text.count("\n")
    assert late > 0
    summary = next(line for line in out.splitlines() if line.startswith("real: "))
    assert summary.endswith(f", {late} late lines"), (summary, err)
    assert f"real: {late} late lines (arrived after an idle flush had stored the statement; " in err
    assert f"{path} byte {cut}, " in err
    assert [f"byte {o}" in err for o, _ in lines_at(data, cut, late)] == [True] * late
    assert not any(part.strip() in err for part in multiline.text.split("\n")[1:])
    assert count(cfg) == len(every)  # nothing stored twice or apart
