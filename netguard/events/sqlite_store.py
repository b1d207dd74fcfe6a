"""The embedded event store: one SQLite file, WAL, FTS5 for text and terms, side indexes.

``events`` keeps each event's JSON once, with the columns most searches use
(time, kind, id, user, outcome, risk, action) pulled out; time, kind and user
are indexed. ``events_fts`` is a contentless FTS5 table (trigram tokenizer,
no positions) over the text fields, so text is stored once; ``event_ips`` and
``events_cjk`` index addresses and short CJK words; ``events_terms``,
``event_numbers``, ``event_shapes`` and ``event_values`` index keyword values,
numbers, present fields and the distinct keyword values
(:mod:`netguard.events.sqlite_index`).

Writes go in bounded batches, one transaction each, so memory stays flat
however many events stream through. A batch is inserted with rowids we
allocate (``INSERT OR IGNORE`` on the unique event id skips duplicates and
leaves a gap); one range read then tells which rows went in, and only those
get index rows, filled from the values already in memory (``executemany``
per table). Measured here, this is 2.5x faster than an insert trigger that
re-parses each document with ``json_extract``. All text fields share one FTS
column (see :func:`netguard.events.query.to_sqlite.fts_body`): 10-20 % faster
to index than a column per field, and the index is only a prefilter anyway.
What kept the write rate up when the side indexes came (measured on
100,000-200,000 events, CPU time): no positions in the trigram index (+12 %),
FTS5 merging its segments lazily (``automerge`` 64; +20 %), batches of 20,000
rather than 5,000 (fewer, larger FTS segments; +17 %; 50,000 rather than 20,000,
another 6 %), and for the terms index
one token per value hashed once per store (a cache), one per event for its
shape rather than one per field present, and every index's rows made a batch
at a time rather than an event at a time (:class:`netguard.events.sqlite_index.batch.Batch`:
34 us an event became 23-28 us of CPU, ``bench/events_index_cost.py`` and
``bench/events.py``). The terms and numbers indexes are still the writer's
largest cost, about 7 us an event, most of it FTS5's
(``bench/events_index_cost.py`` measures each index).
SQLite's own share (``bench/events_sql_replay.py`` replays the statements of a
write under each setting) is about 16 us: 16 KiB pages rather than 4 KiB cut
it by 13 % (new stores; an existing file keeps its page size), and on the event
sink's 500-event commits a checkpoint every 4,000 pages rather than 1,000 cut
it by 8 %. A bigger page cache, mmap, temporary tables in memory, larger FTS5
pages or pending-data hashes changed it by less than the noise. (``automerge``
64 never merges by itself: FTS5's ``crisismerge``, 16, merges a level once it
holds 16 segments. Raising it to 64 saved 1 % of the writer's CPU on a million
events, with four times the segments for every search to read: left at 16.)
The FTS5 tables of a store created empty keep no column sizes (``columnsize=0``,
migration 4): FTS5 keeps them for ranking, which no search here does, at a row
per event in each table's ``%_docsize``. Without them the writer's CPU per event
fell from 22.5 to 20.8 us (``bench/events.py``, 200,000 events, old and new in
turns). Stores created before keep their tables; the store reads which layout
it has when it opens (:meth:`SQLiteEventStore._fts_held`).

A search takes the set of rows the indexes name
(:mod:`netguard.events.query.to_sqlite_index`): when it is the exact answer,
the total is counted from the indexes alone; otherwise the conditions no index
answers are checked on those rows only (or on every row, when no index
narrows the query). The newest page is then found either by walking the time
index or by sorting the matches, whichever reads fewer events
(:meth:`SQLiteEventStore._page_order`).
"""

from __future__ import annotations

import gc
import json
import sqlite3
import threading
import weakref
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from netguard.errors import StoreError
from netguard.events.model import Event, event_from_doc
from netguard.events.query import plan as p
from netguard.events.query.to_sqlite import COLUMNS, count_from_index, fts_bodies, register_functions, to_sqlite
from netguard.events.query.to_sqlite_index import Driver, IndexCompiler
from netguard.events.schema import DELETION_KIND, Field
from netguard.events.sqlite_index import batch as index_rows
from netguard.events.sqlite_index.migrations import MIGRATION, MIGRATION_3
from netguard.events.sqlite_index.terms import NUMBER_FIELDS, TERM_FIELDS, TermIndexer, term_token
from netguard.events.store import Bucket, EventStore, SearchResult, TopResult, WriteResult
from netguard.store.db import create_private, migrate, open_read_only, schema_version, switch_to_wal, writable
from netguard.store.wal_checkpointer import WalCheckpointer

_FTS_INSERT = "INSERT INTO events_fts(rowid, body) VALUES (?, ?)"
PAGE_SIZE = 32_768  # of new stores
CHECKPOINT_PAGES = 4_000  # WAL pages between checkpoints (SQLite's default: 1,000)


# (version, script); append, never edit, once released.
MIGRATIONS: list[tuple[int, str]] = [
    (
        1,
        """
    CREATE TABLE events (
        rowid INTEGER PRIMARY KEY,
        id    TEXT NOT NULL UNIQUE,
        ts    INTEGER NOT NULL,
        kind  TEXT NOT NULL,
        user  TEXT,
        doc   TEXT NOT NULL
    );
    CREATE INDEX events_ts ON events(ts);
    CREATE INDEX events_kind_ts ON events(kind, ts);
    -- Who did it is the officers' first pivot. A column filled from memory costs less
    -- to index than an expression that parses every document.
    CREATE INDEX events_user ON events(user) WHERE user IS NOT NULL;
    CREATE VIRTUAL TABLE events_fts USING fts5(body, content='', tokenize='trigram');
    INSERT INTO events_fts(events_fts, rank) VALUES ('automerge', 16);
    """,
    ),
    (2, MIGRATION),
    (3, MIGRATION_3),
    # 4: new stores' FTS5 tables keep no column sizes (see _NEW_STORE_MIGRATIONS); an existing store keeps
    # its tables as they are (rebuilding a user's index takes minutes and gains nothing it needs), so it
    # has nothing to run. The version still moves, so an older NetGuard, whose purge reads
    # events_fts_docsize, refuses a store made without it rather than failing half-way through a purge.
    (4, ""),
    # 5: a purge drops the keyword values no stored event holds any longer from event_values (the
    # dictionary wildcards are tried on). Each writer caches which values it has put there; the
    # generation moves at each such prune, and a writer that sees it moved forgets its cache, so a
    # pruned value an event brings back is written again (by this process or any other).
    (
        5,
        """
    CREATE TABLE event_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
    INSERT INTO event_meta(key, value) VALUES ('values_generation', 0);
    """,
    ),
]


def _without_column_sizes(script: str, tables: int) -> str:
    """``script`` with ``columnsize=0`` on each of the ``tables`` contentless FTS5 tables it creates."""
    made = script.replace("content='',", "content='', columnsize=0,")
    if made.count("columnsize=0") != tables:  # a migration's text changed under this: say so, never guess
        raise AssertionError(
            f"expected {tables} contentless FTS5 tables in a migration, found {made.count('columnsize=0')}"
        )
    return made


# What a store created empty runs instead: the same schema, but its three FTS5 tables (events_fts,
# events_cjk, events_terms) keep no column sizes. FTS5 otherwise writes a row per event to each table's
# %_docsize table, for ranking (bm25), which no search here does: about 1.6 us of CPU per event
# written. Such a table refuses a scan (``SELECT count(*) FROM events_cjk``); every search reads it
# through MATCH, which is unchanged. Chosen by the version the file had when opened; migrate() reads the version again
# under the write lock, so a store another NetGuard created and filled meanwhile runs only the
# versions it lacks and keeps the layout it has (the store reads its layout at open, not its version).
_NEW_STORE_MIGRATIONS: list[tuple[int, str]] = [
    (1, _without_column_sizes(MIGRATIONS[0][1], 1)),
    (2, _without_column_sizes(MIGRATIONS[1][1], 2)),
    (3, _without_column_sizes(MIGRATIONS[2][1], 1)),
    MIGRATIONS[3],
    MIGRATIONS[4],
]


class SQLiteEventStore(EventStore):
    backend = "sqlite"

    def __init__(self, path: Path | str, *, batch_size: int = 50_000, read_only: bool | None = None) -> None:
        """Open (or create, mode 0600) the store at ``path``.

        ``read_only``: True opens an existing store for reading only (search,
        export); None (the default) does so when the file exists and this user
        cannot write it or its directory (an auditor), else reads and writes.
        Writing to a read-only store raises StoreError.
        """
        self.path = Path(path)
        self.batch_size = batch_size
        self._terms = TermIndexer(TERM_FIELDS, NUMBER_FIELDS)
        self._addresses = index_rows.AddressKeys()
        self._values_generation: int | None = None  # event_meta's, when self._terms' cache was last good
        # One connection, shared by the threads of a long-running producer (the bastion
        # serves many sessions): each statement sequence holds the lock, none across a yield.
        self._lock = threading.RLock()
        self._checkpointer: WalCheckpointer | None = None
        memory = str(path) == ":memory:"
        if read_only is None:
            read_only = not memory and self.path.is_file() and not writable(self.path)
        self.read_only = read_only
        if read_only:
            where = f"event store {self.path}"
            self.conn = open_read_only(self.path, latest=MIGRATIONS[-1][0], where=where, check_same_thread=False)
            register_functions(self.conn)
            self._fts_every_row = _fts_every_row(self.conn)
            return
        try:
            if not memory:
                create_private(self.path)
            self.conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
            self.conn.execute("PRAGMA busy_timeout=10000")
            # Takes effect only on a new, empty file (before WAL and the first table); an existing
            # store keeps its page size. 16 KiB pages cut SQLite's CPU per event written by 13 %
            # against 4 KiB (bench/events_sql_replay.py: fewer page splits and WAL frames) and the file
            # by 8 %; 32 KiB, once checkpoints left the writer's thread, another 2.5-8 % of its CPU
            # (bench/events.py, 300,000 and 1,000,000 events; the file 2 % smaller; the examples'
            # searches within +-12 %, all under 150 ms).
            self.conn.execute(f"PRAGMA page_size={PAGE_SIZE}")
            switch_to_wal(self.conn, 10_000)
            self.conn.execute("PRAGMA synchronous=NORMAL")
            # Every page goes through the WAL, then into the file at a checkpoint. The event sink
            # commits every 500 events, rewriting the same last pages of each index each time: a
            # checkpoint every 4,000 pages (64 MiB) rather than 1,000 copies each page once where
            # it was copied up to 4 times: SQLite's CPU per event -8 %, its wall time -14 %.
            self.conn.execute(f"PRAGMA wal_autocheckpoint={CHECKPOINT_PAGES}")
            self.conn.execute("PRAGMA cache_size=-65536")  # 64 MiB: keeps the id index hot during bulk loads
            # Checkpoints run in a thread beside the writer (see netguard.store.wal_checkpointer).
            if not memory:
                self._checkpointer = WalCheckpointer(self.path, own_pages=CHECKPOINT_PAGES)
                weakref.finalize(self, self._checkpointer.close)  # a store dropped unclosed stops its thread
            register_functions(self.conn)
            new = schema_version(self.conn) == 0
            migrate(self.conn, _NEW_STORE_MIGRATIONS if new else MIGRATIONS, where=f"event store {self.path}")
            self._fts_every_row = _fts_every_row(self.conn)
        except (sqlite3.Error, OSError) as exc:
            busy = isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)
            hint = "; another process holds its write lock (an upgrade of a large store takes minutes)" if busy else ""
            raise StoreError(f"cannot open event store {path}: {exc}{hint}") from None

    # --- writing
    def write(self, events: Iterable[Event]) -> WriteResult:
        result = WriteResult()
        batch: list[Event] = []
        for event in events:
            batch.append(event)
            if len(batch) >= self.batch_size:
                self._flush(batch, result)
                batch = []
        if batch:
            self._flush(batch, result)
        return result

    def _flush(self, batch: list[Event], result: WriteResult) -> None:
        # A batch's rows (tuples, token lists, columns) hold no reference cycles and are freed by
        # reference counting when it ends, yet allocating them set off the cyclic collector, whose
        # walks over every tracked object (the caller's queued events included) took 9 % of the
        # writer's CPU (bench/events.py, 200,000 events, collector on vs paused in turns). It is paused
        # for the batch only, and re-enabled only if this batch paused it: a caller that had turned it
        # off keeps it off.
        paused = gc.isenabled()
        if paused:
            gc.disable()
        try:
            self._write_batch(batch, result)
        finally:
            if paused:
                gc.enable()

    def _write_batch(self, batch: list[Event], result: WriteResult) -> None:
        with self._writing("write to event store"):
            self._check_values_generation()
            base = (self.conn.execute("SELECT max(rowid) FROM events").fetchone()[0] or 0) + 1
            changes = self.conn.total_changes
            self.conn.executemany(
                "INSERT OR IGNORE INTO events(rowid, id, ts, kind, user, outcome, risk, action, doc)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                _event_rows(batch, base),
            )
            written = self.conn.total_changes - changes
            kept: list[Event] = batch
            rowids: Sequence[int] = range(base, base + len(batch))
            if written != len(batch):  # duplicates: only the rowids that went in get index rows
                stored = {r[0] for r in self.conn.execute("SELECT rowid FROM events WHERE rowid >= ?", (base,))}
                kept = [e for e, rowid in zip(batch, rowids, strict=True) if rowid in stored]
                rowids = [rowid for rowid in rowids if rowid in stored]
            rows = index_rows.Batch(rowids, [e.fields for e in kept])
            rows.bodies = fts_bodies(rows)
            self.conn.executemany(_FTS_INSERT, zip(rows.rowids, rows.bodies, strict=True))
            index_rows.store_rows(self.conn, rows, keys=self._addresses)
            self._terms.store(self.conn, rows)
        self._terms.committed()
        result.written += written
        result.duplicates += len(batch) - written

    # --- reading
    def _search(self, plan: p.Plan, kinds: Sequence[str], limit: int) -> SearchResult:
        with self._lock:
            driver = IndexCompiler(self.conn).driver(plan)
            total = self._count_locked(plan, driver)
            rows = []
            if total and limit > 0:
                order = self._page_order(total, limit)
                if not order and driver is not None:
                    # Few matches: fetch them by rowid from the index's set, sort them by time.
                    where, params = self._in_driver(driver)
                    sql = f"SELECT e.doc FROM events e WHERE {where} ORDER BY e.ts DESC, e.id ASC LIMIT ?"
                else:
                    # Walking back in time, each row read is checked as it comes: no index gathers all matches.
                    where, params = to_sqlite(plan, index_ips=not order)
                    sql = f"SELECT e.doc FROM events e {order} WHERE {where} ORDER BY e.ts DESC, e.id ASC LIMIT ?"
                rows = self.conn.execute(sql, [*params, limit]).fetchall()
        return SearchResult(total=total, hits=[_load(r[0]) for r in rows])

    def _count_locked(self, plan: p.Plan, driver: Driver | None) -> int:
        """The number of matches: from the indexes alone when they answer the whole plan (posting lists
        merged, index ranges counted), else by checking the rows an index names, else every row."""
        counted: tuple[str, list[Any]] | None
        if driver is not None and driver.rest is None and driver.rows.fts is not None:
            counted = "SELECT count(*) FROM events_terms WHERE events_terms MATCH ?", [driver.rows.fts]
        elif driver is not None and driver.rest is None:
            sql, params = driver.rows.select()
            counted = f"SELECT count(*) FROM ({sql})", list(params)
        elif driver is not None:
            where, more = self._in_driver(driver)
            counted = f"SELECT count(*) FROM events e WHERE {where}", more
        else:
            counted = count_from_index(plan)
            if counted is None:
                where, more = to_sqlite(plan)
                counted = f"SELECT count(*) FROM events e WHERE {where}", more
        return int(self.conn.execute(*counted).fetchone()[0])

    @staticmethod
    def _in_driver(driver: Driver) -> tuple[str, list[Any]]:
        """The condition "in the driver's rows, and satisfying the rest" on ``events e``."""
        sql, params = driver.rows.select()
        where, more = to_sqlite(driver.rest) if driver.rest is not None else ("1", [])
        return f"e.rowid IN ({sql}) AND {where}", [*params, *more]

    def _page_order(self, total: int, limit: int) -> str:
        """How to find the newest ``limit`` of ``total`` matches: walk the time index, or sort the matches.

        Walking back in time stops after the ``limit``-th match, having checked about
        ``limit * events / total`` events; sorting reads all ``total``. SQLite cannot know
        ``total`` when it plans (it would sort 50,000 matches of ``user:alice`` to keep 50), so the
        count taken first decides: walk when it checks fewer events than a sort reads.
        """
        events = self.conn.execute("SELECT max(rowid) FROM events").fetchone()[0] or 0
        return "INDEXED BY events_ts" if limit * events < total * total else ""

    def _iter(self, plan: p.Plan, kinds: Sequence[str], page_size: int) -> Iterator[Event]:
        # Keyset pagination (after the last time and id seen) keeps each page an index range scan.
        where, params = to_sqlite(plan)
        after: tuple[int, str] | None = None
        while True:
            cond, extra = "", []
            if after is not None:
                cond = " AND (e.ts < ? OR (e.ts = ? AND e.id > ?))"
                extra = [after[0], after[0], after[1]]
            with self._lock:
                rows = self.conn.execute(
                    f"SELECT e.ts, e.id, e.doc FROM events e WHERE {where}{cond} ORDER BY e.ts DESC, e.id ASC LIMIT ?",
                    [*params, *extra, page_size],
                ).fetchall()
            for _, _, doc in rows:
                yield _load(doc)
            if len(rows) < page_size:
                return
            after = (rows[-1][0], rows[-1][1])

    def _count(self, plan: p.Plan, kinds: Sequence[str]) -> int:
        with self._lock:
            return self._count_locked(plan, IndexCompiler(self.conn).driver(plan))

    def _top(
        self, plan: p.Plan, kinds: Sequence[str], f: Field, limit: int, prefix: str, sample: str | None
    ) -> TopResult:
        """One GROUP BY in SQLite (json_each for an array field); a window sum gives what the rest count."""
        where, params = to_sqlite(plan)
        path = _path(f.name)
        if f.array:
            source, value = f"events e, json_each(e.doc, {path}) j", "j.value"
        else:
            source, value = "events e", COLUMNS.get(f.name) or f"json_extract(e.doc, {path})"
        keep = "v IS NOT NULL" + (" AND substr(v, 1, ?) = ?" if prefix else "")
        extra: list[Any] = [len(prefix), prefix] if prefix else []
        picked = f", min(json_extract(e.doc, {_path(sample)}))" if sample else ", NULL"
        sql = (
            f"SELECT v, c, s, sum(c) OVER () FROM (SELECT {value} AS v, count(*) AS c{picked} AS s FROM {source} "
            f"WHERE ({where}) GROUP BY v) WHERE {keep} ORDER BY c DESC, v ASC LIMIT ?"
        )
        with self._lock:
            rows = self.conn.execute(sql, [*params, *extra, limit]).fetchall()
            total = int(self.conn.execute(f"SELECT count(*) FROM events e WHERE {where}", params).fetchone()[0])
            missing = None
            if not f.array:
                missing = int(
                    self.conn.execute(
                        f"SELECT count(*) FROM events e WHERE ({where}) AND {value} IS NULL", params
                    ).fetchone()[0]
                )
        buckets = [Bucket(str(v), int(c), None if smp is None else str(smp)) for v, c, smp, _ in rows]
        everything = int(rows[0][3]) if rows else 0
        return TopResult(total, buckets, everything - sum(b.count for b in buckets), missing)

    def purge(self, before_ms: int) -> int:
        """Delete events older than ``before_ms`` (retention); returns how many.

        Records of deletions (kind ``deletion``) are kept: they are the evidence that
        audit records were removed, and by whom (等保2.0 8.1.4.3 c).

        A contentless FTS5 table forgets a row only when told the text it
        indexed, so each row's text is rebuilt from its document first.
        """
        removed = 0
        while True:
            with self._writing("purge the event store"):
                rows = self.conn.execute(
                    "SELECT rowid, doc FROM events WHERE ts < ? AND kind != ? ORDER BY ts LIMIT ?",
                    (before_ms, DELETION_KIND, self.batch_size),
                ).fetchall()
                docs = index_rows.Batch([r[0] for r in rows], [json.loads(r[1]) for r in rows])
                docs.bodies = fts_bodies(docs)
                self.conn.executemany(
                    "INSERT INTO events_fts(events_fts, rowid, body) VALUES ('delete', ?, ?)", self._fts_held(docs)
                )
                index_rows.store_rows(self.conn, docs, delete=True, keys=self._addresses)
                self._terms.store(self.conn, docs, delete=True)
                self.conn.executemany("DELETE FROM events WHERE rowid = ?", [(r[0],) for r in rows])
            if not rows:
                if removed:
                    self._prune_values()
                return removed
            removed += len(rows)

    @contextmanager
    def _writing(self, doing: str) -> Iterator[None]:
        """One write transaction under the store's lock, committed when the block ends.

        Rolled back on any exception, not only SQLite's (an interrupt, a value the driver cannot
        bind): a batch left open would hold events without their index entries and refuse every
        later write. The term indexer then forgets what it cached of the batch. A SQLite error is
        a StoreError saying what was being done (``doing``: "write to event store").
        """
        with self._lock:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                yield
                self.conn.execute("COMMIT")
                if self._checkpointer is not None:
                    self._checkpointer.committed(self.conn)
            except BaseException as exc:
                self._terms.rolled_back()
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise StoreError(f"cannot {doing} {self.path}: {exc}") from None
                raise

    def _check_values_generation(self) -> None:
        """Forget the cached keyword values when a purge (here or in another process) pruned the dictionary."""
        generation = self.conn.execute("SELECT value FROM event_meta WHERE key = 'values_generation'").fetchone()[0]
        if generation != self._values_generation:
            self._terms.rolled_back()
            self._values_generation = generation

    def _prune_values(self) -> None:
        """Drop from ``event_values`` each keyword value, and from ``event_shapes`` each shape, no stored event holds.

        A purge must not leave the user names, hosts and table names of the events it removed
        behind in the dictionary. A value (a shape: a set of field names) stays while its token
        names an event in the terms index.
        """

        def unheld(token: str) -> bool:
            match = "SELECT 1 FROM events_terms WHERE events_terms MATCH ? LIMIT 1"
            return self.conn.execute(match, (f'"{token}"',)).fetchone() is None

        with self._writing("purge the event store"):
            values = self.conn.execute("SELECT field, value FROM event_values").fetchall()
            gone = [(field, value) for field, value in values if unheld(term_token(field, value))]
            shapes = [r[0] for r in self.conn.execute("SELECT token FROM event_shapes")]
            gone_shapes = [(token,) for token in shapes if unheld(token)]
            if gone:
                self.conn.executemany("DELETE FROM event_values WHERE field = ? AND value = ?", gone)
            if gone_shapes:
                self.conn.executemany("DELETE FROM event_shapes WHERE token = ?", gone_shapes)
            if gone or gone_shapes:
                self.conn.execute("UPDATE event_meta SET value = value + 1 WHERE key = 'values_generation'")
        # The purge's own deletes filled this writer's cache too: the next batch starts afresh.
        self._terms.rolled_back()

    def _fts_held(self, docs: index_rows.Batch) -> list[tuple[int, str]]:
        """The (rowid, body) of the rows ``events_fts`` holds, of the rows given with their text.

        The writer indexes every event, but migration 2 rebuilt the index without the events that
        have no text: told to forget one of those, FTS5 counts a row it never held, and reports the
        file as malformed once that count would fall below zero. Only a row with no text can be
        missing; its ``events_fts_docsize`` row (FTS5's record of each row it holds) says. A store
        made without column sizes (:data:`_NEW_STORE_MIGRATIONS`) has no such record and needs none:
        only the writer ever filled its index, with every event's row.
        """
        if self._fts_every_row:
            return list(zip(docs.rowids, docs.bodies, strict=True))
        empty = [rowid for rowid, body in zip(docs.rowids, docs.bodies, strict=True) if not body]
        held = set()
        if empty:
            held = {
                r[0]
                for r in self.conn.execute(
                    "SELECT id FROM events_fts_docsize WHERE id IN (SELECT value FROM json_each(?))",
                    (json.dumps(empty),),
                )
            }
        return [(rowid, body) for rowid, body in zip(docs.rowids, docs.bodies, strict=True) if body or rowid in held]

    @property
    def checkpointer(self) -> WalCheckpointer | None:
        """The thread that copies this writer's log into the file (None for a read-only or in-memory store)."""
        return self._checkpointer

    def refresh(self) -> None:
        """Writes are visible on commit; nothing to do."""

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.close()
        self.conn.close()


def _event_rows(batch: Sequence[Event], base: int) -> Iterator[tuple[Any, ...]]:
    """The ``events`` table's rows of a batch, the first at rowid ``base``.

    A generator, not a list: each row's tuple is freed once bound, so a batch of 50,000 does not
    pile up tuples for Python's garbage collector to scan and promote.
    """
    for i, e in enumerate(batch):
        f = e.fields
        yield (
            base + i,
            e.id,
            e.timestamp_ms,
            e.kind,
            f.get("user.name"),
            f.get("event.outcome"),
            f.get("netguard.risk"),
            f.get("event.action"),
            e.json,
        )


def _fts_every_row(conn: sqlite3.Connection) -> bool:
    """Whether ``events_fts`` holds a row for every event: true of a store made without column sizes
    (no ``events_fts_docsize``), which migration 2 never rebuilt."""
    found = conn.execute("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'events_fts_docsize'")
    return found.fetchone() is None


def _path(name: str) -> str:
    """A JSON path literal for a top-level key with dots in it ('$."user.name"')."""
    return "'$.\"" + name.replace('"', '\\"') + "\"'"


def _load(doc: str) -> Event:
    return event_from_doc(json.loads(doc), doc)
