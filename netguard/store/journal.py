"""The action journal: every change NetGuard makes to a network, intent first.

The order is fixed (NAV's Arnold changes the port first and records after,
without a transaction; NetGuard does not):

1. :meth:`ActionJournal.record_intent` writes what is about to be done (the
   state before, the intended state after, operator, reason) and commits it
   durably before it returns the entry id;
2. the caller acts on the network;
3. :meth:`mark_applied` or :meth:`mark_failed` records the outcome. ``mark_applied``
   takes the :class:`~netguard.store.isolation.PortState` the action left the
   port in and writes the outcome and the isolation row in one transaction:
   a crash leaves both or neither, never an applied action whose port state
   says otherwise. Applying a ``restore`` (an entry that ``undoes`` another)
   marks the original ``undone`` and clears its isolation in that same commit.

An entry still in ``intent`` is *open*: either the action is running, or the
process died between 1 and 3 (an *interrupted* action whose effect on the
switch is unknown until someone checks). Only :data:`KNOWN_ACTIONS` are
journalled; they are exactly the ``enforcement`` event kind's actions (rows
from schema version 1 may name others, e.g. ``port-enable``: they stay
readable and verifiable).

Tamper evidence (等保 8.1.4.3 d, protect audit records). Each entry carries
``hash``, a link of a keyed hash chain (:mod:`netguard.hashchain`):
``HMAC-SHA256(key, context + "\\n" + prev_hash + canonical JSON of its
immutable fields)``, with ``prev_hash`` the previous entry's hash (64 zeros for
the first) and ``key_id`` the key's fingerprint. Outcomes are append-only rows of their
own (``journal_outcomes``), chained the same way and bound to their entry's
hash; the ``status``/``outcome``/``finished`` columns on the entry are a copy
for querying, and :meth:`verify_chain` checks that the copy agrees with the
chained outcomes. The key comes from the secrets file (``state.journal_key``)
and is never stored in the database, so someone with write access to the file
can no longer drop the triggers, edit an entry and recompute the chain.

Cut-over from the unkeyed journal (schema version 1, plain SHA-256): old rows
keep their hashes and are verified as before; the first keyed entry links to
the last unkeyed one, so its HMAC seals the unkeyed history as it stood then,
and from there on every row must be keyed (a trigger refuses unkeyed inserts,
verification reports an unkeyed row after a keyed one as a downgrade). Nothing
was re-signed: re-signing would have endorsed whatever the old rows said at
that moment without being able to check it. The report counts the unkeyed
rows; only heads kept elsewhere can vouch for them.

Without a key the journal is read-only: :meth:`record_intent` and the
outcome methods refuse, because a security officer reading the journal must be
able to rely on every entry NetGuard wrote being provable. Enforcement that
cannot be journalled provably does not run. Verification without the key
checks linkage and the unkeyed part but reports the keyed rows as unverified.

A chain cannot show that its newest rows were cut off, nor that all of it was
rewritten as if never keyed. :func:`event_fields` therefore puts the entry's
hash into its ``enforcement`` event (``netguard.enforce.chain_head`` beside
``netguard.enforce.journal_id``), so the event store holds an independent copy;
:meth:`verify_chain` takes those ``(journal_id, head)`` pairs (read them with
:func:`witness_of`) and reports truncation and rewritten history. Only the
entry chain is witnessed: cutting off the newest *outcomes* shows only as an
``enforcement`` event whose ``event.outcome`` the journal no longer has. It also
checks that the journal's protecting triggers are the ones the migrations
created (:func:`netguard.store.migrations.journal_triggers`).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, cast

from netguard.errors import StoreError
from netguard.hashchain import GENESIS, Break, ChainKey, Link, Truncation, link_digest, verify_links
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
from netguard.store.isolation import IsolationStatus, PortState, write_state
from netguard.store.migrations import JOURNAL_TABLES, journal_triggers, normalize_sql

JournalStatus = Literal["intent", "applied", "failed", "undone"]
OutcomeStatus = Literal["applied", "failed", "undone"]
# The isolation state each action leaves its port in; the keys are the journal's actions.
ACTION_ISOLATION: dict[str, IsolationStatus] = {
    "port-shutdown": "disabled",
    "quarantine-vlan": "quarantined",
    "arp-isolate": "isolated",
    "restore": "enabled",
}
KNOWN_ACTIONS = tuple(ACTION_ISOLATION)
GENESIS_HASH = GENESIS
ENTRY_CONTEXT = "netguard.journal.entries"
OUTCOME_CONTEXT = "netguard.journal.outcomes"
JOURNAL_ID_FIELD = "netguard.enforce.journal_id"
CHAIN_HEAD_FIELD = "netguard.enforce.chain_head"
_ACTION_NAME = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
_NO_KEY = (
    "the action journal has no key, so it cannot record actions provably: set state.journal_key in "
    "netguard.yaml to a secret reference (e.g. secret:journal_key; make the key with: openssl rand -hex 32)"
)


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
    key_id: str | None  # None: an unkeyed entry from before the cut-over

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
    key_id: str | None


@dataclass(frozen=True)
class BrokenLink:
    table: Literal["journal", "journal_outcomes"]
    row_id: int
    problem: str


@dataclass(frozen=True)
class TriggerReport:
    """The journal's triggers against the ones the migrations create."""

    missing: tuple[str, ...] = ()
    altered: tuple[str, ...] = ()
    unexpected: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not (self.missing or self.altered or self.unexpected)


@dataclass(frozen=True)
class ChainReport:
    entries: int
    outcomes: int
    head: str
    outcomes_head: str
    broken: BrokenLink | None
    key_id: str | None = None  # the key verified with
    unkeyed_entries: int = 0  # before the cut-over: plain SHA-256, only witnesses vouch for them
    unkeyed_outcomes: int = 0
    unverified: int = 0  # keyed rows not checked: no key, or made with another key
    other_keys: tuple[str, ...] = ()
    rewritten: tuple[int, ...] = ()  # entries whose head in the event store the journal no longer has
    truncated: Truncation | None = None
    witnesses: int = 0
    triggers: TriggerReport = field(default_factory=TriggerReport)

    @property
    def ok(self) -> bool:
        return (
            self.broken is None
            and self.unverified == 0
            and not self.rewritten
            and self.truncated is None
            and self.triggers.ok
        )

    def problems(self) -> list[str]:
        """One line per problem, for people; empty when :attr:`ok`."""
        lines: list[str] = []
        if self.broken is not None:
            noun = "entry" if self.broken.table == "journal" else "outcome"
            lines.append(f"journal {noun} {self.broken.row_id} {self.broken.problem}")
        if self.truncated is not None:
            lines.append(
                f"the journal ends at entry {self.truncated.last_seq} but the event store saw entry "
                f"{self.truncated.witnessed_seq}: entries were cut off at the end"
            )
        if self.rewritten:
            ids = ", ".join(str(i) for i in self.rewritten)
            lines.append(f"entries {ids} differ from the chain heads in the event store: history was rewritten")
        if self.other_keys:
            keys = ", ".join(self.other_keys)
            lines.append(
                f"rows made with another key ({keys}) than the one given ({self.key_id}): a wrong state.journal_key, "
                "or rows forged with a key of their own"
            )
        elif self.unverified:
            lines.append(f"{self.unverified} keyed rows not verified: no journal key given")
        for what, names in (
            ("missing", self.triggers.missing),
            ("altered", self.triggers.altered),
            ("not created by NetGuard", self.triggers.unexpected),
        ):
            if names:
                lines.append(f"journal triggers {what}: {', '.join(names)} (someone changed the schema)")
        return lines


_ENTRY_COLUMNS = (
    "id, created, operator, action, target_mac, target_ip, target_switch, target_port, state_before, state_after, "
    "reason, undoes, status, outcome, finished, prev_hash, hash, key_id"
)
_OUTCOME_COLUMNS = "seq, entry_id, status, detail, at, undone_by, prev_hash, hash, key_id"


_ENTRY_NAMES = tuple(name.strip() for name in _ENTRY_COLUMNS.split(","))
_OUTCOME_NAMES = tuple(name.strip() for name in _OUTCOME_COLUMNS.split(","))
# What each chain link covers (unchanged since schema version 1, so unkeyed rows still verify).
_ENTRY_HASHED = ("id", "created", "operator", "action", "state_before", "state_after", "reason", "undoes")
_OUTCOME_HASHED = ("seq", "entry_id", "status", "detail", "at", "undone_by")
_TARGET_COLUMNS = {"mac": "target_mac", "ip": "target_ip", "switch": "target_switch", "port": "target_port"}


def _entry_payload(row: Mapping[str, Any]) -> str:
    # state_before/after are hashed as their stored canonical text, so what is hashed is exactly what is stored.
    fields = {name: row[name] for name in _ENTRY_HASHED}
    fields["target"] = {key: row[column] for key, column in _TARGET_COLUMNS.items()}
    return canonical_json(fields)


def _outcome_payload(row: Mapping[str, Any], entry_hash: str) -> str:
    return canonical_json({**{name: row[name] for name in _OUTCOME_HASHED}, "entry_hash": entry_hash})


def _entry(values: tuple[Any, ...]) -> JournalEntry:
    r = dict(zip(_ENTRY_NAMES, values, strict=True))
    target = Target(**{key: r[column] for key, column in _TARGET_COLUMNS.items()})
    return JournalEntry(
        id=int(r["id"]),
        created=from_db_time(r["created"]),
        operator=r["operator"],
        action=r["action"],
        target=target,
        state_before=json_object(r["state_before"]),
        state_after=json_object(r["state_after"]),
        reason=r["reason"],
        undoes=r["undoes"],
        status=cast(JournalStatus, r["status"]),
        outcome=r["outcome"],
        finished=opt_from_db_time(r["finished"]),
        prev_hash=r["prev_hash"],
        hash=r["hash"],
        key_id=r["key_id"],
    )


def _outcome(values: tuple[Any, ...]) -> JournalOutcome:
    r = dict(zip(_OUTCOME_NAMES, values, strict=True))
    return JournalOutcome(**{**r, "at": from_db_time(r["at"]), "status": cast(OutcomeStatus, r["status"])})


def _check_port_state(entry: JournalEntry, state: PortState, expected: IsolationStatus) -> None:
    """Refuse a port state that is not the one this entry's action leaves, or not on its target."""
    if state.status != expected:
        raise StoreError(
            f"journal entry {entry.id} ({entry.action}) leaves the port '{expected}', not '{state.status}'"
        )
    target = entry.target
    for what, wanted, given in (
        ("MAC", target.mac, state.mac),
        ("switch", target.switch, state.switch),
        ("port", target.port, state.port),
    ):
        if wanted is not None and wanted != given:
            raise StoreError(f"journal entry {entry.id} targets {what} '{wanted}', the port state names '{given}'")


class ActionJournal:
    """Append-only, keyed hash-chained record of network changes (see the module docstring).

    ``key`` is the chain key from the secrets file; without it the journal can
    be read and verified (partly) but not written.
    """

    def __init__(self, conn: sqlite3.Connection, key: ChainKey | None = None) -> None:
        self._conn = conn
        self._key = key

    @property
    def key_id(self) -> str | None:
        return None if self._key is None else self._key.key_id

    def _writer_key(self) -> ChainKey:
        if self._key is None:
            raise StoreError(_NO_KEY)
        return self._key

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
        key = self._writer_key()
        if not operator.strip():
            raise StoreError("a journal entry needs an operator")
        if not reason.strip():
            raise StoreError("a journal entry needs a reason")
        if not _ACTION_NAME.fullmatch(action):
            raise StoreError(f"'{action}' is not an action name (lowercase words joined by '-', e.g. port-shutdown)")
        if action not in KNOWN_ACTIONS:
            raise StoreError(f"unknown action '{action}' (one of {', '.join(KNOWN_ACTIONS)})")
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
            row: dict[str, Any] = {
                "id": entry_id, "created": created, "operator": operator, "action": action,
                **{column: target.as_dict()[k] for k, column in _TARGET_COLUMNS.items()},
                "state_before": before, "state_after": after, "reason": reason, "undoes": undoes,
                "status": "intent", "outcome": None, "finished": None, "prev_hash": prev_hash, "key_id": key.key_id,
            }  # fmt: skip
            row["hash"] = link_digest(prev_hash, _entry_payload(row), key, ENTRY_CONTEXT)
            self._insert("journal", _ENTRY_NAMES, row)
        return entry_id

    def mark_applied(
        self,
        entry_id: int,
        detail: str | None = None,
        *,
        isolation: PortState | None = None,
        now: datetime | None = None,
    ) -> JournalEntry:
        """The action took effect; record it, and the port state it left, in one transaction.

        ``isolation`` is the state the action left the port in (its status must
        be the one the action implies, see :data:`ACTION_ISOLATION`); the row
        then names this entry. If the entry undoes another, that one becomes
        ``undone`` in the same commit.
        """
        key = self._writer_key()
        at = to_db_time(now or utcnow())
        with transaction(self._conn):
            entry = self._require(entry_id, "intent")
            if isolation is not None:
                leaves = ACTION_ISOLATION.get(entry.action)
                if leaves is None:
                    raise StoreError(f"journal entry {entry_id}'s action '{entry.action}' sets no port state")
                _check_port_state(entry, isolation, leaves)
            self._add_outcome(key, entry, "applied", detail, at, undone_by=None)
            if entry.undoes is not None:
                original = self._get(entry.undoes)
                # Already undone (two restores raced): this one is still recorded as applied.
                if original.status == "applied":
                    self._add_outcome(
                        key, original, "undone", f"undone by journal entry {entry_id}", at, undone_by=entry_id
                    )
            if isolation is not None:
                write_state(self._conn, isolation, journal_id=entry_id, updated=at)
        return self.get(entry_id)

    def mark_failed(self, entry_id: int, detail: str, *, now: datetime | None = None) -> JournalEntry:
        """The action did not take effect (or an interrupted one was checked and found not applied)."""
        key = self._writer_key()
        if not detail.strip():
            raise StoreError("say why the action failed")
        at = to_db_time(now or utcnow())
        with transaction(self._conn):
            self._add_outcome(key, self._require(entry_id, "intent"), "failed", detail, at, undone_by=None)
        return self.get(entry_id)

    def mark_undone(
        self,
        entry_id: int,
        detail: str,
        *,
        by: int | None = None,
        isolation: PortState | None = None,
        now: datetime | None = None,
    ) -> JournalEntry:
        """Record that an applied action was reversed outside NetGuard's own undo (e.g. by hand on the switch).

        ``isolation`` (status ``enabled``) clears the port's isolation in the
        same transaction. Undoing through NetGuard is a journal entry with
        ``undoes=entry_id``; applying it marks this entry undone without
        calling this method.
        """
        key = self._writer_key()
        if not detail.strip():
            raise StoreError("say how the action was undone")
        at = to_db_time(now or utcnow())
        with transaction(self._conn):
            entry = self._require(entry_id, "applied")
            if isolation is not None:
                _check_port_state(entry, isolation, "enabled")
            if by is not None:
                undo = self._get(by)
                if undo.undoes != entry_id or undo.status != "applied":
                    raise StoreError(f"journal entry {by} is not an applied undo of entry {entry_id}")
            self._add_outcome(key, entry, "undone", detail, at, undone_by=by)
            if isolation is not None:
                write_state(self._conn, isolation, journal_id=by if by is not None else entry_id, updated=at)
        return self.get(entry_id)

    def _require(self, entry_id: int, status: JournalStatus) -> JournalEntry:
        entry = self._get(entry_id)
        if entry.status != status:
            raise StoreError(f"journal entry {entry_id} is '{entry.status}', expected '{status}'")
        return entry

    def _add_outcome(
        self,
        key: ChainKey,
        entry: JournalEntry,
        status: OutcomeStatus,
        detail: str | None,
        at: str,
        *,
        undone_by: int | None,
    ) -> None:
        last = self._conn.execute("SELECT seq, hash FROM journal_outcomes ORDER BY seq DESC LIMIT 1").fetchone()
        seq = 1 if last is None else int(last[0]) + 1
        prev_hash = GENESIS_HASH if last is None else str(last[1])
        row: dict[str, Any] = {
            "seq": seq, "entry_id": entry.id, "status": status, "detail": detail, "at": at, "undone_by": undone_by,
            "prev_hash": prev_hash, "key_id": key.key_id,
        }  # fmt: skip
        row["hash"] = link_digest(prev_hash, _outcome_payload(row, entry.hash), key, OUTCOME_CONTEXT)
        self._insert("journal_outcomes", _OUTCOME_NAMES, row)
        self._conn.execute(
            "UPDATE journal SET status = ?, outcome = ?, finished = ? WHERE id = ?", (status, detail, at, entry.id)
        )

    def _insert(self, table: str, names: tuple[str, ...], row: Mapping[str, Any]) -> None:
        marks = ", ".join("?" for _ in names)
        self._conn.execute(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})", [row[n] for n in names])

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
            ("status", status),
            ("action", action),
            ("operator", operator),
            ("target_mac", normalize_mac(mac) if mac else None),
            ("target_switch", switch),
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

    def verify_chain(self, witnessed: Iterable[tuple[int, str]] = ()) -> ChainReport:
        """Recompute both chains, compare them with witnessed heads, and check the triggers.

        ``witnessed`` are ``(journal_id, chain_head)`` pairs kept elsewhere
        (:func:`witness_of` reads them from ``enforcement`` events). Reports the
        first row whose link, hash or copied status does not hold, entries cut
        off at the end or rewritten (against the witnesses), rows made with
        another key, and missing or altered triggers.
        """
        entry_hashes: dict[int, str] = {}
        copies: dict[int, tuple[str, str | None, str | None]] = {}

        def entry_links() -> Iterable[Link]:
            for values in self._conn.execute(f"SELECT {_ENTRY_COLUMNS} FROM journal ORDER BY id"):
                row = dict(zip(_ENTRY_NAMES, values, strict=True))
                entry_hashes[int(row["id"])] = str(row["hash"])
                copies[int(row["id"])] = (str(row["status"]), row["outcome"], row["finished"])
                yield Link(int(row["id"]), str(row["prev_hash"]), str(row["hash"]), _entry_payload(row), row["key_id"])

        latest: dict[int, tuple[str, str | None, str | None]] = {}

        def outcome_links() -> Iterable[Link]:
            for values in self._conn.execute(f"SELECT {_OUTCOME_COLUMNS} FROM journal_outcomes ORDER BY seq"):
                row = dict(zip(_OUTCOME_NAMES, values, strict=True))
                latest[int(row["entry_id"])] = (str(row["status"]), row["detail"], row["at"])
                payload = _outcome_payload(row, entry_hashes.get(int(row["entry_id"]), ""))
                yield Link(int(row["seq"]), str(row["prev_hash"]), str(row["hash"]), payload, row["key_id"])

        entries = verify_links(entry_links(), key=self._key, context=ENTRY_CONTEXT, witnessed=witnessed, noun="entry")
        outcomes = verify_links(outcome_links(), key=self._key, context=OUTCOME_CONTEXT, noun="outcome")
        broken = _broken("journal", entries.broken) or _broken("journal_outcomes", outcomes.broken)
        if broken is None:
            for entry_id, copy in copies.items():
                recorded = latest.get(entry_id, ("intent", None, None))
                if copy != recorded:
                    broken = BrokenLink(
                        "journal",
                        entry_id,
                        f"status '{copy[0]}' disagrees with the chained outcome record ('{recorded[0]}')",
                    )
                    break
        return ChainReport(
            entries=entries.links,
            outcomes=outcomes.links,
            head=entries.head,
            outcomes_head=outcomes.head,
            broken=broken,
            key_id=self.key_id,
            unkeyed_entries=entries.unkeyed,
            unkeyed_outcomes=outcomes.unkeyed,
            unverified=entries.unverified + outcomes.unverified,
            other_keys=tuple(dict.fromkeys(entries.other_keys + outcomes.other_keys)),
            rewritten=entries.rewritten,
            truncated=entries.truncated,
            witnesses=entries.witnesses,
            triggers=self._check_triggers(),
        )

    def _check_triggers(self) -> TriggerReport:
        expected = journal_triggers()
        marks = ", ".join("?" for _ in JOURNAL_TABLES)
        actual = {
            str(name): normalize_sql(str(sql))
            for name, sql in self._conn.execute(
                f"SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ({marks})", JOURNAL_TABLES
            )
        }
        return TriggerReport(
            missing=tuple(sorted(set(expected) - set(actual))),
            altered=tuple(sorted(n for n in expected if n in actual and actual[n] != expected[n])),
            unexpected=tuple(sorted(set(actual) - set(expected))),
        )


def _broken(table: Literal["journal", "journal_outcomes"], found: Break | None) -> BrokenLink | None:
    return None if found is None else BrokenLink(table, found.seq, found.problem)


_EVENT_OUTCOME = {"intent": "unknown", "applied": "success", "failed": "failure", "undone": "success"}


def event_fields(entry: JournalEntry) -> dict[str, Any]:
    """The fields of the ``enforcement`` event for ``entry`` as it stands, chain head included.

    Write one after the intent is recorded and one after each outcome; every
    one carries the entry's id and hash, the independent copy that
    :meth:`ActionJournal.verify_chain` compares the journal with. Pass the
    result to :func:`netguard.events.make_event` as kind ``enforcement``.
    """
    target = entry.target
    where = " ".join(p for p in (target.mac, target.ip, target.switch, target.port) if p)
    return {
        "@timestamp": entry.finished or entry.created,
        "event.action": entry.action,
        "event.outcome": _EVENT_OUTCOME[entry.status],
        "user.name": entry.operator,
        "host.mac": target.mac,
        "host.ip": target.ip,
        "observer.name": target.switch,
        "observer.ingress.interface.name": target.port,
        JOURNAL_ID_FIELD: str(entry.id),
        CHAIN_HEAD_FIELD: entry.hash,
        "netguard.enforce.state_before": canonical_json(entry.state_before),
        "netguard.enforce.state_after": canonical_json(entry.state_after),
        "netguard.enforce.reason": entry.reason,
        "netguard.enforce.dry_run": False,
        "error.message": entry.outcome if entry.status == "failed" else None,
        "message": f"{entry.action} {where} by {entry.operator}: {entry.status} (journal entry {entry.id})",
    }


def witness_of(fields: Mapping[str, Any]) -> tuple[int, str] | None:
    """The ``(journal_id, chain_head)`` an ``enforcement`` event's fields witness, or None if it has none."""
    journal_id, head = fields.get(JOURNAL_ID_FIELD), fields.get(CHAIN_HEAD_FIELD)
    if journal_id is None or head is None:
        return None
    try:
        return int(journal_id), str(head)
    except ValueError:
        raise StoreError(f"an enforcement event names journal entry '{journal_id}', not a number") from None
