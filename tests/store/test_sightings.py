from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from netguard.errors import StoreError
from netguard.store import Sighting, SightingRepository, StateStore

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
SCOPE = "fdb:sw-nagu-1"
PC = "00:1A:2B:3C:4D:5E"
PRINTER = "00-1a-2b-00-00-01"


def fdb(mac: str, port: str, vlan: int = 10) -> Sighting:
    return Sighting(mac=mac, how="fdb", switch="sw-nagu-1", port=port, vlan=vlan, institution_id="nagu-thc")


def run(repo: SightingRepository, n: int, sightings: list[Sighting], complete: bool = True):
    return repo.reconcile(SCOPE, sightings, complete, now=T0 + timedelta(minutes=5 * n))


def test_first_collection_is_all_new(store: StateStore) -> None:
    result = run(store.sightings, 0, [fdb(PC, "Gi0/1"), fdb(PRINTER, "Gi0/2")])
    assert sorted(r.mac for r in result.new) == ["00:1a:2b:00:00:01", "00:1a:2b:3c:4d:5e"]
    assert not (result.kept or result.moved or result.missing or result.gone)
    assert all(r.first_seen == r.last_seen == T0 for r in result.new)


def test_seen_again_is_kept_and_last_seen_advances(store: StateStore) -> None:
    run(store.sightings, 0, [fdb(PC, "Gi0/1")])
    result = run(store.sightings, 1, [fdb(PC, "Gi0/1")])
    assert [r.mac for r in result.kept] == ["00:1a:2b:3c:4d:5e"]
    (kept,) = result.kept
    assert kept.first_seen == T0 and kept.last_seen == T0 + timedelta(minutes=5)
    assert not result.new


def test_same_device_at_another_port_is_a_move(store: StateStore) -> None:
    first = run(store.sightings, 0, [fdb(PC, "Gi0/1")]).new[0]
    result = run(store.sightings, 1, [fdb(PC, "Gi0/7")])
    (move,) = result.moved
    assert move.before.id == first.id and move.before.port == "Gi0/1"
    assert move.before.end_reason == "moved" and move.before.ended is not None
    assert move.after.port == "Gi0/7" and move.after.moved_from == first.id and move.after.is_open
    assert not (result.new or result.gone)
    assert [r.port for r in store.sightings.open_sightings(mac=PC)] == ["Gi0/7"]
    assert [r.port for r in store.sightings.history(PC)] == ["Gi0/1", "Gi0/7"]


def test_gone_only_after_grace_of_complete_runs(store: StateStore) -> None:
    assert store.sightings.grace_runs == 3
    run(store.sightings, 0, [fdb(PC, "Gi0/1"), fdb(PRINTER, "Gi0/2")])
    for n in (1, 2):
        result = run(store.sightings, n, [fdb(PRINTER, "Gi0/2")])
        assert [r.mac for r in result.missing] == ["00:1a:2b:3c:4d:5e"]
        assert result.missing[0].missed_runs == n
        assert not result.gone
    result = run(store.sightings, 3, [fdb(PRINTER, "Gi0/2")])
    (gone,) = result.gone
    assert gone.mac == "00:1a:2b:3c:4d:5e" and gone.end_reason == "gone"
    assert gone.ended == T0 + timedelta(minutes=15)
    assert gone.last_seen == T0
    assert [r.mac for r in store.sightings.open_sightings(scope=SCOPE)] == ["00:1a:2b:00:00:01"]
    # back later: a new sighting, the old one stays closed
    result = run(store.sightings, 4, [fdb(PC, "Gi0/1"), fdb(PRINTER, "Gi0/2")])
    assert [r.mac for r in result.new] == ["00:1a:2b:3c:4d:5e"]
    assert len(store.sightings.history(PC)) == 2


def test_seen_again_within_grace_resets_the_miss_count(store: StateStore) -> None:
    run(store.sightings, 0, [fdb(PC, "Gi0/1")])
    run(store.sightings, 1, [])
    run(store.sightings, 2, [])
    assert run(store.sightings, 3, [fdb(PC, "Gi0/1")]).kept[0].missed_runs == 0
    # the count starts again: two more misses are not enough, the third is
    assert not run(store.sightings, 4, []).gone
    assert not run(store.sightings, 5, [fdb(PRINTER, "Gi0/2")]).gone
    assert [r.mac for r in run(store.sightings, 6, []).gone] == ["00:1a:2b:3c:4d:5e"]


def test_incomplete_collections_never_expire(store: StateStore) -> None:
    run(store.sightings, 0, [fdb(PC, "Gi0/1")])
    for n in range(1, 10):
        result = run(store.sightings, n, [fdb(PRINTER, "Gi0/2")], complete=False)
        assert not result.gone
        assert [r.mac for r in result.missing] == ["00:1a:2b:3c:4d:5e"]
        assert result.missing[0].missed_runs == 0  # an incomplete run does not count a miss
    assert len(store.sightings.open_sightings(scope=SCOPE)) == 2
    assert store.sightings.last_complete_run(SCOPE) == T0
    # what an incomplete run saw is still recorded
    assert store.sightings.open_sightings(mac=PRINTER)[0].first_seen == T0 + timedelta(minutes=5)


def test_grace_is_configurable(state_path) -> None:
    with StateStore.open(state_path, grace_runs=1) as store:
        run(store.sightings, 0, [fdb(PC, "Gi0/1")])
        assert run(store.sightings, 1, []).gone
    with pytest.raises(StoreError):
        SightingRepository(store.conn, grace_runs=0)


def test_scopes_do_not_expire_each_other(store: StateStore) -> None:
    store.sightings.reconcile("fdb:sw-a", [fdb(PC, "Gi0/1")], True, now=T0)
    for n in range(1, 5):
        store.sightings.reconcile("fdb:sw-b", [], True, now=T0 + timedelta(minutes=n))
    assert len(store.sightings.open_sightings(scope="fdb:sw-a")) == 1


def test_arp_sighting_changing_ip_is_a_move_and_extra_ip_is_new(store: StateStore) -> None:
    def arp(ip: str) -> Sighting:
        return Sighting(mac=PC, how="arp", ip=ip)

    store.sightings.reconcile("arp:10.1.1.0/24", [arp("10.1.1.5")], True, now=T0)
    result = store.sightings.reconcile("arp:10.1.1.0/24", [arp("10.1.1.9")], True, now=T0 + timedelta(minutes=1))
    assert [(m.before.ip, m.after.ip) for m in result.moved] == [("10.1.1.5", "10.1.1.9")]
    result = store.sightings.reconcile(
        "arp:10.1.1.0/24", [arp("10.1.1.9"), arp("10.1.1.10")], True, now=T0 + timedelta(minutes=2)
    )
    assert [r.ip for r in result.new] == ["10.1.1.10"] and len(result.kept) == 1
    assert {r.ip for r in store.sightings.open_sightings(ip="10.1.1.10")} == {"10.1.1.10"}


def test_duplicates_in_one_collection_count_once(store: StateStore) -> None:
    result = run(store.sightings, 0, [fdb(PC, "Gi0/1"), fdb(PC.lower(), "Gi0/1")])
    assert len(result.new) == 1


def test_bad_input_is_refused() -> None:
    with pytest.raises(StoreError, match="not a valid MAC"):
        Sighting(mac="zz:zz", how="fdb")
    with pytest.raises(StoreError, match="unknown sighting source"):
        Sighting(mac=PC, how="ping")  # type: ignore[arg-type]
    with pytest.raises(StoreError, match="not an IP"):
        Sighting(mac=PC, how="arp", ip="10.1.1.300")
    with pytest.raises(StoreError, match="VLAN"):
        Sighting(mac=PC, how="fdb", vlan=5000)


def test_reconcile_is_atomic(store: StateStore, monkeypatch: pytest.MonkeyPatch) -> None:
    run(store.sightings, 0, [fdb(PC, "Gi0/1")])

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(store.sightings, "_insert", boom)
    with pytest.raises(RuntimeError):
        run(store.sightings, 1, [fdb(PC, "Gi0/1"), fdb(PRINTER, "Gi0/2")])
    (only,) = store.sightings.open_sightings()
    assert only.last_seen == T0  # the kept update was rolled back too


def test_returned_records_are_what_is_stored(store: StateStore) -> None:
    repo = store.sightings
    collections = [
        [fdb(PC, "Gi0/1"), fdb(PRINTER, "Gi0/2"), fdb("00:00:5e:00:53:01", "Gi0/3")],
        [fdb(PC, "Gi0/9"), Sighting(mac=PRINTER, how="fdb", switch="sw-nagu-1", port="Gi0/2", vlan=10)],
        [],
        [],
    ]
    for n, collection in enumerate(collections):
        result = run(repo, n, collection)
        records = [*result.new, *result.kept, *result.missing, *result.gone]
        records += [r for m in result.moved for r in (m.before, m.after)]
        assert records
        for record in records:
            assert repo.get(record.id) == record
        if n == 1:
            # a kept sighting reported without an institution keeps the one it had
            assert result.kept[0].institution_id == "nagu-thc"


def on(switch: str, mac: str, port: str) -> Sighting:
    return Sighting(mac=mac, how="fdb", switch=switch, port=port, vlan=10, institution_id="nagu-thc")


def test_a_device_that_moves_to_another_switch_is_one_move(store: StateStore) -> None:
    repo = store.sightings
    at = [T0 + timedelta(minutes=5 * n) for n in range(3)]
    repo.reconcile("fdb:sw-a", [on("sw-a", PC, "Gi0/1"), on("sw-a", PRINTER, "Gi0/2")], True, now=at[0])
    repo.reconcile("fdb:sw-b", [], True, now=at[0])
    # The PC now answers on sw-b; sw-a (walked after it, or before: the order must not matter) misses it.
    results = [
        repo.reconcile("fdb:sw-b", [on("sw-b", PC, "Gi0/9")], True, now=at[1]),
        repo.reconcile("fdb:sw-a", [on("sw-a", PRINTER, "Gi0/2")], True, now=at[1]),
    ]
    [move] = repo.join_moves(results, now=at[1])
    assert (move.before.switch, move.before.port, move.after.switch, move.after.port) == (
        "sw-a",
        "Gi0/1",
        "sw-b",
        "Gi0/9",
    )
    assert move.before.end_reason == "moved" and move.after.moved_from == move.before.id
    assert repo.get(move.before.id).end_reason == "moved" and repo.get(move.after.id).moved_from == move.before.id
    assert [(r.switch, r.port) for r in repo.open_sightings(mac=PC)] == [("sw-b", "Gi0/9")]
    # Seen on both switches at once: at both, not moved.
    both = [
        repo.reconcile("fdb:sw-a", [on("sw-a", PRINTER, "Gi0/2"), on("sw-a", PRINTER, "Gi0/2")], True, now=at[2]),
        repo.reconcile("fdb:sw-b", [on("sw-b", PC, "Gi0/9"), on("sw-b", PRINTER, "Gi0/3")], True, now=at[2]),
    ]
    assert repo.join_moves(both, now=at[2]) == []


def test_a_cross_switch_move_pairs_with_a_sighting_the_old_switch_just_expired(state_path) -> None:
    with StateStore.open(state_path, grace_runs=1) as store:
        repo = store.sightings
        repo.reconcile("fdb:sw-a", [on("sw-a", PC, "Gi0/1")], True, now=T0)
        later = T0 + timedelta(minutes=5)
        results = [
            repo.reconcile("fdb:sw-a", [], True, now=later),
            repo.reconcile("fdb:sw-b", [on("sw-b", PC, "Gi0/9")], True, now=later),
        ]
        assert [r.mac for r in results[0].gone] == ["00:1a:2b:3c:4d:5e"]
        [move] = repo.join_moves(results, now=later)
        assert move.before.id == results[0].gone[0].id and repo.get(move.before.id).end_reason == "moved"


def test_a_device_new_on_two_switches_in_one_run_is_at_both_not_moved(store: StateStore) -> None:
    repo = store.sightings
    at = [T0 + timedelta(minutes=5 * n) for n in range(2)]
    repo.reconcile("fdb:sw-a", [on("sw-a", PRINTER, "Gi0/1")], True, now=at[0])
    results = [
        repo.reconcile("fdb:sw-a", [on("sw-a", PC, "Gi0/1"), on("sw-a", PRINTER, "Gi0/2")], True, now=at[1]),
        repo.reconcile("fdb:sw-b", [on("sw-b", PC, "Gi0/9"), on("sw-b", PRINTER, "Gi0/3")], True, now=at[1]),
    ]
    # The PC is new on both; the printer moved within sw-a and is new on sw-b: each is seen at both places.
    assert [m.after.port for m in results[0].moved] == ["Gi0/2"]
    assert repo.join_moves(results, now=at[1]) == []
    assert sorted((r.switch, r.port) for r in repo.open_sightings(mac=PC)) == [("sw-a", "Gi0/1"), ("sw-b", "Gi0/9")]
    assert sorted((r.switch, r.port) for r in repo.open_sightings(mac=PRINTER)) == [
        ("sw-a", "Gi0/2"),
        ("sw-b", "Gi0/3"),
    ]
