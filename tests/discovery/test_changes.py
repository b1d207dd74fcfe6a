"""Device changes from reconciled sightings, shared by switch walks and ARP sweeps: order, verdicts, conflicts.

A real state store reconciles; the inventory is the lab's (written, not built).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from netguard.discovery.changes import Judge, address_maps, reconcile_changes
from netguard.inventory import Inventory, load_inventory
from netguard.lab.labfiles import write_inventory
from netguard.lab.topology import plan_county
from netguard.store.db import connect
from netguard.store.sightings import Sighting, SightingRepository

T0 = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)
ROGUE, TWIN, OTHER = "02:00:00:00:01:01", "02:00:00:00:01:02", "02:00:00:00:01:03"


@pytest.fixture
def inventory(tmp_path: Path) -> Inventory:
    path = tmp_path / "inventory.yaml"
    write_inventory(path, plan_county("chg", 1, 2))
    return load_inventory(path)


def fdb(mac: str, port: str) -> Sighting:
    return Sighting(mac, "fdb", None, "t1v1", "sw-1", port, 10)


def test_address_maps_pair_macs_and_ips_both_ways() -> None:
    seen = [Sighting(ROGUE, "arp", "10.0.0.5"), Sighting(TWIN, "arp", "10.0.0.5"), Sighting(OTHER, "fdb")]
    ips, users = address_maps(seen)
    assert ips == {ROGUE: {"10.0.0.5"}, TWIN: {"10.0.0.5"}}
    assert users == {"10.0.0.5": {ROGUE, TWIN}}


def test_one_reconciliation_becomes_changes_in_order_with_verdicts(inventory: Inventory, tmp_path: Path) -> None:
    repo = SightingRepository(connect(tmp_path / "state.db"), grace_runs=1)
    repo.reconcile("fdb:sw-1", [fdb(OTHER, "p3"), fdb(ROGUE, "p1")], True, now=T0)
    result = repo.reconcile("fdb:sw-1", [fdb(ROGUE, "p2"), fdb(TWIN, "p4")], True, now=T0 + dt.timedelta(minutes=5))
    # ROGUE moved p1 -> p2, TWIN is new, OTHER is gone; ROGUE and TWIN share an address (a conflict).
    ips, users = address_maps([Sighting(ROGUE, "arp-table", "10.0.0.5"), Sighting(TWIN, "arp-table", "10.0.0.5")])
    judge = Judge(inventory, ips, users, frozenset())
    changes = reconcile_changes(judge, result, seen_events=False)
    assert [(c.action, c.record.mac, c.verdict.status.value, c.ips) for c in changes] == [
        ("new", TWIN, "conflict", ("10.0.0.5",)),
        ("conflict", TWIN, "conflict", ("10.0.0.5",)),
        ("moved", ROGUE, "conflict", ("10.0.0.5",)),
        ("conflict", ROGUE, "conflict", ("10.0.0.5",)),
        ("gone", OTHER, "unknown", ()),
    ]
    assert changes[2].previous is not None and changes[2].previous.port == "p1"
    # Sightings a cross-switch move joined are left to it; the kept ones are told only when asked for.
    joined = {result.new[0].id, result.gone[0].id}
    assert [c.action for c in reconcile_changes(judge, result, seen_events=True, joined=joined)] == [
        "moved",
        "conflict",
    ]
    kept = repo.reconcile("fdb:sw-1", [fdb(ROGUE, "p2"), fdb(TWIN, "p4")], True, now=T0 + dt.timedelta(minutes=9))
    assert reconcile_changes(judge, kept, seen_events=False) == []
    assert [(c.action, c.record.mac) for c in reconcile_changes(judge, kept, seen_events=True)] == [
        ("seen", ROGUE),
        ("seen", TWIN),
    ]


def test_a_device_gone_from_a_sweep_is_judged_by_the_ip_it_had(inventory: Inventory, tmp_path: Path) -> None:
    repo = SightingRepository(connect(tmp_path / "state.db"), grace_runs=1)
    repo.reconcile("arp-sweep:t1v2", [Sighting(ROGUE, "arp", "10.0.0.9", "t1v2")], True, now=T0)
    gone = repo.reconcile("arp-sweep:t1v2", [], True, now=T0 + dt.timedelta(minutes=5))
    [change] = reconcile_changes(Judge(inventory, {}, {}, frozenset()), gone, seen_events=False)
    assert (change.action, change.ips, change.verdict.status.value) == ("gone", ("10.0.0.9",), "unknown")
