"""A real lab (namespaces, bridges, snmpd): the switches tell the truth over SNMP, and SETs act.

One small lab (1 township, 2 village clinics, the second unmanaged) for the module;
tests that change it put it back. Checked with net-snmp's own tools.
"""

from __future__ import annotations

import itertools
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import commands.lab_net  # noqa: F401 - registers lab up/status/down on the lab group
from cli import main
from netguard.inventory import check_inventory, load_inventory
from netguard.lab import netns
from netguard.lab.mib import DOT1D_BASE_PORT_TABLE, DOT1Q_PVID, DOT1Q_TP_FDB, IF_TABLE, IFX_TABLE, IP_NET_TO_MEDIA
from tests.harness.lab import RunningLab, ping, ping_within, running_lab, snmp

Walk = dict[tuple[int, ...], str]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLab]:
    with running_lab(tmp_path_factory.mktemp("lab"), townships=1, villages=2) as running:
        yield running


def walk(lab: RunningLab, address: str, root: str, tool: str = "snmpbulkwalk") -> list[tuple[tuple[int, ...], str]]:
    proc = snmp(tool, address, lab.community, root)
    assert proc.returncode == 0, proc.stderr
    rows = []
    for line in proc.stdout.splitlines():
        if " = " not in line or "No more variables" in line:
            continue  # a Hex-STRING continued on the next line, or the end-of-view marker
        oid, _, value = line.partition(" = ")
        rows.append((tuple(int(p) for p in oid.strip(".").split(".")), value))
    return rows


def table(rows: list[tuple[tuple[int, ...], str]], prefix: tuple[int, ...]) -> Walk:
    return {oid[len(prefix) :]: value for oid, value in rows if oid[: len(prefix)] == prefix}


def number(value: str) -> int:
    return int(value.rsplit(":", 1)[1])


def t1(lab: RunningLab) -> tuple[str, str]:
    return lab.switch("lab-thc1-acc1")


def test_every_host_reaches_its_gateway(lab: RunningLab) -> None:
    for host in lab.status.hosts:
        assert ping(host.namespace, host.gateway), host.namespace


def test_nothing_leaves_the_lab(lab: RunningLab) -> None:
    host = lab.status.hosts[0]
    assert not ping(host.namespace, "192.0.2.1")  # TEST-NET-1: no route out of the lab
    routes = netns.ip_json(lab.status.gateways[0].namespace, "route", "show", "default")
    assert routes == []  # the data centre has no default route at all


def test_walk_is_in_lexicographic_order(lab: RunningLab) -> None:
    address, _ = t1(lab)
    for root in (".1.3.6.1.2.1", ".1.0.8802.1.1.2"):
        # snmpwalk (GETNEXT) and snmpbulkwalk (GETBULK) both; -Cc off: we check the order ourselves.
        for tool in ("snmpwalk", "snmpbulkwalk"):
            proc = snmp(tool, address, lab.community, "-Cc", root)
            assert proc.returncode == 0, proc.stderr
            oids = [
                tuple(int(p) for p in line.split(" = ")[0].strip(".").split("."))
                for line in proc.stdout.splitlines()
                if " = " in line and "No more variables" not in line  # snmpwalk's end-of-view marker
            ]
            assert len(oids) > 20
            assert all(a < b for a, b in itertools.pairwise(oids)), f"{tool} {root} out of order"


def test_fdb_shows_the_hosts_that_sent_traffic_on_their_ports(lab: RunningLab) -> None:
    address, _ = t1(lab)
    hosts = [h for h in lab.status.hosts if h.switch == "lab-thc1-acc1"]
    for h in hosts:
        assert ping(h.namespace, h.gateway)
    rows = walk(lab, address, ".1.3.6.1.2.1")
    names = {idx[1]: value.split('"')[1] for idx, value in table(rows, IFX_TABLE).items() if idx[0] == 1}
    port_ifindex = {idx[1]: number(v) for idx, v in table(rows, DOT1D_BASE_PORT_TABLE).items() if idx[0] == 2}
    fdb = {idx[1:]: number(v) for idx, v in table(rows, DOT1Q_TP_FDB).items() if idx[0] == 2}
    for h in hosts:
        mac = tuple(int(b, 16) for b in h.mac.split(":"))
        base_port = fdb[(10, *mac)]
        assert names[port_ifindex[base_port]] == h.port
    # The uplink learned the data centre switch's MAC on the transit VLAN.
    dc_mac = tuple(int(b, 16) for b in lab.status.switches[0].mac.split(":"))
    assert names[port_ifindex[fdb[(1, *dc_mac)]]] == "p4"
    arp = table(rows, IP_NET_TO_MEDIA)
    for h in hosts:
        ip = tuple(int(p) for p in h.ip.split("."))
        values = [v for idx, v in arp.items() if idx[0] == 2 and idx[2:] == ip]
        assert values and values[0].replace("Hex-STRING: ", "").strip().lower() == h.mac.replace(":", " ")


def test_lldp_names_the_neighbour_on_the_uplink(lab: RunningLab) -> None:
    address, _ = t1(lab)
    rows = walk(lab, address, ".1.0.8802.1.1.2.1.4.1.1.9")
    assert [(oid[-2], value) for oid, value in rows] == [
        (4, 'STRING: "lab-dc-acc1"'),
        (5, 'STRING: "lab-vc1-1-acc1"'),
    ]


def _port_ifindex(lab: RunningLab, address: str, port: str) -> int:
    rows = walk(lab, address, ".1.3.6.1.2.1.2.2.1.2")
    return next(oid[-1] for oid, value in rows if value == f'STRING: "{port}"')


def test_admin_down_cuts_the_host_off_and_up_restores_it(lab: RunningLab) -> None:
    address, _ = t1(lab)
    rogue = next(h for h in lab.status.hosts if h.switch == "lab-thc1-acc1" and h.role == "rogue")
    ifindex = _port_ifindex(lab, address, rogue.port)
    admin = ".".join(str(n) for n in (*IF_TABLE, 7, ifindex))
    try:
        assert snmp("snmpset", address, lab.community, admin, "i", "2").returncode == 0
        assert not ping(rogue.namespace, rogue.gateway)
        got = snmp("snmpget", address, lab.community, admin, "." + ".".join(str(n) for n in (*IF_TABLE, 8, ifindex)))
        assert got.stdout.count("INTEGER: 2") == 2  # admin and oper both down
        assert next(h for h in lab.refresh().hosts if h.namespace == rogue.namespace).port_up is False
    finally:
        assert snmp("snmpset", address, lab.community, admin, "i", "1").returncode == 0
    assert ping_within(rogue.namespace, rogue.gateway)  # the port is up again (carrier and ARP take a moment)
    # A neighbour on the same switch was never affected.
    other = next(h for h in lab.status.hosts if h.switch == "lab-thc1-acc1" and h.role == "authorised")
    assert ping(other.namespace, other.gateway)


def test_pvid_moves_the_host_to_quarantine_and_back(lab: RunningLab) -> None:
    address, _ = t1(lab)
    rogue = next(h for h in lab.status.hosts if h.switch == "lab-thc1-acc1" and h.role == "rogue")
    pvid = ".".join(str(n) for n in (*DOT1Q_PVID, int(rogue.port[1:])))
    try:
        assert snmp("snmpset", address, lab.community, pvid, "u", "999").returncode == 0
        assert not ping(rogue.namespace, rogue.gateway)
        assert "Gauge32: 999" in snmp("snmpget", address, lab.community, pvid).stdout
        assert next(h for h in lab.refresh().hosts if h.namespace == rogue.namespace).vlan == 999
    finally:
        assert snmp("snmpset", address, lab.community, pvid, "u", "10").returncode == 0
    assert ping(rogue.namespace, rogue.gateway)


def test_bad_sets_are_refused(lab: RunningLab) -> None:
    address, _ = t1(lab)
    rogue = next(h for h in lab.status.hosts if h.switch == "lab-thc1-acc1" and h.role == "rogue")
    pvid = ".".join(str(n) for n in (*DOT1Q_PVID, int(rogue.port[1:])))
    refused = snmp("snmpset", address, lab.community, pvid, "u", "55")  # no VLAN 55 on this switch
    assert refused.returncode != 0 and "inconsistentValue" in refused.stderr
    descr = snmp("snmpset", address, lab.community, ".1.3.6.1.2.1.2.2.1.2.5", "s", "x")
    assert descr.returncode != 0 and "notWritable" in descr.stderr
    assert ping(rogue.namespace, rogue.gateway)


def test_wrong_community_gets_nothing_and_v3_works_on_the_data_centre(lab: RunningLab) -> None:
    address, _ = t1(lab)
    wrong = subprocess.run(
        ["snmpget", "-v2c", "-c", "not-it", "-t", "0.5", "-r", "0", address, ".1.3.6.1.2.1.1.5.0"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert wrong.returncode != 0 and "Timeout" in wrong.stderr
    dc_address, _ = lab.switch("lab-dc-acc1")
    v3 = subprocess.run(
        [
            "snmpget",
            "-v3",
            "-l",
            "authPriv",
            "-u",
            "netguard",
            "-a",
            "SHA-256",
            "-A",
            lab.v3_auth,
            "-x",
            "AES",
            "-X",
            lab.v3_priv,
            "-On",
            dc_address,
            ".1.3.6.1.2.1.1.5.0",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert v3.returncode == 0 and '"lab-dc-acc1"' in v3.stdout


def test_status_json_matches_the_namespaces(lab: RunningLab) -> None:
    result = CliRunner().invoke(main, ["lab", "status", "--dir", str(lab.dir), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    live = set(netns.list_netns(f"ng-{lab.name}-"))
    hosts = {h["namespace"]: h for h in report["hosts"]}
    sites = {g["namespace"] for g in report["gateways"]}
    scanner = report["scanner"]
    assert set(hosts) | sites | {scanner["namespace"]} == live and not set(hosts) & sites
    assert scanner["present"] and scanner["relay_running"] and scanner["open_ssh"] == "10.0.0.11:22"
    assert scanner["default_community_switches"] == ["lab-vc1-1-acc1"]
    for h in report["hosts"]:
        assert {"namespace", "ip", "mac", "gateway", "institution", "role"} <= set(h)
        assert h["role"] in ("authorised", "rogue")
        eth0 = netns.ip_json(h["namespace"], "addr", "show", "dev", "eth0")[0]
        assert eth0["address"] == h["mac"]
        assert eth0["addr_info"][0]["local"] == h["ip"]
    assert all(s["agent_running"] for s in report["switches"])
    assert lab.community not in result.output


def test_written_inventory_validates_and_matches_status(lab: RunningLab) -> None:
    inventory = Path(lab.status.inventory)
    assert check_inventory(inventory).report.errors == []
    inv = load_inventory(inventory)
    for h in lab.status.hosts:
        device = inv.by_mac(h.mac)
        assert (device is not None) == (h.role == "authorised"), h.namespace
        assert inv.by_ip(h.ip) is not None and inv.by_ip(h.ip).id == h.institution  # type: ignore[union-attr]
    managed = {s.id: s.snmp.rsplit(":", 1)[0] for s in lab.status.switches}
    assert {sw.id: str(sw.management) for sw in inv.switches()} == managed
    config = (lab.dir / "netguard.yaml").read_text(encoding="utf-8")
    assert "inventory.yaml" in config and "secrets.yaml" in config
    assert (lab.dir / "secrets.yaml").stat().st_mode & 0o777 == 0o600
    assert lab.community not in inventory.read_text(encoding="utf-8")


def test_up_twice_is_refused(lab: RunningLab) -> None:
    result = CliRunner().invoke(main, ["lab", "up", "--dir", str(lab.dir), "--name", lab.name])
    assert result.exit_code == 2
    assert "already up" in result.output
