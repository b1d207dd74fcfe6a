"""Brute-force lockout of users and source addresses, with back-off.

After ``max_failures`` failed logins within ``window`` the user name (known or
not, so probing names gains nothing) and, separately, the source address are
locked for ``lock``; each further lock of the same key doubles the duration
up to ``max_lock`` (JumpServer locks 30 min after 7 failures, Teleport after
5). A successful login clears the user's and the source's failure count, but
not the back-off level, which decays only when a lock expires without a new
failure. Stored in the state store, so a restart does not reset an attacker's
count, and a CLI ``unlock`` works on a running server.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta

from netguard.store.codec import from_db_time, to_db_time
from netguard.store.db import transaction


@dataclass(frozen=True)
class LockoutPolicy:
    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    lock: timedelta = timedelta(minutes=30)
    max_lock: timedelta = timedelta(hours=24)


@dataclass(frozen=True)
class Lock:
    kind: str  # "user" or "source"
    key: str
    until: datetime


class Lockouts:
    def __init__(self, conn: sqlite3.Connection, policy: LockoutPolicy) -> None:
        self.conn = conn
        self.policy = policy

    def locked(self, user: str, source: str, now: datetime) -> Lock | None:
        for kind, key in (("source", source), ("user", user)):
            row = self.conn.execute(
                "SELECT locked_until FROM bastion_lockouts WHERE kind = ? AND key = ?", (kind, key)
            ).fetchone()
            if row and row[0] and from_db_time(row[0]) > now:
                return Lock(kind, key, from_db_time(row[0]))
        return None

    def failure(self, user: str, source: str, now: datetime) -> list[Lock]:
        """Count one failed login; returns the locks it triggered."""
        triggered = []
        with transaction(self.conn):
            for kind, key in (("user", user), ("source", source)):
                lock = self._count(kind, key, now)
                if lock is not None:
                    triggered.append(lock)
        return triggered

    def _count(self, kind: str, key: str, now: datetime) -> Lock | None:
        row = self.conn.execute(
            "SELECT failures, window_start, locked_until, lock_count FROM bastion_lockouts WHERE kind = ? AND key = ?",
            (kind, key),
        ).fetchone()
        failures, start, lock_count = 0, now, 0
        if row is not None:
            failures, start, lock_count = int(row[0]), from_db_time(row[1]), int(row[3])
            until = from_db_time(row[2]) if row[2] else None
            if until is not None and until <= now and now - until > self.policy.lock:
                lock_count = max(0, lock_count - 1)  # a quiet period after a lock: back-off decays
            if now - start > self.policy.window:
                failures, start = 0, now
        failures += 1
        locked_until: datetime | None = None
        if failures >= self.policy.max_failures:
            duration = min(self.policy.lock * (2**lock_count), self.policy.max_lock)
            locked_until = now + duration
            lock_count += 1
            failures = 0
        self.conn.execute(
            "INSERT INTO bastion_lockouts (kind, key, failures, window_start, locked_until, lock_count) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (kind, key) DO UPDATE SET failures = excluded.failures, "
            "window_start = excluded.window_start, lock_count = excluded.lock_count, "
            "locked_until = coalesce(excluded.locked_until, bastion_lockouts.locked_until)",
            (kind, key, failures, to_db_time(start), to_db_time(locked_until) if locked_until else None, lock_count),
        )
        return Lock(kind, key, locked_until) if locked_until else None

    def success(self, user: str, source: str) -> None:
        with transaction(self.conn):
            self.conn.execute(
                "UPDATE bastion_lockouts SET failures = 0 WHERE (kind = 'user' AND key = ?) OR "
                "(kind = 'source' AND key = ?)",
                (user, source),
            )

    def unlock(self, kind: str, key: str) -> bool:
        with transaction(self.conn):
            cur = self.conn.execute(
                "UPDATE bastion_lockouts SET failures = 0, locked_until = NULL, lock_count = 0 "
                "WHERE kind = ? AND key = ?",
                (kind, key),
            )
        return cur.rowcount == 1

    def active(self, now: datetime) -> list[Lock]:
        rows = self.conn.execute(
            "SELECT kind, key, locked_until FROM bastion_lockouts WHERE locked_until IS NOT NULL ORDER BY kind, key"
        )
        return [Lock(k, key, from_db_time(u)) for k, key, u in rows if from_db_time(u) > now]
