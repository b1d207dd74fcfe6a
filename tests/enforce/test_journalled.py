"""The journal steps both evictions share (port SET and ARP isolation): order, refusals, outcomes, events.

Real state store (SQLite) and journal; what would go between the intent and
the outcome (SNMP, ARP frames) runs on the lab in test_evict_lab.py and
test_arp_isolate_lab.py, through these same steps.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from netguard.enforce.guards import ActionLimit, LimitReached, ProtectedTarget, UplinkPort
from netguard.enforce.journalled import PAUSE_HOOK, Intent, begin, intend, pause_after_intent
from netguard.hashchain import ChainKey
from netguard.store import StateStore, Target
from netguard.store.isolation import PortState
from netguard.store.journal import ActionJournal, JournalEntry

MAC = "02:aa:bb:cc:dd:ee"
INTENT = Intent(
    "port-shutdown",
    Target(mac=MAC, ip="10.23.4.66", switch="sw-nagu-1", port="Gi0/7"),
    {"admin_status": 1, "pvid": 10, "ifindex": 7},
    {"admin_status": 2},
)


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[ActionJournal]:
    with StateStore.open(tmp_path / "state.db") as store:
        yield ActionJournal(store.conn, key=ChainKey.from_text("5be1" * 16))


def test_a_refusal_raises_the_first_one_and_writes_nothing(journal: ActionJournal) -> None:
    seen: list[JournalEntry] = []
    limit = ActionLimit(1)
    refusals = [UplinkPort("sw-nagu-1 Gi0/1 is an uplink"), ProtectedTarget("10.23.4.1 is protected")]
    with pytest.raises(UplinkPort):
        begin(refusals, INTENT, journal=journal, operator="li", reason="r", limit=limit, record=seen.append)
    assert journal.entries() == [] and seen == [] and limit.used == 0


def test_the_limit_is_taken_before_the_intent_and_a_spent_one_writes_nothing(journal: ActionJournal) -> None:
    seen: list[JournalEntry] = []
    limit = ActionLimit(1)
    begin((), INTENT, journal=journal, operator="li", reason="r", limit=limit, record=seen.append)
    with pytest.raises(LimitReached):
        begin((), INTENT, journal=journal, operator="li", reason="r", limit=limit, record=seen.append)
    assert [e.status for e in journal.entries()] == ["intent"]
    assert [e.status for e in seen] == ["intent"]


def test_intent_then_outcome_each_recorded_as_journalled(journal: ActionJournal) -> None:
    seen: list[JournalEntry] = []
    step = begin(
        (), INTENT, journal=journal, operator="admin.li", reason="rogue", limit=ActionLimit(2), record=seen.append
    )
    [intent] = journal.entries()
    assert (intent.id, intent.status, intent.operator, intent.reason) == (step.entry_id, "intent", "admin.li", "rogue")
    assert (intent.action, intent.target, intent.state_before, intent.state_after) == (
        INTENT.action,
        INTENT.target,
        INTENT.state_before,
        INTENT.state_after,
    )
    done = step.applied("set and read back", PortState(MAC, "sw-nagu-1", "Gi0/7", "disabled", original_vlan=10))
    assert (done.status, done.outcome) == ("applied", "set and read back")
    assert [(e.id, e.status) for e in seen] == [(step.entry_id, "intent"), (step.entry_id, "applied")]

    other = begin(
        (), INTENT, journal=journal, operator="admin.li", reason="again", limit=ActionLimit(1), record=seen.append
    )
    failed = other.failed("no answer from the switch")
    assert (failed.status, failed.outcome) == ("failed", "no answer from the switch")
    assert seen[-1] == failed == journal.get(other.entry_id)


def test_a_restore_intent_names_the_entry_it_undoes(journal: ActionJournal) -> None:
    seen: list[JournalEntry] = []
    step = begin((), INTENT, journal=journal, operator="li", reason="r", limit=ActionLimit(1), record=seen.append)
    original = step.applied("set and read back", PortState(MAC, "sw-nagu-1", "Gi0/7", "disabled", original_vlan=10))
    back = intend(
        Intent("restore", original.target, {"admin_status": 2}, {"admin_status": 1}),
        journal=journal,
        operator="li",
        reason="restore",
        record=seen.append,
        undoes=original.id,
    )
    back.applied("set and read back", PortState(MAC, "sw-nagu-1", "Gi0/7", "enabled", current_vlan=10))
    assert journal.get(back.entry_id).undoes == original.id
    assert journal.get(original.id).status == "undone"


def test_the_pause_hook_is_off_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PAUSE_HOOK, raising=False)
    assert pause_after_intent() == 0.0
    monkeypatch.setenv(PAUSE_HOOK, "1.5")
    assert pause_after_intent() == 1.5
