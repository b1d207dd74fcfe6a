"""The embedded SQLite event store on a real file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from netguard.errors import StoreError
from netguard.events import make_event
from netguard.events.sqlite_store import SQLiteEventStore
from netguard.lab.synthetic_events import START_MS, synthetic_events


def test_wal_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "events.db"
    store = SQLiteEventStore(path)
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.write(synthetic_events(10))
    store.close()
    again = SQLiteEventStore(path)
    assert again.count() == 10
    again.close()


def test_resending_stores_nothing_twice(sqlite_store: SQLiteEventStore) -> None:
    events = list(synthetic_events(500))
    first = sqlite_store.write(events)
    assert (first.written, first.duplicates) == (500, 0)
    second = sqlite_store.write(events[100:300] + list(synthetic_events(600))[500:])
    assert (second.written, second.duplicates) == (100, 200)
    assert sqlite_store.count() == 600
    # The text index follows only stored rows: one hit per matching event, no ghosts.
    assert sqlite_store.count("kind:sql AND sql:select") == sum(
        1 for e in list(synthetic_events(600)) if e.kind == "sql" and "select" in e.fields["db.query.text"].lower()
    )


def test_iter_search_pages_in_order(sqlite_store: SQLiteEventStore) -> None:
    sqlite_store.write(synthetic_events(1000, step_ms=0))  # equal timestamps: order falls back to id
    ids = [e.id for e in sqlite_store.iter_search(page_size=64)]
    assert len(ids) == len(set(ids)) == 1000
    assert ids == sorted(ids)
    top = sqlite_store.search(limit=10)
    assert [e.id for e in top.hits] == ids[:10] and top.total == 1000


def test_purge_keeps_text_index_consistent(sqlite_store: SQLiteEventStore) -> None:
    sqlite_store.write(synthetic_events(300, step_ms=1000))
    cutoff = START_MS + 150_000
    removed = sqlite_store.purge(cutoff)
    assert removed == 150
    assert sqlite_store.count() == 150
    fts_rows = sqlite_store.conn.execute("SELECT count(*) FROM events_fts WHERE events_fts MATCH 'ran'").fetchone()[0]
    assert fts_rows == sqlite_store.count("message:ran")


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    SQLiteEventStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version=99")
    conn.close()
    with pytest.raises(StoreError, match="newer than this NetGuard"):
        SQLiteEventStore(path)


def test_unwritable_location_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="cannot open event store"):
        SQLiteEventStore(blocker / "events.db")


def test_text_match_is_substring_and_case_insensitive(sqlite_store: SQLiteEventStore) -> None:
    sqlite_store.write(
        [
            make_event(
                "bastion-command",
                {"event.action": "exec", "process.command_line": "sudo RM -rf /var/lib"},
                timestamp=START_MS / 1000,
            ),
            make_event(
                "bastion-command",
                {"event.action": "exec", "process.command_line": "ls 患者名单"},
                timestamp=START_MS / 1000,
            ),
        ]
    )
    assert sqlite_store.count('command:"rm -rf"') == 1
    assert sqlite_store.count("command:名单") == 1  # two characters: below the trigram, still found
    assert sqlite_store.count("command:r?\\ -rf") == 1
    assert sqlite_store.count("command:rmrf") == 0


def test_threads_share_one_store_safely(sqlite_store: SQLiteEventStore) -> None:
    """A long-running producer (the bastion) writes from many threads while officers search."""
    import threading

    events = list(synthetic_events(2000, seed=21))
    errors: list[BaseException] = []

    def writer(part: int) -> None:
        try:
            for i in range(part, len(events), 4):
                sqlite_store.write([events[i]])
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    def reader() -> None:
        try:
            for _ in range(50):
                sqlite_store.search("risk:>=high", limit=5)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)] + [threading.Thread(target=reader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sqlite_store.count() == 2000
    assert sqlite_store.count("kind:sql AND sql:select") == sum(
        1 for e in events if e.kind == "sql" and "select" in e.fields["db.query.text"].lower()
    )


@pytest.mark.parametrize("network", ["10.1.0.0/16", "10.1.0.0/17", "10.0.0.0/8", "10.20.128.0/20", "fd00::/8"])
def test_cidr_matches_agree_with_python(sqlite_store: SQLiteEventStore, network: str) -> None:
    import ipaddress

    events = list(synthetic_events(1500, seed=5))
    sqlite_store.write(events)
    net = ipaddress.ip_network(network)
    for field in ("source.ip", "related.ip"):
        expected = 0
        for e in events:
            value = e.fields.get(field)
            values = value if isinstance(value, list) else [value] if value else []
            expected += any(ipaddress.ip_address(v) in net for v in values)
        assert sqlite_store.count(f"{field}:{network}") == expected, field
        assert sqlite_store.count(f"NOT {field}:{network}") == len(events) - expected, field
