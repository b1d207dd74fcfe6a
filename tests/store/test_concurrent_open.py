"""Several processes' first opens of a new state or event database at once all succeed.

SQLite answers a switch to WAL that races another connection's with "database is locked" at
once, without its busy handler; before ``switch_to_wal`` retried, two audit followers opening a
new state database together failed about one time in ten.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from netguard.events.sqlite_store import SQLiteEventStore
from netguard.store import db


def _open_together(path: Path, open_one: Callable[[Path], None], openers: int = 3) -> list[str]:
    errors: list[str] = []
    barrier = threading.Barrier(openers)

    def one() -> None:
        barrier.wait()
        try:
            open_one(path)
        except Exception as exc:  # the test reports every failure, whatever its kind
            errors.append(repr(exc))

    threads = [threading.Thread(target=one) for _ in range(openers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_new_state_database_opened_by_several_at_once(tmp_path: Path) -> None:
    failures = []
    for i in range(60):
        failures += _open_together(tmp_path / f"s{i}" / "state.db", lambda p: db.connect(p).close())
    assert failures == []


def test_new_event_store_opened_by_several_at_once(tmp_path: Path) -> None:
    failures = []
    for i in range(30):
        failures += _open_together(tmp_path / f"e{i}" / "events.db", lambda p: SQLiteEventStore(p).close())
    assert failures == []
