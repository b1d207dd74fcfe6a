"""The action journal: every change NetGuard makes to a network, intent first.

The order is fixed (NAV's Arnold changes the port first and records after,
without a transaction; NetGuard does not):

1. :meth:`ActionJournal.record_intent` writes what is about to be done (the
   state before, the intended state after, operator, reason) and commits it
   durably before it returns the entry id;
2. the caller acts on the network;
3. :meth:`mark_applied` or :meth:`mark_failed` records the outcome.

An entry still in ``intent`` is *open*: either the action is running, or the
process died between 1 and 3 (an *interrupted* action whose effect on the
switch is unknown until someone checks). Undoing is an action of its own
(usually ``restore``): an entry that names the entry it ``undoes``; applying it
marks the original ``undone`` in the same transaction.

Tamper evidence (等保 8.1.4.3 d, protect audit records): each entry carries
``hash = SHA-256(prev_hash + canonical JSON of its immutable fields)`` where
``prev_hash`` is the previous entry's hash (64 zeros for the first), so editing,
deleting or reordering an entry breaks the chain at that entry. Outcomes are
append-only rows of their own (``journal_outcomes``), chained the same way and
bound to their entry's hash; the ``status``/``outcome``/``finished`` columns on
the entry are a copy for querying, and :meth:`verify_chain` checks that the copy
agrees with the chained outcomes. A chain cannot show that its newest rows were
cut off: keep :attr:`ChainReport.head` somewhere else (the event store, syslog)
and compare it later.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast

from netguard.errors import StoreError
from netguard.store.codec import (
    canonical_json,
    from_db_time,
    json_object,
    normalize_ip,
    normalize_mac,
    opt_from_db_time,
    to_db_time,
    utcnow,
)
from netguard.store.db import transaction

JournalStatus = Literal["intent", "applied", "failed", "undone"]
OutcomeStatus = Literal["applied", "failed", "undone"]
KNOWN_ACTIONS = ("port-shutdown", "port-enable", "quarantine-vlan", "arp-isolate", "restore")
GENESIS_HASH = "0" * 64
_ACTION_NAME = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")


@dataclass(frozen=True)
class Target:
    """What an action is aimed at: a device, a switch port, or both."""

    mac: str | None = None
    ip: str | None = None
    switch: str | None = None
    port: str | None = None

    def __post_init__(self) -> None:
        if self.mac is not None:
            object.__setattr__(self, "mac", normalize_mac(self.mac))
        object.__setattr__(self, "ip", normalize_ip(self.ip))
        if not any((self.mac, self.ip, self.switch, self.port)):
            raise StoreError("a journal target needs at least a MAC, an IP, a switch or a port")

    def as_dict(self) -> dict[str, str | None]:
        return {"mac": self.mac, "ip": self.ip, "switch": self.switch, "port": self.port}


@dataclass(frozen=True)
class JournalEntry:
    id: int
    created: datetime
    operator: str
    action: str
    target: Target
    state_before: dict[str, Any]
    state_after: dict[str, Any]
    reason: str
    undoes: int | None
    status: JournalStatus
    outcome: str | None
    finished: datetime | None
    prev_hash: str
    hash: str

    @property
    def is_open(self) -> bool:
        """No outcome recorded: running, or interrupted by a crash."""
        return self.status == "intent"


@dataclass(frozen=True)
class JournalOutcome:
    seq: int
    entry_id: int
    status: OutcomeStatus
    detail: str | None
    at: datetime
    undone_by: int | None
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class BrokenLink:
    table: Literal["journal", "journal_outcomes"]
    row_id: int
    problem: str


@dataclass(frozen=True)
class ChainReport:
    entries: int
    outcomes: int
    head: str
    outcomes_head: str
    broken: BrokenLink | None

    @property
    def ok(self) -> bool:
        return self.broken is None


_ENTRY_COLUMNS = (
    "id, created, operator, action, target_mac, target_ip, target_switch, target_port, state_before, state_after, "
    "reason, undoes, status, outcome, finished, prev_hash, hash"
)
_OUTCOME_COLUMNS = "seq, entry_id, status, detail, at, undone_by, prev_hash, hash"


def _chain_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical_json(fields)).encode("utf-8")).hexdigest()


def _entry_fields(
    id_: int, created: str, operator: str, action: str, target: dict[str, str | None], before: str, after: str,
    reason: str, undoes: int | None,
) -> dict[str, Any]:
    # state_before/after are hashed as their stored canonical text, so what is hashed is exactly what is stored.
    return {
        "id": id_, "created": created, "operator": operator, "action": action, "target": target,
        "state_before": before, "state_after": after, "reason": reason, "undoes": undoes,
    }


def _outcome_fields(
    seq: int, entry_id: int, entry_hash: str, status: str, detail: str | None, at: str, undone_by: int | None
) -> dict[str, Any]:
    return {
        "seq": seq, "entry_id": entry_id, "entry_hash": entry_hash, "status": status, "detail": detail, "at": at,
        "undone_by": undone_by,
    }


def _entry(row: tuple[Any, ...]) -> JournalEntry:
    (id_, created, operator, action, mac, ip, switch, port, before, after, reason, undoes, status, outcome,
     finished, prev_hash, hash_) = row
    return JournalEntry(
        id=int(id_), created=from_db_time(created), operator=operator, action=action,
        target=Target(mac=mac, ip=ip, switch=switch, port=port), state_before=json_object(before),
        state_after=json_object(after), reason=reason, undoes=undoes, status=cast(JournalStatus, status),
        outcome=outcome, finished=opt_from_db_time(finished), prev_hash=prev_hash, hash=hash_,
    )


def _outcome(row: tuple[Any, ...]) -> JournalOutcome:
    seq, entry_id, status, detail, at, undone_by, prev_hash, hash_ = row
    return JournalOutcome(
        seq=int(seq), entry_id=int(entry_id), status=cast(OutcomeStatus, status), detail=detail,
        at=from_db_time(at), undone_by=undone_by, prev_hash=prev_hash, hash=hash_,
    )


class ActionJournal:
    """Append-only, hash-chained record of network changes (see the module docstring)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def record_intent(
        self,
        *,
        operator: str,
        action: str,
        target: Target,
        state_before: dict[str, Any],
        state_after: dict[str, Any],
        reason: str,
        undoes: int | None = None,
        now: datetime | None = None,
    ) -> int:
        """Write the intent and commit it (durably: WAL, synchronous=FULL) before returning its id."""
        if not operator.strip():
            raise StoreError("a journal entry needs an operator")
        if not reason.strip():
            raise StoreError("a journal entry needs a reason")
        if not _ACTION_NAME.fullmatch(action):
            raise StoreError(f"'{action}' is not an action name (lowercase words joined by '-', e.g. port-shutdown)")
        before = canonical_json(state_before)
        after = canonical_json(state_after)
        created = to_db_time(now or utcnow())
        with transaction(self._conn):
            if undoes is not None:
                undone = self._get(undoes)
                if undone.status != "applied":
                    raise StoreError(
                        f"journal entry {undoes} is '{undone.status}'; only an applied action can be undone"
                    )
            last = self._conn.execute("SELECT id, hash FROM journal ORDER BY id DESC LIMIT 1").fetchone()
            entry_id = 1 if last is None else int(last[0]) + 1
            prev_hash = GENESIS_HASH if last is None else str(last[1])
            fields = _entry_fields(entry_id, created, operator, action, target.as_dict(), before, after, reason, undoes)
            self._conn.execute(
                f"INSERT INTO journal ({_ENTRY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'intent', NULL, "
                "NULL, ?, ?)",
                (entry_id, created, operator, action, target.mac, target.ip, target.switch, target.port, before, after,
                 reason, undoes, prev_hash, _chain_hash(prev_hash, fields)),
            )
        return entry_id

    def mark_applied(self, entry_id: int, detail: str | None = None, *, now: datetime | None = None) -> JournalEntry:
        """The action took effect; if it undoes another entry, that one becomes ``undone`` in the same commit."""
        at = to_db_time(now or utcnow())
        with transaction(self._conn):
            entry = self._require(entry_id, "intent")
            self._add_outcome(entry, "applied", detail, at, undone_by=None)
            if entry.undoes is not None:
                original = self._get(entry.undoes)
                # Already undone (two restores raced): this one is still recorded as applied.
                if original.status == "applied":
                    self._add_outcome(original, "undone", f"undone by journal entry {entry_id}", at,
                                      undone_by=entry_id)
        return self.get(entry_id)

    def mark_failed(self, entry_id: int, detail: str, *, now: datetime | None = None) -> JournalEntry:
        """The action did not take effect (or an interrupted one was checked and found not applied)."""
        if not detail.strip():
            raise StoreError("say why the action failed")
        at = to_db_time(now or utcnow())
        with transaction(self._conn):
            self._add_outcome(self._require(entry_id, "intent"), "failed", detail, at, undone_by=None)
        return self.get(entry_id)

    def mark_undone(
        self, entry_id: int, detail: str, *, by: int | None = None, now: datetime | None = None
    ) -> JournalEntry:
        """Record that an applied action was reversed outside NetGuard's own undo (e.g. by hand on the switch).

        Undoing through NetGuard is a journal entry with ``undoes=entry_id``;
        applying it marks this entry undone without calling this method.
        """
        if not detail.strip():
            raise StoreError("say how the action was undone")
        at = to_db_time(now or utcnow())
        with transaction(self._conn):
            entry = self._require(entry_id, "applied")
            if by is not None:
                undo = self._get(by)
                if undo.undoes != entry_id or undo.status != "applied":
                    raise StoreError(f"journal entry {by} is not an applied undo of entry {entry_id}")
            self._add_outcome(entry, "undone", detail, at, undone_by=by)
        return self.get(entry_id)

    def _require(self, entry_id: int, status: JournalStatus) -> JournalEntry:
        entry = self._get(entry_id)
        if entry.status != status:
            raise StoreError(f"journal entry {entry_id} is '{entry.status}', expected '{status}'")
        return entry

    def _add_outcome(self, entry: JournalEntry, status: OutcomeStatus, detail: str | None, at: str,
                     *, undone_by: int | None) -> None:
        last = self._conn.execute("SELECT seq, hash FROM journal_outcomes ORDER BY seq DESC LIMIT 1").fetchone()
        seq = 1 if last is None else int(last[0]) + 1
        prev_hash = GENESIS_HASH if last is None else str(last[1])
        fields = _outcome_fields(seq, entry.id, entry.hash, status, detail, at, undone_by)
        self._conn.execute(
            f"INSERT INTO journal_outcomes ({_OUTCOME_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, entry.id, status, detail, at, undone_by, prev_hash, _chain_hash(prev_hash, fields)),
        )
        self._conn.execute(
            "UPDATE journal SET status = ?, outcome = ?, finished = ? WHERE id = ?", (status, detail, at, entry.id)
        )

    def _get(self, entry_id: int) -> JournalEntry:
        row = self._conn.execute(f"SELECT {_ENTRY_COLUMNS} FROM journal WHERE id = ?", (entry_id,)).fetchone()
        if row is None:
            raise StoreError(f"no journal entry {entry_id}")
        return _entry(tuple(row))

    def get(self, entry_id: int) -> JournalEntry:
        return self._get(entry_id)

    def entries(
        self,
        *,
        status: JournalStatus | None = None,
        action: str | None = None,
        operator: str | None = None,
        mac: str | None = None,
        switch: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
    ) -> list[JournalEntry]:
        """Entries matching every given filter, oldest first (``limit`` keeps the newest N)."""
        clauses: list[str] = []
        params: list[object] = []
        for column, value in (
            ("status", status), ("action", action), ("operator", operator),
            ("target_mac", normalize_mac(mac) if mac else None), ("target_switch", switch),
        ):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if since is not None:
            clauses.append("created >= ?")
            params.append(to_db_time(since))
        if until is not None:
            clauses.append("created < ?")
            params.append(to_db_time(until))
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = f"SELECT {_ENTRY_COLUMNS} FROM journal {where} ORDER BY id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        return [_entry(tuple(r)) for r in reversed(self._conn.execute(sql, params).fetchall())]

    def open_entries(self) -> list[JournalEntry]:
        """Intents without an outcome: running now, or interrupted by a crash and needing a check."""
        return self.entries(status="intent")

    def outcomes(self, entry_id: int) -> list[JournalOutcome]:
        rows = self._conn.execute(
            f"SELECT {_OUTCOME_COLUMNS} FROM journal_outcomes WHERE entry_id = ? ORDER BY seq", (entry_id,)
        )
        return [_outcome(tuple(r)) for r in rows]

    def undo_entries(self, entry_id: int) -> list[JournalEntry]:
        """The entries that undo (or tried to undo) ``entry_id``."""
        rows = self._conn.execute(f"SELECT {_ENTRY_COLUMNS} FROM journal WHERE undoes = ? ORDER BY id", (entry_id,))
        return [_entry(tuple(r)) for r in rows]

    def verify_chain(self) -> ChainReport:
        """Recompute both chains; report the first row whose hash, link or copied status does not hold."""
        entries = 0
        prev = GENESIS_HASH
        broken: BrokenLink | None = None
        entry_hashes: dict[int, str] = {}
        copies: dict[int, tuple[str, str | None, str | None]] = {}
        for row in self._conn.execute(f"SELECT {_ENTRY_COLUMNS} FROM journal ORDER BY id"):
            (id_, created, operator, action, mac, ip, switch, port, before, after, reason, undoes, status, outcome,
             finished, prev_hash, hash_) = tuple(row)
            entries += 1
            entry_hashes[int(id_)] = str(hash_)
            copies[int(id_)] = (str(status), outcome, finished)
            if broken is not None:
                continue
            target = {"mac": mac, "ip": ip, "switch": switch, "port": port}
            expected = _chain_hash(
                prev_hash, _entry_fields(int(id_), created, operator, action, target, before, after, reason, undoes)
            )
            if prev_hash != prev:
                broken = BrokenLink(
                    "journal", int(id_), "does not link to the previous entry (one was removed or reordered)"
                )
            elif expected != hash_:
                broken = BrokenLink("journal", int(id_), "content does not match its hash (the entry was edited)")
            prev = str(hash_)
        head = prev

        outcomes = 0
        prev = GENESIS_HASH
        latest: dict[int, tuple[str, str | None, str | None]] = {}
        for row in self._conn.execute(f"SELECT {_OUTCOME_COLUMNS} FROM journal_outcomes ORDER BY seq"):
            seq, entry_id, status, detail, at, undone_by, prev_hash, hash_ = tuple(row)
            outcomes += 1
            latest[int(entry_id)] = (str(status), detail, at)
            if broken is not None:
                continue
            expected = _chain_hash(
                prev_hash,
                _outcome_fields(int(seq), int(entry_id), entry_hashes.get(int(entry_id), ""), status, detail, at,
                                undone_by),
            )
            if prev_hash != prev:
                broken = BrokenLink("journal_outcomes", int(seq), "does not link to the previous outcome")
            elif expected != hash_:
                broken = BrokenLink("journal_outcomes", int(seq), "content does not match its hash (edited)")
            prev = str(hash_)

        if broken is None:
            for entry_id, copy in copies.items():
                recorded = latest.get(entry_id, ("intent", None, None))
                if copy != recorded:
                    broken = BrokenLink(
                        "journal", entry_id,
                        f"status '{copy[0]}' disagrees with the chained outcome record ('{recorded[0]}')",
                    )
                    break
        return ChainReport(entries=entries, outcomes=outcomes, head=head, outcomes_head=prev, broken=broken)
