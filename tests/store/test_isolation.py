from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from netguard.errors import StoreError
from netguard.hashchain import ChainKey
from netguard.store import StateStore, Target
from netguard.store.isolation import PortState
from netguard.store.journal import ActionJournal

MAC = "00:1a:2b:3c:4d:5e"
KEY_TEXT = "77aa" * 16
PORT = Target(mac=MAC, switch="sw-1", port="Gi0/7")


@pytest.fixture
def journal(store: StateStore) -> ActionJournal:
    return ActionJournal(store.conn, key=ChainKey.from_text(KEY_TEXT))


def test_original_vlan_survives_repeated_restriction_and_is_cleared_on_enable(store: StateStore) -> None:
    iso = store.isolation
    assert iso.get(MAC, "sw-1", "Gi0/7") is None
    q = iso.set(MAC, "sw-1", "Gi0/7", "quarantined", original_vlan=10, current_vlan=999)
    assert (q.status, q.original_vlan, q.current_vlan, q.restricted) == ("quarantined", 10, 999, True)
    # quarantined again (e.g. a re-run): the original VLAN is still 10, not the quarantine VLAN
    again = iso.set(MAC.upper(), "sw-1", "Gi0/7", "quarantined", original_vlan=999, current_vlan=999)
    assert again.original_vlan == 10 and again.journal_id is None  # a correction names no journal entry
    assert [s.port for s in iso.restricted()] == ["Gi0/7"]
    enabled = iso.set(MAC, "sw-1", "Gi0/7", "enabled", current_vlan=10)
    assert (enabled.status, enabled.original_vlan, enabled.restricted) == ("enabled", None, False)
    assert iso.restricted() == []
    assert [s.status for s in iso.for_mac(MAC)] == ["enabled"]


def _quarantine(journal: ActionJournal) -> int:
    return journal.record_intent(
        operator="admin.li",
        action="quarantine-vlan",
        target=PORT,
        state_before={"vlan": 10},
        state_after={"vlan": 999},
        reason="unknown device",
    )


def _restore(journal: ActionJournal, undoes: int) -> int:
    return journal.record_intent(
        operator="admin.wang",
        action="restore",
        target=PORT,
        state_before={"vlan": 999},
        state_after={"vlan": 10},
        reason="authorised (ticket 4411)",
        undoes=undoes,
    )


QUARANTINED = PortState(MAC, "sw-1", "Gi0/7", "quarantined", original_vlan=10, current_vlan=999)
ENABLED = PortState(MAC, "sw-1", "Gi0/7", "enabled", current_vlan=10)


def test_an_applied_action_and_its_port_state_are_recorded_together(store: StateStore, journal: ActionJournal) -> None:
    entry = _quarantine(journal)
    journal.mark_applied(entry, "PVID read back: 999", isolation=QUARANTINED)
    state = store.isolation.get(MAC, "sw-1", "Gi0/7")
    assert state is not None and (state.status, state.original_vlan, state.journal_id) == ("quarantined", 10, entry)
    # restoring marks the original undone and clears the isolation in the same commit
    restore = _restore(journal, entry)
    journal.mark_applied(restore, "PVID read back: 10", isolation=ENABLED)
    state = store.isolation.get(MAC, "sw-1", "Gi0/7")
    assert state is not None and (state.status, state.original_vlan, state.journal_id) == ("enabled", None, restore)
    assert journal.get(entry).status == "undone" and journal.verify_chain().ok


def test_a_manual_undo_clears_the_isolation_with_it(store: StateStore, journal: ActionJournal) -> None:
    entry = _quarantine(journal)
    journal.mark_applied(entry, isolation=QUARANTINED)
    journal.mark_undone(entry, "VLAN set back by hand on the console", isolation=ENABLED)
    state = store.isolation.get(MAC, "sw-1", "Gi0/7")
    assert state is not None and (state.status, state.journal_id) == ("enabled", entry)
    assert journal.get(entry).status == "undone"


def test_a_port_state_that_does_not_fit_the_action_is_refused_and_nothing_is_written(
    store: StateStore, journal: ActionJournal
) -> None:
    entry = _quarantine(journal)
    with pytest.raises(StoreError, match="leaves the port 'quarantined', not 'disabled'"):
        journal.mark_applied(entry, isolation=PortState(MAC, "sw-1", "Gi0/7", "disabled"))
    with pytest.raises(StoreError, match="targets port 'Gi0/7'"):
        journal.mark_applied(entry, isolation=PortState(MAC, "sw-1", "Gi0/8", "quarantined"))
    assert journal.get(entry).is_open and store.isolation.get(MAC, "sw-1", "Gi0/7") is None


def _crash_between(state_path: Path, steps: str) -> subprocess.CompletedProcess[str]:
    """Run ``steps`` in a child that is SIGKILLed when it starts writing the isolation row.

    sqlite3's trace callback runs as each statement starts, so the kill lands
    after the outcome rows were written in the open transaction and before the
    isolation row is: the exact point between the two.
    """
    script = textwrap.dedent(
        f"""
        import os, signal
        from netguard.hashchain import ChainKey
        from netguard.store import StateStore, Target
        from netguard.store.isolation import PortState
        from netguard.store.journal import ActionJournal

        store = StateStore.open({str(state_path)!r})
        journal = ActionJournal(store.conn, key=ChainKey.from_text({KEY_TEXT!r}))
        port = Target(mac={MAC!r}, switch="sw-1", port="Gi0/7")
        quarantined = PortState({MAC!r}, "sw-1", "Gi0/7", "quarantined", original_vlan=10, current_vlan=999)
        enabled = PortState({MAC!r}, "sw-1", "Gi0/7", "enabled", current_vlan=10)

        def kill_at_isolation(sql):
            if sql.lstrip().upper().startswith("INSERT INTO ISOLATION_STATE"):
                print("killed", flush=True)
                os.kill(os.getpid(), signal.SIGKILL)
        """
    ) + textwrap.dedent(steps)
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)


def test_a_crash_between_the_outcome_and_the_port_state_leaves_neither(state_path: Path) -> None:
    proc = _crash_between(
        state_path,
        """
        entry = journal.record_intent(operator="cron", action="quarantine-vlan", target=port,
                                      state_before={"vlan": 10}, state_after={"vlan": 999}, reason="rogue device")
        store.conn.set_trace_callback(kill_at_isolation)
        journal.mark_applied(entry, "PVID read back: 999", isolation=quarantined)
        print("survived", flush=True)
        """,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert proc.stdout.split() == ["killed"]
    with StateStore.open(state_path) as store:
        journal = ActionJournal(store.conn, key=ChainKey.from_text(KEY_TEXT))
        (entry,) = journal.entries()
        # neither: the outcome rolled back with the isolation row, the action is open (interrupted)
        assert entry.is_open and journal.outcomes(entry.id) == []
        assert store.isolation.get(MAC, "sw-1", "Gi0/7") is None
        assert journal.verify_chain().ok
        # and the same call, uninterrupted, records both
        journal.mark_applied(entry.id, "checked: PVID 999", isolation=QUARANTINED)
        state = store.isolation.get(MAC, "sw-1", "Gi0/7")
        assert journal.get(entry.id).status == "applied" and state is not None and state.journal_id == entry.id


def test_a_crash_while_restoring_leaves_the_original_applied_and_the_port_isolated(state_path: Path) -> None:
    proc = _crash_between(
        state_path,
        """
        entry = journal.record_intent(operator="cron", action="quarantine-vlan", target=port,
                                      state_before={"vlan": 10}, state_after={"vlan": 999}, reason="rogue device")
        journal.mark_applied(entry, isolation=quarantined)
        restore = journal.record_intent(operator="admin.wang", action="restore", target=port,
                                        state_before={"vlan": 999}, state_after={"vlan": 10},
                                        reason="authorised", undoes=entry)
        store.conn.set_trace_callback(kill_at_isolation)
        journal.mark_applied(restore, isolation=enabled)
        print("survived", flush=True)
        """,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    with StateStore.open(state_path) as store:
        journal = ActionJournal(store.conn, key=ChainKey.from_text(KEY_TEXT))
        original, restore = journal.entries()
        assert original.status == "applied" and restore.is_open
        state = store.isolation.get(MAC, "sw-1", "Gi0/7")
        assert state is not None and (state.status, state.journal_id) == ("quarantined", original.id)
        assert journal.verify_chain().ok
