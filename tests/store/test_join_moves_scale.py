"""``join_moves`` on a run with thousands of moves across switches: the same pairs as the rule says, in linear work.

The rule (module docstring of :mod:`netguard.store.sightings`) is written out
here the plain way, as the oracle: each new sighting, in the order of the
results, pairs with the most recently seen (then highest id) sighting of the
same MAC and source in another scope that this run did not see (kept, new
or moved to) and that no earlier new sighting took, among those open before
the join and those the run ended as gone.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

from netguard.store import StateStore
from netguard.store.sightings import HowSeen, ReconcileResult, Sighting, SightingRecord, SightingRepository

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def mac(n: int) -> str:
    return f"02:00:00:{n >> 16 & 0xFF:02x}:{n >> 8 & 0xFF:02x}:{n & 0xFF:02x}"


def on(switch: str, n: int, port: int | None = None) -> Sighting:
    return Sighting(mac(n), "fdb", None, "inst", switch, f"Gi0/{n if port is None else port}", 10)


def oracle(before_open: list[SightingRecord], results: list[ReconcileResult]) -> list[tuple[int, int]]:
    """(old id, new id) of every move, by the rule in the module docstring, the obvious way."""
    seen = {r.id for res in results for r in (*res.kept, *res.new, *(m.after for m in res.moved))}
    pool = before_open + [r for res in results for r in res.gone]
    used: set[int] = set()
    pairs = []
    for res in results:
        for new in res.new:
            candidates = [
                r
                for r in pool
                if r.how == new.how and r.mac == new.mac and r.scope != new.scope and r.id not in seen | used
            ]
            if candidates:
                old = max(candidates, key=lambda r: (r.last_seen, r.id))
                used.add(old.id)
                pairs.append((old.id, new.id))
    return pairs


def scenario(repo: SightingRepository, devices: int) -> list[ReconcileResult]:
    """One run in which most of ``devices`` move from sw-a (or sw-c) to sw-b; returns the run's results.

    Before the run: every device on sw-a; the first tenth also on sw-c, seen
    later there (so sw-c's place is the more recent one), and missed once
    there already, so this run ends it as gone. In the run: sw-b sees the
    first 80 % (new there), sw-a sees the last 40 % (kept: those in the
    overlap are at both places, not moved), sw-c sees nothing.
    """
    tenth = devices // 10
    repo.reconcile("fdb:sw-a", [on("sw-a", n) for n in range(devices)], True, now=T0)
    repo.reconcile("fdb:sw-c", [on("sw-c", n) for n in range(tenth)], True, now=T0 + timedelta(minutes=1))
    repo.reconcile("fdb:sw-c", [], True, now=T0 + timedelta(minutes=2))
    repo.reconcile("fdb:sw-b", [], True, now=T0)
    at = T0 + timedelta(minutes=5)
    return [
        repo.reconcile("fdb:sw-b", [on("sw-b", n, port=n + 1) for n in range(devices * 8 // 10)], True, now=at),
        repo.reconcile("fdb:sw-a", [on("sw-a", n) for n in range(devices * 6 // 10, devices)], True, now=at),
        repo.reconcile("fdb:sw-c", [], True, now=at),
    ]


def test_thousands_of_moves_pair_as_the_rule_says(tmp_path: Path) -> None:
    devices = 3000
    with StateStore.open(tmp_path / "state.db", grace_runs=2) as store:
        repo = store.sightings
        results = scenario(repo, devices)
        open_before = repo.open_sightings()
        expected = oracle(open_before, results)
        moves = repo.join_moves(results, now=T0 + timedelta(minutes=5))
        assert [(m.before.id, m.after.id) for m in moves] == expected
        # By construction: the first 60 % moved (the overlap is at both places); of those, the first tenth
        # from sw-c (seen there last), the rest from sw-a.
        moved = devices * 6 // 10
        assert len(moves) == moved
        assert sorted(m.after.mac for m in moves) == sorted(mac(n) for n in range(moved))
        assert sum(m.before.scope == "fdb:sw-c" for m in moves) == devices // 10
        assert all(m.after.scope == "fdb:sw-b" and m.before.end_reason == "moved" for m in moves)
        for m in moves[:: devices // 50]:
            assert repo.get(m.before.id).end_reason == "moved"
            assert repo.get(m.after.id).moved_from == m.before.id
        # Those that moved from sw-c are still open (missed once) on sw-a: one old place pairs with one new.
        assert {r.mac for r in repo.open_sightings() if r.scope == "fdb:sw-a"} == {
            mac(n) for n in (*range(devices // 10), *range(moved, devices))
        }


class CountingHow(str):
    """A sighting source that counts how often it is compared: the work ``join_moves`` does per ended place."""

    compared = 0

    def __eq__(self, other: object) -> bool:
        type(self).compared += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__


def test_join_moves_looks_at_each_ended_place_once_per_move_not_once_per_new_sighting(tmp_path: Path) -> None:
    # Every device leaves sw-a (ended there as gone) for sw-b: n moves, n ended places. Comparing every
    # new sighting with every ended place is n * n comparisons; by MAC, about one each.
    devices = 1000
    with StateStore.open(tmp_path / "state.db", grace_runs=1) as store:
        repo = store.sightings
        repo.reconcile("fdb:sw-a", [on("sw-a", n) for n in range(devices)], True, now=T0)
        at = T0 + timedelta(minutes=5)
        results = [
            repo.reconcile("fdb:sw-a", [], True, now=at),
            repo.reconcile("fdb:sw-b", [on("sw-b", n) for n in range(devices)], True, now=at),
        ]
        gone = results[0].gone
        assert len(gone) == devices
        counted = [
            replace(results[0], gone=[replace(r, how=cast(HowSeen, CountingHow(r.how))) for r in gone]),
            results[1],
        ]
        CountingHow.compared = 0
        moves = repo.join_moves(counted, now=at)
        assert len(moves) == devices
        assert {(m.before.id, m.after.mac) for m in moves} == {(r.id, r.mac) for r in gone}
        assert CountingHow.compared <= 2 * devices
