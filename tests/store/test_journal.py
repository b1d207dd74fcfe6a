from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from netguard.errors import StoreError
from netguard.store import ActionJournal, StateStore, Target, connect

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
PC = Target(mac="00:1a:2b:3c:4d:5e", ip="10.23.4.17", switch="sw-nagu-1", port="Gi0/7")


def shutdown_intent(journal: ActionJournal, minutes: int = 0, **extra: object) -> int:
    return journal.record_intent(
        operator="admin.li",
        action="port-shutdown",
        target=PC,
        state_before={"ifAdminStatus": 1, "vlan": 10},
        state_after={"ifAdminStatus": 2},
        reason="unknown device on the 卫生院 office switch",
        now=T0 + timedelta(minutes=minutes),
        **extra,  # type: ignore[arg-type]
    )


def test_intent_is_durable_before_the_action(store: StateStore, state_path: Path) -> None:
    entry_id = shutdown_intent(store.journal)
    # another process/connection sees it while the action has not even started
    other = connect(state_path)
    try:
        (entry,) = ActionJournal(other).open_entries()
    finally:
        other.close()
    assert entry.id == entry_id and entry.status == "intent" and entry.is_open
    assert entry.state_before == {"ifAdminStatus": 1, "vlan": 10}
    assert entry.target == PC


def test_an_intent_survives_a_crash_right_after_it_is_recorded(state_path: Path) -> None:
    # A real crash: a child process records the intent and dies at once (no close, no cleanup).
    script = textwrap.dedent(
        f"""
        import os
        from netguard.store import StateStore, Target
        store = StateStore.open({str(state_path)!r})
        entry_id = store.journal.record_intent(
            operator="cron", action="quarantine-vlan", target=Target(mac="00:1a:2b:3c:4d:5e"),
            state_before={{"vlan": 10}}, state_after={{"vlan": 999}}, reason="rogue device")
        print(entry_id, flush=True)
        os._exit(137)  # the switch SET would have happened here
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 137, proc.stderr
    entry_id = int(proc.stdout.strip())
    with StateStore.open(state_path) as store:
        (interrupted,) = store.journal.open_entries()
        assert interrupted.id == entry_id and interrupted.action == "quarantine-vlan"
        assert store.journal.verify_chain().ok
        # someone checks the switch and closes it
        store.journal.mark_failed(entry_id, "interrupted; switch checked: VLAN still 10")
        assert store.journal.open_entries() == []


def test_outcomes_and_undo(store: StateStore) -> None:
    journal = store.journal
    shut = shutdown_intent(journal)
    applied = journal.mark_applied(shut, "ifAdminStatus read back: 2", now=T0 + timedelta(seconds=3))
    assert applied.status == "applied" and applied.finished == T0 + timedelta(seconds=3)
    restore = journal.record_intent(
        operator="admin.wang",
        action="restore",
        target=PC,
        state_before={"ifAdminStatus": 2},
        state_after={"ifAdminStatus": 1},
        reason="device authorised (ticket 4411)",
        undoes=shut,
        now=T0 + timedelta(hours=1),
    )
    assert journal.get(shut).status == "applied"
    journal.mark_applied(restore, "ifAdminStatus read back: 1")
    original = journal.get(shut)
    assert original.status == "undone" and original.outcome == f"undone by journal entry {restore}"
    assert [o.status for o in journal.outcomes(shut)] == ["applied", "undone"]
    assert journal.outcomes(shut)[-1].undone_by == restore
    assert [e.id for e in journal.undo_entries(shut)] == [restore]
    assert journal.verify_chain().ok


def test_only_legal_transitions(store: StateStore) -> None:
    journal = store.journal
    failed = shutdown_intent(journal)
    journal.mark_failed(failed, "SNMP SET timed out")
    with pytest.raises(StoreError, match="is 'failed', expected 'intent'"):
        journal.mark_applied(failed)
    with pytest.raises(StoreError, match="only an applied action can be undone"):
        journal.record_intent(
            operator="x", action="restore", target=PC, state_before={}, state_after={}, reason="r", undoes=failed
        )
    with pytest.raises(StoreError, match="expected 'applied'"):
        journal.mark_undone(failed, "by hand")
    with pytest.raises(StoreError, match="no journal entry 99"):
        journal.mark_applied(99)
    with pytest.raises(StoreError, match="not an action name"):
        journal.record_intent(
            operator="x", action="Port Shutdown", target=PC, state_before={}, state_after={}, reason="r"
        )
    with pytest.raises(StoreError, match="needs a reason"):
        journal.record_intent(
            operator="x", action="port-shutdown", target=PC, state_before={}, state_after={}, reason=" "
        )
    with pytest.raises(StoreError, match="JSON"):
        journal.record_intent(
            operator="x", action="port-shutdown", target=PC, state_before={"x": object()}, state_after={}, reason="r"
        )


def test_manual_undo_is_recorded(store: StateStore) -> None:
    entry = shutdown_intent(store.journal)
    store.journal.mark_applied(entry)
    undone = store.journal.mark_undone(entry, "port re-enabled by hand on the console")
    assert undone.status == "undone" and store.journal.verify_chain().ok


def test_filters(store: StateStore) -> None:
    a = shutdown_intent(store.journal, 0)
    b = shutdown_intent(store.journal, 10)
    c = store.journal.record_intent(
        operator="cron",
        action="arp-isolate",
        target=Target(ip="10.23.4.99"),
        state_before={},
        state_after={},
        reason="r",
        now=T0 + timedelta(minutes=20),
    )
    store.journal.mark_applied(a)
    assert [e.id for e in store.journal.entries()] == [a, b, c]
    assert [e.id for e in store.journal.entries(status="intent")] == [b, c]
    assert [e.id for e in store.journal.entries(action="arp-isolate")] == [c]
    assert [e.id for e in store.journal.entries(operator="admin.li")] == [a, b]
    assert [e.id for e in store.journal.entries(mac="00-1A-2B-3C-4D-5E")] == [a, b]
    assert [e.id for e in store.journal.entries(switch="sw-nagu-1")] == [a, b]
    assert [e.id for e in store.journal.entries(since=T0 + timedelta(minutes=5))] == [b, c]
    assert [e.id for e in store.journal.entries(until=T0 + timedelta(minutes=5))] == [a]
    assert [e.id for e in store.journal.entries(limit=2)] == [b, c]


def _journal_with_history(store: StateStore) -> list[int]:
    ids = [shutdown_intent(store.journal, n) for n in range(5)]
    store.journal.mark_applied(ids[0])
    store.journal.mark_failed(ids[1], "timeout")
    store.journal.mark_applied(ids[2])
    assert store.journal.verify_chain().ok
    return ids


def _raw(path: Path) -> sqlite3.Connection:
    """What someone with the file and the sqlite3 shell can do: the triggers are no obstacle to them."""
    conn = sqlite3.connect(path, isolation_level=None)
    for trigger in (
        "journal_immutable",
        "journal_no_delete",
        "journal_outcomes_no_update",
        "journal_outcomes_no_delete",
    ):
        conn.execute(f"DROP TRIGGER {trigger}")
    return conn


def test_the_chain_detects_an_edited_entry(store: StateStore, state_path: Path) -> None:
    ids = _journal_with_history(store)
    raw = _raw(state_path)
    raw.execute("UPDATE journal SET operator = 'someone.else' WHERE id = ?", (ids[2],))
    raw.close()
    report = store.journal.verify_chain()
    assert not report.ok and report.broken is not None
    assert (report.broken.table, report.broken.row_id) == ("journal", ids[2])
    assert "edited" in report.broken.problem


def test_the_chain_detects_an_edited_state(store: StateStore, state_path: Path) -> None:
    ids = _journal_with_history(store)
    raw = _raw(state_path)
    raw.execute("""UPDATE journal SET state_before = '{"ifAdminStatus":2,"vlan":10}' WHERE id = ?""", (ids[1],))
    raw.close()
    report = store.journal.verify_chain()
    assert report.broken is not None and report.broken.row_id == ids[1]


def test_the_chain_detects_a_deleted_entry(store: StateStore, state_path: Path) -> None:
    ids = _journal_with_history(store)
    raw = _raw(state_path)
    raw.execute("PRAGMA foreign_keys = OFF")
    raw.execute("DELETE FROM journal WHERE id = ?", (ids[3],))
    raw.close()
    report = store.journal.verify_chain()
    assert report.broken is not None and report.broken.row_id == ids[4]
    assert "previous entry" in report.broken.problem


def test_the_chain_detects_an_edited_outcome_and_a_forged_status(store: StateStore, state_path: Path) -> None:
    ids = _journal_with_history(store)
    raw = _raw(state_path)
    raw.execute("UPDATE journal_outcomes SET detail = 'all fine' WHERE entry_id = ?", (ids[1],))
    report = store.journal.verify_chain()
    assert report.broken is not None and report.broken.table == "journal_outcomes"
    raw.execute("UPDATE journal_outcomes SET detail = 'timeout' WHERE entry_id = ?", (ids[1],))
    assert store.journal.verify_chain().ok
    # the status copy on the entry is not hashed itself, but must agree with the chained outcomes
    raw.execute("UPDATE journal SET status = 'applied', outcome = NULL WHERE id = ?", (ids[1],))
    raw.close()
    report = store.journal.verify_chain()
    assert report.broken is not None and (report.broken.table, report.broken.row_id) == ("journal", ids[1])


def test_the_triggers_refuse_rewriting_history(store: StateStore) -> None:
    ids = _journal_with_history(store)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.conn.execute("DELETE FROM journal WHERE id = ?", (ids[0],))
    with pytest.raises(sqlite3.IntegrityError, match="cannot be changed"):
        store.conn.execute("UPDATE journal SET reason = 'x' WHERE id = ?", (ids[0],))
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.conn.execute("UPDATE journal_outcomes SET detail = 'x'")


def test_the_head_changes_with_every_entry(store: StateStore) -> None:
    empty = store.journal.verify_chain()
    assert empty.ok and empty.entries == 0 and empty.head == "0" * 64
    shutdown_intent(store.journal)
    one = store.journal.verify_chain()
    assert one.entries == 1 and one.head != empty.head
    assert one.head == store.journal.get(1).hash


def test_two_undos_of_one_entry_are_both_recorded(store: StateStore) -> None:
    journal = store.journal
    shut = shutdown_intent(journal)
    journal.mark_applied(shut)
    first, second = (
        journal.record_intent(
            operator=op,
            action="restore",
            target=PC,
            state_before={"ifAdminStatus": 2},
            state_after={"ifAdminStatus": 1},
            reason="authorised",
            undoes=shut,
        )
        for op in ("admin.li", "admin.wang")
    )
    journal.mark_applied(first)
    assert journal.mark_applied(second).status == "applied"
    assert [o.undone_by for o in journal.outcomes(shut) if o.status == "undone"] == [first]
    assert journal.verify_chain().ok
