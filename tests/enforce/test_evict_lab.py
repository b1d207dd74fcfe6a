"""``netguard evict`` on the real namespace lab (root; fails in CI without it).

One lab (1 township, 2 village clinics) for the module. Each test has its own
netguard.yaml, state store, event store and journal key (a secrets file of its
own: the lab's secrets plus ``journal_key``), runs a discovery first, and
leaves every port as it found it. What is checked is what the rogue can do:
ping its gateway or not, before, during and after an eviction.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from cli import main
from netguard.config import load_config
from netguard.discovery.current import DeviceRow
from netguard.discovery.current import current_devices as current_devices_of
from netguard.discovery.records import SwitchReport
from netguard.enforce import plan as plan_module
from netguard.enforce.plan import SwitchWalks
from netguard.inventory import load_inventory
from netguard.lab.recable import move_host
from netguard.lab.status import HostStatus
from netguard.secrets import write_private
from netguard.snmp import target_for_switch
from netguard.snmp.client import SnmpClient
from netguard.store import StateStore
from netguard.store.journal import Target
from netguard.store.sightings import Sighting
from tests.enforce.helpers import assert_chain_verifies, enforcement_events, journal_entries, reaches, store_opens
from tests.harness.lab import RunningLab, ping, running_lab, snmp

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLab]:
    with running_lab(tmp_path_factory.mktemp("lab"), townships=1, villages=2) as running:
        yield running


def write_config(lab: RunningLab, where: Path, inventory: Path | None = None) -> Path:
    table = yaml.safe_load((lab.dir / "secrets.yaml").read_text(encoding="utf-8"))
    table["journal_key"] = os.urandom(32).hex()
    write_private(where / "secrets.yaml", yaml.safe_dump(table))
    path = where / "netguard.yaml"
    doc = {
        "inventory": str(inventory or lab.dir / "inventory.yaml"),
        "secrets_file": str(where / "secrets.yaml"),
        "state": {"path": str(where / "state.db"), "journal_key": "secret:journal_key"},
        "events": {"backend": "sqlite", "sqlite": {"path": str(where / "events.db")}},
    }
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def cli(config: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--config", str(config), *args], catch_exceptions=False)


def host(lab: RunningLab, namespace: str) -> HostStatus:
    return next(h for h in lab.refresh().hosts if h.namespace == namespace)


def managed(lab: RunningLab, role: str) -> list[HostStatus]:
    return [h for h in lab.refresh().hosts if h.switch is not None and h.role == role and not h.probe]


@pytest.fixture
def config(lab: RunningLab, tmp_path: Path) -> Path:
    """A fresh configuration with a discovery of the lab as it is now (every host has just talked)."""
    for h in lab.refresh().hosts:
        assert reaches(h.namespace, h.gateway), f"{h.namespace} cannot reach its gateway before the test"
    path = write_config(lab, tmp_path)
    run = cli(path, "discover", "run", "--json")
    assert run.exit_code == 0, run.output
    return path


def test_dry_run_plans_and_changes_nothing(lab: RunningLab, config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rogue = managed(lab, "rogue")[0]
    judged: list[str] = []
    judge_all = current_devices_of

    def current_devices(*args: Any) -> list[DeviceRow]:
        judged.append("all")
        return judge_all(*args)

    monkeypatch.setattr(plan_module, "current_devices", current_devices)
    with store_opens(monkeypatch) as opened:
        result = cli(config, "evict", "device", rogue.mac, "--reason", "test", "--json")
    assert opened == {"state": 1, "events": 1}  # the method chosen and the plan made on one state store
    assert judged == ["all"]  # the device is located once: the choice of method hands it to the port action
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert (plan["mac"], plan["switch"], plan["port"]) == (rogue.mac, rogue.switch, rogue.port)
    assert plan["applied"] is False and plan["journal_id"] is None
    assert plan["method"] == "quarantine-vlan"  # the lab's inventory sets quarantine_vlan 999
    assert plan["state_before"]["admin_status"] == 1 and plan["state_before"]["pvid"] == rogue.vlan
    assert plan["refusals"] == []
    shown = cli(config, "evict", "device", rogue.ip, "--reason", "test")
    assert shown.exit_code == 0 and "dry run: nothing changed (--apply to do it)" in shown.output
    assert rogue.mac in shown.output and "quarantine-vlan" in shown.output
    assert reaches(rogue.namespace, rogue.gateway)
    assert host(lab, rogue.namespace).port_up
    assert journal_entries(config) == []
    assert enforcement_events(config) == []


def test_port_shutdown_cuts_the_rogue_off_until_restored(lab: RunningLab, config: Path) -> None:
    rogue = managed(lab, "rogue")[0]
    result = cli(config, "evict", "device", rogue.mac, "--method", "port-shutdown", "--reason", "rogue", "--apply")
    assert result.exit_code == 0, result.output
    entry = journal_entries(config)[-1]
    assert (entry.action, entry.status, entry.target.port) == ("port-shutdown", "applied", rogue.port)
    assert entry.state_before["admin_status"] == 1 and entry.state_after == {"admin_status": 2}
    assert not host(lab, rogue.namespace).port_up
    assert not ping(rogue.namespace, rogue.gateway)

    listed = json.loads(cli(config, "evict", "list", "--json").stdout)
    assert [(r["mac"], r["port"], r["status"], r["journal_id"]) for r in listed] == [
        (rogue.mac, rogue.port, "disabled", entry.id)
    ]
    table = cli(config, "evict", "list")
    assert rogue.mac in table.output and rogue.port in table.output and "disabled" in table.output
    again = cli(config, "evict", "device", rogue.mac, "--reason", "twice", "--apply")
    assert again.exit_code == 2 and "already disabled" in again.output

    restored = cli(config, "evict", "restore", str(entry.id), "--json")
    assert restored.exit_code == 0, restored.output
    assert host(lab, rogue.namespace).port_up
    assert reaches(rogue.namespace, rogue.gateway)
    assert json.loads(cli(config, "evict", "list", "--json").stdout) == []
    statuses = [(e.action, e.status, e.undoes) for e in journal_entries(config)]
    assert statuses == [("port-shutdown", "undone", None), ("restore", "applied", entry.id)]
    actions = [(e["event.action"], e["event.outcome"]) for e in enforcement_events(config)]
    assert ("port-shutdown", "success") in actions and ("restore", "success") in actions
    assert_chain_verifies(config)


def test_quarantine_vlan_moves_the_rogue_to_the_quarantine_bridge(lab: RunningLab, config: Path) -> None:
    rogue = managed(lab, "rogue")[-1]
    original = rogue.vlan
    result = cli(config, "evict", "device", rogue.ip, "--method", "quarantine-vlan", "--reason", "rogue", "--apply")
    assert result.exit_code == 0, result.output
    entry = journal_entries(config)[-1]
    assert (entry.action, entry.status) == ("quarantine-vlan", "applied")
    assert host(lab, rogue.namespace).vlan == 999
    assert host(lab, rogue.namespace).port_up
    assert not ping(rogue.namespace, rogue.gateway)
    listed = json.loads(cli(config, "evict", "list", "--json").stdout)
    assert [(r["mac"], r["status"], r["original_vlan"], r["current_vlan"]) for r in listed] == [
        (rogue.mac, "quarantined", original, 999)
    ]

    restored = cli(config, "evict", "restore", "--all")
    assert restored.exit_code == 0, restored.output
    assert host(lab, rogue.namespace).vlan == original
    assert reaches(rogue.namespace, rogue.gateway)
    assert [e.status for e in journal_entries(config)] == ["undone", "applied"]
    assert_chain_verifies(config)


def refused(config: Path, *args: str) -> Result:
    result = cli(config, "evict", "device", *args, "--reason", "guard test", "--apply")
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    return result


def test_guards_refuse_and_nothing_changes(lab: RunningLab, config: Path, tmp_path: Path) -> None:
    good = managed(lab, "authorised")[0]
    assert "is an inventory device (authorised device of" in refused(config, good.mac).output
    assert "is protected (gateway of" in refused(config, good.gateway).output
    rogue = managed(lab, "rogue")[0]

    # An uplink: the inventory says the rogue's port is one (as for a port facing an unmanaged segment).
    inventory = yaml.safe_load((lab.dir / "inventory.yaml").read_text(encoding="utf-8"))
    for inst in inventory["institutions"]:
        for sw in inst.get("switches", []):
            if sw["id"] == rogue.switch:
                sw["uplinks"].append(rogue.port)
    (tmp_path / "uplinks").mkdir()
    edited = tmp_path / "uplinks" / "inventory.yaml"
    edited.write_text(yaml.safe_dump(inventory, allow_unicode=True), encoding="utf-8")
    uplink_config = write_config(lab, tmp_path / "uplinks", edited)
    assert cli(uplink_config, "discover", "run").exit_code == 0
    # Discovery leaves uplink ports out, so the rogue is located from the stored sighting it had before.
    with StateStore.from_config(load_config(config)) as store:
        sightings = [
            Sighting(r.mac, r.how, r.ip, r.institution_id, r.switch, r.port, r.vlan)
            for r in store.sightings.open_sightings()
            if r.mac == rogue.mac and r.how == "fdb"
        ]
    with StateStore.from_config(load_config(uplink_config)) as store:
        store.sightings.reconcile(f"fdb:{rogue.switch}", sightings, False)
    assert "is an uplink or trunk (inventory)" in refused(uplink_config, rogue.mac).output

    # A shared port: discovery saw an authorised device on the rogue's port too (a hub behind it).
    neighbour = next(h for h in managed(lab, "authorised") if h.switch == rogue.switch)
    with StateStore.from_config(load_config(config)) as store:
        extra = Sighting(neighbour.mac, "fdb", None, rogue.institution, rogue.switch, rogue.port, rogue.vlan)
        store.sightings.reconcile(f"fdb:{rogue.switch}", [extra], False)
    assert f"also carries authorised {neighbour.mac}" in refused(config, rogue.mac).output
    forced = cli(config, "evict", "device", rogue.mac, "--reason", "x", "--force-shared-port", "--json")
    assert forced.exit_code == 0 and json.loads(forced.stdout)["refusals"] == []

    assert journal_entries(config) == [] and journal_entries(uplink_config) == []
    for h in (good, rogue, neighbour):
        assert host(lab, h.namespace).port_up and reaches(h.namespace, h.gateway)


def test_a_killed_run_is_restored_from_the_switch(lab: RunningLab, config: Path) -> None:
    rogue = managed(lab, "rogue")[0]
    env = {**os.environ, "PYTHONPATH": str(REPO), "NETGUARD_TEST_PAUSE_AFTER_INTENT": "60"}
    args = [sys.executable, str(REPO / "cli.py"), "--config", str(config), "evict", "device", rogue.mac]
    proc = subprocess.Popen([*args, "--method", "port-shutdown", "--reason", "crash", "--apply"], env=env)
    try:
        deadline = time.monotonic() + 60
        while not journal_entries(config) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [e.status for e in journal_entries(config)] == ["intent"], "the run never wrote its intent"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    entry = journal_entries(config)[0]
    assert reaches(rogue.namespace, rogue.gateway)  # killed before the SET

    restored = cli(config, "evict", "restore", str(entry.id), "--json")
    assert restored.exit_code == 0, restored.output
    assert json.loads(restored.stdout) == [
        {"journal_id": entry.id, "restored": False, "restore_id": None, "outcome": "failed"}
    ]
    assert [e.status for e in journal_entries(config)] == ["failed"]
    assert host(lab, rogue.namespace).port_up and reaches(rogue.namespace, rogue.gateway)
    assert json.loads(cli(config, "evict", "list", "--json").stdout) == []
    assert_chain_verifies(config)


def test_unauthorised_acts_within_the_configured_per_run_limit(lab: RunningLab, config: Path) -> None:
    rogues = {h.mac: h for h in managed(lab, "rogue")}
    assert len(rogues) == 2
    planned = cli(config, "evict", "unauthorised", "--json")
    assert planned.exit_code == 0, planned.output
    assert {(r["mac"], r["outcome"]) for r in json.loads(planned.stdout)} == {(m, "planned") for m in rogues}
    assert journal_entries(config) == []

    doc = yaml.safe_load(config.read_text(encoding="utf-8"))
    doc["enforce"] = {"max_actions_per_run": 1}
    config.write_text(yaml.safe_dump(doc), encoding="utf-8")
    acted = cli(config, "evict", "unauthorised", "--apply", "--method", "port-shutdown", "--json")
    assert acted.exit_code == 1, acted.output  # one device left over
    outcomes = {r["mac"]: r["outcome"] for r in json.loads(acted.stdout)}
    assert sorted(outcomes.values()) == ["applied", "left over"]
    for mac, outcome in outcomes.items():
        h = rogues[mac]
        assert reaches(h.namespace, h.gateway) == (outcome == "left over"), h.namespace
    for h in managed(lab, "authorised"):
        assert reaches(h.namespace, h.gateway), h.namespace
    assert len(journal_entries(config)) == 1
    # The next run skips the isolated device without calling it a finding.
    again = cli(config, "evict", "unauthorised", "--json")
    assert again.exit_code == 0, again.output
    assert sorted(r["outcome"] for r in json.loads(again.stdout)) == ["isolated", "planned"]

    assert cli(config, "evict", "restore", "--all").exit_code == 0
    for h in rogues.values():
        assert reaches(h.namespace, h.gateway), h.namespace
    assert_chain_verifies(config)


def test_a_set_the_switch_refuses_is_journalled_as_failed(lab: RunningLab, tmp_path: Path) -> None:
    # The inventory names a quarantine VLAN the switch does not have: the agent answers inconsistentValue.
    inventory = yaml.safe_load((lab.dir / "inventory.yaml").read_text(encoding="utf-8"))
    inventory["defaults"]["quarantine_vlan"] = 998
    edited = tmp_path / "inventory.yaml"
    edited.write_text(yaml.safe_dump(inventory, allow_unicode=True), encoding="utf-8")
    config = write_config(lab, tmp_path, edited)
    assert cli(config, "discover", "run").exit_code == 0
    rogue = managed(lab, "rogue")[0]
    result = cli(config, "evict", "device", rogue.mac, "--method", "quarantine-vlan", "--reason", "x", "--apply")
    assert result.exit_code == 1, result.output
    assert "PVID 998" in result.output and rogue.port in result.output
    [entry] = journal_entries(config)
    assert entry.status == "failed" and entry.outcome and "PVID 998" in entry.outcome
    assert host(lab, rogue.namespace).vlan == rogue.vlan and reaches(rogue.namespace, rogue.gateway)
    assert json.loads(cli(config, "evict", "list", "--json").stdout) == []
    assert ("quarantine-vlan", "failure") in [
        (e["event.action"], e["event.outcome"]) for e in enforcement_events(config)
    ]
    assert_chain_verifies(config)


def test_an_interrupted_action_that_did_reach_the_switch_is_restored(lab: RunningLab, config: Path) -> None:
    rogue = managed(lab, "rogue")[0]
    plan = json.loads(
        cli(config, "evict", "device", rogue.mac, "--method", "port-shutdown", "--reason", "x", "--json").stdout
    )
    # What a run killed right after its SET leaves: the intent, and the port really down.
    with StateStore.from_config(load_config(config)) as store:
        entry_id = store.journal.record_intent(
            operator="tester",
            action="port-shutdown",
            target=Target(mac=rogue.mac, ip=rogue.ip, switch=rogue.switch, port=rogue.port),
            state_before=plan["state_before"],
            state_after=plan["state_after"],
            reason="crash after the SET",
        )
    address, _ = lab.switch(str(rogue.switch))
    oid = f"1.3.6.1.2.1.2.2.1.7.{plan['state_before']['ifindex']}"
    assert snmp("snmpset", address, lab.community, oid, "i", "2").returncode == 0
    assert not ping(rogue.namespace, rogue.gateway)

    restored = cli(config, "evict", "restore", str(entry_id), "--json")
    assert restored.exit_code == 0, restored.output
    [row] = json.loads(restored.stdout)
    assert row["restored"] is True and row["outcome"] == "undone"
    assert [(e.action, e.status) for e in journal_entries(config)] == [
        ("port-shutdown", "undone"),
        ("restore", "applied"),
    ]
    assert host(lab, rogue.namespace).port_up and reaches(rogue.namespace, rogue.gateway)
    assert_chain_verifies(config)


# Last: it re-cables a rogue, which changes the lab for any test after it.
def test_an_isolated_rogue_moved_to_another_port_is_isolated_there_too(lab: RunningLab, config: Path) -> None:
    rogue = managed(lab, "rogue")[0]
    evicted = cli(config, "evict", "device", rogue.mac, "--method", "port-shutdown", "--reason", "rogue", "--apply")
    assert evicted.exit_code == 0, evicted.output
    first = journal_entries(config)[-1]
    assert json.loads(cli(config, "evict", "redetain", "--json").stdout) == []  # it has not moved

    new_port = move_host(lab.dir, rogue.namespace)  # someone plugs it in elsewhere: it is free again
    assert new_port != rogue.port and reaches(rogue.namespace, rogue.gateway)
    assert cli(config, "discover", "run").exit_code == 0
    planned = json.loads(cli(config, "evict", "redetain", "--json").stdout)
    assert [(r["mac"], r["port"], r["method"], r["outcome"]) for r in planned] == [
        (rogue.mac, new_port, "port-shutdown", "planned")
    ]
    acted = cli(config, "evict", "redetain", "--apply", "--json")
    assert acted.exit_code == 0, acted.output
    [row] = json.loads(acted.stdout)
    assert row["outcome"] == "applied"
    assert not ping(rogue.namespace, rogue.gateway)
    second = journal_entries(config)[-1]
    assert second.id == row["journal_id"] and second.target.port == new_port
    assert f"reappeared on {rogue.switch} {new_port}" in second.reason and f"entry {first.id}" in second.reason
    listed = {(r["port"], r["status"]) for r in json.loads(cli(config, "evict", "list", "--json").stdout)}
    assert listed == {(rogue.port, "disabled"), (new_port, "disabled")}

    # The old port no longer exists (the lab deleted its veth): its restore fails, honestly; the new one works.
    restored = cli(config, "evict", "restore", "--all", "--json")
    assert restored.exit_code == 1, restored.output
    by_entry = {r["journal_id"]: r for r in json.loads(restored.stdout)}
    assert by_entry[second.id]["restored"] is True
    assert by_entry[first.id]["restored"] is False and rogue.port in str(by_entry[first.id]["error"])
    assert reaches(rogue.namespace, rogue.gateway)
    assert [(r["port"]) for r in json.loads(cli(config, "evict", "list", "--json").stdout)] == [rogue.port]
    assert_chain_verifies(config)


def test_one_run_walks_each_switch_once(lab: RunningLab, tmp_path: Path) -> None:
    """Planning many evictions on one switch reads its tables once, and that walk is a real one."""
    config = load_config(write_config(lab, tmp_path))
    inv = load_inventory(lab.dir / "inventory.yaml")
    switch = next(iter(inv.switches()))
    target = target_for_switch(switch, config.resolver())

    async def twice() -> tuple[SwitchReport, SwitchReport]:
        async with SnmpClient() as client:
            walks = SwitchWalks()
            return await walks.report(client, target, inv, switch), await walks.report(client, target, inv, switch)

    first, second = asyncio.run(twice())
    assert first.reachable and first.interfaces and first.bridge_ports
    assert second is first
