"""Schema 3 of the SQLite store: searches answered from the terms, numbers, shapes and values indexes
find exactly what checking every row finds, through writes, purges and the upgrade of a schema-2 store."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from netguard.events import make_event
from netguard.events.model import Event
from netguard.events.query import plan as p
from netguard.events.query.matching import matcher
from netguard.events.query.to_sqlite import fts_body, register_functions, to_sqlite
from netguard.events.query.to_sqlite_index import IndexCompiler
from netguard.events.schema import DEFAULT_TEXT_FIELDS, FIELDS
from netguard.events.sqlite_index.batch import store_rows
from netguard.events.sqlite_index.cjk import cjk_tokens
from netguard.events.sqlite_index.terms import NUMBER_FIELDS
from netguard.events.sqlite_store import MIGRATIONS, SQLiteEventStore, _event_rows
from netguard.lab.synthetic_events import START_MS, synthetic_events
from netguard.store.db import migrate
from tests.events.fts_rows import fts_rows

NOW = START_MS + 2 * 3_600_000

EDGE: list[tuple[str, dict[str, Any]]] = [
    ("sql", {"event.action": "query", "db.query.text": "SELECT * FROM \u212aelvin", "tags": ["pii", "Night"]}),
    ("sql", {"event.action": "query", "db.query.text": "DELETE FROM x WHERE a = 'b\\c'", "tags": ["night"]}),
    ("sql", {"event.action": "query", "db.query.text": 'drop "quoted" table', "netguard.sql.rows_sent": 0}),
    ("sql", {"event.action": "query", "db.query.text": "İstanbul drop\x00table", "user.name": "Alice"}),
    ("bastion-command", {"event.action": "exec", "process.command_line": "grep -E '[a-z]+@x' *.log"}),
    ("bastion-command", {"event.action": "exec", "process.command_line": "echo null", "user.name": "al\x00ice"}),
    ("file-transfer", {"event.action": "upload", "file.path": "/tmp/a.sql", "file.size": 1000}),
    ("file-transfer", {"event.action": "upload", "file.path": "/tmp/b.sql", "file.size": 5000, "error.message": "x"}),
    ("device", {"event.action": "new", "host.mac": "3c:52:82:00:00:01", "netguard.device.authorised": False}),
    ("link", {"event.action": "sample", "netguard.link.loss": 0, "netguard.link.rtt_avg_ms": 1.5}),
]

QUERIES = [
    "",
    "user:alice",
    "user:Alice",
    "user:adm*",
    "user:?ob",
    "user:al*",
    "kind:sql",
    "tags:pii",
    "tags:night",
    "tags:Night",
    "tags:n*",
    "NOT tags:pii",
    "risk:>=high",
    "risk:{low TO critical}",
    "risk:info",
    "error.message:*",
    "tags:*",
    "netguard.sql.rows_sent:*",
    "file.size:*",
    "bytes:<1000",
    "bytes:[1000 TO 5000]",
    "bytes:{1000 TO 5000}",
    "file.size:>1.5",
    "bytes:1000",
    "netguard.link.loss:0",
    "netguard.link.rtt_avg_ms:>=1.5",
    "netguard.sql.rows_sent:0",
    "mac:3C:52:82:*",
    "mac:3c:52:82:00:00:01",
    "mac:AA-BB-CC-DD-EE-FF",
    "netguard.device.authorised:false",
    "kind:device AND action:new AND netguard.device.authorised:false",
    "user:alice AND outcome:failure",
    "(user:alice OR user:bob) AND NOT outcome:success",
    "NOT outcome:success AND risk:critical",
    "user:alice AND risk:>=high",
    "-user:alice",
    "NOT (user:alice OR tags:pii)",
    "user:alice OR source.ip:10.1.0.0/16",
    "source.ip:10.1.0.0/16 AND NOT risk:info",
    "related.ip:10.0.0.0/8 AND user:bob",
    "bytes:>100 OR tags:bulk",
    "NOT bytes:>100",
    "user:alice AND sql:select",
    "NOT user:alice AND sql:select",
    "user:alice AND NOT sql:select",
    "NOT risk:*",
    "host.name:his*",
    "error.message:* OR tags:pii",
    "bytes:>1000000 AND user:bob",
    "tags:pii AND @timestamp:>now-1h",
    "kind:sql AND NOT db.query.text:*",
    'sql:"delete from"',
    "sql:select*patients",
    "drop",
    '"drop table"',
    "sql:\\*",
    "command:\\[a-z\\]",
    "kelvin",
    "sql:kelvin",
    "null",
    "istanbul",
    "\\'b\\\\c\\'",
    '"quoted"',
    "sql:\\=",
    "sql:\\(",
]


def _events() -> list[Event]:
    edge = [make_event(k, f, timestamp=(START_MS + i * 1000) / 1000) for i, (k, f) in enumerate(EDGE)]
    return edge + list(synthetic_events(1500, seed=21))


def _every_row(store: SQLiteEventStore, query: str) -> list[str]:
    """The matches found by checking every row (the row condition alone, no index sets)."""
    plan = p.compile_query(query, now=NOW)
    where, params = to_sqlite(plan)
    rows = store.conn.execute(f"SELECT e.id FROM events e WHERE {where} ORDER BY e.ts DESC, e.id ASC", params)
    return [r[0] for r in rows]


def _agrees(store: SQLiteEventStore, queries: list[str]) -> None:
    for query in queries:
        every = _every_row(store, query)
        assert store.count(query, now=NOW) == len(every), query
        for limit in (3, 50):
            result = store.search(query, limit=limit, now=NOW)
            assert result.total == len(every), query
            assert [e.id for e in result.hits] == every[:limit], (query, limit)


def test_index_answers_match_the_row_check(tmp_path: Path) -> None:
    store = SQLiteEventStore(tmp_path / "events.db", batch_size=500)
    try:
        store.write(_events())
        # Most of these are answered from the indexes alone: the test would not test them otherwise.
        exact = [q for q in QUERIES if (d := IndexCompiler(store.conn).driver(p.compile_query(q, now=NOW))) and d.exact]
        assert len(exact) > 30
        _agrees(store, QUERIES)
    finally:
        store.close()


def test_purged_events_leave_the_indexes(tmp_path: Path) -> None:
    store = SQLiteEventStore(tmp_path / "events.db", batch_size=300)
    try:
        events = _events()
        store.write(events)
        cut = sorted(e.timestamp_ms for e in events)[len(events) // 2]
        assert store.purge(cut) > 0
        _agrees(store, QUERIES)
        assert store.conn.execute("SELECT count(*) FROM event_numbers").fetchone()[0] == sum(
            1 for e in events if e.timestamp_ms >= cut for name in e.fields if name in NUMBER_FIELDS
        )
    finally:
        store.close()


@pytest.mark.parametrize(
    "pattern",
    ["drop", "kelvin", "select * from", "null", "istanbul", "b\\c", '"quoted"', "table", "x where", "*"],
)
def test_text_found_in_sql_as_the_matcher_finds_it(tmp_path: Path, pattern: str) -> None:
    """The check in C (a plain word in the value's JSON text) agrees with the matcher on every text."""
    store = SQLiteEventStore(tmp_path / "events.db")
    try:
        events = _events()[:12] + list(synthetic_events(200, seed=3))
        store.write(events)
        check = matcher(pattern.replace("\\", "\\\\").replace("*", "\\*"), True, True)
        want = sorted(
            e.id for e in events if any(check(str(e.fields[f])) for f in DEFAULT_TEXT_FIELDS if f in e.fields)
        )
        plan = p.Contains(tuple(FIELDS[f] for f in DEFAULT_TEXT_FIELDS), (pattern,))
        assert sorted(e.id for e in store.iter_search(plan)) == want
    finally:
        store.close()


def _write_as_version_2(path: Path, events: list[Event]) -> None:
    """A store as NetGuard wrote it before migration 3: events with their columns, trigram, address and
    CJK indexes."""
    conn = sqlite3.connect(path, isolation_level=None)
    register_functions(conn)
    migrate(conn, MIGRATIONS[:2], where="test store")
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO events(rowid, id, ts, kind, user, outcome, risk, action, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        _event_rows(events, 1),  # the columns schema 2 added are the store's still
    )
    conn.executemany(
        "INSERT INTO events_fts(rowid, body) VALUES (?, ?)", [(i, fts_body(e.fields)) for i, e in enumerate(events, 1)]
    )
    store_rows(conn, [(i, e.fields, fts_body(e.fields)) for i, e in enumerate(events, 1)])
    conn.execute("COMMIT")
    conn.close()


def test_a_schema_2_store_upgrades_in_place(tmp_path: Path) -> None:
    events = _events()
    _write_as_version_2(tmp_path / "old.db", events)
    upgraded = SQLiteEventStore(tmp_path / "old.db")
    fresh = SQLiteEventStore(tmp_path / "fresh.db")
    try:
        assert upgraded.conn.execute("PRAGMA user_version").fetchone()[0] == MIGRATIONS[-1][0] == 5
        fresh.write(events)
        for query in QUERIES:
            want = [e.id for e in fresh.search(query, limit=50, now=NOW).hits]
            assert [e.id for e in upgraded.search(query, limit=50, now=NOW).hits] == want, query
            assert upgraded.count(query, now=NOW) == fresh.count(query, now=NOW), query
        # New events go on after the old ones, indexed like them.
        more = list(synthetic_events(1700, seed=21))[1500:]
        assert upgraded.write(more).written == len(more)
        _agrees(upgraded, QUERIES)
    finally:
        upgraded.close()
        fresh.close()


ESCAPED = [
    ("sql", {"event.action": "query", "db.query.text": "nbl lah\nblah"}),
    ("bastion-command", {"event.action": "exec", "process.command_line": "u00 01y x\u0001y"}),
    ("sql", {"event.action": "query", "db.query.text": "tab le\ttable"}),
]


@pytest.mark.parametrize("query", ["sql:nblah", "nblah", "command:u0001y", "u0001y", "sql:ttable", "table"])
def test_a_word_is_not_found_inside_a_json_escape(tmp_path: Path, query: str) -> None:
    """``a\\nblah`` is stored as JSON ``"a\\\\nblah"``: the word ``nblah`` is in that text, not in the value."""
    store = SQLiteEventStore(tmp_path / "events.db")
    try:
        events = [make_event(k, f, timestamp=(START_MS + i * 1000) / 1000) for i, (k, f) in enumerate(ESCAPED)]
        store.write(events)
        plan = p.compile_query(query, now=NOW)
        word = query.rsplit(":", maxsplit=1)[-1]
        assert isinstance(plan, p.Contains)
        fields = [f.name for f in plan.fields]
        want = sorted(e.id for e in events if any(word in str(e.fields.get(f, "")).lower() for f in fields))
        assert sorted(e.id for e in store.iter_search(plan)) == want
        assert store.count(query, now=NOW) == len(want)
    finally:
        store.close()


@pytest.mark.parametrize("query", ["user:u*", "user:u\U0010ffff*", "user:*x", "user:\U0010ffff*"])
def test_a_keyword_wildcard_finds_values_past_the_highest_code_point(tmp_path: Path, query: str) -> None:
    """The values a wildcard's literal prefix starts are a range of the values dictionary; its upper
    end must lie past ``u\\U0010ffffx``, which sorts after ``u\\U0010ffff``."""
    store = SQLiteEventStore(tmp_path / "events.db")
    try:
        names = ["u\U0010ffffx", "\U0010ffff\U0010ffffx", "v"]
        store.write(
            [
                make_event("sql", {"event.action": "query", "user.name": n}, timestamp=(START_MS + i) / 1000)
                for i, n in enumerate(names)
            ]
        )
        _agrees(store, [query])
        assert store.count(query, now=NOW) >= 1
    finally:
        store.close()


def test_a_batch_interrupted_half_way_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An exception that is no SQLite error (an interrupt, a bug) between the event rows and the index rows
    rolls the batch back: no event without its index entries, and the next batch is written."""
    store = SQLiteEventStore(tmp_path / "events.db", batch_size=100)
    try:
        events = _events()
        real = store._terms.store

        def interrupted(*args: Any, **kwargs: Any) -> None:
            raise KeyboardInterrupt

        monkeypatch.setattr(store._terms, "store", interrupted)
        with pytest.raises(KeyboardInterrupt):
            store.write(events[:100])
        assert not store.conn.in_transaction
        monkeypatch.setattr(store._terms, "store", real)
        assert store.write(events).written == len(events)
        _agrees(store, QUERIES)
    finally:
        store.close()


def _write_as_version_1(path: Path, events: list[Event]) -> None:
    """A store as NetGuard wrote it at schema 1: events and the trigram index, every row in it."""
    conn = sqlite3.connect(path, isolation_level=None)
    register_functions(conn)
    migrate(conn, MIGRATIONS[:1], where="test store")
    conn.execute("BEGIN")
    for rowid, e in enumerate(events, 1):
        conn.execute(
            "INSERT INTO events(rowid, id, ts, kind, user, doc) VALUES (?, ?, ?, ?, ?, ?)",
            (rowid, e.id, e.timestamp_ms, e.kind, e.fields.get("user.name"), e.json),
        )
        conn.execute("INSERT INTO events_fts(rowid, body) VALUES (?, ?)", (rowid, fts_body(e.fields)))
    conn.execute("COMMIT")
    conn.close()


def test_a_schema_1_store_upgrades_and_purges_every_event(tmp_path: Path) -> None:
    """Migration 2 rebuilt the trigram index without the events that have no text (a device event);
    purging them must not tell the index to forget rows it never held (FTS5 then reports the file
    as malformed once its row count would drop below zero)."""
    events = _events()
    assert any(fts_body(e.fields) == "" for e in events)
    _write_as_version_1(tmp_path / "old.db", events)
    store = SQLiteEventStore(tmp_path / "old.db")
    try:
        assert store.conn.execute("PRAGMA user_version").fetchone()[0] == 5
        assert _docsize_tables(store) == {"events_fts_docsize", "events_cjk_docsize", "events_terms_docsize"}
        _agrees(store, QUERIES)
        assert store.purge(max(e.timestamp_ms for e in events) + 1) == len(events)
        assert [_fts_rows(store, t) for t in FTS_TABLES] == [0, 0, 0]
        assert store.count("", now=NOW) == 0
        # The rowids start again at 1: nothing of the purged events may answer for the new ones.
        assert store.write(events[:700]).written == 700
        _agrees(store, QUERIES)
        store.conn.execute("INSERT INTO events_fts(events_fts, rank) VALUES ('integrity-check', 0)")
    finally:
        store.close()


FTS_TABLES = ("events_fts", "events_cjk", "events_terms")


def _docsize_tables(store: SQLiteEventStore) -> set[str]:
    return {
        r[0] for r in store.conn.execute("SELECT name FROM sqlite_schema WHERE name LIKE '%\\_docsize' ESCAPE '\\'")
    }


def _fts_rows(store: SQLiteEventStore, table: str) -> int:
    return fts_rows(store.conn, table)


def _cjk_held(events: list[Event]) -> int:
    return sum(1 for e in events if cjk_tokens(fts_body(e.fields)))


def test_a_new_store_keeps_no_column_sizes_and_purges_exactly(tmp_path: Path) -> None:
    """A store created empty makes its FTS5 tables with columnsize=0 (no %_docsize tables); its purge
    forgets every event's row, those without text too, and nothing else."""
    events = _events()
    assert any(fts_body(e.fields) == "" for e in events)
    store = SQLiteEventStore(tmp_path / "events.db", batch_size=300)
    try:
        assert _docsize_tables(store) == set()
        for table in FTS_TABLES:
            sql = store.conn.execute("SELECT sql FROM sqlite_schema WHERE name = ?", (table,)).fetchone()[0]
            assert "columnsize=0" in sql and "detail=none" in sql and "content=''" in sql, sql
            assert store.conn.execute(f"SELECT v FROM {table}_config WHERE k = 'automerge'").fetchone()[0] == 64
        store.write(events)
        assert [_fts_rows(store, t) for t in FTS_TABLES] == [len(events), _cjk_held(events), len(events)]
        ordered = sorted(events, key=lambda e: e.timestamp_ms)
        cut = ordered[len(events) // 2].timestamp_ms
        kept = [e for e in events if e.timestamp_ms >= cut]
        assert store.purge(cut) == len(events) - len(kept)
        assert [_fts_rows(store, t) for t in FTS_TABLES] == [len(kept), _cjk_held(kept), len(kept)]
        _agrees(store, QUERIES)
        for table in FTS_TABLES:
            store.conn.execute(f"INSERT INTO {table}({table}, rank) VALUES ('integrity-check', 0)")
        assert store.purge(max(e.timestamp_ms for e in events) + 1) == len(kept)
        assert [_fts_rows(store, t) for t in FTS_TABLES] == [0, 0, 0]
        store.conn.execute("CREATE VIRTUAL TABLE temp.fts_terms USING fts5vocab(main, events_fts, 'row')")
        assert store.conn.execute("SELECT count(*) FROM temp.fts_terms").fetchone()[0] == 0
    finally:
        store.close()
    reader = SQLiteEventStore(tmp_path / "events.db", read_only=True)
    try:
        assert reader.count("", now=NOW) == 0
    finally:
        reader.close()


def test_a_store_made_before_version_4_keeps_its_tables(tmp_path: Path) -> None:
    """A store created by the previous NetGuard (schema 3, column sizes kept) is only marked as
    version 4: same tables, and its purge still goes by what its index holds."""
    events = _events()
    path = tmp_path / "v3.db"
    conn = sqlite3.connect(path, isolation_level=None)
    register_functions(conn)
    migrate(conn, MIGRATIONS[:3], where="test store")
    schema = set(conn.execute("SELECT name, sql FROM sqlite_schema"))
    conn.close()
    store = SQLiteEventStore(path, batch_size=300)
    try:
        assert store.conn.execute("PRAGMA user_version").fetchone()[0] == 5
        # Its tables as they were; migration 5 only adds the values generation.
        assert {r for r in store.conn.execute("SELECT name, sql FROM sqlite_schema") if r[0] != "event_meta"} == schema
        assert _docsize_tables(store) == {f"{t}_docsize" for t in FTS_TABLES}
        store.write(events)
        assert [_fts_rows(store, t) for t in FTS_TABLES] == [len(events), _cjk_held(events), len(events)]
        assert store.purge(sorted(e.timestamp_ms for e in events)[len(events) // 2]) > 0
        _agrees(store, QUERIES)
        assert store.purge(max(e.timestamp_ms for e in events) + 1) > 0
        assert [_fts_rows(store, t) for t in FTS_TABLES] == [0, 0, 0]
        for table in FTS_TABLES:
            store.conn.execute(f"INSERT INTO {table}({table}, rank) VALUES ('integrity-check', 0)")
    finally:
        store.close()


def test_a_fresh_store_purges_every_event_and_reuses_the_rowids(tmp_path: Path) -> None:
    events = _events()
    store = SQLiteEventStore(tmp_path / "events.db")
    try:
        store.write(events)
        assert store.purge(max(e.timestamp_ms for e in events) + 1) == len(events)
        assert store.write(events[:700]).written == 700
        _agrees(store, QUERIES)
        for table in ("events_fts", "events_cjk", "events_terms"):
            store.conn.execute(f"INSERT INTO {table}({table}, rank) VALUES ('integrity-check', 0)")
    finally:
        store.close()


# Capitals SQLite's trigram tokenizer leaves as they are, whose lower case Python knows: Georgian
# Mtavruli, Latin capital reversed open e, Cherokee, Deseret, Adlam.
NEWER_CAPITALS = ["\u1c90\u1c91\u1c92", "\ua7ab", "\u13a0", "\U00010400", "\U0001e900"]


@pytest.mark.parametrize("capital", NEWER_CAPITALS)
def test_text_in_letters_sqlite_does_not_fold_is_found(tmp_path: Path, capital: str) -> None:
    """The trigram index must not lose a text the matcher finds: ``sql:ɜrror`` finds ``Ɜrror``."""
    store = SQLiteEventStore(tmp_path / "events.db")
    try:
        texts = [f"select {capital}rror from t", f"select {capital.lower()}rror from t", "select error from t"]
        events = [
            make_event("sql", {"event.action": "query", "db.query.text": t}, timestamp=(START_MS + i) / 1000)
            for i, t in enumerate(texts)
        ]
        store.write(events)
        for word in (capital, capital.lower()):
            query = f'sql:"{word}rror from"'
            want = sum(1 for t in texts if f"{word}rror from".lower() in t.lower())
            assert want == 2
            assert store.count(query, now=NOW) == want, query
            _agrees(store, [query])
    finally:
        store.close()


def test_the_layout_cache_stays_bounded_and_still_writes_every_shape() -> None:
    from netguard.events.sqlite_index.terms import TermIndexer

    indexer = TermIndexer(frozenset({"user.name"}), {})
    indexer.LAYOUTS = 3
    shapes: set[str] = set()
    for i in range(10):
        names = {f"x{i}": 1, "user.name": "alice"}
        indexer.rows(names, "", i)
        shapes.add(next(iter(indexer.new_shapes.keys() - shapes)))
        assert len(indexer._layouts) <= 3
    assert len(indexer.new_shapes) == 10 and set(indexer.new_shapes) == shapes
