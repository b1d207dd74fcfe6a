"""The checkpoint registry on real files: resume, rotation, truncation, replacement, restart."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from netguard.errors import StoreError
from netguard.store import connect, migrate, schema_version
from netguard.store.checkpoints import Action, CheckpointRegistry, Mark
from netguard.store.migrations import LATEST_VERSION, MIGRATIONS

SOURCE = "his-general"
LINE = b"2026-11-25T18:00:00 42 Query SELECT * FROM patients WHERE id = 7\n"


@pytest.fixture
def conn(state_path: Path) -> Iterator[sqlite3.Connection]:
    c = connect(state_path)
    yield c
    c.close()


@pytest.fixture
def registry(conn: sqlite3.Connection) -> CheckpointRegistry:
    return CheckpointRegistry(conn)


def _write(path: Path, data: bytes, mode: str = "ab") -> None:
    with path.open(mode) as fh:
        fh.write(data)


def test_a_new_file_starts_at_zero_and_resumes_where_the_sink_confirmed(
    registry: CheckpointRegistry, tmp_path: Path
) -> None:
    log = tmp_path / "general.log"
    _write(log, LINE * 3)
    first = registry.open(SOURCE, log)
    assert (first.action, first.offset) == (Action.START, 0)
    assert "new file" in first.reason
    registry.commit(first.checkpoint.at(2 * len(LINE)))
    again = registry.open(SOURCE, log)
    assert (again.action, again.offset) == (Action.RESUME, 2 * len(LINE))
    assert again.checkpoint.file_key == first.checkpoint.file_key


def test_resume_after_a_restart_of_the_reader(state_path: Path, tmp_path: Path) -> None:
    log = tmp_path / "general.log"
    _write(log, LINE * 4)
    conn = connect(state_path)
    decision = CheckpointRegistry(conn).open(SOURCE, log)
    CheckpointRegistry(conn).commit(decision.checkpoint.at(len(LINE)))
    conn.close()
    _write(log, LINE)  # the server kept writing while we were down
    conn = connect(state_path)
    try:
        resumed = CheckpointRegistry(conn).open(SOURCE, log)
        assert (resumed.action, resumed.offset) == (Action.RESUME, len(LINE))
        assert resumed.checkpoint.file_key == decision.checkpoint.file_key
    finally:
        conn.close()


def test_rotation_by_rename_keeps_the_old_file_and_starts_the_new_one(
    registry: CheckpointRegistry, tmp_path: Path
) -> None:
    log, rotated = tmp_path / "general.log", tmp_path / "general.log.1"
    _write(log, LINE * 3)
    old = registry.open(SOURCE, log)
    registry.commit(old.checkpoint.at(len(LINE)))
    log.rename(rotated)  # logrotate's default: rename, then the server reopens a new file
    _write(log, b"2026-11-25T19:00:00 43 Connect app@10.1.2.3\n")

    new = registry.open(SOURCE, log)
    assert (new.action, new.offset) == (Action.START, 0)
    assert "rotated" in new.reason
    assert new.checkpoint.file_key != old.checkpoint.file_key
    assert new.previous is not None and new.previous.file_key == old.checkpoint.file_key

    # The follower finishes the old file under its new name, from where it was.
    found = registry.locate(new.previous, sorted(tmp_path.glob("general.log*")))
    assert found == rotated
    drain = registry.open(SOURCE, rotated)
    assert (drain.action, drain.offset) == (Action.RESUME, len(LINE))
    assert drain.checkpoint.file_key == old.checkpoint.file_key and drain.checkpoint.path == str(rotated)
    assert "renamed" in drain.reason
    registry.commit(drain.checkpoint.at(rotated.stat().st_size))
    registry.retire(drain.checkpoint, "read to the end after rotation")
    assert [c.file_key for c in registry.all(SOURCE)] == [new.checkpoint.file_key]


def test_truncation_restarts_from_zero_under_a_new_identity(registry: CheckpointRegistry, tmp_path: Path) -> None:
    log = tmp_path / "general.log"
    _write(log, LINE * 5)
    before = registry.open(SOURCE, log)
    registry.commit(before.checkpoint.at(5 * len(LINE)))
    os.truncate(log, 0)  # copytruncate, or "> general.log"
    _write(log, LINE)
    after = registry.open(SOURCE, log)
    assert (after.action, after.offset) == (Action.START, 0)
    assert "truncated" in after.reason
    # New offsets start at 0 again: a new file key keeps their event ids apart from the old ones.
    assert after.checkpoint.file_key != before.checkpoint.file_key
    old = registry.get(SOURCE, before.checkpoint.file_key)
    assert old is not None and not old.active and old.retired_reason is not None
    assert "truncated" in old.retired_reason


def test_replacement_in_place_under_the_same_name_is_detected(registry: CheckpointRegistry, tmp_path: Path) -> None:
    log = tmp_path / "general.log"
    _write(log, LINE * 2)
    before = registry.open(SOURCE, log)
    registry.commit(before.checkpoint.at(len(LINE)))
    inode = log.stat().st_ino
    # Same inode, other content, longer than the checkpoint: only the fingerprint can tell.
    _write(log, b"2026-11-26T08:00:00 7 Query SELECT 2\n" * 4, mode="r+b")
    assert log.stat().st_ino == inode and log.stat().st_size >= len(LINE)
    after = registry.open(SOURCE, log)
    assert (after.action, after.offset) == (Action.START, 0)
    assert "replaced" in after.reason
    assert after.checkpoint.file_key != before.checkpoint.file_key


def test_replacement_by_another_file_under_the_same_name(registry: CheckpointRegistry, tmp_path: Path) -> None:
    log, other = tmp_path / "general.log", tmp_path / "incoming.log"
    _write(log, LINE * 2)
    before = registry.open(SOURCE, log)
    registry.commit(before.checkpoint.at(2 * len(LINE)))
    _write(other, LINE * 3)  # same first bytes, a different file
    other.replace(log)
    after = registry.open(SOURCE, log)
    assert (after.action, after.offset) == (Action.START, 0)
    assert after.previous is not None and after.previous.file_key == before.checkpoint.file_key
    assert registry.locate(after.previous, [log]) is None  # the old file is gone


def test_a_short_files_fingerprint_grows_with_it(registry: CheckpointRegistry, tmp_path: Path) -> None:
    log = tmp_path / "general.log"
    _write(log, LINE)
    first = registry.open(SOURCE, log)
    assert first.checkpoint.fingerprint_len == len(LINE)
    _write(log, LINE * 40)
    grown = registry.open(SOURCE, log)
    assert grown.action is Action.RESUME
    assert grown.checkpoint.fingerprint_len == registry.fingerprint_bytes == 1024
    assert grown.checkpoint.fingerprint != first.checkpoint.fingerprint


def test_identity_comes_from_the_open_handle(registry: CheckpointRegistry, tmp_path: Path) -> None:
    log, rotated = tmp_path / "general.log", tmp_path / "general.log.1"
    _write(log, LINE * 2)
    with log.open("rb") as handle:
        log.rename(rotated)
        _write(log, b"new\n")
        decision = registry.open(SOURCE, log, handle)  # describes the file we hold, not the new one
    assert decision.checkpoint.inode == rotated.stat().st_ino
    assert decision.checkpoint.fingerprint_len == 2 * len(LINE)


def test_commits_only_move_forward_and_name_unknown_checkpoints(registry: CheckpointRegistry, tmp_path: Path) -> None:
    log = tmp_path / "general.log"
    _write(log, LINE * 3)
    cp = registry.open(SOURCE, log).checkpoint
    assert registry.commit([cp.at(len(LINE)), cp.at(3 * len(LINE)), cp.at(2 * len(LINE))]) == 1
    assert registry.commit(cp.at(len(LINE))) == 0  # a late ack does not move it back
    current = registry.get(SOURCE, cp.file_key)
    assert current is not None and current.offset == 3 * len(LINE)
    with pytest.raises(StoreError, match="no checkpoint nope for source 'his-general'"):
        registry.commit(Mark(SOURCE, "nope", 1))
    with pytest.raises(StoreError, match=r"cannot read .*missing\.log"):
        registry.open(SOURCE, tmp_path / "missing.log")


def test_sources_do_not_share_checkpoints(registry: CheckpointRegistry, tmp_path: Path) -> None:
    log = tmp_path / "general.log"
    _write(log, LINE)
    a = registry.open("a", log)
    registry.commit(a.checkpoint.at(len(LINE)))
    b = registry.open("b", log)
    assert (b.action, b.offset) == (Action.START, 0)


def test_a_version_1_database_gains_the_checkpoints_table(state_path: Path) -> None:
    state_path.parent.mkdir(parents=True)
    raw = sqlite3.connect(state_path, isolation_level=None)
    migrate(raw, MIGRATIONS[:1])
    assert schema_version(raw) == 1
    raw.close()
    conn = connect(state_path)
    try:
        assert schema_version(conn) == LATEST_VERSION
        assert conn.execute("SELECT count(*) FROM checkpoints").fetchone()[0] == 0
    finally:
        conn.close()
