"""The last lines of ``evict device``'s plan, the same for a switch port and an ARP isolation.

A real journal entry (SQLite state store) stands for the applied case; the
plan heads are drawn on the lab (tests/enforce).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from commands.evict_render import plan_json, render_outcome
from netguard.enforce.guards import SharedPort, UplinkPort
from netguard.hashchain import ChainKey
from netguard.store import StateStore, Target
from netguard.store.isolation import PortState
from netguard.store.journal import ActionJournal, JournalEntry

MAC = "02:aa:bb:cc:dd:ee"


@pytest.fixture
def applied(tmp_path: Path) -> JournalEntry:
    with StateStore.open(tmp_path / "state.db") as store:
        journal = ActionJournal(store.conn, key=ChainKey.from_text("5be1" * 16))
        entry_id = journal.record_intent(
            operator="li",
            action="port-shutdown",
            target=Target(mac=MAC, switch="sw-1", port="Gi0/7"),
            state_before={"admin_status": 1},
            state_after={"admin_status": 2},
            reason="rogue",
        )
        return journal.mark_applied(
            entry_id, "set and read back", isolation=PortState(MAC, "sw-1", "Gi0/7", "disabled")
        )


def test_a_dry_run_says_whether_apply_would_act(capsys: pytest.CaptureFixture[str]) -> None:
    render_outcome((), None)
    assert capsys.readouterr().out == "dry run: nothing changed (--apply to do it)\n"
    render_outcome((UplinkPort("sw-1 Gi0/1 is an uplink \x1b[31m"), SharedPort("sw-1 Gi0/2 is shared")), None)
    assert capsys.readouterr().out.splitlines() == [
        "  refused (uplink): sw-1 Gi0/1 is an uplink \\x1b[31m",
        "  refused (shared-port): sw-1 Gi0/2 is shared",
        "dry run: nothing changed; --apply would be refused",
    ]


def test_an_applied_plan_names_its_entry_and_for_arp_its_outcome(
    applied: JournalEntry, capsys: pytest.CaptureFixture[str]
) -> None:
    render_outcome((), applied)
    assert capsys.readouterr().out == f"applied: journal entry {applied.id}\n"
    render_outcome((), applied, with_outcome=True)
    assert capsys.readouterr().out == f"applied: journal entry {applied.id} (set and read back)\n"


def test_the_json_document_adds_whether_and_where_it_was_journalled(applied: JournalEntry) -> None:
    plan = {"mac": MAC, "method": "port-shutdown"}
    assert plan_json(plan, None) == {**plan, "applied": False, "journal_id": None}
    assert plan_json(plan, applied) == {**plan, "applied": True, "journal_id": applied.id}
