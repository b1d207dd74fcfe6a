"""ARP isolation on the real namespace lab (root; fails in CI without it).

The lab's last village clinic has no managed switch: a plain bridge, its
gateway, an authorised PC, a rogue and the ``probe`` namespace, the enforcer.
Every ``netguard`` command that sends frames runs inside the probe namespace
(``ip netns exec``), as it would run on an enforcer with a leg on the segment;
nothing is sent from the root namespace. What is checked is what the rogue can
do (ping its gateway or not), what the journal and the events say, and what
``evict hold`` logs.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from netguard.config import load_config
from netguard.enforce.arp_isolate import isolated_state
from netguard.lab import netns
from netguard.lab.status import HostStatus
from netguard.secrets import write_private
from netguard.store import StateStore
from netguard.store.isolation import PortState
from netguard.store.journal import Target
from netguard.store.sightings import Sighting
from tests.enforce.helpers import assert_chain_verifies, enforcement_events, journal_entries, reaches
from tests.harness.lab import RunningLab, ping, running_lab

REPO = Path(__file__).resolve().parents[2]
WAIT_S = 120  # the CLI's start-up alone takes seconds on a loaded machine


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLab]:
    with running_lab(tmp_path_factory.mktemp("arplab"), townships=1, villages=2) as running:
        yield running


@dataclass(frozen=True)
class Village:
    """The unmanaged village: its probe (the enforcer), rogue, authorised PC and gateway."""

    probe: HostStatus
    rogue: HostStatus
    pc: HostStatus
    gateway_ip: str
    gateway_mac: str
    site_namespace: str


def village(lab: RunningLab) -> Village:
    hosts = [h for h in lab.refresh().hosts if h.switch is None]
    probe = next(h for h in hosts if h.probe)
    rogue = next(h for h in hosts if h.role == "rogue")
    pc = next(h for h in hosts if h.role == "authorised" and not h.probe)
    bridge = next(link for link in netns.ip_json(probe.site_namespace, "link", "show") if link["ifname"] == "br10")
    return Village(probe, rogue, pc, probe.gateway, str(bridge["address"]), probe.site_namespace)


@pytest.fixture
def config(lab: RunningLab, tmp_path: Path) -> Path:
    v = village(lab)
    for h in (v.rogue, v.pc):
        assert reaches(h.namespace, h.gateway), f"{h.namespace} cannot reach its gateway before the test"
    table = yaml.safe_load((lab.dir / "secrets.yaml").read_text(encoding="utf-8"))
    table["journal_key"] = os.urandom(32).hex()
    write_private(tmp_path / "secrets.yaml", yaml.safe_dump(table))
    doc = {
        "inventory": str(lab.dir / "inventory.yaml"),
        "secrets_file": str(tmp_path / "secrets.yaml"),
        "state": {"path": str(tmp_path / "state.db"), "journal_key": "secret:journal_key"},
        "events": {"backend": "sqlite", "sqlite": {"path": str(tmp_path / "events.db")}},
        "enforce": {"arp_interfaces": {v.probe.institution: "eth0"}, "arp_refresh_s": 1},
    }
    path = tmp_path / "netguard.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def on_probe(
    lab: RunningLab, config: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``netguard`` inside the enforcer's namespace."""
    probe = village(lab).probe.namespace
    command = ["ip", "netns", "exec", probe, sys.executable, str(REPO / "cli.py"), "--config", str(config), *args]
    environment = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run(command, capture_output=True, text=True, env=environment, timeout=WAIT_S, check=False)


def cut_off(namespace: str, gateway: str) -> bool:
    return not any(ping(namespace, gateway) for _ in range(3))


def swept(config: Path, *found: tuple[str, str, str]) -> None:
    """Record (MAC, IP, institution) sightings as the ARP sweep of the village's segment records them."""
    with StateStore.from_config(load_config(config)) as store:
        rows = [Sighting(mac, "arp", ip, institution) for mac, ip, institution in found]
        store.sightings.reconcile("arp:test-sweep", rows, False)


class Hold:
    """A running ``evict hold`` in the probe namespace; its log is read as it grows."""

    def __init__(self, proc: subprocess.Popen[bytes], log: Path) -> None:
        self.proc = proc
        self.log = log

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_for(self, needle: str) -> None:
        deadline = time.monotonic() + WAIT_S
        while needle not in self.text():
            assert self.proc.poll() is None, f"evict hold ended early:\n{self.text()}"
            assert time.monotonic() < deadline, f"evict hold never logged {needle!r}:\n{self.text()}"
            time.sleep(0.2)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=WAIT_S)


@contextmanager
def holding(lab: RunningLab, config: Path, tmp_path: Path, *args: str) -> Iterator[Hold]:
    probe = village(lab).probe.namespace
    log = tmp_path / "hold.log"
    command = ["ip", "netns", "exec", probe, sys.executable, str(REPO / "cli.py"), "--config", str(config)]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*command, "evict", "hold", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
    hold = Hold(proc, log)
    try:
        hold.wait_for("holding ARP isolations")
        yield hold
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=WAIT_S)


def test_arp_isolation_cuts_the_rogue_off_while_held_until_restored(
    lab: RunningLab, config: Path, tmp_path: Path
) -> None:
    v = village(lab)
    rogue = v.rogue
    swept(config, (rogue.mac, rogue.ip, rogue.institution))

    planned = on_probe(lab, config, "evict", "device", rogue.mac, "--reason", "rogue", "--json")
    assert planned.returncode == 0, planned.stderr
    plan = json.loads(planned.stdout)
    assert plan["method"] == "arp-isolate"  # auto: the village has no managed switch
    assert plan["refusals"] == [] and plan["applied"] is False
    assert plan["state_before"] == {
        "interface": "eth0",
        "enforcer_mac": v.probe.mac,
        "device_mac": rogue.mac,
        "device_ip": rogue.ip,
        "gateway_mac": v.gateway_mac,
        "gateway_ip": v.gateway_ip,
        "institution": rogue.institution,
    }
    assert journal_entries(config) == [] and reaches(rogue.namespace, rogue.gateway)

    applied = on_probe(
        lab, config, "evict", "device", rogue.mac, "--method", "arp-isolate", "--reason", "rogue", "--apply"
    )
    assert applied.returncode == 0, applied.stderr
    [entry] = journal_entries(config)
    assert (entry.action, entry.status, entry.target.mac, entry.target.ip) == (
        "arp-isolate",
        "applied",
        rogue.mac,
        rogue.ip,
    )
    assert entry.outcome is not None and "the device answered an echo from the gateway's IP" in entry.outcome
    listed = json.loads(on_probe(lab, config, "evict", "list", "--json").stdout)
    assert [(r["mac"], r["status"], r["journal_id"]) for r in listed] == [(rogue.mac, "isolated", entry.id)]

    with holding(lab, config, tmp_path) as hold:
        hold.wait_for(f"holding journal entry {entry.id}: {rogue.mac} ({rogue.ip}) on eth0")
        assert cut_off(rogue.namespace, rogue.gateway)
        assert v.pc.mac not in hold.text() and reaches(v.pc.namespace, v.pc.gateway)  # the neighbour is untouched

        # The rogue forgets and asks again: the real gateway may answer first, the holder answers too and
        # re-poisons after the locktime, so the rogue ends up cut off again.
        subprocess.run(["ip", "netns", "exec", rogue.namespace, "ip", "neigh", "flush", "all"], check=True)
        deadline = time.monotonic() + 30
        while ping(rogue.namespace, rogue.gateway):
            assert time.monotonic() < deadline, "the rogue's re-asking won against the holder"
        assert cut_off(rogue.namespace, rogue.gateway)

        restored = on_probe(lab, config, "evict", "restore", str(entry.id), "--json")
        assert restored.returncode == 0, restored.stderr
        [row] = json.loads(restored.stdout)
        assert row["restored"] is True and row["outcome"] == "undone"
        assert reaches(rogue.namespace, rogue.gateway)
        hold.wait_for(f"released journal entry {entry.id}")
        assert reaches(rogue.namespace, rogue.gateway)
        assert hold.stop() == 0
    log = hold.text()
    answered = re.search(r"(\d+) ARP requests? answered", log)
    assert answered is not None and int(answered.group(1)) > 0, log  # the rogue's re-asking was answered
    assert "Traceback" not in log

    assert [(e.action, e.status, e.undoes) for e in journal_entries(config)] == [
        ("arp-isolate", "undone", None),
        ("restore", "applied", entry.id),
    ]
    actions = [(e["event.action"], e["event.outcome"]) for e in enforcement_events(config)]
    assert ("arp-isolate", "success") in actions and ("restore", "success") in actions
    assert json.loads(on_probe(lab, config, "evict", "list", "--json").stdout) == []
    assert_chain_verifies(config)


def refused(lab: RunningLab, config: Path, what: str) -> str:
    result = on_probe(lab, config, "evict", "device", what, "--method", "arp-isolate", "--reason", "guard", "--apply")
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stdout == "" and len(result.stderr.strip().splitlines()) == 1, result.stderr
    return result.stderr


def test_guards_refuse_the_gateway_the_enforcer_and_known_devices(lab: RunningLab, config: Path) -> None:
    v = village(lab)
    inst = v.rogue.institution
    # The gateway's MAC seen with its IP (as a sweep sees it), and the enforcer's own.
    swept(config, (v.gateway_mac, v.gateway_ip, inst), (v.probe.mac, v.probe.ip, inst))
    assert "is protected (gateway of" in refused(lab, config, v.gateway_ip)
    assert "is protected (gateway of" in refused(lab, config, v.gateway_mac)
    assert "is protected (NetGuard" in refused(lab, config, v.probe.mac)
    assert "is an inventory device (authorised device of" in refused(lab, config, v.pc.ip)

    # An enforcer that forwards would relay the rogue's traffic instead of dropping it.
    def forwarding(value: str) -> None:
        knob = "/proc/sys/net/ipv4/conf/eth0/forwarding"
        subprocess.run(["ip", "netns", "exec", v.probe.namespace, "sh", "-c", f"echo {value} > {knob}"], check=True)

    forwarding("1")
    try:
        assert "eth0 forwards IPv4" in refused(lab, config, v.rogue.ip)
    finally:
        forwarding("0")

    assert journal_entries(config) == [] and enforcement_events(config) == []
    for h in (v.rogue, v.pc):
        assert reaches(h.namespace, h.gateway)


def test_hold_picks_up_new_isolations_and_survives_malformed_rows(
    lab: RunningLab, config: Path, tmp_path: Path
) -> None:
    v = village(lab)
    rogue = v.rogue
    with StateStore.from_config(load_config(config)) as store:
        # A row no journal entry explains, and an applied arp-isolate entry that recorded no addresses.
        store.isolation.set("02:00:00:00:00:01", "", "", "isolated")
        junk = store.journal.record_intent(
            operator="tester",
            action="arp-isolate",
            target=Target(mac="02:00:00:00:00:02"),
            state_before={"interface": "eth0"},
            state_after={},
            reason="malformed on purpose",
        )
        store.journal.mark_applied(junk, "x", isolation=isolated_state("02:00:00:00:00:02"))

    with holding(lab, config, tmp_path, "--interval", "1") as hold:
        hold.wait_for("cannot hold: isolation of 02:00:00:00:00:01: names no journal entry")
        hold.wait_for(f"cannot hold: isolation of 02:00:00:00:00:02: journal entry {junk}: no enforcer mac recorded")
        applied = on_probe(lab, config, "evict", "device", rogue.ip, "--reason", "rogue", "--apply", "--json")
        assert applied.returncode == 0, applied.stderr
        entry_id = json.loads(applied.stdout)["journal_id"]
        hold.wait_for(f"holding journal entry {entry_id}: {rogue.mac}")  # picked up without a restart
        assert cut_off(rogue.namespace, rogue.gateway)
        assert hold.proc.poll() is None

        restored = on_probe(lab, config, "evict", "restore", "--all", "--json")
        assert restored.returncode == 1, restored.stderr  # the malformed entry cannot be restored
        by_entry = {r["journal_id"]: r for r in json.loads(restored.stdout)}
        assert by_entry[entry_id]["restored"] is True
        assert by_entry[junk]["restored"] is False and "no enforcer mac recorded" in by_entry[junk]["error"]
        hold.wait_for(f"released journal entry {entry_id}")
        assert reaches(rogue.namespace, rogue.gateway)
        assert hold.stop() == 0
    log = hold.text()
    assert "2 isolations or interfaces that could not be held" in log, log
    assert "Traceback" not in log


def test_an_arp_isolation_killed_after_its_intent_is_settled_by_restore(lab: RunningLab, config: Path) -> None:
    rogue = village(lab).rogue
    probe = village(lab).probe.namespace
    env = {**os.environ, "PYTHONPATH": str(REPO), "NETGUARD_TEST_PAUSE_AFTER_INTENT": "120"}
    command = ["ip", "netns", "exec", probe, sys.executable, str(REPO / "cli.py"), "--config", str(config)]
    proc = subprocess.Popen([*command, "evict", "device", rogue.ip, "--reason", "crash", "--apply"], env=env)
    try:
        deadline = time.monotonic() + WAIT_S
        while not journal_entries(config) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert [e.status for e in journal_entries(config)] == ["intent"], "the run never wrote its intent"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=WAIT_S)
    [entry] = journal_entries(config)
    assert reaches(rogue.namespace, rogue.gateway)  # killed before any poison was sent

    restored = on_probe(lab, config, "evict", "restore", str(entry.id), "--json")
    assert restored.returncode == 0, restored.stderr
    assert json.loads(restored.stdout) == [
        {"journal_id": entry.id, "restored": False, "restore_id": None, "outcome": "failed"}
    ]
    [settled] = journal_entries(config)
    assert settled.outcome is not None and "interrupted" in settled.outcome
    assert reaches(rogue.namespace, rogue.gateway)
    assert_chain_verifies(config)


def test_unauthorised_isolates_swept_devices_by_arp_within_the_limit(
    lab: RunningLab, config: Path, tmp_path: Path
) -> None:
    v = village(lab)
    rogue = v.rogue
    swept(config, (rogue.mac, rogue.ip, rogue.institution), (v.pc.mac, v.pc.ip, v.pc.institution))

    # A port method cannot reach a swept device, and the error says why and what to do instead.
    by_port = on_probe(lab, config, "evict", "device", rogue.mac, "--method", "port-shutdown", "--reason", "x")
    assert by_port.returncode == 2
    assert "seen only by an ARP sweep" in by_port.stderr and "--method arp-isolate" in by_port.stderr

    planned = on_probe(lab, config, "evict", "unauthorised", "--json")
    assert planned.returncode == 0, planned.stderr
    [row] = json.loads(planned.stdout)  # the authorised PC is not a job
    assert (row["mac"], row["method"], row["outcome"], row["institution"]) == (
        rogue.mac,
        "arp-isolate",
        "planned",
        rogue.institution,
    )
    assert row["state_before"]["gateway_mac"] == v.gateway_mac
    # An explicit port method leaves swept devices out.
    only_ports = on_probe(lab, config, "evict", "unauthorised", "--method", "port-shutdown", "--json")
    assert only_ports.returncode == 0 and json.loads(only_ports.stdout) == []
    assert journal_entries(config) == []

    with holding(lab, config, tmp_path) as hold:
        applied = on_probe(lab, config, "evict", "unauthorised", "--apply", "--reason", "sweep rogue", "--limit", "1")
        assert applied.returncode == 0, applied.stderr
        assert applied.stdout.startswith(f"applied: {rogue.mac} ({rogue.ip}) at {rogue.institution}: journal entry")
        [entry] = journal_entries(config)
        assert (entry.action, entry.status, entry.reason, entry.target.ip) == (
            "arp-isolate",
            "applied",
            "sweep rogue",
            rogue.ip,
        )
        hold.wait_for(f"holding journal entry {entry.id}: {rogue.mac}")
        assert cut_off(rogue.namespace, rogue.gateway)
        assert reaches(v.pc.namespace, v.pc.gateway)

        # Run again: the rogue is isolated already, reported as such, nothing new journalled.
        again = on_probe(lab, config, "evict", "unauthorised", "--apply", "--json")
        assert again.returncode == 0, again.stderr
        assert [(r["mac"], r["outcome"]) for r in json.loads(again.stdout)] == [(rogue.mac, "isolated")]

        restored = on_probe(lab, config, "evict", "restore", str(entry.id))
        assert restored.returncode == 0, restored.stderr
        hold.wait_for(f"released journal entry {entry.id}")
        assert reaches(rogue.namespace, rogue.gateway)
        assert hold.stop() == 0
    assert [(e.action, e.status) for e in journal_entries(config)] == [
        ("arp-isolate", "undone"),
        ("restore", "applied"),
    ]
    assert_chain_verifies(config)


def test_the_per_run_limit_counts_arp_isolations(lab: RunningLab, config: Path, tmp_path: Path) -> None:
    v = village(lab)
    # The village PC taken out of the inventory: two unknown devices on the segment, both real.
    inventory = yaml.safe_load((lab.dir / "inventory.yaml").read_text(encoding="utf-8"))
    for inst in inventory["institutions"]:
        inst["devices"] = [d for d in inst.get("devices", []) if d.get("mac") != v.pc.mac]
    (tmp_path / "inventory.yaml").write_text(yaml.safe_dump(inventory, allow_unicode=True), encoding="utf-8")
    doc = yaml.safe_load(config.read_text(encoding="utf-8"))
    config.write_text(yaml.safe_dump({**doc, "inventory": str(tmp_path / "inventory.yaml")}), encoding="utf-8")
    swept(config, (v.rogue.mac, v.rogue.ip, v.rogue.institution), (v.pc.mac, v.pc.ip, v.pc.institution))

    result = on_probe(lab, config, "evict", "unauthorised", "--apply", "--limit", "1", "--json")
    assert result.returncode == 1, result.stderr  # one left over
    rows = json.loads(result.stdout)
    assert sorted(r["outcome"] for r in rows) == ["applied", "left over"]
    [entry] = journal_entries(config)
    applied = next(r for r in rows if r["outcome"] == "applied")
    assert entry.target.mac == applied["mac"] and entry.action == "arp-isolate"
    left = next(r for r in rows if r["outcome"] == "left over")
    assert "per-run limit of 1" in str(left["error"])

    restored = on_probe(lab, config, "evict", "restore", "--all")
    assert restored.returncode == 0, restored.stderr
    for h in (v.rogue, v.pc):
        assert reaches(h.namespace, h.gateway)


def test_a_port_isolated_device_carried_to_the_village_is_isolated_there_by_arp(
    lab: RunningLab, config: Path, tmp_path: Path
) -> None:
    v = village(lab)
    rogue = v.rogue
    township_switch = next(h.switch for h in lab.refresh().hosts if h.switch is not None)
    with StateStore.from_config(load_config(config)) as store:
        # The rogue's MAC was shut down on a township switch port earlier (the journal says so) ...
        shut = store.journal.record_intent(
            operator="tester",
            action="port-shutdown",
            target=Target(mac=rogue.mac, switch=township_switch, port="eth9"),
            state_before={"ifindex": 9, "admin_status": 1},
            state_after={"admin_status": 2},
            reason="earlier eviction",
        )
        store.journal.mark_applied(
            shut, "set and read back", isolation=PortState(rogue.mac, township_switch, "eth9", "disabled")
        )
    # ... and is now seen by the village's sweep.
    swept(config, (rogue.mac, rogue.ip, rogue.institution))

    planned = on_probe(lab, config, "evict", "redetain", "--json")
    assert planned.returncode == 0, planned.stderr
    [row] = json.loads(planned.stdout)
    assert (row["mac"], row["method"], row["outcome"]) == (rogue.mac, "arp-isolate", "planned")
    assert [e.id for e in journal_entries(config)] == [shut]

    with holding(lab, config, tmp_path) as hold:
        applied = on_probe(lab, config, "evict", "redetain", "--apply", "--json")
        assert applied.returncode == 0, applied.stderr
        [row] = json.loads(applied.stdout)
        assert row["outcome"] == "applied"
        entry = next(e for e in journal_entries(config) if e.id == row["journal_id"])
        assert entry.action == "arp-isolate" and entry.reason == (
            f"re-detain: {rogue.mac} reappeared at {rogue.institution} ({rogue.ip}) while disabled "
            f"on {township_switch} eth9 (journal entry {shut})"
        )
        hold.wait_for(f"holding journal entry {entry.id}: {rogue.mac}")
        assert cut_off(rogue.namespace, rogue.gateway)
        listed = json.loads(on_probe(lab, config, "evict", "list", "--json").stdout)
        assert sorted((r["status"], r["journal_id"]) for r in listed) == [("disabled", shut), ("isolated", entry.id)]

        # Held now at both places: nothing more to re-detain.
        again = on_probe(lab, config, "evict", "redetain", "--json")
        assert again.returncode == 0 and json.loads(again.stdout) == []

        restored = on_probe(lab, config, "evict", "restore", str(entry.id))
        assert restored.returncode == 0, restored.stderr
        hold.wait_for(f"released journal entry {entry.id}")
        assert reaches(rogue.namespace, rogue.gateway)
        assert hold.stop() == 0
