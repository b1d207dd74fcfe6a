"""The ARP sweep with real frames, in the namespace lab (root; fails in CI without it).

One lab (1 township, 2 village clinics; the second has no managed switch) for
the module. Every sweep runs as its own ``netguard`` process *inside* the
unmanaged village's ``probe`` namespace, sweeping from its ``eth0``: nothing
is sent from the machine's own namespace. What the sweep must find is what
``lab status`` says is on that segment (the village's terminals and its
router), with their MACs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from netguard.inventory import mac_vendor
from netguard.lab import netns
from tests.harness.lab import RunningLab, running_lab

ROOT = Path(__file__).resolve().parents[2]
UNMANAGED = "lab-vc1-2"
NOBODY = 65534


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLab]:
    with running_lab(tmp_path_factory.mktemp("sweeplab"), townships=1, villages=2) as running:
        yield running


def probe_ns(lab: RunningLab) -> str:
    return next(h.namespace for h in lab.refresh().hosts if h.probe)


def segment(lab: RunningLab) -> tuple[str, set[tuple[str, str]]]:
    """(the unmanaged village's subnet, every (IP, MAC) on it but the probe's), from lab status."""
    status = lab.refresh()
    gateway = next(g for g in status.gateways if g.institution == UNMANAGED)
    router_mac = netns.ip_json(gateway.namespace, "link", "show", "br10")[0]["address"]
    hosts = {(h.ip, h.mac) for h in status.hosts if h.institution == UNMANAGED and not h.probe}
    return gateway.subnet, hosts | {(gateway.gateway, router_mac)}


def netguard(namespace: str, *args: str, user: int | None = None) -> subprocess.CompletedProcess[str]:
    """``netguard ARGS`` as a process inside ``namespace`` (as ``user`` when given)."""
    drop = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"] if user is not None else []
    return subprocess.run(
        ["ip", "netns", "exec", namespace, *drop, sys.executable, str(ROOT / "cli.py"), *args],
        capture_output=True,
        text=True,
        env={**{k: v for k, v in os.environ.items() if k != "NETGUARD_CONFIG"}, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        check=False,
        timeout=120,
    )


def found(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(h["ip"], h["mac"]) for h in doc["hosts"]}


def config_for(lab: RunningLab, where: Path, **discovery: Any) -> Path:
    path = where / "netguard.yaml"
    doc = {
        "inventory": str(lab.dir / "inventory.yaml"),
        "secrets_file": str(lab.dir / "secrets.yaml"),
        "state": {"path": str(where / "state.db"), "grace_runs": 1},
        "events": {"backend": "sqlite", "sqlite": {"path": str(where / "events.db")}},
        "discovery": discovery,
    }
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def test_a_sweep_finds_exactly_the_hosts_on_the_segment_with_their_macs(lab: RunningLab) -> None:
    subnet, expected = segment(lab)
    proc = netguard(probe_ns(lab), "discover", "sweep", subnet, "--interface", "eth0", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert found(doc) == expected
    assert doc["complete"] and doc["duplicate_ips"] == [] and doc["interface"] == "eth0"
    assert doc["targets"] == 253  # a /24's 254 hosts less the probe's own address
    assert doc["answered"] == len(expected) and doc["unanswered"] == 253 - len(expected)
    # Vendors from the OUI table; the lab gives its PCs and routers real OUIs.
    assert all(h["vendor"] == mac_vendor(h["mac"]) and h["vendor"] for h in doc["hosts"])


def test_the_table_shows_every_host(lab: RunningLab) -> None:
    subnet, expected = segment(lab)
    proc = netguard(probe_ns(lab), "discover", "sweep", subnet, "--interface", "eth0", "--wide")
    assert proc.returncode == 0, proc.stderr
    assert f"{len(expected)} of 253 addresses answered on {subnet} from eth0" in proc.stdout
    for ip, mac in expected:
        assert any(ip in line and mac in line for line in proc.stdout.splitlines()), (ip, mac)


def test_an_institution_is_swept_over_its_subnets_from_the_inventory(lab: RunningLab, tmp_path: Path) -> None:
    _subnet, expected = segment(lab)
    config = config_for(lab, tmp_path, sweep_interfaces={UNMANAGED: "eth0"}, sweep_rate=2000)
    proc = netguard(probe_ns(lab), "--config", str(config), "discover", "sweep", "--institution", UNMANAGED, "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert found(doc) == expected
    assert {h["institution"] for h in doc["hosts"]} == {UNMANAGED}


def test_an_address_answered_by_two_macs_is_kept_twice(lab: RunningLab) -> None:
    subnet, expected = segment(lab)
    status = lab.refresh()
    pc, rogue = (h for h in status.hosts if h.institution == UNMANAGED and not h.probe)
    # The rogue takes the PC's address as a second one: both answer for it.
    netns.ip(rogue.namespace, "addr", "add", f"{pc.ip}/24", "dev", "eth0")
    try:
        proc = netguard(probe_ns(lab), "discover", "sweep", subnet, "--interface", "eth0", "--json")
    finally:
        netns.ip(rogue.namespace, "addr", "del", f"{pc.ip}/24", "dev", "eth0")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert found(doc) == expected | {(pc.ip, rogue.mac)}
    assert doc["duplicate_ips"] == [pc.ip]


def test_the_run_deadline_stops_a_sweep_and_says_so(lab: RunningLab) -> None:
    subnet, expected = segment(lab)
    # 10 requests a second would take 50 s for the /24: the 1 s deadline cuts it short.
    proc = netguard(
        probe_ns(lab), "discover", "sweep", subnet, "--interface", "eth0", "--rate", "10", "--deadline", "1", "--json"
    )
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert not doc["complete"] and doc["stopped"].startswith("run deadline of 1 s reached")
    assert doc["sent"] < 253 and found(doc) <= expected


def test_without_cap_net_raw_the_error_says_what_is_needed(lab: RunningLab) -> None:
    subnet, _ = segment(lab)
    proc = netguard(probe_ns(lab), "discover", "sweep", subnet, "--interface", "eth0", user=NOBODY)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith("error: the ARP sweep sends raw Ethernet frames and needs the CAP_NET_RAW capability")
    assert "run it as root, or grant it to the interpreter with: setcap cap_net_raw+ep /" in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_discover_run_sweeps_the_village_without_a_switch_and_reconciles(lab: RunningLab, tmp_path: Path) -> None:
    _subnet, expected = segment(lab)
    config = config_for(lab, tmp_path, sweep_interface="eth0", sweep_rate=2000)
    probe = probe_ns(lab)
    run = ["--config", str(config), "discover", "run", "--institution", UNMANAGED, "--json"]
    proc = netguard(probe, *run)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["switches"] == [] and doc["sweeps_failed"] == []
    assert [(s["institution"], s["interface"], s["complete"]) for s in doc["sweeps"]] == [(UNMANAGED, "eth0", True)]
    assert {(c["ip"], c["mac"]) for c in doc["sweep_changes"] if c["action"] == "new"} == expected
    status = lab.refresh()
    rogue = next(h for h in status.hosts if h.institution == UNMANAGED and h.role == "rogue")
    pc = next(h for h in status.hosts if h.institution == UNMANAGED and h.role == "authorised" and not h.probe)
    verdicts = {c["mac"]: c["status"] for c in doc["sweep_changes"] if c["action"] == "new"}
    assert verdicts[rogue.mac] == "unknown" and verdicts[pc.mac] == "authorised"

    # The devices are in the store: discover list reads it (no packets: run from here).
    listed = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "--config", str(config), "discover", "list", "--json"],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True, timeout=60,
    )  # fmt: skip
    rows = {r["mac"]: r for r in json.loads(listed.stdout)}
    assert {(ip, mac) for mac, r in rows.items() for ip in r["ips"]} == expected
    assert rows[rogue.mac]["how"] == ["arp"] and rows[rogue.mac]["institution"] == UNMANAGED

    # Seen again: no changes. The rogue unplugged: gone after one complete sweep (grace_runs 1).
    proc = netguard(probe, *run)
    assert proc.returncode == 0 and json.loads(proc.stdout)["sweep_changes"] == []
    proc = netguard(probe, *run[:-1])  # the same for people
    assert proc.returncode == 0, proc.stderr
    assert "1 institution ARP-swept: 1 completely, 0 failed or cut short" in proc.stdout
    assert "no device changes from ARP sweeps" in proc.stdout
    netns.ip(rogue.namespace, "link", "set", "eth0", "down")
    try:
        proc = netguard(probe, *run)
    finally:
        netns.ip(rogue.namespace, "link", "set", "eth0", "up")
    changes = json.loads(proc.stdout)["sweep_changes"]
    assert [(c["action"], c["mac"], c["ip"]) for c in changes] == [("gone", rogue.mac, rogue.ip)]
