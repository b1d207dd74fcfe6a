"""Link results into a real state store and a real SQLite event store; previous states; state-change events."""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

from netguard.events.sqlite_store import SQLiteEventStore
from netguard.inventory.model import Tier
from netguard.links.recording import SCAN_LABEL, link_events, previous_states, record
from netguard.links.records import IcmpStats, LinkResult, LinkState, LinkTarget, TcpResult, TcpTarget
from netguard.store import CheckResult, StateStore

T0 = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)


def result(inst: str, state: LinkState, previous: LinkState | None = None, tcp: bool = False) -> LinkResult:
    address = ipaddress.ip_address("10.1.0.1")
    target = LinkTarget(inst, f"{inst} 名称", Tier.VILLAGE, "娜姑镇", address)
    rtts = [None, None] if state is LinkState.DOWN else [1.0, 3.0]
    refused = TcpResult(TcpTarget(inst, "srv", "his", address, 8080), False, error="connection refused")
    reasons = ("why",) if state is not LinkState.UP else ()
    icmp = IcmpStats.from_rtts(address, rtts, 2)
    return LinkResult(target, state, reasons, icmp, (refused,) if tcp else (), previous_state=previous)


def test_previous_state_is_the_newest_per_institution(tmp_path: Path) -> None:
    events = SQLiteEventStore(tmp_path / "events.db")
    with StateStore.open(tmp_path / "state.db") as store:
        assert previous_states(store.checks, ["a"]) == {}
        record([result("a", LinkState.UP), result("b", LinkState.DOWN)], checks=store.checks, events=events, started=T0)
        store.checks.store_scan("compliance-1", [CheckResult("link", "a", "fail", {"state": "nonsense"})], label="scan")
        record([result("a", LinkState.DEGRADED)], checks=store.checks, events=events,
               started=T0 + dt.timedelta(minutes=5))  # fmt: skip
        assert previous_states(store.checks, ["a", "b", "c"]) == {"a": LinkState.DEGRADED, "b": LinkState.DOWN}
        assert [s.label for s in store.checks.scans()].count(SCAN_LABEL) == 2
    events.close()


def test_record_writes_check_results_and_events(tmp_path: Path) -> None:
    events = SQLiteEventStore(tmp_path / "events.db")
    runs = [result("a", LinkState.DOWN, previous=LinkState.UP, tcp=True), result("b", LinkState.UP, LinkState.UP)]
    with StateStore.open(tmp_path / "state.db") as store:
        done = record(runs, checks=store.checks, events=events, started=T0)
        rows = {(r.check_id, r.target): r for r in store.checks.results(done.scan.scan_id)}
    assert done.state_changes == 1 and done.events.failed == 0 and done.events.written == 4
    assert rows[("link", "a")].result == "fail" and rows[("link", "a")].evidence["state"] == "down"
    assert rows[("link", "b")].result == "pass" and rows[("link.tcp", "a/srv/his")].result == "fail"
    changes = events.search("action:state-change", kinds=("link",)).hits
    fields = ("organization.id", "netguard.link.previous_state", "netguard.link.state")
    assert [tuple(e.get(f) for f in fields) for e in changes] == [("a", "up", "down")]
    tcp = events.search("netguard.link.probe:tcp", kinds=("link",)).hits
    assert [(e.get("destination.port"), e.get("event.outcome"), e.get("error.message")) for e in tcp] == [
        (8080, "failure", "connection refused")
    ]
    events.close()


def test_first_sight_and_unchanged_state_are_samples_only() -> None:
    evs = link_events([result("a", LinkState.DOWN), result("b", LinkState.UP, LinkState.UP)], T0)
    assert [e.action for e in evs] == ["sample", "sample"]
    assert evs[0].get("netguard.link.loss") == 100.0 and evs[0].get("event.outcome") == "failure"
    assert evs[1].get("netguard.link.jitter_ms") == 2.0 and evs[1].get("netguard.township") == "娜姑镇"
