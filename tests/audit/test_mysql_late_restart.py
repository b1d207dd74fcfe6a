"""A MySQL/MariaDB continuation line that arrives after the follower restarted, for a statement an idle flush stored.

The general and slow logs of a real MariaDB (the workload's, copied out), written out in two parts: the first
ends after the first line of a multi-line statement. The follower's idle flush stores that statement as it
stands; the follower is then stopped (SIGTERM) or killed (SIGKILL), the rest of the log written while nobody
follows it, and the follower started again. The statement's other lines are late lines as without the restart:
counted, named by file and byte, not added (the event is stored once, as it stood) and not stored apart, every
other statement stored once. Before, they were dropped without a word: a stop committed the checkpoint past the
statement, and the restarted run's replay from byte 0 (for the connections) read the statement whole before the
checkpoint, skipped as stored; a kill left the checkpoint at the statement's start, and the restarted run read
it again whole under the id already stored, which the store kept as first stored. (A live server writes each
entry in one go; a log written in parts, as here, is how the lines come apart.) Waits are bounded polls.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from audit.records import Statement
from tests.audit.conftest import ServerRun
from tests.audit.test_follow_idle import follow, kill, parse_all, wait_checkpoint
from tests.audit.test_follow_pause import lines_at, stop_output, wait_count
from tests.audit.test_ingest import _expected, _ingest_real, count, stored


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    path = tmp_path / "netguard.yaml"
    path.write_text("state:\n  path: state.db\nevents:\n  sqlite:\n    path: events.db\n", encoding="utf-8")
    return path


def _multiline(data: bytes, every: list[Statement]) -> tuple[Statement, int]:
    """The log's first multi-line statement and the byte after its first line."""
    multiline = next(s for s in every if "\n" in s.text)
    first = multiline.text.split("\n")[0].encode()
    return multiline, data.index(first, multiline.offset) + len(first) + 1


def _summary(out: str) -> str:
    return next(line for line in out.splitlines() if line.startswith("real: "))


@pytest.mark.parametrize("how", ["stop", "kill"])
@pytest.mark.parametrize("fmt", ["mysql-general", "mysql-slow"])
def test_continuation_lines_after_a_restart_for_a_statement_stored_before_are_counted_and_reported(
    cfg: Path, tmp_path: Path, mariadb_run: ServerRun, fmt: str, how: str
) -> None:
    log = mariadb_run.logs[fmt]
    data = log.read_bytes()
    every = parse_all(log, fmt)
    multiline, cut = _multiline(data, every)
    path = tmp_path / log.name
    path.write_bytes(data[:cut])
    before = sum(s.offset <= multiline.offset for s in every)
    proc = follow(cfg, fmt, path)
    try:
        # The log goes quiet after the statement's first line: the idle flush stores it as it stands.
        assert wait_count(cfg, before) == before
        if how == "kill":
            # Killed once the checkpoint committed with the flush is there: past the statement (before, at its
            # start, which a restart read again, now whole, under the id already stored).
            assert wait_checkpoint(cfg, above=multiline.offset - 1) == cut
            kill(proc)
        else:
            out, err = stop_output(proc)
            assert _summary(out).endswith("0 bad lines")  # nothing late yet
    finally:
        if proc.returncode is None:
            kill(proc)
    with path.open("ab") as f:
        f.write(data[cut:])  # its other lines, then the rest of the log, while nobody follows it
    proc = follow(cfg, fmt, path)
    try:
        assert wait_count(cfg, len(every)) == len(every)
    finally:
        out, err = stop_output(proc)
    late = lines_at(data, cut, multiline.text.count("\n"))
    assert late
    # Counted in the restarted run's summary and named by where they start, never by their text; the replay from
    # byte 0 (for the connections) does not count them twice nor anything before the checkpoint.
    assert _summary(out).endswith(f", {len(late)} late line{'s' if len(late) != 1 else ''}")
    assert f"real: {len(late)} late line" in err
    assert ", ".join(f"{path} byte {at}" for at, _ in late) in err
    assert not any(part.strip() in err for part in multiline.text.split("\n")[1:])
    # Every statement once (the same ids: stored once), the late one as it stood at the flush, nothing apart.
    assert count(cfg) == len(every)
    got, whole = dict(stored(cfg)), dict(_expected(path, fmt, ""))
    assert got.keys() == whole.keys()
    assert {at: t for at, t in got.items() if at != multiline.offset} == {
        at: t for at, t in whole.items() if at != multiline.offset
    }
    assert "\n" not in got[multiline.offset] and "\n" in whole[multiline.offset]  # its first line only


@pytest.mark.parametrize("how", ["stop", "kill"])
@pytest.mark.parametrize("fmt", ["mysql-general", "mysql-slow"])
def test_a_restart_between_whole_statements_counts_nothing_late(
    cfg: Path, tmp_path: Path, mariadb_run: ServerRun, fmt: str, how: str
) -> None:
    """The replay pause at the checkpoint takes nothing for late when no statement is open there."""
    log = mariadb_run.logs[fmt]
    data = log.read_bytes()
    every = parse_all(log, fmt)
    multiline, _ = _multiline(data, every)
    cut = multiline.offset  # the log written up to the multi-line statement, the restart, then the rest
    path = tmp_path / log.name
    path.write_bytes(data[:cut])
    before = sum(s.offset < cut for s in every)
    proc = follow(cfg, fmt, path)
    try:
        assert wait_count(cfg, before) == before
        if how == "kill":
            assert wait_checkpoint(cfg, above=max(s.offset for s in every if s.offset < cut) - 1) > 0
            kill(proc)
        else:
            stop_output(proc)
    finally:
        if proc.returncode is None:
            kill(proc)
    with path.open("ab") as f:
        f.write(data[cut:])
    proc = follow(cfg, fmt, path)
    try:
        assert wait_count(cfg, len(every)) == len(every)
    finally:
        out, err = stop_output(proc)
    assert "late line" not in out + err
    assert count(cfg) == len(every)
    assert stored(cfg) == _expected(path, fmt, "")  # every statement once, whole


@pytest.mark.parametrize("fmt", ["mysql-general", "mysql-slow"])
def test_a_one_shot_run_counts_the_lines_added_to_the_statement_the_run_before_ended_with(
    cfg: Path, tmp_path: Path, mariadb_run: ServerRun, fmt: str
) -> None:
    """Without --follow: a run that reads a log ending (with a newline) after a multi-line statement's first line
    stores it as it stands (the file is complete as read); the next run, once the rest is written, counts the
    statement's other lines late (before: dropped without a word, inside the statement the replay skipped)."""
    log = mariadb_run.logs[fmt]
    data = log.read_bytes()
    every = parse_all(log, fmt)
    multiline, cut = _multiline(data, every)
    path = tmp_path / log.name
    path.write_bytes(data[:cut])
    first = _ingest_real(cfg, fmt, "", path)
    assert first.exit_code == 0, first.output
    assert "late line" not in first.output
    with path.open("ab") as f:
        f.write(data[cut:])
    second = _ingest_real(cfg, fmt, "", path)
    late = lines_at(data, cut, multiline.text.count("\n"))
    assert f", {len(late)} late lines" in second.output
    assert ", ".join(f"{path} byte {at}" for at, _ in late) in second.output
    assert count(cfg) == len(every)
