"""Deleting audit records writes a record of the deletion, which survives every purge (等保2.0 8.1.4.3 c)."""

from __future__ import annotations

import getpass
import time
from pathlib import Path

import pytest

from netguard.errors import StoreError
from netguard.events.deletions import older_events, purge_recorded
from netguard.events.es_store import ElasticsearchEventStore
from netguard.events.sqlite_store import SQLiteEventStore
from netguard.events.store import EventStore
from netguard.lab.county_events import LAB_KINDS
from netguard.lab.synthetic_events import START_MS, synthetic_events

DAY = 86_400_000


def records(store: EventStore) -> list[dict[str, object]]:
    return [dict(e.fields) for e in store.search(kinds=("deletion",), limit=100).hits]


def test_purge_is_recorded_before_and_after_with_who_and_how_many(sqlite_store: SQLiteEventStore) -> None:
    now = int(time.time() * 1000)
    sqlite_store.write(synthetic_events(50, start_ms=now - 300 * DAY, step_ms=60_000, kinds=LAB_KINDS))
    sqlite_store.write(synthetic_events(20, seed=3, start_ms=now - 5 * DAY, kinds=LAB_KINDS))
    done = purge_recorded(sqlite_store, now - 200 * DAY, older_than="200d", forced=False)
    assert (done.matched, done.removed, done.indices) == (50, 50, None)
    result, intent = records(sqlite_store)  # newest first
    assert (intent["event.outcome"], result["event.outcome"]) == ("unknown", "success")
    assert intent["event.id"] == done.intent_id and result["event.id"] == done.record_id
    assert result["user.name"] == getpass.getuser() and result["netguard.deletion.removed"] == 50
    assert result["netguard.deletion.matched"] == intent["netguard.deletion.matched"] == 50
    assert (
        str(result["netguard.deletion.store"]).startswith("sqlite:")
        and result["netguard.deletion.older_than"] == "200d"
    )
    assert sqlite_store.count("NOT kind:deletion") == 20


def test_the_record_survives_a_purge_of_everything(sqlite_store: SQLiteEventStore) -> None:
    sqlite_store.write(synthetic_events(30, kinds=LAB_KINDS))
    first = purge_recorded(sqlite_store, START_MS + DAY, older_than="0d", forced=True)
    # A cut-off in the future: everything older goes, except the records of this purge and the last.
    second = purge_recorded(sqlite_store, int(time.time() * 1000) + DAY, older_than="-1d", forced=True)
    assert first.removed == 30 and second.removed == 0
    ids = {r["event.id"] for r in records(sqlite_store)}
    assert ids == {first.intent_id, first.record_id, second.intent_id, second.record_id}
    assert sqlite_store.count(older_events(int(time.time() * 1000) + DAY)) == 0


def test_no_record_no_deletion(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    writer = SQLiteEventStore(path)
    writer.write(synthetic_events(10, kinds=LAB_KINDS))
    writer.close()
    reader = SQLiteEventStore(path, read_only=True)  # an auditor's copy: it cannot record, so it must not delete
    try:
        with pytest.raises(StoreError, match="cannot record the intent to purge"):
            purge_recorded(reader, START_MS + DAY, older_than="0d", forced=True)
        assert reader.count() == 10
    finally:
        reader.close()


def test_elasticsearch_purge_reports_events_and_keeps_deletion_indices(es_store: ElasticsearchEventStore) -> None:
    events = list(synthetic_events(200, seed=8, step_ms=3_600_000, kinds=LAB_KINDS))  # September and October
    es_store.write(events)
    es_store.refresh()
    done = purge_recorded(es_store, int(time.time() * 1000) + DAY, older_than="0d", forced=True)
    assert done.removed == done.matched == 200 and done.indices is not None and done.indices >= len(LAB_KINDS)
    es_store.refresh()
    assert {r["event.id"] for r in records(es_store)} == {done.intent_id, done.record_id}
    again = purge_recorded(es_store, int(time.time() * 1000) + 40 * DAY, older_than="-40d", forced=True)
    es_store.refresh()
    assert again.removed == 0 and len(records(es_store)) == 4


class _FailingPurge(SQLiteEventStore):
    """A real SQLite store whose purge fails after a late, backdated event arrived (pure logic of the record)."""

    def purge(self, cutoff_ms: int) -> int:
        self.write(synthetic_events(1, seed=9, start_ms=cutoff_ms - DAY, kinds=LAB_KINDS))
        raise StoreError("disk I/O error")


def test_a_failed_purge_leaves_the_intent_and_a_failure_record(tmp_path: Path) -> None:
    store = _FailingPurge(tmp_path / "events.db")
    try:
        now = int(time.time() * 1000)
        store.write(synthetic_events(5, start_ms=now - 300 * DAY, kinds=LAB_KINDS))
        with pytest.raises(StoreError, match="disk I/O error"):
            purge_recorded(store, now - 200 * DAY, older_than="200d", forced=False)
        # Both records may fall in one millisecond: tell them apart by outcome, not by order.
        by_outcome = {str(r["event.outcome"]): r for r in records(store)}
        assert sorted(by_outcome) == ["failure", "unknown"]
        failure = by_outcome["failure"]
        assert failure["error.message"] == "disk I/O error" and failure["netguard.deletion.matched"] == 5
        # More old events than before (one came late) is not a negative count of deleted ones.
        assert failure["netguard.deletion.removed"] == 0 and "failed after 0 events" in str(failure["message"])
    finally:
        store.close()
