"""`netguard lab events`: every kind of event, drawn from the inventory, repeatable."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cli import main
from netguard.inventory import Inventory, load_inventory
from netguard.lab.county_events import LAB_KINDS

EXAMPLE = Path(__file__).parents[2] / "examples" / "huize-county.yaml"


@pytest.fixture(scope="module")
def example() -> Inventory:
    return load_inventory(EXAMPLE)


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    path = tmp_path / "netguard.yaml"
    path.write_text(f"inventory: {EXAMPLE}\nevents:\n  sqlite:\n    path: e.db\n", encoding="utf-8")
    return path


def run(cfg: Path, *args: str) -> Any:
    out = CliRunner().invoke(main, ["--config", str(cfg), *args])
    assert out.exit_code == 0, out.output
    return json.loads(out.output)


def test_lab_events_are_searchable_by_kind_and_time(cfg: Path) -> None:
    assert run(cfg, "lab", "events", "--count", "900", "--hours", "2", "--json")["written"] == 900
    for kind in LAB_KINDS:
        assert run(cfg, "events", "search", "--kind", kind, "--since", "3h", "--json")["total"] == 100, kind
    assert run(cfg, "events", "search", "--until", "3h", "--json")["total"] == 0


def test_running_the_lab_again_does_not_double_the_events(cfg: Path) -> None:
    first = run(cfg, "lab", "events", "--count", "300", "--hours", "1", "--json")
    again = run(cfg, "lab", "events", "--count", "300", "--hours", "1", "--json")
    assert first["written"] == 300
    # Only the slots that began since the first run are new (a slot is 12 s here).
    assert again["written"] + again["duplicates"] == 300 and again["written"] <= 2
    assert run(cfg, "events", "search", "--json", "--limit", "1")["total"] == 300 + again["written"]


def _in_county(inv: Inventory, address: str) -> bool:
    return inv.by_ip(ipaddress.ip_address(address)) is not None


def test_every_lab_event_names_what_the_inventory_holds(cfg: Path, example: Inventory) -> None:
    run(cfg, "lab", "events", "--count", "1800", "--hours", "6", "--json")
    hits = run(cfg, "events", "search", "--json", "--limit", "1800")["hits"]
    assert len(hits) == 1800
    servers = {s.id: s for s in example.servers()}
    switches = {s.id: s for s in example.switches()}
    seen_authorised = seen_rogue = 0
    for e in hits:
        inst = example.by_id(e["organization.id"])
        assert inst is not None and e["organization.name"] == inst.name and e["netguard.tier"] == inst.tier.value
        assert e.get("netguard.township") == inst.township
        for field in ("source.ip", "host.ip", "destination.ip"):
            if field in e:
                assert _in_county(example, e[field]), (field, e)
        for field in ("host.ip",):
            if field in e:
                assert example.by_ip(e[field]) == inst, e  # a device is seen where it lives
        if "host.name" in e:
            assert e["host.name"] in servers, e
        if e["netguard.kind"] in ("bastion-session", "bastion-command", "file-transfer"):
            server = servers[e["destination.address"]]
            assert e["destination.ip"] == str(server.address)
        if "observer.name" in e:
            assert switches[e["observer.name"]].institution == inst.id, e
        if e["netguard.kind"] == "compliance":
            assert e["netguard.compliance.target"] in switches or example.by_id(e["netguard.compliance.target"])
        if e["netguard.kind"] == "device":
            device = example.by_mac(e["host.mac"])
            assert e["netguard.device.authorised"] == (device is not None), e
            if device is not None:
                seen_authorised += 1
                assert device.institution == inst.id and (device.ip is None or str(device.ip) == e["host.ip"])
            else:
                seen_rogue += 1
    assert seen_authorised > seen_rogue > 0
