from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from netguard.config import Config
from netguard.errors import StoreError
from netguard.store import StateStore, connect, migrate, schema_version
from netguard.store import db as db_module
from netguard.store.migrations import LATEST_VERSION, MIGRATIONS


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_creates_parent_directories_and_a_private_file(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "state.db"
    conn = connect(path)
    conn.close()
    assert path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_wal_mode_foreign_keys_busy_timeout_and_full_sync(state_path: Path) -> None:
    conn = connect(state_path, busy_timeout_ms=1234)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 1234
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert Path(str(state_path) + "-wal").exists()
    finally:
        conn.close()
    # WAL is a property of the file: a plain connection sees it too.
    raw = sqlite3.connect(state_path)
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    raw.close()


def test_foreign_keys_are_enforced(state_path: Path) -> None:
    conn = connect(state_path)
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(
            "INSERT INTO check_results (scan_id, check_id, target, result, evidence, at) "
            "VALUES ('nope', 'c', 't', 'pass', '{}', '2025-01-01')"
        )
    conn.close()


def test_migrations_are_idempotent(state_path: Path) -> None:
    first = connect(state_path)
    assert schema_version(first) == LATEST_VERSION
    tables = _tables(first)
    assert {"sightings", "journal", "journal_outcomes", "isolation_state", "check_scans", "check_results"} <= tables
    assert migrate(first) == LATEST_VERSION  # nothing to do
    first.close()
    for _ in range(2):
        again = connect(state_path)
        assert schema_version(again) == LATEST_VERSION
        assert _tables(again) == tables
        again.close()


def test_migration_versions_are_consecutive() -> None:
    assert [v for v, _ in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))


def test_a_newer_database_is_refused_clearly(state_path: Path) -> None:
    connect(state_path).close()
    raw = sqlite3.connect(state_path)
    raw.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    raw.commit()
    raw.close()
    with pytest.raises(StoreError, match=r"schema version \d+, newer than this NetGuard knows"):
        connect(state_path)


def test_a_failing_migration_leaves_the_old_version(state_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    connect(state_path).close()
    broken = [*MIGRATIONS, (LATEST_VERSION + 1, "CREATE TABLE half_done (x INTEGER);\nTHIS IS NOT SQL;\n")]
    monkeypatch.setattr(db_module, "MIGRATIONS", broken)
    monkeypatch.setattr(db_module, "LATEST_VERSION", LATEST_VERSION + 1)
    with pytest.raises(StoreError):
        connect(state_path)
    monkeypatch.undo()
    conn = connect(state_path)
    assert schema_version(conn) == LATEST_VERSION
    assert "half_done" not in _tables(conn)
    conn.close()


def test_a_file_that_is_not_a_database_gives_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StoreError, match="not a usable state database"):
        connect(path)


def test_opened_from_the_configured_state_path(tmp_path: Path) -> None:
    config = Config(state_path=tmp_path / "deep" / "state.db")
    with StateStore.from_config(config) as store:
        assert schema_version(store.conn) == LATEST_VERSION
    assert config.state_path.is_file()


def test_transactions_are_not_nested(store: StateStore) -> None:
    with db_module.transaction(store.conn):
        nested = db_module.transaction(store.conn)
        with pytest.raises(StoreError, match="already open"):
            nested.__enter__()
