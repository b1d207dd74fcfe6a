"""Opening the state database: location, pragmas, migrations, transactions.

The state database is one SQLite file (``Config.state_path``) in WAL mode, so
readers (a CLI listing) never block the writer (a collector) and a crash never
loses a committed write. ``synchronous=FULL`` makes every commit durable before
it returns: the action journal depends on that (an intent must survive a crash
of the action that follows it). Foreign keys are enforced and a writer waits
up to ``busy_timeout`` for another one instead of failing at once.

Connections are opened in autocommit mode; every write goes through
:func:`transaction`, which takes the write lock up front (``BEGIN IMMEDIATE``)
so read-then-write sequences (the journal's hash chain, reconciliation) cannot
interleave with another process.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from netguard.errors import StoreError
from netguard.store.migrations import LATEST_VERSION, MIGRATIONS

DEFAULT_BUSY_TIMEOUT_MS = 10_000


def connect(
    path: Path | str, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS, migrate_schema: bool = True
) -> sqlite3.Connection:
    """Open (creating it and its directories if needed) the state database at ``path``."""
    db_path = Path(path).expanduser()
    try:
        if not db_path.parent.exists():
            db_path.parent.mkdir(parents=True, mode=0o700)
        created = not db_path.exists()
        conn = sqlite3.connect(db_path, isolation_level=None, timeout=busy_timeout_ms / 1000)
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"cannot open the state database {db_path}: {exc}") from None
    try:
        if created:
            os.chmod(db_path, 0o600)
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StoreError(
                f"{db_path}: SQLite could not switch to WAL mode (got '{mode}'); is it on a network file system?"
            )
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        if migrate_schema:
            migrate(conn, where=str(db_path))
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise StoreError(f"{db_path} is not a usable state database: {exc}") from None
    except BaseException:
        conn.close()
        raise
    return conn


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _statements(script: str) -> Iterator[str]:
    """Split a script into complete statements (trigger bodies contain ';', so a plain split is wrong)."""
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statement = buffer.strip()
            buffer = ""
            if statement:
                yield statement
    if buffer.strip():
        raise StoreError(f"incomplete SQL statement in a migration: {buffer.strip()[:60]}...")


def migrate(
    conn: sqlite3.Connection,
    migrations: Sequence[tuple[int, str]] | None = None,
    *,
    where: str = "the state database",
) -> int:
    """Bring the schema to the last of ``migrations``; returns the version the database was at.

    ``migrations`` defaults to the state database's (:data:`MIGRATIONS`); the
    embedded event store passes its own, so both files migrate the same way.

    All pending migrations run in one transaction (SQLite DDL is transactional),
    so a failure leaves the database at its old version. The version is read
    again under the write lock, so two processes opening a new file at once do
    not both migrate it. ``executescript`` is not used because it commits first.
    """
    if migrations is None:
        migrations, latest = MIGRATIONS, LATEST_VERSION
    else:
        latest = migrations[-1][0]
    before = schema_version(conn)
    if before > latest:
        raise StoreError(
            f"{where} has schema version {before}, newer than this NetGuard knows ({latest}); "
            "upgrade NetGuard or point state.path at another file"
        )
    if before == latest:
        return before
    with transaction(conn):
        current = schema_version(conn)
        if current > latest:
            raise StoreError(f"{where} was upgraded to schema version {current} by a newer NetGuard meanwhile")
        for version, script in migrations:
            if version <= current:
                continue
            for statement in _statements(script):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {int(version)}")
    return before


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` … ``COMMIT``, rolled back on any exception; not re-entrant."""
    if conn.in_transaction:
        raise StoreError("a state database transaction is already open on this connection")
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        raise StoreError(f"cannot lock the state database for writing: {exc}") from None
    try:
        yield conn
    except BaseException:
        conn.rollback()
        raise
    else:
        try:
            conn.commit()
        except sqlite3.Error as exc:
            conn.rollback()
            raise StoreError(f"cannot commit to the state database: {exc}") from None
