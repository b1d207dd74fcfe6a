"""Current isolation state per (MAC, switch, port), as NAV's Arnold keeps it.

One row per device and port: ``enabled`` (no restriction), ``disabled`` (port
shut down), ``quarantined`` (moved to a quarantine VLAN) or ``isolated`` (ARP
isolation; ``switch``/``port`` are where the device was last seen, or ``''``
when unknown). The history of how a row got there is the action journal; the
row names the journal entry that last changed it.

``original_vlan`` is the VLAN to restore. It is captured on the first
restriction and kept through later ones (quarantining an already quarantined
port must not record the quarantine VLAN as the original), and cleared when
the port is enabled again.

The row and the journal must never disagree, so an action's outcome and the
state it leaves the port in are written in one transaction: pass a
:class:`PortState` to :meth:`netguard.store.journal.ActionJournal.mark_applied`
(or ``mark_undone``), which calls :func:`write_state` inside its own
transaction. :meth:`IsolationRepository.set` records a state no journal entry
explains (a correction after checking a switch by hand) and names no entry.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast, get_args

from netguard.errors import StoreError
from netguard.store.codec import from_db_time, normalize_mac, to_db_time, utcnow
from netguard.store.db import transaction

IsolationStatus = Literal["enabled", "disabled", "quarantined", "isolated"]
ISOLATION_STATUSES: tuple[str, ...] = get_args(IsolationStatus)


@dataclass(frozen=True)
class IsolationState:
    mac: str
    switch: str
    port: str
    status: IsolationStatus
    original_vlan: int | None
    current_vlan: int | None
    journal_id: int | None
    updated: datetime

    @property
    def restricted(self) -> bool:
        return self.status != "enabled"


_COLUMNS = "mac, switch, port, status, original_vlan, current_vlan, journal_id, updated"


def _state(row: tuple[Any, ...]) -> IsolationState:
    mac, switch, port, status, original, current, journal_id, updated = row
    return IsolationState(
        mac=mac,
        switch=switch,
        port=port,
        status=cast(IsolationStatus, status),
        original_vlan=original,
        current_vlan=current,
        journal_id=journal_id,
        updated=from_db_time(updated),
    )


@dataclass(frozen=True)
class PortState:
    """The isolation state an action leaves a device's port in (what :func:`write_state` records)."""

    mac: str
    switch: str
    port: str
    status: IsolationStatus
    original_vlan: int | None = None
    current_vlan: int | None = None

    def __post_init__(self) -> None:
        if self.status not in ISOLATION_STATUSES:
            raise StoreError(f"unknown isolation status '{self.status}' (one of {', '.join(ISOLATION_STATUSES)})")
        object.__setattr__(self, "mac", normalize_mac(self.mac))


def write_state(conn: sqlite3.Connection, state: PortState, *, journal_id: int | None, updated: str) -> None:
    """Write ``state`` in the caller's open transaction (see the module docstring for ``original_vlan``)."""
    if not conn.in_transaction:
        raise StoreError("isolation state is written inside a transaction (use transaction())")
    key = (state.mac, state.switch, state.port)
    row = conn.execute(
        "SELECT status, original_vlan FROM isolation_state WHERE mac = ? AND switch = ? AND port = ?", key
    ).fetchone()
    if state.status == "enabled":
        original = None
    elif row is not None and row[0] != "enabled" and row[1] is not None:
        original = int(row[1])
    else:
        original = state.original_vlan
    conn.execute(
        f"INSERT INTO isolation_state ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (mac, switch, port) DO UPDATE SET status = excluded.status, "
        "original_vlan = excluded.original_vlan, current_vlan = excluded.current_vlan, "
        "journal_id = excluded.journal_id, updated = excluded.updated",
        (*key, state.status, original, state.current_vlan, journal_id, updated),
    )


class IsolationRepository:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def get(self, mac: str, switch: str, port: str) -> IsolationState | None:
        row = self._conn.execute(
            f"SELECT {_COLUMNS} FROM isolation_state WHERE mac = ? AND switch = ? AND port = ?",
            (normalize_mac(mac), switch, port),
        ).fetchone()
        return None if row is None else _state(tuple(row))

    def set(
        self,
        mac: str,
        switch: str,
        port: str,
        status: IsolationStatus,
        *,
        original_vlan: int | None = None,
        current_vlan: int | None = None,
        now: datetime | None = None,
    ) -> IsolationState:
        """Record a port's state that no journal entry explains (a correction); one transaction.

        It names no journal entry: a state left by an action is written with
        that action's outcome (see the module docstring).
        """
        state = PortState(mac, switch, port, status, original_vlan=original_vlan, current_vlan=current_vlan)
        with transaction(self._conn):
            write_state(self._conn, state, journal_id=None, updated=to_db_time(now or utcnow()))
        stored = self.get(state.mac, switch, port)
        assert stored is not None
        return stored

    def for_mac(self, mac: str) -> list[IsolationState]:
        rows = self._conn.execute(
            f"SELECT {_COLUMNS} FROM isolation_state WHERE mac = ? ORDER BY switch, port", (normalize_mac(mac),)
        )
        return [_state(tuple(r)) for r in rows]

    def restricted(self) -> list[IsolationState]:
        """Every device/port currently disabled, quarantined or isolated."""
        rows = self._conn.execute(
            f"SELECT {_COLUMNS} FROM isolation_state WHERE status != 'enabled' ORDER BY mac, switch, port"
        )
        return [_state(tuple(r)) for r in rows]
