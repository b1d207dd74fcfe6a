from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from netguard.errors import StoreError
from netguard.events import KINDS, make_event
from netguard.events.sqlite_store import SQLiteEventStore
from netguard.hashchain import GENESIS, ChainKey, link_digest
from netguard.store import StateStore, Target, connect
from netguard.store.journal import (
    _ENTRY_COLUMNS,
    _ENTRY_NAMES,
    _OUTCOME_COLUMNS,
    _OUTCOME_NAMES,
    ACTION_ISOLATION,
    CHAIN_HEAD_FIELD,
    ENTRY_CONTEXT,
    JOURNAL_ID_FIELD,
    KNOWN_ACTIONS,
    OUTCOME_CONTEXT,
    ActionJournal,
    _entry_payload,
    _outcome_payload,
    event_fields,
    witness_of,
)
from netguard.store.migrations import journal_triggers

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
PC = Target(mac="00:1a:2b:3c:4d:5e", ip="10.23.4.17", switch="sw-nagu-1", port="Gi0/7")
KEY_TEXT = "5be1" * 16  # as it would stand in the secrets file
KEY = ChainKey.from_text(KEY_TEXT)


@pytest.fixture
def journal(store: StateStore) -> ActionJournal:
    return ActionJournal(store.conn, key=KEY)


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


def test_intent_is_durable_before_the_action(journal: ActionJournal, state_path: Path) -> None:
    entry_id = shutdown_intent(journal)
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
        from netguard.hashchain import ChainKey
        from netguard.store import StateStore, Target
        from netguard.store.journal import ActionJournal
        store = StateStore.open({str(state_path)!r})
        journal = ActionJournal(store.conn, key=ChainKey.from_text({KEY_TEXT!r}))
        entry_id = journal.record_intent(
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
        journal = ActionJournal(store.conn, key=KEY)
        (interrupted,) = journal.open_entries()
        assert interrupted.id == entry_id and interrupted.action == "quarantine-vlan"
        assert journal.verify_chain().ok
        # someone checks the switch and closes it
        journal.mark_failed(entry_id, "interrupted; switch checked: VLAN still 10")
        assert journal.open_entries() == []


def test_outcomes_and_undo(journal: ActionJournal) -> None:
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


def test_only_legal_transitions(journal: ActionJournal) -> None:
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
    with pytest.raises(StoreError, match="unknown action 'port-enable'"):
        journal.record_intent(
            operator="x", action="port-enable", target=PC, state_before={}, state_after={}, reason="r"
        )
    with pytest.raises(StoreError, match="needs a reason"):
        journal.record_intent(
            operator="x", action="port-shutdown", target=PC, state_before={}, state_after={}, reason=" "
        )
    with pytest.raises(StoreError, match="JSON"):
        journal.record_intent(
            operator="x", action="port-shutdown", target=PC, state_before={"x": object()}, state_after={}, reason="r"
        )


def test_manual_undo_is_recorded(journal: ActionJournal) -> None:
    entry = shutdown_intent(journal)
    journal.mark_applied(entry)
    undone = journal.mark_undone(entry, "port re-enabled by hand on the console")
    assert undone.status == "undone" and journal.verify_chain().ok


def test_filters(journal: ActionJournal) -> None:
    a = shutdown_intent(journal, 0)
    b = shutdown_intent(journal, 10)
    c = journal.record_intent(
        operator="cron",
        action="arp-isolate",
        target=Target(ip="10.23.4.99"),
        state_before={},
        state_after={},
        reason="r",
        now=T0 + timedelta(minutes=20),
    )
    journal.mark_applied(a)
    assert [e.id for e in journal.entries()] == [a, b, c]
    assert [e.id for e in journal.entries(status="intent")] == [b, c]
    assert [e.id for e in journal.entries(action="arp-isolate")] == [c]
    assert [e.id for e in journal.entries(operator="admin.li")] == [a, b]
    assert [e.id for e in journal.entries(mac="00-1A-2B-3C-4D-5E")] == [a, b]
    assert [e.id for e in journal.entries(switch="sw-nagu-1")] == [a, b]
    assert [e.id for e in journal.entries(since=T0 + timedelta(minutes=5))] == [b, c]
    assert [e.id for e in journal.entries(until=T0 + timedelta(minutes=5))] == [a]
    assert [e.id for e in journal.entries(limit=2)] == [b, c]


def _journal_with_history(journal: ActionJournal) -> list[int]:
    ids = [shutdown_intent(journal, n) for n in range(5)]
    journal.mark_applied(ids[0])
    journal.mark_failed(ids[1], "timeout")
    journal.mark_applied(ids[2])
    assert journal.verify_chain().ok
    return ids


def _raw(path: Path) -> sqlite3.Connection:
    """What someone with the file and the sqlite3 shell can do: the triggers are no obstacle to them."""
    conn = sqlite3.connect(path, isolation_level=None)
    for trigger in journal_triggers():
        conn.execute(f"DROP TRIGGER {trigger}")
    return conn


def _restore_triggers(raw: sqlite3.Connection) -> None:
    """A careful forger puts the triggers back, exactly as NetGuard made them."""
    for sql in journal_triggers().values():
        raw.execute(sql)


def _recompute(raw: sqlite3.Connection, key: ChainKey | None, key_id: str | None) -> None:
    """Rebuild both chains after an edit, as a forger with the source code (and ``key``, if any) would."""
    prev = GENESIS
    hashes: dict[int, str] = {}
    for values in raw.execute(f"SELECT {_ENTRY_COLUMNS} FROM journal ORDER BY id").fetchall():
        row = dict(zip(_ENTRY_NAMES, values, strict=True))
        digest = link_digest(prev, _entry_payload(row), key, ENTRY_CONTEXT)
        raw.execute(
            "UPDATE journal SET prev_hash = ?, hash = ?, key_id = ? WHERE id = ?", (prev, digest, key_id, row["id"])
        )
        hashes[row["id"]] = prev = digest
    prev = GENESIS
    for values in raw.execute(f"SELECT {_OUTCOME_COLUMNS} FROM journal_outcomes ORDER BY seq").fetchall():
        row = dict(zip(_OUTCOME_NAMES, values, strict=True))
        digest = link_digest(prev, _outcome_payload(row, hashes[row["entry_id"]]), key, OUTCOME_CONTEXT)
        raw.execute(
            "UPDATE journal_outcomes SET prev_hash = ?, hash = ?, key_id = ? WHERE seq = ?",
            (prev, digest, key_id, row["seq"]),
        )
        prev = digest


def _witnesses(journal: ActionJournal, events_path: Path) -> list[tuple[int, str]]:
    """Write each entry's enforcement event to a real event store and read the heads back from it."""
    events = SQLiteEventStore(events_path)
    try:
        written = events.write(make_event("enforcement", event_fields(entry)) for entry in journal.entries())
        assert written.failed == 0, written.errors
        events.refresh()
        found = [witness_of(event.fields) for event in events.iter_search(kinds=["enforcement"])]
    finally:
        events.close()
    return [w for w in found if w is not None]


def test_the_chain_detects_an_edited_entry(journal: ActionJournal, state_path: Path) -> None:
    ids = _journal_with_history(journal)
    raw = _raw(state_path)
    raw.execute("UPDATE journal SET operator = 'someone.else' WHERE id = ?", (ids[2],))
    raw.close()
    report = journal.verify_chain()
    assert not report.ok and report.broken is not None
    assert (report.broken.table, report.broken.row_id) == ("journal", ids[2])
    assert "edited" in report.broken.problem


def test_the_chain_detects_an_edited_state(journal: ActionJournal, state_path: Path) -> None:
    ids = _journal_with_history(journal)
    raw = _raw(state_path)
    raw.execute("""UPDATE journal SET state_before = '{"ifAdminStatus":2,"vlan":10}' WHERE id = ?""", (ids[1],))
    raw.close()
    report = journal.verify_chain()
    assert report.broken is not None and report.broken.row_id == ids[1]


def test_the_chain_detects_a_deleted_entry(journal: ActionJournal, state_path: Path) -> None:
    ids = _journal_with_history(journal)
    raw = _raw(state_path)
    raw.execute("PRAGMA foreign_keys = OFF")
    raw.execute("DELETE FROM journal WHERE id = ?", (ids[3],))
    raw.close()
    report = journal.verify_chain()
    assert report.broken is not None and report.broken.row_id == ids[4]
    assert "previous entry" in report.broken.problem


def test_the_chain_detects_reordered_entries(journal: ActionJournal, state_path: Path) -> None:
    ids = _journal_with_history(journal)
    raw = _raw(state_path)
    raw.execute("PRAGMA foreign_keys = OFF")
    # swap entries 2 and 3 (hashes and all) by renumbering them
    raw.execute("UPDATE journal SET id = -1 WHERE id = ?", (ids[1],))
    raw.execute("UPDATE journal SET id = ? WHERE id = ?", (ids[1], ids[2]))
    raw.execute("UPDATE journal SET id = ? WHERE id = -1", (ids[2],))
    raw.close()
    report = journal.verify_chain()
    assert report.broken is not None and (report.broken.table, report.broken.row_id) == ("journal", ids[1])


def test_the_chain_detects_an_edited_outcome_and_a_forged_status(journal: ActionJournal, state_path: Path) -> None:
    ids = _journal_with_history(journal)
    raw = _raw(state_path)
    raw.execute("UPDATE journal_outcomes SET detail = 'all fine' WHERE entry_id = ?", (ids[1],))
    report = journal.verify_chain()
    assert report.broken is not None and report.broken.table == "journal_outcomes"
    raw.execute("UPDATE journal_outcomes SET detail = 'timeout' WHERE entry_id = ?", (ids[1],))
    assert journal.verify_chain().broken is None
    # the status copy on the entry is not hashed itself, but must agree with the chained outcomes
    raw.execute("UPDATE journal SET status = 'applied', outcome = NULL WHERE id = ?", (ids[1],))
    raw.close()
    report = journal.verify_chain()
    assert report.broken is not None and (report.broken.table, report.broken.row_id) == ("journal", ids[1])


def test_an_edited_operator_with_recomputed_plain_chains_is_caught(journal: ActionJournal, state_path: Path) -> None:
    """The issue's scenario: drop the triggers, edit an operator, recompute the chains, put the triggers back."""
    ids = _journal_with_history(journal)
    raw = _raw(state_path)
    raw.execute("UPDATE journal SET operator = 'someone.else' WHERE id = ?", (ids[2],))
    _recompute(raw, None, KEY.key_id)  # plain SHA-256, as the unkeyed journal allowed
    _restore_triggers(raw)
    raw.close()
    report = journal.verify_chain()
    assert not report.ok and report.triggers.ok
    assert report.broken is not None and report.broken.row_id == ids[0] and "keyed hash" in report.broken.problem


def test_a_chain_rebuilt_with_another_key_is_not_taken_for_ours(journal: ActionJournal, state_path: Path) -> None:
    ids = _journal_with_history(journal)
    raw = _raw(state_path)
    raw.execute("UPDATE journal SET operator = 'someone.else' WHERE id = ?", (ids[2],))
    forger = ChainKey.from_text("f0f0" * 16)
    _recompute(raw, forger, forger.key_id)  # honest about its key id: reported as another key
    _restore_triggers(raw)
    report = journal.verify_chain()
    assert not report.ok and report.broken is None and report.other_keys == (forger.key_id,)
    assert any("another key" in line for line in report.problems())
    raw.close()
    raw = _raw(state_path)
    _recompute(raw, forger, KEY.key_id)  # claiming our key id: its hashes do not verify
    raw.close()
    report = journal.verify_chain()
    assert report.broken is not None and report.broken.row_id == ids[0]


def test_a_wrong_key_is_told_apart_from_tampering(journal: ActionJournal, store: StateStore) -> None:
    _journal_with_history(journal)
    other = ChainKey.from_text("c0de" * 16)
    wrong = ActionJournal(store.conn, key=other).verify_chain()
    assert not wrong.ok and wrong.broken is None
    assert wrong.other_keys == (KEY.key_id,) and wrong.key_id == other.key_id and wrong.unverified == 8
    keyless = ActionJournal(store.conn).verify_chain()
    assert not keyless.ok and keyless.broken is None and keyless.other_keys == () and keyless.unverified == 8
    assert any("no journal key" in line for line in keyless.problems())


def test_a_journal_without_a_key_refuses_to_write(store: StateStore, journal: ActionJournal) -> None:
    entry = shutdown_intent(journal)
    keyless = ActionJournal(store.conn)
    with pytest.raises(StoreError, match=r"no key.*state\.journal_key"):
        shutdown_intent(keyless)
    with pytest.raises(StoreError, match="no key"):
        keyless.mark_applied(entry)
    with pytest.raises(StoreError, match="no key"):
        keyless.mark_failed(entry, "interrupted")
    assert [e.id for e in keyless.entries()] == [entry] and keyless.get(entry).is_open  # reading still works
    # nor can anything write an unkeyed row behind the journal's back
    with pytest.raises(sqlite3.IntegrityError, match="must be keyed"):
        store.conn.execute(
            "INSERT INTO journal (created, operator, action, state_before, state_after, reason, prev_hash, hash) "
            "VALUES ('2025-03-01', 'x', 'restore', '{}', '{}', 'r', ?, 'h')",
            (journal.get(entry).hash,),
        )


def test_missing_altered_and_added_triggers_are_reported(journal: ActionJournal, state_path: Path) -> None:
    _journal_with_history(journal)
    raw = _raw(state_path)
    report = journal.verify_chain()
    assert report.broken is None and not report.ok
    assert set(report.triggers.missing) == set(journal_triggers()) and len(report.triggers.missing) == 6
    _restore_triggers(raw)
    assert journal.verify_chain().ok
    raw.execute("DROP TRIGGER journal_no_delete")
    raw.execute("CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal BEGIN SELECT 1; END")
    raw.execute("CREATE TRIGGER journal_rewrite AFTER INSERT ON journal BEGIN SELECT 1; END")
    raw.close()
    report = journal.verify_chain()
    assert (report.triggers.missing, report.triggers.altered, report.triggers.unexpected) == (
        (),
        ("journal_no_delete",),
        ("journal_rewrite",),
    )
    assert not report.ok and any("journal_no_delete" in line for line in report.problems())


def test_entries_cut_off_at_the_end_are_caught_against_the_event_store(
    journal: ActionJournal, state_path: Path, tmp_path: Path
) -> None:
    ids = _journal_with_history(journal)
    witnessed = _witnesses(journal, tmp_path / "events.db")
    assert sorted(witnessed) == sorted((e.id, e.hash) for e in journal.entries())
    assert journal.verify_chain(witnessed).ok
    raw = _raw(state_path)
    raw.execute("PRAGMA foreign_keys = OFF")
    raw.execute("DELETE FROM journal_outcomes WHERE entry_id >= ?", (ids[3],))
    raw.execute("DELETE FROM journal WHERE id >= ?", (ids[3],))
    _restore_triggers(raw)
    raw.close()
    alone = journal.verify_chain()
    assert alone.ok and alone.entries == 3  # what a chain cannot see on its own
    report = journal.verify_chain(witnessed)
    assert not report.ok and report.truncated is not None
    assert (report.truncated.last_seq, report.truncated.witnessed_seq) == (ids[2], ids[4])
    assert any("cut off at the end" in line for line in report.problems())


def test_a_journal_rewritten_as_never_keyed_is_caught_against_the_event_store(
    journal: ActionJournal, state_path: Path, tmp_path: Path
) -> None:
    ids = _journal_with_history(journal)
    witnessed = _witnesses(journal, tmp_path / "events.db")
    raw = _raw(state_path)
    raw.execute("UPDATE journal SET operator = 'someone.else' WHERE id = ?", (ids[2],))
    _recompute(raw, None, None)  # every row turned into an unkeyed "legacy" row
    _restore_triggers(raw)
    raw.close()
    alone = journal.verify_chain()
    # the chain alone cannot tell this from a journal written before it was keyed; it says how much is unkeyed
    assert alone.broken is None and alone.unkeyed_entries == alone.entries == 5
    report = journal.verify_chain(witnessed)
    assert not report.ok and report.rewritten == tuple(ids)
    assert any("history was rewritten" in line for line in report.problems())


def test_the_triggers_refuse_rewriting_history(journal: ActionJournal, store: StateStore) -> None:
    ids = _journal_with_history(journal)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.conn.execute("DELETE FROM journal WHERE id = ?", (ids[0],))
    with pytest.raises(sqlite3.IntegrityError, match="cannot be changed"):
        store.conn.execute("UPDATE journal SET reason = 'x' WHERE id = ?", (ids[0],))
    with pytest.raises(sqlite3.IntegrityError, match="cannot be changed"):
        store.conn.execute("UPDATE journal SET key_id = NULL WHERE id = ?", (ids[0],))
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.conn.execute("UPDATE journal_outcomes SET detail = 'x'")


def test_the_head_changes_with_every_entry(journal: ActionJournal) -> None:
    empty = journal.verify_chain()
    assert empty.ok and empty.entries == 0 and empty.head == "0" * 64
    shutdown_intent(journal)
    one = journal.verify_chain()
    assert one.entries == 1 and one.head != empty.head
    assert one.head == journal.get(1).hash and journal.get(1).key_id == KEY.key_id


def test_two_undos_of_one_entry_are_both_recorded(journal: ActionJournal) -> None:
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


def _v1_database(path: Path) -> None:
    """A state database as schema version 1 left it: unkeyed entries, a legacy ``port-enable``, an open intent."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript((Path(__file__).parent / "data" / "state-v1.sql").read_text(encoding="utf-8"))
    conn.close()


def test_an_unkeyed_journal_is_migrated_and_sealed_by_its_first_keyed_entry(state_path: Path) -> None:
    _v1_database(state_path)
    with StateStore.open(state_path) as store:
        journal = ActionJournal(store.conn, key=KEY)
        before = journal.verify_chain()
        assert before.ok and (before.entries, before.unkeyed_entries, before.unkeyed_outcomes) == (4, 4, 4)
        assert [e.key_id for e in journal.entries()] == [None] * 4
        assert journal.get(2).action == "port-enable"  # legacy rows stay readable and verifiable
        (legacy_open,) = journal.open_entries()
        journal.mark_failed(legacy_open.id, "interrupted before the upgrade; checked: no ARP poisoning")
        new = shutdown_intent(journal)
        entry = journal.get(new)
        assert entry.key_id == KEY.key_id and entry.prev_hash == journal.get(4).hash
        after = journal.verify_chain()
        assert after.ok and (after.entries, after.unkeyed_entries, after.outcomes, after.unkeyed_outcomes) == (
            5,
            4,
            5,
            4,
        )
    # the keyed entry now seals the unkeyed history: rewriting it, even with recomputed hashes, breaks the seal
    raw = _raw(state_path)
    raw.execute("UPDATE journal SET operator = 'someone.else' WHERE id = 1")
    prev = GENESIS
    for values in raw.execute(f"SELECT {_ENTRY_COLUMNS} FROM journal WHERE key_id IS NULL ORDER BY id").fetchall():
        row = dict(zip(_ENTRY_NAMES, values, strict=True))
        prev = link_digest(prev, _entry_payload(row), None, ENTRY_CONTEXT)
        raw.execute("UPDATE journal SET hash = ? WHERE id = ?", (prev, row["id"]))
        raw.execute("UPDATE journal SET prev_hash = ? WHERE id = ?", (prev, row["id"] + 1))
    raw.close()
    with StateStore.open(state_path) as store:
        report = ActionJournal(store.conn, key=KEY).verify_chain()
    assert report.broken is not None and report.broken.row_id == new


def test_journal_actions_are_the_enforcement_events_actions() -> None:
    assert set(KNOWN_ACTIONS) == set(KINDS["enforcement"].actions)
    assert set(ACTION_ISOLATION) == set(KNOWN_ACTIONS)


def test_every_entry_becomes_an_enforcement_event_carrying_its_chain_head(journal: ActionJournal) -> None:
    ids = _journal_with_history(journal)
    for entry in journal.entries():
        event = make_event("enforcement", event_fields(entry))
        assert witness_of(event.fields) == (entry.id, entry.hash)
        assert event.get("user.name") == "admin.li" and event.get("host.mac") == PC.mac
        assert event.get("observer.ingress.interface.name") == PC.port
    outcomes = {e.id: make_event("enforcement", event_fields(e)).get("event.outcome") for e in journal.entries()}
    assert [outcomes[i] for i in ids] == ["success", "failure", "success", "unknown", "unknown"]
    failed = make_event("enforcement", event_fields(journal.get(ids[1])))
    assert failed.get("error.message") == "timeout"
    assert witness_of({"message": "no journal fields"}) is None
    with pytest.raises(StoreError, match="not a number"):
        witness_of({JOURNAL_ID_FIELD: "x", CHAIN_HEAD_FIELD: "0" * 64})
