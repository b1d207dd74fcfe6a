"""Event-store fixtures: an embedded store in a temp dir, and a store on the real Elasticsearch node."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from netguard.events.es_store import ElasticsearchEventStore
from netguard.events.sqlite_store import SQLiteEventStore


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SQLiteEventStore]:
    store = SQLiteEventStore(tmp_path / "events.db", batch_size=97)  # small batches: exercise batching
    yield store
    store.close()


@pytest.fixture
def es_store(es_node: Any, es_client: Elasticsearch) -> Iterator[ElasticsearchEventStore]:
    """A store under a fresh index prefix on the real node; its indices and templates are removed after."""
    prefix = "t" + uuid.uuid4().hex[:10]
    store = ElasticsearchEventStore(es_client, prefix=prefix, replicas=0, batch_size=113, hosts=[es_node.url])
    yield store
    es_client.options(ignore_status=404).indices.delete(index=f"{prefix}-*", allow_no_indices=True)
    es_client.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}-*")
