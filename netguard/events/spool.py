"""Events waiting on local disk for the event store to come back: the sink's spool.

One small SQLite file (mode 0600, like every NetGuard file that may hold
audit data), in WAL mode with ``synchronous=FULL``: :meth:`Spool.append`
returns only once the events are on disk, so the sink can acknowledge them to
the producer, and a crash or a restart loses none. ``spooled`` holds the
events in arrival order (each as the exact document the store would get);
``rejected`` holds the events the store refused for good (a mapping conflict,
say), with the reason: kept and counted, never dropped.

The spool is bounded in bytes (the documents' size, both tables together):
:meth:`append` takes a batch whole or not at all and says which, so the
sink can hold the producer back instead of dropping anything. An empty spool
takes any one batch, even one over the bound, so a single huge batch cannot
wedge the sink. Deleted rows' pages are reused by SQLite, so the file stays
near the bound.

One sink at a time owns a spool: an exclusive ``flock`` on ``<path>.lock``
is taken on open, so a second process (or a second sink in this one) cannot
drain the same events concurrently.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

from netguard.errors import StoreError
from netguard.events.model import Event, event_from_doc
from netguard.store.db import migrate

DEFAULT_MAX_BYTES = 256 * 1024 * 1024

MIGRATIONS: list[tuple[int, str]] = [
    (
        1,
        """
    CREATE TABLE spooled (
        seq   INTEGER PRIMARY KEY,
        id    TEXT    NOT NULL,
        size  INTEGER NOT NULL,
        doc   TEXT    NOT NULL
    );
    CREATE TABLE rejected (
        seq    INTEGER PRIMARY KEY,
        id     TEXT    NOT NULL,
        size   INTEGER NOT NULL,
        doc    TEXT    NOT NULL,
        reason TEXT    NOT NULL,
        at     INTEGER NOT NULL
    );
    """,
    ),
]


class Spool:
    """A bounded, durable queue of events on disk (see the module docstring)."""

    def __init__(self, path: Path | str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if max_bytes < 1:
            raise StoreError("the event spool's max_bytes must be positive")
        self.path = Path(path).expanduser()
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._lock_fd = -1
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._lock_fd = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._release()
            raise StoreError(f"the event spool {self.path} is in use by another sink") from None
        except OSError as exc:
            self._release()
            raise StoreError(f"cannot open the event spool {self.path}: {exc.strerror or exc}") from None
        try:
            # Create it private before SQLite does; SQLite gives its -wal and -shm files the same mode.
            os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
            os.chmod(self.path, 0o600)
            self.conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=FULL")
            migrate(self.conn, MIGRATIONS, where=f"event spool {self.path}")
            self._bytes = int(
                self.conn.execute(
                    "SELECT (SELECT coalesce(sum(size), 0) FROM spooled)"
                    " + (SELECT coalesce(sum(size), 0) FROM rejected)"
                ).fetchone()[0]
            )
            self._count = int(self.conn.execute("SELECT count(*) FROM spooled").fetchone()[0])
        except (sqlite3.Error, OSError) as exc:
            self._release()
            raise StoreError(f"cannot open the event spool {self.path}: {exc}") from None

    # --- state
    @property
    def bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        """Events waiting to be sent (not counting rejected ones)."""
        return self._count

    def rejected_count(self) -> int:
        with self._lock:
            return int(self.conn.execute("SELECT count(*) FROM rejected").fetchone()[0])

    # --- writing
    def append(self, events: Sequence[Event], *, force: bool = False) -> bool:
        """Store ``events`` durably, all or none; False when they do not fit (``force``: over the bound)."""
        rows = [(e.id, len(e.json.encode("utf-8")), e.json) for e in events]
        size = sum(r[1] for r in rows)
        with self._lock:
            if not force and self._bytes + size > self.max_bytes and self._bytes > 0:
                return False
            self._write("INSERT INTO spooled(id, size, doc) VALUES (?, ?, ?)", rows)
            self._bytes += size
            self._count += len(rows)
        return True

    def peek(self, limit: int) -> list[tuple[int, Event]]:
        """The oldest ``limit`` waiting events, with their sequence numbers."""
        with self._lock:
            try:
                rows = self.conn.execute("SELECT seq, doc FROM spooled ORDER BY seq LIMIT ?", (limit,)).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"cannot read the event spool {self.path}: {exc}") from None
        return [(int(seq), event_from_doc(json.loads(doc), doc)) for seq, doc in rows]

    def remove(self, seqs: Sequence[int], rejected: dict[int, str] | None = None, *, now_ms: int = 0) -> None:
        """Delivered (or, for ``rejected``, refused for good with a reason): out of the queue, in one transaction."""
        moved = rejected or {}
        with self._lock:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                freed = gone = 0
                for seq in seqs:
                    row = self.conn.execute("SELECT id, size, doc FROM spooled WHERE seq = ?", (seq,)).fetchone()
                    if row is None:
                        continue
                    if seq in moved:
                        self.conn.execute(
                            "INSERT INTO rejected(id, size, doc, reason, at) VALUES (?, ?, ?, ?, ?)",
                            (row[0], row[1], row[2], moved[seq], now_ms),
                        )
                    else:
                        freed += int(row[1])
                    self.conn.execute("DELETE FROM spooled WHERE seq = ?", (seq,))
                    gone += 1
                self.conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise StoreError(f"cannot update the event spool {self.path}: {exc}") from None
            self._bytes -= freed
            self._count -= gone

    def reject(self, events: Sequence[Event], reasons: dict[str, str], *, now_ms: int = 0) -> None:
        """Keep events the store refused for good (never sent from the queue), with why."""
        rows = [
            (e.id, len(e.json.encode("utf-8")), e.json, reasons.get(e.id, "refused by the event store"), now_ms)
            for e in events
        ]
        with self._lock:
            self._write("INSERT INTO rejected(id, size, doc, reason, at) VALUES (?, ?, ?, ?, ?)", rows)
            self._bytes += sum(r[1] for r in rows)

    def rejected(self, limit: int = 100) -> list[tuple[str, str]]:
        """(event id, reason) of the oldest refused events."""
        with self._lock:
            rows = self.conn.execute("SELECT id, reason FROM rejected ORDER BY seq LIMIT ?", (limit,)).fetchall()
        return [(str(i), str(r)) for i, r in rows]

    def close(self) -> None:
        with self._lock:
            with contextlib.suppress(sqlite3.Error):
                self.conn.close()
            self._release()

    # --- internals (under the lock)
    def _write(self, sql: str, rows: Sequence[tuple[object, ...]]) -> None:
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.executemany(sql, rows)
            self.conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            raise StoreError(f"cannot write to the event spool {self.path}: {exc}") from None

    def _rollback(self) -> None:
        if self.conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")

    def _release(self) -> None:
        if self._lock_fd >= 0:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
                os.close(self._lock_fd)
            self._lock_fd = -1
