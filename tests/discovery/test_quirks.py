"""Quirks, partial and huge tables, uplinks, many switches in one run (recordings: tests/harness/snmp_recordings.py)."""

from __future__ import annotations

import asyncio
from collections import Counter

from netguard.discovery import (
    ArpEntry,
    FdbEntry,
    Interface,
    LldpNeighbour,
    SwitchJob,
    SwitchReport,
    walk_switch,
    walk_switches,
)
from netguard.discovery.switch import with_uplinks
from netguard.discovery.uplinks import find_uplinks
from netguard.snmp import ProblemKind, SnmpTarget
from netguard.snmp.client import SnmpClient
from tests.harness import snmp_recordings as recordings
from tests.harness.snmp_fixtures import HUGE_FDB_ROWS, Agents
from tests.harness.snmpsim import free_udp_port


def walk(target: SnmpTarget, **kwargs: object) -> SwitchReport:
    async def main() -> SwitchReport:
        async with SnmpClient() as client:
            return await walk_switch(client, target, **kwargs)  # type: ignore[arg-type]

    return asyncio.run(main())


def skips(report: SwitchReport) -> dict[tuple[str, str], int]:
    return {(s.table, s.reason): s.count for s in report.skipped}


def test_quirks_every_spelling_read_every_junk_row_counted(snmp_agents: Agents) -> None:
    report = walk(snmp_agents.v2c("edge/quirks"))
    assert report.complete
    # ifPhysAddress: six octets, text, junk, empty; no ifXTable, so no names and speed from ifSpeed.
    macs = {i.ifindex: i.mac for i in report.interfaces}
    assert macs == {1: "02:00:00:00:00:01", 2: "02:00:00:00:00:02", 3: None, 4: None}
    assert all(i.name is None and i.descr == f"GigabitEthernet0/{i.ifindex}" for i in report.interfaces)
    assert {i.ifindex: i.speed_mbps for i in report.interfaces} == {1: 1000, 2: 1000, 3: 1000, 4: None}
    # FDB: no Q-BRIDGE (fallback), no bridge port map (ports taken as ifIndex), port 0 / self / invalid skipped.
    assert report.fdb_source == "bridge"
    assert set(report.fdb) == {
        FdbEntry(recordings.GOOD_MAC, 1, 1, None, "learned", "bridge"),
        FdbEntry(recordings.SECOND_MAC, 2, 2, None, "learned", "bridge"),
        FdbEntry(recordings.UNMAPPED_PORT_MAC, 9, None, None, "learned", "bridge"),
    }
    fdb_skips = {reason: n for (table, reason), n in skips(report).items() if table == "dot1dTpFdbTable"}
    assert fdb_skips == {
        "bridge port 0 (MAC not on a port)": 1,
        "status self": 1,
        "status invalid": 1,
        "index is not a MAC": 1,
        "bridge port taken as ifIndex: no dot1dBasePortIfIndex (row kept)": 2,
        "bridge port maps to no ifIndex (row kept, ifindex null)": 1,
    }
    # ARP: binary, text and hex-dump MACs; junk, zero and empty counted; both tables merged; IPv6 without length.
    assert set(report.arp) == {
        ArpEntry("10.0.0.1", recordings.GOOD_MAC, 1, "ipNetToMedia,ipNetToPhysical"),
        ArpEntry("10.0.0.2", recordings.SECOND_MAC, 1, "ipNetToMedia"),
        ArpEntry("10.0.0.3", "00:1a:2b:3c:4d:03", 1, "ipNetToMedia"),
        ArpEntry("2001:db8::1", "00:1a:2b:3c:4d:07", 1, "ipNetToPhysical"),
    }
    assert skips(report)[("ipNetToMedia", "MAC does not parse")] == 1
    assert skips(report)[("ipNetToMedia", "all-zero MAC (incomplete entry)")] == 1
    assert skips(report)[("ipNetToMedia", "empty MAC (incomplete entry)")] == 1
    assert skips(report)[("ipNetToPhysical", "address type 3 (zoned or unknown) not read")] == 1
    assert skips(report)[("interfaces", "ifPhysAddress is not a MAC (interface kept, mac null)")] == 1
    # LLDP: local port 2 named by lldpLocPortId; the port is an uplink because of it.
    assert report.lldp == (
        LldpNeighbour(2, 2, "38:91:d5:fb:74:2c", 4, "GigabitEthernet1/0/33", 5, None, "core-1", None),
    )
    assert [(u.ifindex, u.reasons) for u in report.uplinks] == [(2, ("lldp",))]


def test_v3_walk_reads_the_same_switch(snmp_agents: Agents) -> None:
    v2 = walk(snmp_agents.v2c("edge/quirks"))
    v3 = walk(snmp_agents.v3("edge/quirks"))
    assert v3.complete
    assert (v3.interfaces, v3.fdb, v3.arp, v3.lldp) == (v2.interfaces, v2.fdb, v2.arp, v2.lldp)


def test_a_partial_forwarding_table_keeps_its_rows_and_is_not_complete(snmp_agents: Agents) -> None:
    report = walk(snmp_agents.v2c("edge/partial"))
    assert report.reachable and report.partial and not report.complete
    assert [p.table for p in report.problems] == ["dot1qTpFdbTable.port"]
    problem = report.problems[0]
    assert problem.problem.kind is ProblemKind.REFUSED and 0 < problem.rows_kept < 300
    assert len(report.fdb) == problem.rows_kept
    assert {e.vlan for e in report.fdb} == {10}
    assert len(report.interfaces) == 8


def test_a_huge_table_is_read_whole(snmp_agents: Agents) -> None:
    report = walk(snmp_agents.v2c("edge/huge", timeout=5.0))
    assert report.complete
    assert len(report.fdb) == HUGE_FDB_ROWS
    assert Counter(e.vlan for e in report.fdb) == dict.fromkeys((10, 11, 12, 13), HUGE_FDB_ROWS // 4)
    assert sum(c.macs for c in report.mac_counts) == HUGE_FDB_ROWS
    assert {c.ifindex for c in report.mac_counts} == set(range(1, 49))


def test_a_port_that_learns_another_switchs_mac_is_an_uplink(snmp_agents: Agents) -> None:
    report = walk(snmp_agents.v2c("edge/quirks"))
    marked = with_uplinks(report, frozenset({recordings.GOOD_MAC}), ("GigabitEthernet0/3", "Te9/9"))
    reasons = {u.ifindex: u.reasons for u in marked.uplinks}
    assert reasons == {1: (f"switch-mac {recordings.GOOD_MAC}",), 2: ("lldp",), 3: ("inventory",)}
    assert skips(marked)[("uplinks", "inventory uplink matches no interface")] == 1
    # The switch's own MACs never make its ports uplinks.
    own = with_uplinks(report, report.switch_macs(), ())
    assert {u.ifindex for u in own.uplinks} == {2}


def test_find_uplinks_pure() -> None:
    interfaces = (
        Interface(1, "Gi0/1", "GigabitEthernet0/1", None, 6, "up", "up", 1000, None),
        Interface(2, "Gi0/2", "GigabitEthernet0/2", None, 6, "up", "up", 1000, None),
    )
    fdb = (FdbEntry("aa:bb:cc:00:00:01", 1, 1, 10, "learned", "q-bridge"),)
    uplinks, unmatched = find_uplinks(
        interfaces, fdb, (), other_switch_macs=frozenset({"aa:bb:cc:00:00:01"}), inventory_uplinks=("gi0/2", "x")
    )
    assert [(u.ifindex, u.reasons) for u in uplinks] == [(1, ("switch-mac aa:bb:cc:00:00:01",)), (2, ("inventory",))]
    assert unmatched == ("x",)


def test_many_switches_one_run_failures_are_reports(snmp_agents: Agents) -> None:
    jobs = [
        SwitchJob(snmp_agents.v2c("real/h3c-e528-2")),
        SwitchJob(snmp_agents.v2c("wrong-community", timeout=0.5, retries=1)),
        SwitchJob(snmp_agents.v3("real/cisco-c3750")),
        SwitchJob(snmp_agents.v3("real/cisco-c3750", auth_key="not-the-key")),
        SwitchJob(snmp_agents.v2c("edge/quirks", port=free_udp_port(), timeout=0.5, retries=0)),
        SwitchJob(snmp_agents.v2c("edge/partial")),
        SwitchJob(snmp_agents.v2c("edge/quirks"), inventory_uplinks=("GigabitEthernet0/1",)),
    ]
    done: list[str] = []

    async def main() -> list[SwitchReport]:
        async with SnmpClient() as client:
            return await walk_switches(client, jobs, limit=3, on_done=lambda o: done.append(o.device))

    reports = asyncio.run(main())
    assert len(reports) == len(jobs) == len(done)
    state = [(r.reachable, r.complete, r.error.kind if r.error else None) for r in reports]
    assert state == [
        (True, True, None),
        (False, False, ProblemKind.TIMEOUT),
        (True, True, None),
        (False, False, ProblemKind.AUTH_FAILURE),
        (False, False, ProblemKind.TIMEOUT),
        (True, False, None),
        (True, True, None),
    ]
    assert reports[0].system is not None and reports[0].system.name == "DUMSYS-01"
    assert len(reports[2].fdb) == 15
    assert {u.ifindex for u in reports[6].uplinks} == {1, 2}
    for r in reports:
        text = repr(r)
        assert "not-the-key" not in text and "wrong-community" not in text
