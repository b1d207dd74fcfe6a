"""Checkpoints from a thread of their own (netguard.store.wal_checkpointer), on real SQLite files."""

from __future__ import annotations

import gc
import sqlite3
import threading
import time
from pathlib import Path

from netguard.events.sqlite_store import CHECKPOINT_PAGES, SQLiteEventStore
from netguard.lab.synthetic_events import synthetic_events
from netguard.store.wal_checkpointer import WalCheckpointer, backstop_pages


def _wait_for(condition: object, what: str, seconds: float = 30.0) -> None:
    """Poll ``condition`` (a callable) until true; a generous bound, not a timing claim."""
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s: {what}")
        time.sleep(0.01)


def _threads() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name.startswith("wal-checkpoint")}


def test_the_thread_copies_the_log_and_the_writer_keeps_only_a_backstop(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    store = SQLiteEventStore(path)
    try:
        assert store.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == CHECKPOINT_PAGES
        assert path.stat().st_size < 100_000
        store.write(synthetic_events(3000))
        checkpointer = store._checkpointer
        assert checkpointer is not None
        _wait_for(lambda: checkpointer.checkpoints >= 1, "the thread's first checkpoint")
        # The writer no longer copies pages at each commit past 4,000; only past the backstop.
        page = store.conn.execute("PRAGMA page_size").fetchone()[0]
        assert store.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == backstop_pages(page)
        assert f"wal-checkpoint {path.name}" in _threads()
        assert checkpointer.failed is None
        # The pages are in the database file itself, not only in the log (a fresh store's file holds
        # nothing until a checkpoint: its migrations were committed to the log).
        assert path.stat().st_size > 1_000_000
        # Searches see everything while the thread works.
        assert store.count() == 3000
    finally:
        store.close()
    # Closed: the thread is gone, and the writer's connection, the last, removed the log as SQLite does.
    assert f"wal-checkpoint {path.name}" not in _threads()
    assert not (tmp_path / "events.db-wal").exists()
    again = SQLiteEventStore(path)
    assert again.count() == 3000
    again.close()


def test_a_failed_thread_puts_the_writer_back_on_its_own_checkpoints(tmp_path: Path) -> None:
    # A directory where the file should be: the thread cannot open it (a real failure, no stand-in).
    (tmp_path / "not-a-file").mkdir()
    writer = sqlite3.connect(tmp_path / "events.db", isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=4000")
    checkpointer = WalCheckpointer(tmp_path / "not-a-file", own_pages=4000)
    checkpointer.committed(writer)
    assert writer.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == backstop_pages(
        writer.execute("PRAGMA page_size").fetchone()[0]
    )
    _wait_for(lambda: checkpointer.failed is not None, "the thread's failure")
    assert "cannot open" in (checkpointer.failed or "")
    checkpointer.committed(writer)  # the next commit sees it
    assert writer.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 4000
    checkpointer.committed(writer)  # and stays on its own, no thread started again
    assert writer.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 4000
    assert checkpointer.checkpoints == 0
    checkpointer.close()
    writer.close()


def test_a_store_dropped_without_close_stops_its_thread(tmp_path: Path) -> None:
    path = tmp_path / "dropped.db"
    store = SQLiteEventStore(path)
    store.write(synthetic_events(50))
    assert f"wal-checkpoint {path.name}" in _threads()
    del store
    gc.collect()
    _wait_for(lambda: f"wal-checkpoint {path.name}" not in _threads(), "the dropped store's thread to stop")


def test_read_only_and_memory_stores_start_no_thread(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    store = SQLiteEventStore(path)
    store.write(synthetic_events(10))
    store.close()
    reader = SQLiteEventStore(path, read_only=True)
    memory = SQLiteEventStore(":memory:")
    memory.write(synthetic_events(10))
    assert reader._checkpointer is None and memory._checkpointer is None
    assert reader.count() == 10 and memory.count() == 10
    reader.close()
    memory.close()
