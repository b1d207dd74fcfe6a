"""Store evidence on real stores: bastion recordings in the state store, sql events in the event store."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bastion.sessions import SessionLog, SessionRecord
from netguard.compliance.controls import load_controls
from netguard.compliance.evaluate import evaluate
from netguard.compliance.scan import COLLECTORS
from netguard.compliance.stores import collect_recordings, collect_retention, collect_sql_events
from netguard.events import make_event
from netguard.events.sqlite_store import SQLiteEventStore
from netguard.hashchain import ChainKey
from netguard.inventory import load_inventory
from netguard.store import StateStore

KEY = ChainKey.from_text("k" * 32)


def _outcomes(evidence_name: str, ev: object) -> dict[str, str]:
    controls = [c for c in load_controls([], COLLECTORS) if c.evidence == evidence_name]
    return {r.target.id: r.outcome for r in evaluate(controls, {evidence_name: ev})}  # type: ignore[dict-item]


def _session(log: SessionLog, sid: str, recording: Path) -> None:
    now = dt.datetime.now(dt.UTC)
    log.start(
        SessionRecord(sid, "alice", "his-db01", "root", "127.0.0.1", "shell", None, now, None, None, 0, 0,
                      str(recording), None, None)
    )  # fmt: skip
    recording.write_text('{"version": 2}\n[0.1, "o", "ls\\r\\n"]\n', encoding="utf-8")
    log.finish(sid, exit_status=0, bytes_in=3, bytes_out=4, killed_by=None, recording=recording)


def test_recordings_na_then_pass_then_fail_when_one_is_changed(tmp_path: Path) -> None:
    with StateStore.open(tmp_path / "state.db", journal_key=KEY) as store:
        assert _outcomes("recordings", collect_recordings(store.conn, KEY)) == {"county": "na"}
        log = SessionLog(store.conn, KEY)
        _session(log, "s1", tmp_path / "s1.cast")
        _session(log, "s2", tmp_path / "s2.cast")
        ev = collect_recordings(store.conn, KEY)
        assert _outcomes("recordings", ev) == {"county": "pass"}
        assert ev.observations[0].facts == {"recordings": 2, "recording_problems": 0}
        (tmp_path / "s2.cast").write_text("edited\n", encoding="utf-8")
        ev = collect_recordings(store.conn, KEY)
        assert _outcomes("recordings", ev) == {"county": "fail"}
        assert "session s2" in ev.observations[0].summary and "changed" in ev.observations[0].summary


def test_retention_from_configuration() -> None:
    assert _outcomes("retention", collect_retention(None, "sqlite")) == {"county": "na"}
    assert _outcomes("retention", collect_retention(180, "sqlite")) == {"county": "pass"}
    assert _outcomes("retention", collect_retention(179.9, "sqlite")) == {"county": "fail"}


def test_sql_events_by_host_name_or_address_within_the_window(tmp_path: Path) -> None:
    inventory = tmp_path / "inv.yaml"
    inventory.write_text(
        "county: {name: 县, code: t}\ndata_centre: dc\ninstitutions:\n"
        "  - id: dc\n    name: 中心\n    tier: county\n    kind: data-centre\n    subnets: [127.70.0.0/24]\n"
        "    gateway: 127.70.0.1\n    servers:\n"
        "      - {id: by-name, role: database, address: 127.70.0.11}\n"
        "      - {id: by-address, role: database, address: 127.70.0.12}\n"
        "      - {id: stale, role: database, address: 127.70.0.13}\n"
        "      - {id: app, role: his, address: 127.70.0.14}\n",
        encoding="utf-8",
    )
    store = SQLiteEventStore(tmp_path / "events.db")
    now = dt.datetime.now(dt.UTC)
    fields = {"event.action": "query", "db.system": "mysql", "db.query.text": "SELECT 1"}
    store.write(
        [
            make_event("sql", {**fields, "host.name": "by-name"}, timestamp=now),
            make_event("sql", {**fields, "destination.address": "127.70.0.12"}, timestamp=now),
            make_event("sql", {**fields, "host.name": "stale"}, timestamp=now - dt.timedelta(hours=30)),
        ]
    )
    try:
        ev = collect_sql_events(store, load_inventory(inventory), 24)
    finally:
        store.close()
    assert _outcomes("sql-events", ev) == {"by-name": "pass", "by-address": "pass", "stale": "fail"}


def test_devices_unauthorised_authorised_protected_and_not_covered(tmp_path: Path) -> None:
    from netguard.compliance.stores import collect_devices
    from netguard.store.sightings import Sighting

    inventory = tmp_path / "inv.yaml"
    inventory.write_text(
        "county: {name: 县, code: t}\ndata_centre: dc\ninstitutions:\n"
        "  - id: dc\n    name: 中心\n    tier: county\n    kind: data-centre\n    subnets: [127.80.0.0/24]\n"
        "    gateway: 127.80.0.1\n"
        "    devices: [{mac: 'aa:bb:cc:00:00:01', ip: 127.80.0.50, kind: pc}]\n"
        "  - id: clean\n    name: 卫生院\n    tier: township\n    township: 镇\n    subnets: [127.81.0.0/24]\n"
        "    gateway: 127.81.0.1\n    devices: [{mac: 'aa:bb:cc:00:00:02', kind: pc}]\n"
        "  - id: never\n    name: 村\n    tier: village\n    parent: clean\n    subnets: [127.82.0.0/24]\n"
        "    gateway: 127.82.0.1\n",
        encoding="utf-8",
    )
    inv = load_inventory(inventory)
    with StateStore.open(tmp_path / "state.db") as store:
        store.sightings.reconcile(
            "arp:test",
            [
                Sighting("aa:bb:cc:00:00:01", "arp", ip="127.80.0.50"),  # authorised
                Sighting("aa:bb:cc:00:00:99", "arp", ip="127.80.0.77"),  # rogue, placed by its IP
                Sighting("aa:bb:cc:00:00:98", "arp", ip="127.80.0.1"),  # the gateway: protected
                Sighting("aa:bb:cc:00:00:02", "arp", ip="127.81.0.9"),  # authorised
                Sighting("aa:bb:cc:00:00:97", "arp", ip="192.0.2.1"),  # in no institution
            ],
            True,
        )
        ev = collect_devices(store.sightings, inv)
        held = collect_devices(store.sightings, inv, frozenset({"aa:bb:cc:00:00:99"}))
    assert _outcomes("devices", ev) == {"dc": "fail", "clean": "pass", "never": "na", "county": "fail"}
    dc = next(o for o in ev.observations if o.target.id == "dc")
    assert dc.facts == {"devices_seen": 3, "unauthorised_devices": 1, "isolated_devices": 0}
    assert "aa:bb:cc:00:00:99" in dc.summary
    # Eviction holds the rogue isolated: restricted, which 8.1.3.1 b accepts; still named in the summary.
    dc = next(o for o in held.observations if o.target.id == "dc")
    assert dc.facts == {"devices_seen": 3, "unauthorised_devices": 0, "isolated_devices": 1}
    assert "isolated by eviction: aa:bb:cc:00:00:99" in dc.summary
    assert _outcomes("devices", held)["dc"] == "pass"
