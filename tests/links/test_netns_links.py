"""Real packets through network namespaces: a healthy, a lossy, a slow and a dead link, a TCP service up and down.

The checks run as the real command (``netguard links check --json``) inside the
prober's namespace, against the lab built by the ``link_lab`` fixture
(conftest.py): loss from nftables inside the far namespace, delay from a TUN
wire, a dead link whose far end is down.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from netguard.events.sqlite_store import SQLiteEventStore
from netguard.store import StateStore
from tests.harness.lab import ping_within
from tests.links.conftest import DELAY_MS, LinkLab

pytestmark = pytest.mark.root

ARGS = ("--count", "20", "--interval", "20", "--timeout", "800")


def test_each_link_is_classified(link_lab: LinkLab) -> None:
    code, rows = link_lab.check_json(*ARGS)
    by_id = {r["institution"]: r for r in rows}
    assert set(by_id) == {"lab-dc", "lab-hosp", "lab-thc-lossy", "lab-thc-slow", "lab-vc-dead", "lab-vc-back"}
    assert code == 1  # something is degraded or down

    healthy = by_id["lab-dc"]
    assert healthy["state"] == "up", healthy["reason"]
    assert healthy["loss"] == 0 and healthy["received"] == healthy["sent"] == 20
    assert healthy["rtt_min_ms"] <= healthy["rtt_avg_ms"] <= healthy["rtt_max_ms"]
    [his] = healthy["services"]
    assert his["connected"] and his["connect_ms"] is not None
    assert healthy["services_not_checked"] == ["his01/ntp udp/123"]

    refused = by_id["lab-hosp"]
    assert refused["state"] == "degraded" and refused["loss"] == 0
    assert refused["services"][0]["connected"] is False
    assert "db01/mysql 10.201.5.2:13306: connection refused" in refused["reason"]

    lossy = by_id["lab-thc-lossy"]
    assert lossy["state"] == "degraded", lossy
    assert 0 < lossy["loss"] < 100 and "loss" in lossy["reason"]
    assert lossy["received"] == sum(1 for r in lossy["rtts_ms"] if r is not None)

    slow = by_id["lab-thc-slow"]
    assert slow["state"] == "degraded", slow
    assert slow["loss"] == 0
    assert slow["rtt_min_ms"] >= 2 * DELAY_MS - 1  # the wire delays each way
    assert slow["reason"].startswith("rtt ") and "> 50 ms" in slow["reason"]  # township limit

    dead = by_id["lab-vc-dead"]
    assert dead["state"] == "down" and dead["loss"] == 100 and dead["received"] == 0
    assert dead["rtt_avg_ms"] is None and dead["jitter_ms"] is None
    assert dead["reason"].startswith("no reply to 20 probes to 10.201.4.2")


def test_results_and_events_are_recorded(link_lab: LinkLab) -> None:
    link_lab.check_json(*ARGS, "--institution", "lab-dc", "--institution", "lab-vc-dead")
    with StateStore.open(link_lab.state_path) as store:
        newest = store.checks.scans(limit=1)[0]
        assert newest.label == "links"
        results = {(r.check_id, r.target): r for r in store.checks.results(newest.scan_id)}
    assert set(results) == {("link", "lab-dc"), ("link", "lab-vc-dead"), ("link.tcp", "lab-dc/his01/his")}
    assert results[("link", "lab-dc")].result == "pass"
    assert results[("link", "lab-vc-dead")].result == "fail"
    assert results[("link", "lab-vc-dead")].evidence["state"] == "down"
    store_ = SQLiteEventStore(link_lab.events_path)
    try:
        hits = store_.search("institution:lab-vc-dead AND action:sample", kinds=("link",), limit=5).hits
    finally:
        store_.close()
    assert hits and hits[0].get("netguard.link.state") == "down" and hits[0].get("netguard.link.loss") == 100.0
    assert hits[0].get("destination.ip") == "10.201.4.2" and hits[0].get("netguard.tier") == "village"


def test_a_link_coming_back_is_a_state_change(link_lab: LinkLab) -> None:
    code, [before] = link_lab.check_json(*ARGS, "--institution", "lab-vc-back")
    assert code == 1 and before["state"] == "down"
    subprocess.run(["ip", "-n", link_lab.back, "link", "set", link_lab.back_dev, "up"], check=True)
    assert ping_within(link_lab.prober, "10.201.6.2")  # the link is back; what follows is what the check records
    code, [after] = link_lab.check_json(*ARGS, "--institution", "lab-vc-back")
    assert code == 0 and after["state"] == "up" and after["previous_state"] == "down"

    store = SQLiteEventStore(link_lab.events_path)
    try:
        changes = store.search("institution:lab-vc-back AND action:state-change", kinds=("link",)).hits
    finally:
        store.close()
    assert [(e.get("netguard.link.previous_state"), e.get("netguard.link.state")) for e in changes] == [("down", "up")]

    table = link_lab.netguard("links", "check", *ARGS, "--institution", "lab-vc-back")
    assert table.returncode == 0, table.stderr
    assert "1 institutions: 1 up, 0 degraded, 0 down" in table.stdout

    store = SQLiteEventStore(link_lab.events_path)
    try:
        samples = store.count("institution:lab-vc-back AND action:sample AND netguard.link.probe:icmp", kinds=("link",))
    finally:
        store.close()
    history = link_lab.netguard("links", "history", "lab-vc-back", "--since", "1h", "--json")
    assert history.returncode == 0, history.stderr
    body = json.loads(history.stdout)
    assert body["samples"] == samples >= 2  # every check that included it (the first test's too)
    worst = {b["worst_state"] for b in body["buckets"] if b["samples"]}
    assert "down" in worst and worst <= {"up", "down"}
    shown = link_lab.netguard("links", "history", "lab-vc-back", "--since", "1h")
    assert shown.returncode == 0 and "复通村卫生室 (lab-vc-back, village)" in shown.stdout


def test_a_reply_later_than_the_timeout_is_lost(link_lab: LinkLab) -> None:
    """fping's -t: the slow wire answers every probe, but after the timeout; so every probe counts as lost."""
    code, [slow] = link_lab.check_json(
        "--count", "5", "--interval", "20", "--timeout", str(DELAY_MS), "--institution", "lab-thc-slow", "--no-record"
    )
    assert code == 1 and slow["state"] == "down" and slow["loss"] == 100 and slow["rtts_ms"] == [None] * 5
