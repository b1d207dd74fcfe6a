"""Compliance check results per scan, and the difference between two scans.

A scan stores one result per (check id, target): ``pass``, ``fail``, ``na``
(not applicable) or ``error`` (the check could not run), with its evidence as a
JSON object. A scan is written in one transaction, so a reader never sees half
of it. :meth:`CheckResultRepository.diff` answers what users of Wazuh SCA and
OpenSCAP ask for: what changed since the last scan: which results are new,
which disappeared, which changed, and among those the new failures and the
fixes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, cast, get_args

from netguard.errors import StoreError
from netguard.store.codec import canonical_json, from_db_time, json_object, to_db_time, utcnow
from netguard.store.db import transaction

CheckOutcome = Literal["pass", "fail", "na", "error"]
CHECK_OUTCOMES: tuple[str, ...] = get_args(CheckOutcome)
_BAD = ("fail", "error")


@dataclass(frozen=True)
class CheckResult:
    check_id: str
    target: str
    result: CheckOutcome
    evidence: dict[str, Any] = field(default_factory=dict)
    at: datetime | None = None  # when the check ran; the scan's store time if None

    def __post_init__(self) -> None:
        if self.result not in CHECK_OUTCOMES:
            raise StoreError(f"unknown check result '{self.result}' (one of {', '.join(CHECK_OUTCOMES)})")
        if not self.check_id or not self.target:
            raise StoreError("a check result needs a check id and a target")


@dataclass(frozen=True)
class ScanInfo:
    scan_id: str
    started: datetime
    stored: datetime
    label: str | None
    counts: dict[str, int]


@dataclass(frozen=True)
class ResultChange:
    check_id: str
    target: str
    before: CheckOutcome | None  # None: not in the older scan
    after: CheckOutcome | None  # None: not in the newer scan


@dataclass(frozen=True)
class ScanDiff:
    old_scan: str
    new_scan: str
    added: list[ResultChange]
    removed: list[ResultChange]
    changed: list[ResultChange]
    unchanged: int

    @property
    def new_failures(self) -> list[ResultChange]:
        """Results that are fail/error now and were not before (changed or newly added)."""
        return [c for c in (*self.changed, *self.added) if c.after in _BAD and c.before not in _BAD]

    @property
    def fixed(self) -> list[ResultChange]:
        return [c for c in self.changed if c.before in _BAD and c.after == "pass"]


class CheckResultRepository:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def store_scan(
        self,
        scan_id: str,
        results: Iterable[CheckResult],
        *,
        started: datetime | None = None,
        label: str | None = None,
        now: datetime | None = None,
    ) -> ScanInfo:
        """Store a whole scan at once; a scan id is used once, and one result per (check, target)."""
        stored = to_db_time(now or utcnow())
        rows: dict[tuple[str, str], tuple[str, str, str, str, str, str]] = {}
        for r in results:
            key = (r.check_id, r.target)
            if key in rows:
                raise StoreError(f"scan {scan_id}: two results for check {r.check_id} on {r.target}")
            at = to_db_time(r.at) if r.at is not None else stored
            rows[key] = (scan_id, r.check_id, r.target, r.result, canonical_json(r.evidence), at)
        with transaction(self._conn):
            try:
                self._conn.execute(
                    "INSERT INTO check_scans (scan_id, started, stored, label) VALUES (?, ?, ?, ?)",
                    (scan_id, to_db_time(started) if started else stored, stored, label),
                )
            except sqlite3.IntegrityError:
                raise StoreError(f"scan {scan_id} is already stored") from None
            self._conn.executemany(
                "INSERT INTO check_results (scan_id, check_id, target, result, evidence, at) VALUES (?, ?, ?, ?, ?, ?)",
                list(rows.values()),
            )
        return self.scan(scan_id)

    def scan(self, scan_id: str) -> ScanInfo:
        row = self._conn.execute(
            "SELECT scan_id, started, stored, label FROM check_scans WHERE scan_id = ?", (scan_id,)
        ).fetchone()
        if row is None:
            raise StoreError(f"no scan {scan_id}")
        counts = dict.fromkeys(CHECK_OUTCOMES, 0)
        for result, n in self._conn.execute(
            "SELECT result, count(*) FROM check_results WHERE scan_id = ? GROUP BY result", (scan_id,)
        ):
            counts[str(result)] = int(n)
        return ScanInfo(row[0], from_db_time(row[1]), from_db_time(row[2]), row[3], counts)

    def scans(self, *, limit: int | None = None) -> list[ScanInfo]:
        """Stored scans, newest first."""
        sql = "SELECT scan_id FROM check_scans ORDER BY started DESC, stored DESC"
        params: list[object] = []
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        return [self.scan(str(r[0])) for r in self._conn.execute(sql, params).fetchall()]

    def previous_scan(self, scan_id: str) -> str | None:
        """The scan started just before ``scan_id``, to diff against."""
        current = self.scan(scan_id)
        row = self._conn.execute(
            "SELECT scan_id FROM check_scans WHERE (started, stored) < (?, ?) "
            "ORDER BY started DESC, stored DESC LIMIT 1",
            (to_db_time(current.started), to_db_time(current.stored)),
        ).fetchone()
        return None if row is None else str(row[0])

    def results(self, scan_id: str, *, result: CheckOutcome | None = None) -> list[CheckResult]:
        self.scan(scan_id)
        sql = "SELECT check_id, target, result, evidence, at FROM check_results WHERE scan_id = ?"
        params: list[object] = [scan_id]
        if result is not None:
            sql += " AND result = ?"
            params.append(result)
        rows = self._conn.execute(sql + " ORDER BY check_id, target", params)
        return [
            CheckResult(str(c), str(t), cast(CheckOutcome, res), json_object(ev), from_db_time(at))
            for c, t, res, ev, at in rows
        ]

    def diff(self, old_scan: str, new_scan: str) -> ScanDiff:
        old = {(r.check_id, r.target): r.result for r in self.results(old_scan)}
        new = {(r.check_id, r.target): r.result for r in self.results(new_scan)}
        added = [ResultChange(c, t, None, new[(c, t)]) for c, t in sorted(new.keys() - old.keys())]
        removed = [ResultChange(c, t, old[(c, t)], None) for c, t in sorted(old.keys() - new.keys())]
        both = sorted(old.keys() & new.keys())
        changed = [ResultChange(c, t, old[(c, t)], new[(c, t)]) for c, t in both if old[(c, t)] != new[(c, t)]]
        return ScanDiff(old_scan, new_scan, added, removed, changed, unchanged=len(both) - len(changed))
