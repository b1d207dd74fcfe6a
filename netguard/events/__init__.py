"""The event store: everything that happens, in one place, searchable one way.

``make_event`` builds a checked event; ``open_event_store`` gives the
configured backend (SQLite by default, Elasticsearch when configured); both
answer the same query language (docs/query.md) with the same hits.
"""

from __future__ import annotations

from netguard.config import Config
from netguard.events.model import Event, EventError, make_event
from netguard.events.schema import FIELDS, KINDS
from netguard.events.store import EventStore, SearchResult, WriteResult

__all__ = [
    "FIELDS",
    "KINDS",
    "Event",
    "EventError",
    "EventStore",
    "SearchResult",
    "WriteResult",
    "make_event",
    "open_event_store",
]


def open_event_store(config: Config, backend: str | None = None) -> EventStore:
    """The configured event store (or ``backend`` to override it)."""
    chosen = backend or config.events_backend
    if chosen == "elasticsearch":
        from netguard.events.es_store import ElasticsearchEventStore

        return ElasticsearchEventStore.from_config(config.elasticsearch, config.resolver())
    from netguard.events.sqlite_store import SQLiteEventStore

    return SQLiteEventStore(config.events_sqlite_path)
