"""The pytest fixture that serves real and edge-case recordings from one snmpsim process.

``snmp_agents`` (session scope) copies the recordings of real switches from
PyPI snmpsim-data (only the subtrees discovery reads) and writes the
edge-case recordings of :mod:`tests.harness.snmp_recordings`, starts snmpsim on a
free loopback port and hands out :class:`Agents`, which builds targets:
``agents.v2c("real/huawei-s12704")`` (the community picks the recording),
``agents.v3("edge/quirks")`` (the v3 context picks it). Import the fixture
into a conftest: ``from tests.harness.snmp_fixtures import snmp_agents``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from netguard.discovery.oids import SYS_DESCR
from netguard.secrets import Secret
from netguard.snmp import Outcome, SnmpTarget, run_bounded
from netguard.snmp.client import SnmpClient
from tests.harness import snmp_recordings as recordings
from tests.harness.peers import PeerUnavailable, require_peer
from tests.harness.snmpsim import (
    V3_AUTH_KEY,
    V3_AUTH_PROTOCOL,
    V3_PRIV_KEY,
    V3_PRIV_PROTOCOL,
    V3_USER,
    SnmpSim,
    copy_recording,
)

# Real switches, one or more per vendor the county buys: which tables each holds is in the test docstrings.
REAL_RECORDINGS = (
    "huawei-s12704",
    "huawei-s5720",
    "h3c-e528-2",
    "h3c-comware-7-1-075",
    "ruijie-s5750-24gt12sfp",
    "zte-zxr10-5250",
    "maipu-sm4200-16gef8ge-ac",
    "bdcom-s5612",
    "cisco-c3750",
    "cisco-c3560",
    "cisco-n5000",
    "hpe-procurve-516733-b21",
    "dlink-des3200",
)
HUGE_FDB_ROWS = 4000


@dataclass(frozen=True)
class Agents:
    sim: SnmpSim
    data_dir: Path

    @property
    def port(self) -> int:
        return self.sim.port

    def recording(self, name: str) -> Path:
        return self.data_dir / f"{name}.snmprec"

    def v2c(self, name: str, *, timeout: float = 3.0, retries: int = 1, port: int | None = None) -> SnmpTarget:
        return SnmpTarget("127.0.0.1", port or self.sim.port, community=Secret(name), timeout=timeout, retries=retries)

    def v3(
        self,
        name: str,
        *,
        user: str = V3_USER,
        auth_key: str = V3_AUTH_KEY,
        priv_key: str = V3_PRIV_KEY,
        timeout: float = 3.0,
        retries: int = 1,
    ) -> SnmpTarget:
        return SnmpTarget(
            "127.0.0.1",
            self.sim.port,
            version="3",
            user=user,
            auth_protocol=V3_AUTH_PROTOCOL,
            auth_key=Secret(auth_key),
            priv_protocol=V3_PRIV_PROTOCOL,
            priv_key=Secret(priv_key),
            context=name,
            timeout=timeout,
            retries=retries,
        )


def warm(sim: SnmpSim, data: Path) -> None:
    """One GET per recording: snmpsim opens a recording's index on the first request for it and drops
    that request, which a test asking with a short timeout and no retry would take for a dead agent."""
    names = [str(p.relative_to(data).with_suffix("")) for p in sorted(data.rglob("*.snmprec"))]

    async def main() -> list[Outcome[object]]:
        async with SnmpClient() as client:
            targets = [SnmpTarget("127.0.0.1", sim.port, community=Secret(n), timeout=2, retries=15) for n in names]
            return await run_bounded(targets, lambda t: client.get(t, [SYS_DESCR]), label=lambda t: t.label)

    failed = [o.problem for o in asyncio.run(main()) if o.problem is not None]
    if failed:
        sim.stop()
        raise PeerUnavailable(f"snmpsim does not answer: {failed[0]}")


@pytest.fixture(scope="session")
def snmp_agents(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agents]:
    root = tmp_path_factory.mktemp("snmpsim")
    data = root / "data"
    reason = ""
    try:
        for name in REAL_RECORDINGS:
            copy_recording(name, data / "real")
        recordings.write(data / "edge" / "quirks.snmprec", recordings.quirks())
        recordings.write(data / "edge" / "partial.snmprec", recordings.partial_fdb())
        recordings.write(data / "edge" / "huge.snmprec", recordings.huge_fdb(HUGE_FDB_ROWS))
        sim = SnmpSim(data, root / "run").start()
        warm(sim, data)
    except PeerUnavailable as exc:
        reason = f"snmpsim unavailable: {exc}"
    if reason:
        require_peer(reason)
    yield Agents(sim, data)
    sim.stop()
