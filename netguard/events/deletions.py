"""Deleting audit records leaves a record of the deletion (等保2.0 8.1.4.3 c: audit records are protected).

Every deletion from the event store goes through :func:`purge_recorded`,
which follows the journal's order, intent before action:

1. count what the cut-off selects, and write a ``deletion`` event saying who
   asks to delete what (outcome ``unknown``); if that event cannot be stored,
   nothing is deleted;
2. purge;
3. count again and write a second ``deletion`` event with the outcome and how
   many events went (counted before and after, so Elasticsearch, which drops
   whole monthly indices, reports events too, not only indices).

A purge that fails half-way leaves the intent event and a ``failure`` event
with the reason. Both stores never purge events of kind ``deletion``
(``SQLiteEventStore.purge``, ``ElasticsearchEventStore.purge``): the record
of a deletion survives every later purge, including one with a cut-off in
the future.

"Who" is the operating-system account running the command, and the account
that ran ``sudo`` when there is one (both in ``related.user``).
"""

from __future__ import annotations

import getpass
import os
import socket
from dataclasses import dataclass
from typing import Any

from netguard.errors import StoreError
from netguard.events.model import Event, format_timestamp, make_event
from netguard.events.query import plan as p
from netguard.events.schema import DELETION_KIND, FIELDS
from netguard.events.store import EventStore


@dataclass(frozen=True)
class PurgeRecord:
    """What a recorded purge did."""

    cutoff_ms: int
    matched: int  # events older than the cut-off (deletion records excluded) before the purge
    removed: int  # events gone after it
    indices: int | None  # Elasticsearch: indices dropped
    intent_id: str
    record_id: str


def operator() -> tuple[str, list[str]]:
    """The account to name as having deleted, and every account involved."""
    account = getpass.getuser()
    sudo = os.environ.get("SUDO_USER")
    if sudo and sudo != account:
        return sudo, [sudo, account]
    return account, [account]


def store_name(store: EventStore) -> str:
    where = getattr(store, "path", None) or getattr(store, "where", None)
    return f"{store.backend}:{where}" if where is not None else store.backend


def older_events(cutoff_ms: int) -> p.Plan:
    """Events a purge at ``cutoff_ms`` removes: older ones, except records of deletions."""
    return p.All(
        (
            p.Range(FIELDS["@timestamp"], lt=cutoff_ms),
            p.Not(p.OneOf(FIELDS["netguard.kind"], (DELETION_KIND,))),
        )
    )


def _record(store: EventStore, fields: dict[str, Any], what: str) -> Event:
    event = make_event(DELETION_KIND, fields)
    try:
        result = store.write([event])
    except StoreError as exc:
        raise StoreError(f"cannot record the {what} in the event store: {exc}") from None
    if result.failed:
        reason = result.errors[0] if result.errors else "refused"
        raise StoreError(f"cannot record the {what} in the event store: {reason}")
    store.refresh()
    return event


def purge_recorded(store: EventStore, cutoff_ms: int, *, older_than: str, forced: bool) -> PurgeRecord:
    """Purge events older than ``cutoff_ms``, with a deletion event before and after (see the module doc)."""
    user, accounts = operator()
    common: dict[str, Any] = {
        "event.action": "purge",
        "user.name": user,
        "related.user": accounts,
        "host.name": socket.gethostname(),
        "netguard.deletion.store": store_name(store),
        "netguard.deletion.before": format_timestamp(cutoff_ms),
        "netguard.deletion.older_than": older_than,
        "netguard.deletion.forced": forced,
    }
    cutoff = format_timestamp(cutoff_ms)
    matched = store.count(older_events(cutoff_ms))
    intent = _record(
        store,
        common
        | {
            "event.outcome": "unknown",
            "netguard.deletion.matched": matched,
            "message": f"{user} purges {matched} events older than {cutoff} (--older-than {older_than})",
        },
        "intent to purge (nothing was deleted)",
    )
    try:
        indices = store.purge(cutoff_ms)
    except StoreError as exc:
        store.refresh()
        gone = max(0, matched - store.count(older_events(cutoff_ms)))
        _record(
            store,
            common
            | {
                "event.outcome": "failure",
                "netguard.deletion.matched": matched,
                "netguard.deletion.removed": gone,
                "error.message": str(exc),
                "message": f"purge by {user} of events older than {cutoff} failed after {gone} events",
            },
            "failed purge",
        )
        raise
    store.refresh()
    removed = max(0, matched - store.count(older_events(cutoff_ms)))
    es = store.backend == "elasticsearch"
    done = _record(
        store,
        common
        | {
            "event.outcome": "success",
            "netguard.deletion.matched": matched,
            "netguard.deletion.removed": removed,
            "netguard.deletion.indices": indices if es else None,
            "message": f"{user} purged {removed} events older than {cutoff}"
            + (f" ({indices} indices dropped)" if es else ""),
        },
        "purge (it was done)",
    )
    return PurgeRecord(cutoff_ms, matched, removed, indices if es else None, intent.id, done.id)
