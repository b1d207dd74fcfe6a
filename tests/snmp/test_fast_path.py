"""The v2c fast path (own socket and BER codec) reads every real recording exactly as pysnmp does, table by table."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from netguard.discovery import oids as O
from netguard.discovery.records import SwitchReport
from netguard.discovery.switch import SYSTEM_OIDS, walk_switch
from netguard.snmp import Oid, ProblemKind, Value
from netguard.snmp.client import SnmpClient, Walk
from tests.harness.snmp_fixtures import REAL_RECORDINGS, Agents

RECORDINGS = [f"real/{name}" for name in REAL_RECORDINGS] + ["edge/quirks", "edge/partial", "edge/huge"]

TABLES = (
    O.IF_DESCR,
    O.IF_TYPE,
    O.IF_SPEED,
    O.IF_PHYS_ADDRESS,
    O.IF_ADMIN_STATUS,
    O.IF_OPER_STATUS,
    O.IF_NAME,
    O.IF_HIGH_SPEED,
    O.IF_ALIAS,
    O.DOT1D_BASE_PORT_IFINDEX,
    O.DOT1Q_TP_FDB_PORT,
    O.DOT1Q_TP_FDB_STATUS,
    O.DOT1Q_VLAN_FDB_ID,
    O.DOT1D_TP_FDB_PORT,
    O.DOT1D_TP_FDB_STATUS,
    O.IP_NET_TO_MEDIA_PHYS,
    O.IP_NET_TO_PHYSICAL_PHYS,
    O.LLDP_REM_CHASSIS_ID,
    O.LLDP_REM_PORT_ID,
    O.LLDP_REM_SYS_NAME,
)


Essence = tuple[Oid, tuple[tuple[Oid, Value], ...], tuple[ProblemKind, str] | None, int]
Reading = tuple[dict[Oid, Value], list[Essence]]


def essence(walk: Walk) -> Essence:
    """What a walk read: rows, whether and why it stopped, out-of-order steps (not the request count)."""
    problem = None if walk.problem is None else (walk.problem.kind, walk.problem.message)
    return walk.root, walk.rows, problem, walk.unordered


def without_timing(report: SwitchReport) -> SwitchReport:
    return dataclasses.replace(report, seconds=0.0)


@pytest.mark.parametrize("name", RECORDINGS)
def test_every_table_reads_the_same_through_both_paths(snmp_agents: Agents, name: str) -> None:
    target = snmp_agents.v2c(name, timeout=10, retries=2)

    async def main() -> tuple[list[Reading], list[int]]:
        async with (
            SnmpClient(adaptive=False, fast=False) as pysnmp,
            SnmpClient(adaptive=False) as fixed,
            SnmpClient() as adaptive,
        ):
            results: list[Reading] = []
            for client in (pysnmp, fixed, adaptive):
                system = await client.get(target, SYSTEM_OIDS)
                assert isinstance(system.pop(O.SYS_UPTIME), int)  # snmpsim serves the uptime live: it moves
                results.append((system, [essence(await client.walk(target, root)) for root in TABLES]))
            return results, [fixed.datagrams.stats.fallbacks, adaptive.datagrams.stats.fallbacks]

    (through_pysnmp, fast_fixed, fast_adaptive), fallbacks = asyncio.run(main())
    assert fast_fixed == through_pysnmp
    assert fast_adaptive[0] == through_pysnmp[0]
    for adaptive, fixed in zip(fast_adaptive[1], through_pysnmp[1], strict=True):
        if fixed[2] is None:
            assert adaptive == fixed
        else:  # a walk that fails part way loses the failing request's rows, and requests differ in size
            assert adaptive[2] == fixed[2]
            shorter = min(len(adaptive[1]), len(fixed[1]))
            assert adaptive[1][:shorter] == fixed[1][:shorter]
    assert fallbacks == [0, 0]  # every real answer read by our own decoder
    assert any(walk[1] for walk in through_pysnmp[1])  # the recording has rows at all


@pytest.mark.parametrize("name", ["real/huawei-s12704", "real/zte-zxr10-5250", "real/hpe-procurve-516733-b21"])
def test_a_whole_switch_reads_the_same_through_both_paths(snmp_agents: Agents, name: str) -> None:
    target = snmp_agents.v2c(name, timeout=10, retries=2)

    async def main() -> tuple[SwitchReport, SwitchReport]:
        async with SnmpClient(adaptive=False, fast=False) as pysnmp, SnmpClient() as fast:
            return await walk_switch(pysnmp, target), await walk_switch(fast, target)

    through_pysnmp, fast = asyncio.run(main())
    assert through_pysnmp.complete and through_pysnmp.fdb
    assert without_timing(fast) == without_timing(through_pysnmp)
