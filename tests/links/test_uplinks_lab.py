"""Uplink health from the lab's switches: real veth counters through the real agents (root; fails in CI without it).

The collector runs in the test process (root namespace: it only talks to the
agents on 127.77.x.y); everything that sends to the lab's 10.x addresses runs
inside a lab namespace (traffic from a terminal, ``links check`` from the
scanner namespace).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from netguard.inventory import load_inventory
from netguard.lab import netns
from netguard.links.records import UplinkHealth
from netguard.links.targets import link_targets
from netguard.links.uplinks import SnmpUplinks, uplink_jobs
from netguard.secrets import SecretResolver
from tests.harness.lab import RunningLab, running_lab

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLab]:
    with running_lab(tmp_path_factory.mktemp("lab"), townships=1, villages=2) as running:
        yield running


def collect(lab: RunningLab, inventory: Path, interval_s: float) -> dict[str, list[UplinkHealth]]:
    inv = load_inventory(inventory)
    jobs = uplink_jobs(inv, SecretResolver(secrets_file=lab.dir / "secrets.yaml"), timeout_s=1.0, retries=1)
    found = asyncio.run(SnmpUplinks(jobs, interval_s=interval_s)(link_targets(inv)))
    return {k: list(v) for k, v in found.items()}


def kernel_bytes(namespace: str, port: str) -> tuple[int, int]:
    """(rx, tx) bytes of a switch port as the kernel counts them."""
    stats = netns.ip_json(namespace, "-s", "link", "show", port)[0]["stats64"]
    return int(stats["rx"]["bytes"]), int(stats["tx"]["bytes"])


def test_uplink_counters_measure_the_traffic_that_crossed_the_port(lab: RunningLab) -> None:
    t1 = next(s for s in lab.status.switches if s.id == "lab-thc1-acc1")
    pc = next(h for h in lab.status.hosts if h.switch == t1.id and h.role == "authorised" and h.kind == "pc")
    server = next(h for h in lab.status.hosts if h.institution == "lab-dc")
    before = kernel_bytes(t1.namespace, t1.uplinks[0])
    # About 5.8 Mbit/s each way through t1's uplink for 3 s: 500 pings a second of 1400 bytes, to the data centre.
    traffic = subprocess.Popen(
        ["ip", "netns", "exec", pc.namespace, "ping", "-q", "-n", "-i", "0.002", "-s", "1400", "-c", "1500",
         server.ip],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        found = collect(lab, lab.dir / "inventory.yaml", interval_s=1.0)
    finally:
        traffic.wait(30)
    after = kernel_bytes(t1.namespace, t1.uplinks[0])
    ports = {u.interface: u for u in found["lab-thc1"]}
    assert set(ports) == set(t1.uplinks)  # the uplink and both downlinks the inventory lists
    uplink = ports[t1.uplinks[0]]
    assert uplink.oper_up is True and uplink.oper_status == "up" and uplink.counters == "64-bit"
    assert uplink.speed_mbps == 1000.0 and uplink.interval_s is not None and uplink.interval_s >= 1.0
    assert uplink.in_bps is not None and uplink.out_bps is not None
    # The switch sends the pings up (ifOutOctets = the veth's tx) and receives the replies.
    for measured in (uplink.in_bps, uplink.out_bps):
        assert 1_000_000 < measured < 20_000_000
    # Never more than the kernel counted over the whole run, which contains the sampling window.
    assert uplink.in_bps * uplink.interval_s / 8 <= after[0] - before[0]
    assert uplink.out_bps * uplink.interval_s / 8 <= after[1] - before[1]
    assert uplink.utilisation_pct == round(100 * max(uplink.in_bps, uplink.out_bps) / 1e9, 3)
    assert uplink.errors_per_s == 0.0 and uplink.discards_per_s is not None
    # A downlink nobody sent through in the window: up, next to no traffic.
    quiet = ports[t1.uplinks[2]]
    assert quiet.oper_up is True and quiet.in_bps is not None and quiet.in_bps < 100_000


def test_a_port_taken_down_is_down(lab: RunningLab) -> None:
    t1 = next(s for s in lab.status.switches if s.id == "lab-thc1-acc1")
    downlink = t1.uplinks[2]  # to the village without a managed switch: nothing else depends on it here
    netns.ip(t1.namespace, "link", "set", downlink, "down")
    try:
        found = collect(lab, lab.dir / "inventory.yaml", interval_s=0.5)
    finally:
        netns.ip(t1.namespace, "link", "set", downlink, "up")
    port = next(u for u in found["lab-thc1"] if u.interface == downlink)
    assert port.oper_up is False and port.oper_status == "down" and port.admin_status == "down"


def _scanner_cli(lab: RunningLab, config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ip", "netns", "exec", lab.status.scanner.namespace, sys.executable, str(ROOT / "cli.py"),
         "--config", str(config), *args],
        capture_output=True, text=True, check=False, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT,
    )  # fmt: skip


def test_an_unreachable_agent_makes_the_uplink_unknown_not_the_link_down(lab: RunningLab, tmp_path: Path) -> None:
    doc: dict[str, Any] = yaml.safe_load((lab.dir / "inventory.yaml").read_text(encoding="utf-8"))
    village = next(i for i in doc["institutions"] if i["id"] == "lab-vc1-1")
    silent = village["switches"][0]["management"].rsplit(".", 1)[0] + ".250"  # no agent listens there
    village["switches"][0]["management"] = silent
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    config = tmp_path / "netguard.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "inventory": str(inventory),
                "secrets_file": str(lab.dir / "secrets.yaml"),
                "state": {"path": str(tmp_path / "state.db")},
                "events": {"backend": "sqlite", "sqlite": {"path": str(tmp_path / "events.db")}},
                "links": {"count": 3, "interval_ms": 200, "timeout_ms": 500, "snmp_timeout_ms": 300,
                          "snmp_retries": 0},
            }
        ),
        encoding="utf-8",
    )  # fmt: skip
    done = _scanner_cli(lab, config, "links", "check", "--json")
    assert done.returncode == 0, done.stderr  # every link up: the silent agent is not a link fault
    by = {r["institution"]: r for r in json.loads(done.stdout)}
    vc = by["lab-vc1-1"]
    assert vc["state"] == "up" and vc["reason"] == "" and vc["loss"] == 0
    assert vc["uplink_state"] == "unknown"
    assert f"{silent}:161" in vc["uplink_reason"] and "timeout" in vc["uplink_reason"]
    assert [u["oper_status"] for u in vc["uplinks"]] == ["unknown"]
    assert by["lab-thc1"]["uplink_state"] == "up" and by["lab-dc"]["uplink_state"] == "up"
    assert by["lab-vc1-2"]["uplink_state"] is None and by["lab-vc1-2"]["uplinks"] == []  # no managed switch
    community = yaml.safe_load((lab.dir / "secrets.yaml").read_text(encoding="utf-8"))["lab-snmp-community"]
    assert community not in done.stdout and community not in done.stderr

    # Recorded: one snmp sample per uplink port, the unknown one with its reason, and the state on the icmp sample.
    events = _scanner_cli(
        lab, config, "events", "search", "--json", "--limit", "100", "kind:link AND netguard.link.probe:snmp"
    )
    assert events.returncode == 0, events.stderr
    hits = json.loads(events.stdout)["hits"]
    ports = {(e["observer.name"], e["observer.ingress.interface.name"]): e for e in hits}
    assert len(ports) == sum(len(r["uplinks"]) for r in by.values())
    unknown = ports[("lab-vc1-1-acc1", "p3")]
    assert unknown["event.outcome"] == "unknown" and "timeout" in unknown["error.message"]
    up = ports[("lab-thc1-acc1", "p4")]
    assert up["netguard.link.state"] == "up" and up["netguard.link.uplink.counters"] == "64-bit"
    assert up["netguard.link.uplink.utilisation_pct"] is not None
