"""``discover run | list | unauthorised`` on the real namespace lab (root; fails in CI without it).

One lab (1 township, 2 village clinics, the second unmanaged) for the module.
Each test gets its own netguard.yaml (its own state store and event store)
pointing at the lab's inventory and secrets, so tests do not depend on each
other's runs; the host move comes last because it changes the lab.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from cli import main
from netguard.config import load_config
from netguard.discovery.authorise import Status, classify
from netguard.events import open_event_store
from netguard.inventory import load_inventory
from netguard.lab.recable import move_host
from netguard.lab.status import HostStatus
from tests.harness.lab import RunningLab, ping, running_lab


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLab]:
    with running_lab(tmp_path_factory.mktemp("lab"), townships=1, villages=2) as running:
        yield running


def config_for(lab: RunningLab, where: Path, inventory: Path | None = None) -> Path:
    """A netguard.yaml of its own (state and events in ``where``) for the lab's inventory and secrets."""
    path = where / "netguard.yaml"
    doc = {
        "inventory": str(inventory or lab.dir / "inventory.yaml"),
        "secrets_file": str(lab.dir / "secrets.yaml"),
        "state": {"path": str(where / "state.db")},
        "events": {"backend": "sqlite", "sqlite": {"path": str(where / "events.db")}},
    }
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def cli(config: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, ["--config", str(config), *args], env=env, catch_exceptions=False)


def as_json(result: Result) -> Any:
    return json.loads(result.stdout)


def managed_hosts(lab: RunningLab) -> list[HostStatus]:
    """The hosts a switch walk can see: those behind a managed switch."""
    return [h for h in lab.refresh().hosts if h.switch is not None]


def traffic(lab: RunningLab) -> None:
    for host in lab.refresh().hosts:
        assert ping(host.namespace, host.gateway), host.namespace


def device_events(config: Path) -> list[dict[str, Any]]:
    store = open_event_store(load_config(config))
    try:
        return [dict(e.fields) for e in store.iter_search("", kinds=["device"])]
    finally:
        store.close()


def placed(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Rows of devices on a switch port (not only in an ARP table), by MAC."""
    return {r["mac"]: r for r in rows if r["port"] is not None}


def test_run_finds_exactly_the_lab_hosts_on_their_ports(lab: RunningLab, tmp_path: Path) -> None:
    config = config_for(lab, tmp_path)
    traffic(lab)
    run = cli(config, "discover", "run", "--json")
    assert run.exit_code == 0, run.output
    report = as_json(run)
    assert report["failed"] == []
    assert {s["id"] for s in report["switches"]} == {s.id for s in lab.status.switches}

    listed = cli(config, "discover", "list", "--json")
    assert listed.exit_code == 0, listed.output
    rows = placed(as_json(listed))
    hosts = managed_hosts(lab)
    assert {(r["mac"], r["switch"], r["port"]) for r in rows.values()} == {(h.mac, h.switch, h.port) for h in hosts}
    for h in hosts:
        row = rows[h.mac]
        assert row["ips"] == [h.ip], h.namespace
        assert row["institution"] == h.institution
        assert row["vlan"] == h.vlan
        assert row["how"] == ["arp-table", "fdb"]
        assert row["status"] == ("unknown" if h.role == "rogue" else "authorised"), h.namespace

    randomised = [h for h in hosts if int(h.mac[:2], 16) & 0x02]
    medical = [h for h in hosts if h.kind == "medical-device"]
    assert randomised and medical
    assert all(rows[h.mac]["vendor"] == "unknown" and rows[h.mac]["status"] == "unknown" for h in randomised)
    assert all("mindray" in rows[h.mac]["vendor"].lower() and rows[h.mac]["authorised"] for h in medical)

    # What only an ARP table knows is the switches' own transit addresses: never a rogue.
    for r in as_json(listed):
        if r["port"] is None:
            assert r["authorised"], r

    news = [e for e in device_events(config) if e["event.action"] == "new"]
    assert {e["host.mac"] for e in news} == {h.mac for h in hosts}
    for e in news:
        host = next(h for h in hosts if h.mac == e["host.mac"])
        assert e["observer.name"] == host.switch
        assert e["observer.ingress.interface.name"] == host.port
        assert e["host.ip"] == host.ip
        assert e["organization.id"] == host.institution
        assert e["organization.name"]
        assert e["network.vlan.id"] == str(host.vlan)
        assert e["netguard.device.authorised"] is (host.role == "authorised")
        assert e["netguard.device.vendor"]


def test_unauthorised_lists_exactly_the_rogues(lab: RunningLab, tmp_path: Path) -> None:
    config = config_for(lab, tmp_path)
    traffic(lab)
    assert cli(config, "discover", "run").exit_code == 0
    result = cli(config, "discover", "unauthorised", "--json")
    assert result.exit_code == 1
    rogues = {h.mac: h for h in managed_hosts(lab) if h.role == "rogue"}
    rows = as_json(result)
    assert {r["mac"] for r in rows} == set(rogues)
    assert all(r["status"] == "unknown" and r["port"] == rogues[r["mac"]].port for r in rows)

    table = cli(config, "discover", "unauthorised")
    assert table.exit_code == 1
    assert all(mac in table.stdout for mac in rogues)


def test_a_second_run_finds_nothing_new(lab: RunningLab, tmp_path: Path) -> None:
    config = config_for(lab, tmp_path)
    traffic(lab)
    first = cli(config, "discover", "run", "--json")
    assert first.exit_code == 0 and as_json(first)["counts"].get("new")
    traffic(lab)
    second = cli(config, "discover", "run", "--json")
    assert second.exit_code == 0, second.output
    assert as_json(second)["changes"] == []
    news = [e for e in device_events(config) if e["event.action"] == "new"]
    assert len(news) == as_json(first)["counts"]["new"]


def test_a_switch_with_a_wrong_community_fails_alone(lab: RunningLab, tmp_path: Path) -> None:
    broken = "lab-vc1-1"
    doc = yaml.safe_load((lab.dir / "inventory.yaml").read_text(encoding="utf-8"))
    for inst in doc["institutions"]:
        if inst["id"] == broken:
            inst["snmp"] = {"version": "2c", "community": "env:NG_TEST_WRONG_COMMUNITY"}
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    config = config_for(lab, tmp_path, inventory)
    traffic(lab)
    wrong = "not-the-community-" + lab.name
    env = {"NG_TEST_WRONG_COMMUNITY": wrong}

    result = cli(config, "discover", "run", "--json", "--timeout", "0.5", "--retries", "0", env=env)
    assert result.exit_code == 1
    report = as_json(result)
    broken_switch = f"{broken}-acc1"
    assert report["failed"] == [broken_switch]
    reason = next(s["reason"] for s in report["switches"] if s["id"] == broken_switch)
    assert reason.startswith("timeout")
    assert all(s["complete"] for s in report["switches"] if s["id"] != broken_switch)
    found = {c["mac"] for c in report["changes"]}
    assert found == {h.mac for h in managed_hosts(lab) if h.switch != broken_switch}
    assert wrong not in result.output and lab.community not in result.output

    human = cli(config, "discover", "run", "--timeout", "0.5", "--retries", "0", env=env)
    assert human.exit_code == 1
    assert broken_switch in human.stdout and "timeout" in human.stdout
    assert wrong not in human.output and lab.community not in human.output


def test_a_reference_that_does_not_resolve_fails_that_switch(lab: RunningLab, tmp_path: Path) -> None:
    doc = yaml.safe_load((lab.dir / "inventory.yaml").read_text(encoding="utf-8"))
    for inst in doc["institutions"]:
        if inst["id"] == "lab-thc1":
            inst["snmp"] = {"version": "2c", "community": "secret:no-such-secret"}
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    config = config_for(lab, tmp_path, inventory)
    result = cli(config, "discover", "run", "--json")
    assert result.exit_code == 1
    report = as_json(result)
    assert report["failed"] == ["lab-thc1-acc1"]
    reason = next(s["reason"] for s in report["switches"] if s["id"] == "lab-thc1-acc1")
    assert "no-such-secret" in reason
    assert {c["switch"] for c in report["changes"]} == {
        h.switch for h in managed_hosts(lab) if h.switch != "lab-thc1-acc1"
    }


def test_verdicts_for_conflicts(lab: RunningLab) -> None:
    inv = load_inventory(lab.dir / "inventory.yaml")
    dc_server = next(d for d in inv.devices() if d.institution == "lab-dc" and d.kind == "server")
    assert dc_server.ip is not None
    at_home = classify(inv, dc_server.mac, [str(dc_server.ip)], "lab-dc")
    assert at_home.status is Status.AUTHORISED
    elsewhere = classify(inv, dc_server.mac, [], "lab-thc1")
    assert elsewhere.status is Status.CONFLICT and "lab-thc1" in elsewhere.reason
    other_ip = classify(inv, dc_server.mac, ["10.0.0.99"], "lab-dc")
    assert other_ip.status is Status.CONFLICT
    stolen = classify(inv, "02:00:00:00:00:01", [str(dc_server.ip)], "lab-dc")
    assert stolen.status is Status.CONFLICT and stolen.conflicting_mac == dc_server.mac
    assert stolen.status.needs_action and not stolen.authorised
    switch = next(d for d in inv.devices() if d.kind == "switch")
    assert classify(inv, switch.mac, [], "lab-thc1").status is Status.INFRASTRUCTURE
    assert classify(inv, "02:00:00:00:00:01", [], "lab-dc").status is Status.UNKNOWN
    twins = {"10.0.0.77": ["02:00:00:00:00:01", "02:00:00:00:00:02"]}
    duplicate = classify(inv, "02:00:00:00:00:01", ["10.0.0.77"], "lab-dc", ip_users=twins)
    assert duplicate.status is Status.CONFLICT and duplicate.conflicting_mac == "02:00:00:00:00:02"
    alone = {"10.0.0.77": ["02:00:00:00:00:01"]}
    assert classify(inv, "02:00:00:00:00:01", ["10.0.0.77"], "lab-dc", ip_users=alone).status is Status.UNKNOWN


def test_an_authorised_device_at_the_wrong_institution_is_a_conflict(lab: RunningLab, tmp_path: Path) -> None:
    host = next(h for h in managed_hosts(lab) if h.role == "authorised" and h.institution == "lab-vc1-1")
    doc = yaml.safe_load((lab.dir / "inventory.yaml").read_text(encoding="utf-8"))
    by_id = {inst["id"]: inst for inst in doc["institutions"]}
    entry = next(d for d in by_id["lab-vc1-1"]["devices"] if d["mac"] == host.mac)
    by_id["lab-vc1-1"]["devices"].remove(entry)
    by_id["lab-thc1"]["devices"].append({**entry, "ip": "10.11.0.99"})  # its IP must be in lab-thc1's subnet
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    config = config_for(lab, tmp_path, inventory)
    traffic(lab)
    run = cli(config, "discover", "run", "--json")
    assert run.exit_code == 0, run.output
    conflicts = [c for c in as_json(run)["changes"] if c["action"] == "conflict"]
    assert [(c["mac"], c["switch"], c["port"]) for c in conflicts] == [(host.mac, host.switch, host.port)]
    assert "lab-thc1" in conflicts[0]["reason"] and "lab-vc1-1" in conflicts[0]["reason"]
    events = [e for e in device_events(config) if e["event.action"] == "conflict"]
    assert [e["host.mac"] for e in events] == [host.mac]
    assert events[0]["netguard.device.authorised"] is False

    listed = cli(config, "discover", "unauthorised", "--json")
    assert listed.exit_code == 1
    rogues = {h.mac for h in managed_hosts(lab) if h.role == "rogue"}
    assert {r["mac"] for r in as_json(listed)} == rogues | {host.mac}


def test_a_moved_host_is_a_moved_event(lab: RunningLab, tmp_path: Path) -> None:
    config = config_for(lab, tmp_path)
    traffic(lab)
    assert cli(config, "discover", "run").exit_code == 0
    host = next(h for h in managed_hosts(lab) if h.role == "rogue" and h.switch == "lab-thc1-acc1")
    new_port = move_host(lab.dir, host.namespace)
    assert new_port != host.port
    result = cli(config, "discover", "run", "--json")
    assert result.exit_code == 0, result.output
    moves = [c for c in as_json(result)["changes"] if c["action"] == "moved"]
    assert [(m["mac"], m["port"], m["previous_port"]) for m in moves] == [
        (host.mac, new_port, f"{host.switch} {host.port}")
    ]
    assert not [c for c in as_json(result)["changes"] if c["action"] == "new"]
    events = [e for e in device_events(config) if e["event.action"] == "moved"]
    assert [(e["host.mac"], e["observer.ingress.interface.name"]) for e in events] == [(host.mac, new_port)]
    assert events[0]["netguard.device.previous_port"] == f"{host.switch} {host.port}"
    rows = placed(as_json(cli(config, "discover", "list", "--json")))
    assert rows[host.mac]["port"] == new_port
