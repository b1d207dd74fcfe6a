"""The steps every eviction and restore takes through the action journal, whatever it does to the network.

The order is the journal's (:mod:`netguard.store.journal`): the guards and the
per-run limit first (:func:`begin`; nothing is written for a refused action),
then the intent with the operator, the reason and the state as just read
(:func:`intend`; a restore names the entry it undoes), then the caller's own
I/O (an SNMP SET with its read-back, or ARP frames: synchronous or not, it is
the caller's), then the outcome through the returned :class:`Journalled`:
``applied`` with the isolation state it left, in the same transaction, or
``failed`` with why. ``record`` is called with the entry after the intent and
after the outcome, so each becomes an ``enforcement`` event.

Test hook (tests only): ``NETGUARD_TEST_PAUSE_AFTER_INTENT=SECONDS``
(:func:`pause_after_intent`): the callers sleep that long between the intent
and the action, so a test can kill the process there and check that ``evict
restore`` recovers an interrupted action. Never set it in use.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from netguard.enforce.guards import ActionLimit, Refused
from netguard.store.isolation import PortState
from netguard.store.journal import ActionJournal, JournalEntry, Target

PAUSE_HOOK = "NETGUARD_TEST_PAUSE_AFTER_INTENT"

Record = Callable[[JournalEntry], None]


@dataclass(frozen=True)
class Intent:
    """What one action is about to do, as its journal entry records it before anything is sent."""

    action: str
    target: Target
    state_before: dict[str, Any]
    state_after: dict[str, Any]


@dataclass(frozen=True)
class Journalled:
    """An action whose intent is journalled: records its outcome, and the event of each entry it changes."""

    journal: ActionJournal
    record: Record
    entry_id: int

    def failed(self, detail: str) -> JournalEntry:
        entry = self.journal.mark_failed(self.entry_id, detail)
        self.record(entry)
        return entry

    def applied(self, detail: str, isolation: PortState) -> JournalEntry:
        entry = self.journal.mark_applied(self.entry_id, detail, isolation=isolation)
        self.record(entry)
        return entry


def intend(
    intent: Intent,
    *,
    journal: ActionJournal,
    operator: str,
    reason: str,
    record: Record,
    undoes: int | None = None,
) -> Journalled:
    """Journal the intent (committed before this returns) and record its event."""
    entry_id = journal.record_intent(
        operator=operator,
        action=intent.action,
        target=intent.target,
        state_before=intent.state_before,
        state_after=intent.state_after,
        reason=reason,
        undoes=undoes,
    )
    record(journal.get(entry_id))
    return Journalled(journal, record, entry_id)


def begin(
    refusals: Sequence[Refused],
    intent: Intent,
    *,
    journal: ActionJournal,
    operator: str,
    reason: str,
    limit: ActionLimit,
    record: Record,
) -> Journalled:
    """The guards (the first refusal is raised), the per-run limit, then :func:`intend`."""
    if refusals:
        raise refusals[0]
    limit.take()
    return intend(intent, journal=journal, operator=operator, reason=reason, record=record)


def pause_after_intent() -> float:
    """Seconds the test hook asks for between the intent and the action; 0 when it is not set."""
    seconds = os.environ.get(PAUSE_HOOK)
    return float(seconds) if seconds else 0.0
