"""Issue 10's lab scenario: a scan of the namespace lab finds what was planted, and passes once it is fixed.

Root; fails in CI without it. The lab (1 township, 2 village clinics, the
second unmanaged) plants a rogue terminal at every managed site, a switch
that answers ``public`` and an sshd open to anyone on the data centre's EMR
server. Discovery runs from the root namespace (it talks to the agents on
127.77.x.y only); the scan runs inside the lab's scanner namespace, the
NetGuard station, which reaches both the hosts and the agents. The fixes are
an administrator's: one rogue evicted (port shutdown), the other authorised
in the inventory, the community removed from the switch, the sshd stopped.
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
from click.testing import CliRunner, Result

from cli import main
from netguard.lab.helpers import close_ssh, drop_default_community
from netguard.secrets import write_private
from tests.harness.lab import RunningLab, ping, running_lab

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLab]:
    with running_lab(tmp_path_factory.mktemp("lab"), townships=1, villages=2) as running:
        yield running


def write_config(lab: RunningLab, where: Path, inventory: Path) -> Path:
    table = yaml.safe_load((lab.dir / "secrets.yaml").read_text(encoding="utf-8"))
    table["journal_key"] = os.urandom(32).hex()
    write_private(where / "secrets.yaml", yaml.safe_dump(table))
    doc = {
        "inventory": str(inventory),
        "secrets_file": str(where / "secrets.yaml"),
        "state": {"path": str(where / "state.db"), "journal_key": "secret:journal_key"},
        "events": {"backend": "sqlite", "sqlite": {"path": str(where / "events.db")}},
        "links": {"count": 3, "interval_ms": 200, "timeout_ms": 500, "snmp_timeout_ms": 500},
        "scan": {"snmp_timeout_ms": 500, "tcp_timeout_ms": 500},
    }
    path = where / "netguard.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def cli(config: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--config", str(config), *args], catch_exceptions=False)


def scan(lab: RunningLab, config: Path) -> tuple[int, dict[str, Any], dict[tuple[str, str], dict[str, Any]]]:
    """``netguard scan --json`` from the scanner namespace."""
    done = subprocess.run(
        ["ip", "netns", "exec", lab.status.scanner.namespace, sys.executable, str(ROOT / "cli.py"),
         "--config", str(config), "scan", "--json"],
        capture_output=True, text=True, check=False, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    assert "Traceback" not in done.stderr
    assert lab.community not in done.stdout and lab.community not in done.stderr
    report = json.loads(done.stdout)
    return done.returncode, report, {(r["control"], r["target"]): r for r in report["results"]}


def test_the_scan_finds_the_planted_problems_and_passes_once_they_are_fixed(lab: RunningLab, tmp_path: Path) -> None:
    config = write_config(lab, tmp_path, lab.dir / "inventory.yaml")
    for h in lab.refresh().hosts:
        assert ping(h.namespace, h.gateway), h.namespace
    discovered = cli(config, "discover", "run", "--json")
    assert discovered.exit_code == 0, discovered.output
    rogues = {h.institution: h for h in lab.refresh().hosts if h.role == "rogue" and h.switch is not None}
    assert set(rogues) == {"lab-thc1", "lab-vc1-1"}

    code, first, by = scan(lab, config)
    assert code == 1
    result = {key: r["result"] for key, r in by.items()}
    # The rogues discovery found, each in its institution, named by MAC.
    for inst, rogue in rogues.items():
        assert result[("DJ-NO-ROGUE-DEVICE", inst)] == "fail"
        assert by[("DJ-NO-ROGUE-DEVICE", inst)]["facts"]["unauthorised_devices"] == 1
        assert rogue.mac in by[("DJ-NO-ROGUE-DEVICE", inst)]["evidence"]
    assert result[("DJ-NO-ROGUE-DEVICE", "lab-dc")] == "pass"
    # The planted switch answers `public` through the relay; the others (v2c secret, v3) do not.
    switches = {s.id for s in lab.status.switches}
    assert result[("DJ-SNMP-DEFAULT-COMMUNITY", "lab-vc1-1-acc1")] == "fail"
    assert {result[("DJ-SNMP-DEFAULT-COMMUNITY", s)] for s in switches - {"lab-vc1-1-acc1"}} == {"pass"}
    # SSH: the EMR server takes connections from the scanner, which is not the bastion.
    assert result[("DJ-SSH-BASTION-ONLY", "lab-emr01")] == "fail"
    assert "10.0.0.11:22 accepted a connection" in by[("DJ-SSH-BASTION-ONLY", "lab-emr01")]["evidence"]
    # Every link is up, uplink ports included where the inventory lists them.
    links = {key[1]: r for key, r in by.items() if key[0] == "DJ-LINK-UP"}
    assert {r["result"] for r in links.values()} == {"pass"}
    assert {links[i]["facts"]["uplink_state"] for i in ("lab-dc", "lab-thc1", "lab-vc1-1")} == {"up"}
    assert "uplink_state" not in links["lab-vc1-2"]["facts"]  # the village without a managed switch

    # The fixes. One rogue evicted at its port, the other authorised in the inventory.
    evicted = rogues["lab-thc1"]
    done = cli(config, "evict", "device", evicted.mac, "--method", "port-shutdown", "--reason", "rogue", "--apply")
    assert done.exit_code == 0, done.output
    assert not ping(evicted.namespace, evicted.gateway)
    doc: dict[str, Any] = yaml.safe_load((lab.dir / "inventory.yaml").read_text(encoding="utf-8"))
    allowed = rogues["lab-vc1-1"]
    village = next(i for i in doc["institutions"] if i["id"] == allowed.institution)
    village["devices"].append({"mac": allowed.mac, "ip": allowed.ip, "kind": "pc", "owner": "护士站 (已登记)"})
    inventory = tmp_path / "inventory-fixed.yaml"
    inventory.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    config = write_config(lab, tmp_path, inventory)
    assert drop_default_community(lab.dir) == ["t1v1"]
    assert close_ssh(lab.dir) is True
    status = lab.refresh().scanner
    assert status.default_community_switches == () and status.open_ssh is None and status.relay_running

    code, second, by = scan(lab, config)
    failing = [(k, r["evidence"]) for k, r in by.items() if r["result"] not in ("pass", "na")]
    assert code == 0 and failing == []
    assert second["previous_scan"] == first["scan_id"] and second["new_failures"] == []
    fixed = {(c["control"], c["target"]) for c in second["fixed"]}
    assert fixed == {
        ("DJ-NO-ROGUE-DEVICE", "lab-thc1"),
        ("DJ-NO-ROGUE-DEVICE", "lab-vc1-1"),
        ("DJ-SNMP-DEFAULT-COMMUNITY", "lab-vc1-1-acc1"),
        ("DJ-SSH-BASTION-ONLY", "lab-emr01"),
    }
    # The evicted rogue is still seen (its sighting is open) but restricted; the authorised one is simply known.
    isolated = by[("DJ-NO-ROGUE-DEVICE", "lab-thc1")]
    assert isolated["facts"]["isolated_devices"] == 1 and evicted.mac in isolated["evidence"]
    assert by[("DJ-NO-ROGUE-DEVICE", "lab-vc1-1")]["facts"]["unauthorised_devices"] == 0
    # The switch still answers its own community after the change (the fix did not break it).
    assert by[("DJ-SNMP-DEFAULT-COMMUNITY", "lab-vc1-1-acc1")]["facts"]["snmp_default_answers"] == 0
    assert by[("DJ-LINK-UP", "lab-vc1-1")]["facts"]["uplink_state"] == "up"
