"""The lab plan as data: sizes, addressing, the special terminals, and an inventory that validates."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from netguard.inventory import check_inventory
from netguard.lab.labfiles import inventory_document, write_inventory
from netguard.lab.topology import OUI_MEDICAL, plan_county


@pytest.mark.parametrize(("townships", "villages"), [(1, 1), (2, 2), (3, 4)])
def test_plan_sizes_and_uniqueness(townships: int, villages: int) -> None:
    plan = plan_county("lab", townships, villages)
    assert len(plan.sites) == 1 + townships * (1 + villages)
    namespaces = plan.namespaces
    assert len(set(namespaces)) == len(namespaces)
    assert all(n.startswith("ng-lab-") for n in namespaces)
    macs = [h.mac for h in plan.hosts] + [s.mac for s in plan.sites]
    assert len(set(macs)) == len(macs)
    ips = [h.ip for h in plan.hosts]
    assert len(set(ips)) == len(ips)
    for host in plan.hosts:
        site = plan.site(host.site)
        assert host.ip in site.subnet and host.gateway == site.gateway
        assert host.port in site.ports
    # Exactly one village clinic has no managed switch (and so no agent address).
    unmanaged = [s for s in plan.sites if not s.managed]
    assert [s.tier for s in unmanaged] == ["village"]
    assert unmanaged[0].management is None
    managed = [s.management for s in plan.sites if s.managed]
    assert len(set(managed)) == len(managed) and all(a is not None and a.is_loopback for a in managed)


def test_special_terminals() -> None:
    plan = plan_county("lab", 2, 2)
    roles = {h.role for h in plan.hosts}
    assert roles == {"authorised", "rogue", "probe"}
    randomised = [h for h in plan.hosts if int(h.mac.split(":")[0], 16) & 0x02]
    assert len(randomised) == 1 and randomised[0].role == "rogue"
    medical = [h for h in plan.hosts if h.mac.startswith(OUI_MEDICAL)]
    assert len(medical) == 1 and medical[0].kind == "medical-device" and medical[0].role == "authorised"
    probes = [h for h in plan.hosts if h.role == "probe"]
    assert len(probes) == 1 and not plan.site(probes[0].site).managed


def test_ports_hosts_then_uplink_then_downlinks() -> None:
    plan = plan_county("lab", 2, 2)
    for site in plan.sites:
        numbers = [int(p[1:]) for p in site.ports]
        assert numbers == list(range(1, len(numbers) + 1))
        hosts = plan.hosts_of(site.key)
        assert site.ports[: len(hosts)] == tuple(h.port for h in hosts)
        assert (site.uplink is None) == (site.parent is None)
    for link in plan.links:
        assert plan.site(link.child).uplink == link.child_port
        assert link.parent_port in plan.site(link.parent).downlinks


def test_bad_sizes_and_names_are_refused() -> None:
    with pytest.raises(ValueError, match="townships"):
        plan_county("lab", 0, 2)
    with pytest.raises(ValueError, match="villages"):
        plan_county("lab", 1, 99)
    with pytest.raises(ValueError, match="lab name"):
        plan_county("Bad-Name", 1, 1)


def test_inventory_validates_and_lists_no_rogue(tmp_path: Path) -> None:
    plan = plan_county("lab", 2, 2, ipaddress.IPv4Network("127.77.9.0/24"))
    path = tmp_path / "inventory.yaml"
    write_inventory(path, plan)
    checked = check_inventory(path)
    assert checked.report.errors == []
    # The only warnings: loopback management addresses outside the institutions' subnets.
    assert all("management address" in str(w) for w in checked.report.warnings)
    doc = inventory_document(plan)
    listed = {d["mac"] for inst in doc["institutions"] for d in inst.get("devices", [])}
    for host in plan.hosts:
        assert (host.mac in listed) == (host.role != "rogue")
    switches = {sw["id"]: sw for inst in doc["institutions"] for sw in inst.get("switches", [])}
    assert len(switches) == sum(s.managed for s in plan.sites)
    for site in plan.sites:
        if site.managed:
            sw = switches[site.switch_id]
            assert sw["management"] == str(site.management)
            assert sw["uplinks"] == [p for p in (site.uplink, *site.downlinks) if p]
    assert "secret:" in str(doc["defaults"]["snmp"]["community"])
