"""What the enforcement lab tests read back: the journal, the events, the chain between them; store opens."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from netguard.config import Config, load_config
from netguard.events import open_event_store
from netguard.events.sqlite_store import SQLiteEventStore
from netguard.store import StateStore
from netguard.store.journal import witness_of
from tests.harness.lab import ping


def reaches(namespace: str, gateway: str) -> bool:
    """Ping with a second and third chance: a port just brought back may drop the first ARP."""
    return any(ping(namespace, gateway) for _ in range(3))


def journal_entries(config: Path) -> list[Any]:
    with StateStore.from_config(load_config(config)) as store:
        return store.journal.entries()


def enforcement_events(config: Path) -> list[dict[str, Any]]:
    store = open_event_store(load_config(config))
    try:
        return [dict(e.fields) for e in store.iter_search("", kinds=["enforcement"])]
    finally:
        store.close()


def assert_chain_verifies(config: Path) -> None:
    """The journal's hash chain verifies against the events' witnesses, and there is at least one."""
    witnesses = [w for w in (witness_of(e) for e in enforcement_events(config)) if w is not None]
    with StateStore.from_config(load_config(config)) as store:
        report = store.journal.verify_chain(witnesses)
    assert report.ok, report.problems()
    assert report.witnesses == len({journal_id for journal_id, _ in witnesses}) > 0


@contextmanager
def store_opens(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """How often the block opens the state store and the (SQLite) event store."""
    opened: Counter[str] = Counter()
    open_state = StateStore.from_config
    open_events = SQLiteEventStore.__init__

    def state(config: Config) -> StateStore:
        opened["state"] += 1
        return open_state(config)

    def events(self: SQLiteEventStore, *args: Any, **kwargs: Any) -> None:
        opened["events"] += 1
        open_events(self, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(StateStore, "from_config", state)
        patch.setattr(SQLiteEventStore, "__init__", events)
        yield opened
