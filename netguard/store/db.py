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

Files are created mode 0600 before SQLite opens them (:func:`create_private`):
SQLite gives the ``-wal`` and ``-shm`` files the database's mode, so those are
0600 too. The embedded event store is created the same way.

Reading only (:func:`open_read_only`, ``connect(read_only=True)``) is for
those who may read a store but not write it (an auditor; a file 0444 in a
directory 0555): ``mode=ro``, no directory or file created, no WAL switch, no
migrations; the schema must already be current. A WAL database opened
read-only still needs its ``-shm`` file; when it does not exist and cannot be
created (the directory is not writable) the file is opened with
``immutable=1``, which needs no ``-shm`` and takes no locks. That is safe only
if nobody writes the file while it is open, so it is done only when the file
has no write permission bit at all and no ``-wal`` file holds pages not yet in
it (they would be ignored); otherwise the error says what to change.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from netguard.errors import StoreError
from netguard.store.migrations import LATEST_VERSION, MIGRATIONS

DEFAULT_BUSY_TIMEOUT_MS = 10_000


def create_private(path: Path) -> bool:
    """Create an empty database file mode 0600 (and its directory 0700) unless it exists; True if created."""
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700, exist_ok=True)  # another opener may make it first
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    os.close(fd)
    os.chmod(path, 0o600)  # whatever the umask
    return True


def connect(
    path: Path | str,
    *,
    busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
    migrate_schema: bool = True,
    read_only: bool = False,
) -> sqlite3.Connection:
    """Open (creating it and its directories if needed) the state database at ``path``.

    ``read_only`` opens an existing, current database for reading only (see the module docstring).
    """
    db_path = Path(path).expanduser()
    if read_only:
        return open_read_only(
            db_path, latest=LATEST_VERSION, where=f"the state database {db_path}", busy_timeout_ms=busy_timeout_ms
        )
    try:
        create_private(db_path)
        conn = sqlite3.connect(db_path, isolation_level=None, timeout=busy_timeout_ms / 1000)
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"cannot open the state database {db_path}: {exc}") from None
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        mode = switch_to_wal(conn, busy_timeout_ms)
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


def writable(path: Path) -> bool:
    """Whether this user can write ``path`` and create its ``-wal``/``-shm`` files beside it."""
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK | os.X_OK)


def may_open_immutable(path: Path) -> bool:
    """No one may write the file (no write bit at all) and no ``-wal`` holds pages not yet in it."""
    if stat.S_IMODE(path.stat().st_mode) & 0o222:
        return False
    wal = Path(f"{path}-wal")
    return not wal.exists() or wal.stat().st_size == 0


def open_read_only(
    path: Path,
    *,
    latest: int,
    where: str,
    busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
    check_same_thread: bool = True,
) -> sqlite3.Connection:
    """Open an existing database for reading only; its schema must be at version ``latest``."""
    if not path.is_file():
        raise StoreError(f"{where} does not exist (nothing to read)")
    uri = f"file:{quote(str(path.absolute()))}?mode=ro"
    try:
        conn = _probe(uri, busy_timeout_ms, check_same_thread)
    except sqlite3.Error as exc:
        if not may_open_immutable(path):
            raise StoreError(
                f"cannot open {where} for reading: {exc}; SQLite needs its -shm file beside it: let this user "
                "write the directory, or remove write permission from the file (chmod a-w) so it can be read "
                "as immutable"
            ) from None
        try:
            conn = _probe(uri + "&immutable=1", busy_timeout_ms, check_same_thread)
        except sqlite3.Error as exc2:
            raise StoreError(f"cannot open {where} for reading: {exc2}") from None
    version = schema_version(conn)
    if version != latest:
        conn.close()
        if version == 0:
            raise StoreError(f"{where} is empty, not a NetGuard store")
        if version > latest:
            raise StoreError(f"{where} has schema version {version}, newer than this NetGuard knows ({latest})")
        raise StoreError(
            f"{where} has schema version {version}, older than this NetGuard's {latest}; "
            "open it once as its owner (e.g. netguard config check) to upgrade it, or, if its owner is upgrading "
            "it now (minutes for a large store), wait until that ends"
        )
    return conn


def _probe(uri: str, busy_timeout_ms: int, check_same_thread: bool) -> sqlite3.Connection:
    """Connect and read once: SQLite opens the WAL and -shm files lazily, at the first read."""
    conn = sqlite3.connect(
        uri, uri=True, isolation_level=None, timeout=busy_timeout_ms / 1000, check_same_thread=check_same_thread
    )
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error:
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


def switch_to_wal(conn: sqlite3.Connection, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS) -> str:
    """``PRAGMA journal_mode = WAL``, retried for up to ``busy_timeout_ms``; returns the mode now.

    SQLite answers a switch to WAL that races another connection's (two
    followers or collectors opening a new file at once) with "database is
    locked" at once, without calling its busy handler: a retry sees the file
    already in WAL mode.
    """
    deadline = time.monotonic() + busy_timeout_ms / 1000
    while True:
        try:
            return str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.005)


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
