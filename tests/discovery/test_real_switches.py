"""Switch walks of real equipment (snmpsim-data recordings) checked against the recordings themselves.

The oracle is the recording file read line by line here, independently of
the collectors: every interface in the file is reported, every forwarding
row is either a record or a counted skip, every ARP pair in the file is
found, every LLDP neighbour is listed, and nothing is made up.

What the recordings hold (rows): Huawei S12704 BRIDGE-MIB FDB 2700 (no
Q-BRIDGE: the fallback), ARP 2734; Huawei S5720 BRIDGE-MIB 48; H3C E528
Q-BRIDGE 2 and LLDP; H3C Comware 7 Q-BRIDGE, zoned IPv6 neighbours; Ruijie
S5750 Q-BRIDGE 385, both ARP tables; ZTE ZXR10 5250 and BDCOM S5612 Q-BRIDGE
out of OID order; Maipu SM4200 Q-BRIDGE 26, ARP 51; Cisco C3750 BRIDGE-MIB;
Cisco C3560 no FDB at all; Cisco Nexus 5000 LLDP and 513 ARP, no FDB; HPE
ProCurve Q-BRIDGE 285 and LLDP; D-Link DES-3200 Q-BRIDGE 285.
"""

from __future__ import annotations

import asyncio
import ipaddress
import shutil
import subprocess

import pytest

from netguard.discovery import SwitchReport, walk_switch
from netguard.snmp.client import SnmpClient
from tests.harness.peers import require_peer
from tests.harness.snmp_fixtures import REAL_RECORDINGS, Agents

Q_PORT = "1.3.6.1.2.1.17.7.1.2.2.1.2."
D_PORT = "1.3.6.1.2.1.17.4.3.1.2."
MEDIA = "1.3.6.1.2.1.4.22.1.2."
LLDP_CHASSIS = "1.0.8802.1.1.2.1.4.1.1.5."
IF_COLUMNS = ("1.3.6.1.2.1.2.2.1.2.", "1.3.6.1.2.1.2.2.1.7.", "1.3.6.1.2.1.31.1.1.1.1.")


def lines(agents: Agents, name: str) -> list[tuple[str, str, str]]:
    text = agents.recording(name).read_text(encoding="utf-8", errors="surrogateescape")
    return [tuple(line.split("|", 2)) for line in text.splitlines()]  # type: ignore[misc]


def walk(agents: Agents, name: str) -> SwitchReport:
    async def main() -> SwitchReport:
        async with SnmpClient() as client:
            return await walk_switch(client, agents.v2c(name, timeout=5.0))

    return asyncio.run(main())


def mac_of_index(parts: list[str]) -> str:
    return ":".join(f"{int(p):02x}" for p in parts)


@pytest.fixture(scope="module")
def reports(snmp_agents: Agents) -> dict[str, SwitchReport]:
    return {name: walk(snmp_agents, f"real/{name}") for name in REAL_RECORDINGS}


@pytest.mark.parametrize("name", REAL_RECORDINGS)
def test_every_table_is_read_whole(reports: dict[str, SwitchReport], name: str) -> None:
    report = reports[name]
    assert report.reachable and report.complete, report.problems
    assert report.system is not None and report.system.descr


@pytest.mark.parametrize("name", REAL_RECORDINGS)
def test_interfaces_are_those_of_the_recording(
    snmp_agents: Agents, reports: dict[str, SwitchReport], name: str
) -> None:
    rows = lines(snmp_agents, f"real/{name}")
    expected = {int(oid.rsplit(".", 1)[1]) for oid, _t, _v in rows if oid.startswith(IF_COLUMNS)}
    report = reports[name]
    assert {i.ifindex for i in report.interfaces} == expected
    admin = {int(oid.rsplit(".", 1)[1]): int(v) for oid, _t, v in rows if oid.startswith("1.3.6.1.2.1.2.2.1.7.")}
    names = {"1": "up", "2": "down", "3": "testing"}
    for interface in report.interfaces:
        if interface.ifindex in admin:
            assert interface.admin_status == names.get(str(admin[interface.ifindex]), str(admin[interface.ifindex]))


def net_snmp_walk(agents: Agents, community: str, oid: str) -> list[tuple[list[str], str]]:
    """(index parts, value) of every row net-snmp's snmpbulkwalk reads under ``oid`` (-Cc: out-of-order agents too)."""
    exe = shutil.which("snmpbulkwalk")
    if exe is None:
        require_peer("snmpbulkwalk (Debian snmp) is not installed: scripts/install-test-deps.sh installs it")
    args = [exe, "-v2c", "-c", community, "-On", "-Oq", "-Cc", "-t", "5", f"127.0.0.1:{agents.port}", oid]
    out = subprocess.run(args, capture_output=True, text=True, timeout=120, check=True).stdout
    rows = []
    for line in out.splitlines():
        name, _, value = line.partition(" ")
        if name.startswith("." + oid + "."):
            rows.append((name[len(oid) + 2 :].split("."), value))
    return rows


@pytest.mark.parametrize("name", REAL_RECORDINGS)
def test_every_forwarding_row_is_a_record_or_a_counted_skip(
    snmp_agents: Agents, reports: dict[str, SwitchReport], name: str
) -> None:
    # The oracle is net-snmp reading the same agent: some recordings hold duplicate
    # or unsorted lines, so the file says more than the agent serves.
    q_rows = net_snmp_walk(snmp_agents, f"real/{name}", Q_PORT.rstrip("."))
    d_rows = [] if q_rows else net_snmp_walk(snmp_agents, f"real/{name}", D_PORT.rstrip("."))
    report = reports[name]
    source, chosen = ("q-bridge", q_rows) if q_rows else ("bridge", d_rows)
    table = "dot1qTpFdbTable" if q_rows else "dot1dTpFdbTable"
    if not chosen:
        assert report.fdb == () and report.fdb_source is None
        return
    assert report.fdb_source == source
    served = {(mac_of_index(index[-6:]), int(port)) for index, port in chosen}
    assert {(e.mac, e.bridge_port) for e in report.fdb} <= served
    dropped = sum(s.count for s in report.skipped if s.table == table and "kept" not in s.reason)
    assert len(report.fdb) + dropped == len(chosen)
    assert all(e.mac == e.mac.lower() and len(e.mac) == 17 for e in report.fdb)
    if source == "q-bridge":
        assert all(e.vlan is None or 0 < e.vlan < 4096 for e in report.fdb)
    else:
        assert all(e.vlan is None for e in report.fdb)


@pytest.mark.parametrize("name", REAL_RECORDINGS)
def test_arp_pairs_of_the_recording_are_found(snmp_agents: Agents, reports: dict[str, SwitchReport], name: str) -> None:
    expected = set()
    for oid, tag, value in lines(snmp_agents, f"real/{name}"):
        if oid.startswith(MEDIA) and tag == "4x" and len(value) == 12 and value != "0" * 12:
            parts = oid[len(MEDIA) :].split(".")
            mac = ":".join(value[i : i + 2] for i in range(0, 12, 2))
            expected.add((str(ipaddress.ip_address(".".join(parts[1:]))), mac, int(parts[0])))
    found = {(a.ip, a.mac, a.ifindex) for a in reports[name].arp}
    assert expected <= found
    assert all(ipaddress.ip_address(ip) for ip, _m, _i in found)


@pytest.mark.parametrize("name", REAL_RECORDINGS)
def test_lldp_neighbours_are_listed_and_make_uplinks(
    snmp_agents: Agents, reports: dict[str, SwitchReport], name: str
) -> None:
    keys = {
        tuple(oid[len(LLDP_CHASSIS) :].split(".")[1:])
        for oid, _t, _v in lines(snmp_agents, f"real/{name}")
        if oid.startswith(LLDP_CHASSIS)
    }
    report = reports[name]
    assert len(report.lldp) == len(keys)
    lldp_ports = {n.ifindex for n in report.lldp if n.ifindex is not None}
    uplinks = {u.ifindex for u in report.uplinks if "lldp" in u.reasons}
    assert uplinks == lldp_ports


def test_mac_counts_add_up(reports: dict[str, SwitchReport]) -> None:
    for report in reports.values():
        mapped = {(e.mac, e.ifindex) for e in report.fdb if e.ifindex is not None}
        assert sum(c.macs for c in report.mac_counts) == len(mapped)


def test_huawei_s12704_falls_back_to_bridge_mib(reports: dict[str, SwitchReport]) -> None:
    report = reports["huawei-s12704"]
    assert report.fdb_source == "bridge"
    assert len(report.fdb) == 2700 and len(report.arp) == 2734
    assert all(e.ifindex is not None for e in report.fdb)
