"""The state store: one SQLite file with sightings, the action journal, isolation state and check results.

Open it with :class:`StateStore` (or :func:`netguard.store.db.connect` and the
repositories for finer control)::

    with StateStore.open(config.state_path) as store:
        entry = store.journal.record_intent(...)

Modules, one job each: ``db`` (connect, pragmas, migrations, transactions),
``migrations`` (the schema), ``codec`` (time, JSON, MAC/IP normalisation),
``sightings`` (reconciliation), ``journal`` (the hash-chained action journal),
``isolation`` (current per-port state), ``checks`` (scan results and diffs).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from netguard.hashchain import ChainKey
from netguard.store.checkpoints import CheckpointRegistry
from netguard.store.checks import CheckResult, CheckResultRepository, ResultChange, ScanDiff, ScanInfo
from netguard.store.db import connect, migrate, schema_version, transaction
from netguard.store.grace import DEFAULT_GRACE_RUNS
from netguard.store.isolation import IsolationRepository, IsolationState, PortState
from netguard.store.journal import (
    ActionJournal,
    ChainReport,
    JournalEntry,
    JournalOutcome,
    Target,
    event_fields,
    witness_of,
)
from netguard.store.sightings import (
    Move,
    ReconcileResult,
    Sighting,
    SightingRecord,
    SightingRepository,
)

if TYPE_CHECKING:
    # Only a type here: the configuration imports the store's grace rule (netguard.store.grace).
    from netguard.config import Config


def journal_key(config: Config) -> ChainKey | None:
    """The key of the journal's chain (and the bastion's recording chain) from ``state.journal_key``."""
    if config.journal_key is None:
        return None
    return ChainKey.from_text(config.resolver().resolve(config.journal_key).reveal())


@dataclass
class StateStore:
    """A connection to the state database and its repositories; close it (or use ``with``) when done."""

    conn: sqlite3.Connection
    sightings: SightingRepository
    journal: ActionJournal
    isolation: IsolationRepository
    checks: CheckResultRepository
    checkpoints: CheckpointRegistry

    @classmethod
    def open(
        cls, path: Path | str, *, grace_runs: int = DEFAULT_GRACE_RUNS, journal_key: ChainKey | None = None
    ) -> StateStore:
        """Open the store; without ``journal_key`` the journal can be read and verified but not written."""
        conn = connect(path)
        return cls(
            conn=conn,
            sightings=SightingRepository(conn, grace_runs=grace_runs),
            journal=ActionJournal(conn, key=journal_key),
            isolation=IsolationRepository(conn),
            checks=CheckResultRepository(conn),
            checkpoints=CheckpointRegistry(conn),
        )

    @classmethod
    def from_config(cls, config: Config) -> StateStore:
        return cls.open(config.state_path, grace_runs=config.grace_runs, journal_key=journal_key(config))

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


__all__ = [
    "DEFAULT_GRACE_RUNS",
    "ActionJournal",
    "ChainKey",
    "ChainReport",
    "CheckResult",
    "CheckResultRepository",
    "CheckpointRegistry",
    "IsolationRepository",
    "IsolationState",
    "JournalEntry",
    "JournalOutcome",
    "Move",
    "PortState",
    "ReconcileResult",
    "ResultChange",
    "ScanDiff",
    "ScanInfo",
    "Sighting",
    "SightingRecord",
    "SightingRepository",
    "StateStore",
    "Target",
    "connect",
    "event_fields",
    "journal_key",
    "migrate",
    "schema_version",
    "transaction",
    "witness_of",
]
