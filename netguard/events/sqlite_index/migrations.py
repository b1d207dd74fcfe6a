"""Migrations 2 and 3 of the event store, which build the side indexes from the stored documents, and the
SQL functions they call."""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Callable, Mapping
from typing import Any

from netguard.events.sqlite_index.addresses import IP_FIELD_BITS, ip_key
from netguard.events.sqlite_index.cjk import cjk_tokens
from netguard.events.sqlite_index.terms import NUMBER_FIELDS, TERM_FIELDS, TermIndexer

# Migration 2: the side indexes, filled from the documents already stored (in SQL, calling the
# functions register_index_functions adds to every connection before it migrates).
_IP_SOURCES = " UNION ALL ".join(
    f"SELECT ng_ip_key(j.value) AS addr, e.rowid AS event, {bit} AS bit "
    f"FROM events e, json_each(e.doc, '$.\"{name}\"') j"
    for name, bit in IP_FIELD_BITS.items()
)
MIGRATION = f"""
    CREATE TABLE event_ips (
        addr   BLOB NOT NULL,
        event  INTEGER NOT NULL,
        fields INTEGER NOT NULL,
        PRIMARY KEY (addr, event)
    ) WITHOUT ROWID;
    INSERT INTO event_ips(addr, event, fields)
        SELECT addr, event, sum(bit) FROM ({_IP_SOURCES}) WHERE addr IS NOT NULL GROUP BY addr, event;
    -- The trigram index without positions (detail=none): a third less work per event written. A run
    -- is then looked up as its trigrams ANDed rather than as a phrase: more candidates in theory,
    -- the same exact check after.
    DROP TABLE events_fts;
    CREATE VIRTUAL TABLE events_fts USING fts5(body, content='', detail=none, tokenize='trigram');
    INSERT INTO events_fts(events_fts, rank) VALUES ('automerge', 64);
    INSERT INTO events_fts(rowid, body)
        SELECT rowid, body FROM (SELECT rowid, ng_fts_body(doc) AS body FROM events) WHERE body != '';
    CREATE VIRTUAL TABLE events_cjk USING fts5(body, content='', detail=none, tokenize='ascii');
    INSERT INTO events_cjk(events_cjk, rank) VALUES ('automerge', 64);
    INSERT INTO events_cjk(rowid, body)
        SELECT rowid, tokens FROM (SELECT rowid, ng_cjk_tokens(doc) AS tokens FROM events) WHERE tokens != '';
    -- Fields most searches name, as columns: a scan reads them without parsing each document.
    -- (An index over them made counts read only the index, but cost a fifth of the write rate.)
    ALTER TABLE events ADD COLUMN outcome TEXT;
    ALTER TABLE events ADD COLUMN risk TEXT;
    ALTER TABLE events ADD COLUMN action TEXT;
    UPDATE events SET
        outcome = ng_doc_value(doc, 'event.outcome'),
        risk = ng_doc_value(doc, 'netguard.risk'),
        action = ng_doc_value(doc, 'event.action');
"""


def register_index_functions(conn: sqlite3.Connection, body_of: Callable[[Mapping[str, Any]], str]) -> None:
    """The functions migration 2 calls: ``ng_ip_key``, ``ng_cjk_tokens``, ``ng_fts_body``, ``ng_doc_value``.

    ``body_of(fields)`` is the text the trigram index holds for an event (passed in: it lives
    with the query compiler, which imports this module).
    """
    conn.create_function("ng_ip_key", 1, lambda t: None if t is None else ip_key(str(t)), deterministic=True)
    conn.create_function("ng_cjk_tokens", 1, lambda doc: cjk_tokens(body_of(json.loads(doc))), deterministic=True)
    conn.create_function("ng_fts_body", 1, lambda doc: body_of(json.loads(doc)), deterministic=True)
    conn.create_function("ng_doc_value", 2, _doc_value, deterministic=True)
    # Migration 3: one indexer for the whole pass, so it can list the shapes and values it met.
    indexer = TermIndexer(TERM_FIELDS, NUMBER_FIELDS)

    @functools.lru_cache(maxsize=1)
    def index_doc(doc: str) -> tuple[str, list[tuple[int, Any, int]]]:
        fields = json.loads(doc)
        return indexer.rows(fields, body_of(fields), 0)

    conn.create_function("ng_terms", 1, lambda doc: index_doc(doc)[0], deterministic=True)
    conn.create_function("ng_numbers", 1, lambda doc: json.dumps([[c, v] for c, v, _ in index_doc(doc)[1]]))
    conn.create_function("ng_new_shapes", 0, lambda: json.dumps(indexer.new_shapes, ensure_ascii=False))
    # ->> would cut a value at a NUL (see _doc_value)
    conn.create_function("ng_item", 2, lambda text, i: json.loads(text)[i], deterministic=True)
    conn.create_function("ng_new_values", 0, lambda: json.dumps(sorted(indexer.new_values), ensure_ascii=False))


@functools.lru_cache(maxsize=1)
def _parsed(doc: str) -> dict[str, Any]:
    # The three columns of one row are read from one parse.
    return dict(json.loads(doc))


def _doc_value(doc: str, name: str) -> Any:
    """A field of a stored document, whole (``->>`` would cut a string at a NUL, as ``json_extract`` does)."""
    return _parsed(doc).get(name)


# Migration 3: the terms, numbers, shapes and values of the events already stored (in SQL, through the
# functions register_index_functions adds; ng_new_shapes and ng_new_values return what the ng_terms
# calls before them found).
MIGRATION_3 = """
    CREATE VIRTUAL TABLE events_terms USING fts5(body, content='', detail=none, tokenize='ascii');
    INSERT INTO events_terms(events_terms, rank) VALUES ('automerge', 64);
    CREATE TABLE event_shapes (token TEXT PRIMARY KEY, fields TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE event_values (field TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (field, value)) WITHOUT ROWID;
    CREATE TABLE event_numbers (
        field INTEGER NOT NULL,
        value NOT NULL,
        event INTEGER NOT NULL,
        PRIMARY KEY (field, value, event)
    ) WITHOUT ROWID;
    INSERT INTO events_terms(rowid, body) SELECT rowid, ng_terms(doc) FROM events;
    INSERT INTO event_numbers(field, value, event)
        SELECT j.value ->> 0, j.value ->> 1, e.rowid FROM events e, json_each(ng_numbers(e.doc)) j;
    INSERT OR IGNORE INTO event_shapes(token, fields) SELECT j.key, j.value FROM json_each(ng_new_shapes()) j;
    INSERT OR IGNORE INTO event_values(field, value)
        SELECT ng_item(j.value, 0), ng_item(j.value, 1) FROM json_each(ng_new_values()) j;
"""
