"""Device sightings and how a collection is reconciled with them.

A *sighting* is one device (MAC) at one place, as one collector saw it: an
ARP sweep (``arp``: MAC and IP), a switch's forwarding table (``fdb``: switch,
port, VLAN), a router's ARP table (``arp-table``: MAC, IP, switch) or an LLDP
neighbour (``lldp``: switch and port). It is *open* while the device is there
and *ended* when it is gone or moved.

Every collection covers a *scope* (for example ``fdb:sw-nagu-1``): the set of
places that collector is authoritative for. :meth:`SightingRepository.reconcile`
compares a scope's open sightings with what the collection saw, as NAV's
ipdevpoll does, and answers:

``kept``
    seen again at the same place: ``last_seen`` advances, the miss count resets.
``new``
    a device not open anywhere in the scope, or at an extra place.
``moved``
    a device seen at a new place while one of its open places in the same scope
    was not seen: the old sighting ends with ``moved``, a new one starts and
    points back at it (``moved_from``). One old place pairs with one new place,
    the most recently seen first.
``missing``
    open but not seen this time, and not (yet) expired.
``gone``
    not seen in ``grace_runs`` consecutive *complete* collections: ended.

Only a complete collection (the walk finished for the whole scope) counts a
miss. An incomplete one (a timeout half-way through a bulk walk, a switch that
answered only part of its FDB) never expires anything, because absence of
evidence there is not evidence of absence; it still records what it did see.
A move is reported from any collection, since seeing the device at a new place
is positive evidence. Everything a reconciliation changes is committed in one
transaction.

A device that moves to a place another scope covers (from one switch to
another) is ``new`` in the scope it arrived in, and unseen in the one it left.
After reconciling every scope of one run, :meth:`SightingRepository.join_moves`
pairs the two: a new sighting with an earlier one of the same MAC and source in
another scope that this run did not see (still open, or ended as gone in this
very run) becomes one move, the old sighting ending ``moved`` and the new one
pointing back at it. A device seen in both places is at both, not moved.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal, cast, get_args

from netguard.errors import StoreError
from netguard.store.codec import from_db_time, normalize_ip, normalize_mac, opt_from_db_time, to_db_time, utcnow
from netguard.store.db import transaction
from netguard.store.grace import DEFAULT_GRACE_RUNS, grace_runs_problem

HowSeen = Literal["arp", "fdb", "arp-table", "lldp"]
HOW_SEEN: tuple[str, ...] = get_args(HowSeen)
EndReason = Literal["gone", "moved"]

_Key = tuple[str, str, str | None, str | None, str | None, int | None]


@dataclass(frozen=True)
class Sighting:
    """One observation from a collector; normalised on construction (MAC, IP, VLAN)."""

    mac: str
    how: HowSeen
    ip: str | None = None
    institution_id: str | None = None
    switch: str | None = None
    port: str | None = None
    vlan: int | None = None

    def __post_init__(self) -> None:
        if self.how not in HOW_SEEN:
            raise StoreError(f"unknown sighting source '{self.how}' (one of {', '.join(HOW_SEEN)})")
        object.__setattr__(self, "mac", normalize_mac(self.mac))
        object.__setattr__(self, "ip", normalize_ip(self.ip))
        if self.vlan is not None and not 0 <= self.vlan <= 4095:
            raise StoreError(f"VLAN {self.vlan} is out of range 0-4095")

    @property
    def key(self) -> _Key:
        """Identity of the place within a scope (the institution is an attribute, not part of the place)."""
        return (self.how, self.mac, self.ip, self.switch, self.port, self.vlan)


@dataclass(frozen=True)
class SightingRecord:
    """A stored sighting, open (``ended is None``) or ended."""

    id: int
    scope: str
    how: HowSeen
    mac: str
    ip: str | None
    institution_id: str | None
    switch: str | None
    port: str | None
    vlan: int | None
    first_seen: datetime
    last_seen: datetime
    missed_runs: int
    ended: datetime | None
    end_reason: EndReason | None
    moved_from: int | None

    @property
    def is_open(self) -> bool:
        return self.ended is None

    def sighting(self) -> Sighting:
        return Sighting(self.mac, self.how, self.ip, self.institution_id, self.switch, self.port, self.vlan)


@dataclass(frozen=True)
class Move:
    before: SightingRecord
    after: SightingRecord


@dataclass(frozen=True)
class ReconcileResult:
    scope: str
    complete: bool
    new: list[SightingRecord] = field(default_factory=list)
    kept: list[SightingRecord] = field(default_factory=list)
    moved: list[Move] = field(default_factory=list)
    missing: list[SightingRecord] = field(default_factory=list)
    gone: list[SightingRecord] = field(default_factory=list)


_COLUMNS = (
    "id, scope, how, mac, ip, institution_id, switch, port, vlan, first_seen, last_seen, "
    "missed_runs, ended, end_reason, moved_from"
)


def _record(row: sqlite3.Row | tuple[object, ...]) -> SightingRecord:
    (id_, scope, how, mac, ip, inst, switch, port, vlan, first, last, missed, ended, reason, moved_from) = tuple(row)
    return SightingRecord(
        id=int(cast(int, id_)),
        scope=str(scope),
        how=cast(HowSeen, how),
        mac=str(mac),
        ip=cast(str | None, ip),
        institution_id=cast(str | None, inst),
        switch=cast(str | None, switch),
        port=cast(str | None, port),
        vlan=cast(int | None, vlan),
        first_seen=from_db_time(str(first)),
        last_seen=from_db_time(str(last)),
        missed_runs=int(cast(int, missed)),
        ended=opt_from_db_time(cast(str | None, ended)),
        end_reason=cast(EndReason | None, reason),
        moved_from=cast(int | None, moved_from),
    )


def _key(record: SightingRecord) -> _Key:
    return (record.how, record.mac, record.ip, record.switch, record.port, record.vlan)


class SightingRepository:
    """Sightings in the state database; ``grace_runs`` complete collections must miss a device to expire it."""

    def __init__(self, conn: sqlite3.Connection, *, grace_runs: int = DEFAULT_GRACE_RUNS) -> None:
        problem = grace_runs_problem(grace_runs)
        if problem is not None:
            raise StoreError(f"grace_runs {problem}")
        self._conn = conn
        self.grace_runs = grace_runs

    def reconcile(
        self,
        collection_scope: str,
        sightings: list[Sighting] | tuple[Sighting, ...],
        complete: bool,
        *,
        now: datetime | None = None,
    ) -> ReconcileResult:
        """Apply one collection of ``collection_scope`` (see the module docstring for the rules)."""
        if not collection_scope:
            raise StoreError("a collection needs a scope")
        when = to_db_time(now or utcnow())
        observed: dict[_Key, Sighting] = {}
        for s in sightings:
            observed.setdefault(s.key, s)
        result = ReconcileResult(scope=collection_scope, complete=complete)
        with transaction(self._conn):
            open_rows = [
                _record(row)
                for row in self._conn.execute(
                    f"SELECT {_COLUMNS} FROM sightings WHERE scope = ? AND ended IS NULL ORDER BY last_seen DESC, id",
                    (collection_scope,),
                )
            ]
            open_by_key = {_key(r): r for r in open_rows}
            unseen_by_device: dict[tuple[str, str], list[SightingRecord]] = defaultdict(list)
            for record in open_rows:
                if _key(record) not in observed:
                    unseen_by_device[(record.how, record.mac)].append(record)

            for key, sighting in observed.items():
                existing = open_by_key.get(key)
                if existing is not None:
                    self._conn.execute(
                        "UPDATE sightings SET last_seen = ?, missed_runs = 0, "
                        "institution_id = coalesce(?, institution_id) WHERE id = ?",
                        (when, sighting.institution_id, existing.id),
                    )
                    result.kept.append(
                        replace(
                            existing,
                            last_seen=from_db_time(when),
                            missed_runs=0,
                            institution_id=sighting.institution_id or existing.institution_id,
                        )
                    )
                    continue
                candidates = unseen_by_device.get((sighting.how, sighting.mac))
                if candidates:
                    old = candidates.pop(0)
                    self._end(old.id, when, "moved")
                    after = self._insert(collection_scope, sighting, when, moved_from=old.id)
                    ended = from_db_time(when)
                    result.moved.append(Move(before=replace(old, ended=ended, end_reason="moved"), after=after))
                else:
                    result.new.append(self._insert(collection_scope, sighting, when, moved_from=None))

            for leftovers in unseen_by_device.values():
                for record in leftovers:
                    if not complete:
                        result.missing.append(record)
                        continue
                    missed = record.missed_runs + 1
                    self._conn.execute("UPDATE sightings SET missed_runs = ? WHERE id = ?", (missed, record.id))
                    if missed >= self.grace_runs:
                        self._end(record.id, when, "gone")
                        ended = from_db_time(when)
                        result.gone.append(replace(record, missed_runs=missed, ended=ended, end_reason="gone"))
                    else:
                        result.missing.append(replace(record, missed_runs=missed))

            self._conn.execute(
                "INSERT INTO collection_runs (scope, last_run, last_complete_run, runs, complete_runs) "
                "VALUES (?, ?, ?, 1, ?) ON CONFLICT (scope) DO UPDATE SET last_run = excluded.last_run, "
                "last_complete_run = coalesce(excluded.last_complete_run, last_complete_run), runs = runs + 1, "
                "complete_runs = complete_runs + excluded.complete_runs",
                (collection_scope, when, when if complete else None, 1 if complete else 0),
            )
        return result

    def join_moves(self, results: Sequence[ReconcileResult], *, now: datetime | None = None) -> list[Move]:
        """Moves across scopes among one run's ``results`` (see the module docstring); one transaction.

        Each earlier sighting pairs with at most one new one, the most recently
        seen first, as within a scope.
        """
        when = to_db_time(now or utcnow())
        # Every place this run saw is where the device is now, never a place it left: kept, new, moved to.
        seen = {r.id for res in results for r in (*res.kept, *res.new, *(m.after for m in res.moved))}
        # Indexed by MAC so each new sighting looks only at its own device's ended places, not at every
        # sighting that ended in the run (that made a run with many moves quadratic); the open ones come
        # from the database by MAC (indexed) for the same reason.
        gone: dict[str, list[SightingRecord]] = defaultdict(list)
        for res in results:
            for r in res.gone:
                gone[r.mac].append(r)
        used: set[int] = set()
        moves: list[Move] = []
        with transaction(self._conn):
            for res in results:
                for new in res.new:
                    candidates = [
                        r
                        for r in (
                            *self.open_sightings(mac=new.mac),
                            *gone.get(new.mac, ()),
                        )
                        if r.how == new.how  # both sources hold this MAC's sightings only
                        and r.scope != new.scope
                        and r.id not in seen
                        and r.id not in used
                    ]
                    if not candidates:
                        continue
                    old = max(candidates, key=lambda r: (r.last_seen, r.id))
                    used.add(old.id)
                    ended = old.ended or from_db_time(when)
                    self._conn.execute(
                        "UPDATE sightings SET ended = ?, end_reason = 'moved' WHERE id = ?", (to_db_time(ended), old.id)
                    )
                    self._conn.execute("UPDATE sightings SET moved_from = ? WHERE id = ?", (old.id, new.id))
                    moves.append(
                        Move(
                            before=replace(old, ended=ended, end_reason="moved"),
                            after=replace(new, moved_from=old.id),
                        )
                    )
        return moves

    def _insert(self, scope: str, s: Sighting, when: str, *, moved_from: int | None) -> SightingRecord:
        cursor = self._conn.execute(
            "INSERT INTO sightings (scope, how, mac, ip, institution_id, switch, port, vlan, first_seen, last_seen, "
            "moved_from) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (scope, s.how, s.mac, s.ip, s.institution_id, s.switch, s.port, s.vlan, when, when, moved_from),
        )
        seen = from_db_time(when)
        return SightingRecord(
            id=int(cast(int, cursor.lastrowid)),
            scope=scope,
            how=s.how,
            mac=s.mac,
            ip=s.ip,
            institution_id=s.institution_id,
            switch=s.switch,
            port=s.port,
            vlan=s.vlan,
            first_seen=seen,
            last_seen=seen,
            missed_runs=0,
            ended=None,
            end_reason=None,
            moved_from=moved_from,
        )

    def _end(self, sighting_id: int, when: str, reason: EndReason) -> None:
        self._conn.execute("UPDATE sightings SET ended = ?, end_reason = ? WHERE id = ?", (when, reason, sighting_id))

    def _get(self, sighting_id: int) -> SightingRecord:
        row = self._conn.execute(f"SELECT {_COLUMNS} FROM sightings WHERE id = ?", (sighting_id,)).fetchone()
        if row is None:
            raise StoreError(f"no sighting {sighting_id}")
        return _record(row)

    def get(self, sighting_id: int) -> SightingRecord:
        return self._get(sighting_id)

    def open_sightings(
        self,
        *,
        scope: str | None = None,
        mac: str | None = None,
        ip: str | None = None,
        institution_id: str | None = None,
    ) -> list[SightingRecord]:
        """Devices currently present, optionally narrowed; ordered by MAC then place."""
        return self._select(scope=scope, mac=mac, ip=ip, institution_id=institution_id, open_only=True)

    def history(self, mac: str) -> list[SightingRecord]:
        """Every sighting of one device, oldest first: where it was, when, and how each ended."""
        rows = self._conn.execute(
            f"SELECT {_COLUMNS} FROM sightings WHERE mac = ? ORDER BY first_seen, id", (normalize_mac(mac),)
        )
        return [_record(r) for r in rows]

    def _select(
        self, *, scope: str | None, mac: str | None, ip: str | None, institution_id: str | None, open_only: bool
    ) -> list[SightingRecord]:
        clauses: list[str] = []
        params: list[object] = []
        if open_only:
            clauses.append("ended IS NULL")
        for column, value in (
            ("scope", scope),
            ("mac", normalize_mac(mac) if mac else None),
            ("ip", normalize_ip(ip)),
            ("institution_id", institution_id),
        ):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._conn.execute(
            f"SELECT {_COLUMNS} FROM sightings {where} ORDER BY mac, switch, port, ip, id", params
        )
        return [_record(r) for r in rows]

    def last_complete_run(self, scope: str) -> datetime | None:
        row = self._conn.execute("SELECT last_complete_run FROM collection_runs WHERE scope = ?", (scope,)).fetchone()
        return None if row is None else opt_from_db_time(cast(str | None, row[0]))
