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
        mac=mac, switch=switch, port=port, status=cast(IsolationStatus, status), original_vlan=original,
        current_vlan=current, journal_id=journal_id, updated=from_db_time(updated),
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
        journal_id: int | None = None,
        now: datetime | None = None,
    ) -> IsolationState:
        """Record the state a journal entry left the port in (see the module docstring for ``original_vlan``)."""
        if status not in ISOLATION_STATUSES:
            raise StoreError(f"unknown isolation status '{status}' (one of {', '.join(ISOLATION_STATUSES)})")
        key = (normalize_mac(mac), switch, port)
        updated = to_db_time(now or utcnow())
        with transaction(self._conn):
            row = self._conn.execute(
                "SELECT status, original_vlan FROM isolation_state WHERE mac = ? AND switch = ? AND port = ?", key
            ).fetchone()
            if status == "enabled":
                original = None
            elif row is not None and row[0] != "enabled" and row[1] is not None:
                original = int(row[1])
            else:
                original = original_vlan
            self._conn.execute(
                f"INSERT INTO isolation_state ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (mac, switch, port) DO UPDATE SET status = excluded.status, "
                "original_vlan = excluded.original_vlan, current_vlan = excluded.current_vlan, "
                "journal_id = excluded.journal_id, updated = excluded.updated",
                (*key, status, original, current_vlan, journal_id, updated),
            )
        state = self.get(*key)
        assert state is not None
        return state

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
