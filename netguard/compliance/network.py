"""Evidence from the network: a link check, default-community SNMP probes, SSH connects from the scanner.

All three run on one event loop (the scan gathers them), each bounded:

* ``links``: :func:`netguard.links.check.check_links` over every institution,
  with the ``links`` section's probes and thresholds and, when given, the
  uplink ports' SNMP health. One observation per institution: its state, loss
  and RTT, and the uplink part of the verdict.
* ``snmp-communities`` (Lynis SNMP-3306): a v2c GET of sysObjectID.0 to each
  inventory switch's management address with ``public`` and with
  ``private``, no retries. In v2c an agent stays silent for a community it
  does not know, so any answer (a value, or an error-status such as
  noSuchName) means the community is accepted; silence until the timeout
  means it is not. Which default answered is not written anywhere: on a
  switch configured with one of them it *is* its community, a secret.
* ``ssh-exposure`` (8.1.4.4 c): a TCP connect to every ``ssh`` service of
  every server. The scanner is not the bastion, so a connect that succeeds
  means the server accepts SSH from outside the bastion; refused, filtered
  (no answer) or unreachable all pass. The bastion's own SSH is meant to be
  reachable and is not applicable.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

from netguard.compliance.model import Evidence, Observation, Target
from netguard.discovery.oids import SYS_OBJECT_ID
from netguard.inventory import Inventory
from netguard.inventory.model import Institution, Switch
from netguard.links.check import CheckSettings, UplinkCollector, check_links
from netguard.links.classify import ThresholdPolicy
from netguard.links.records import LinkResult, LinkState, TcpTarget
from netguard.links.targets import link_targets
from netguard.links.tcp import connect_many
from netguard.secrets import Secret
from netguard.snmp import ProblemKind, SnmpError, SnmpTarget
from netguard.snmp.client import SnmpClient

DEFAULT_COMMUNITIES = ("public", "private")
BASTION_ROLE = "bastion"


def institution_target(inst: Institution) -> Target:
    return Target("institution", inst.id, inst.name, inst.id, inst.tier.value, inst.township)


def _member(kind: str, record_id: str, name: str | None, inst: Institution) -> Target:
    assert kind in ("switch", "server")
    return Target(kind, record_id, name or record_id, inst.id, inst.tier.value, inst.township)  # type: ignore[arg-type]


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:g} ms"


async def collect_links(
    inv: Inventory,
    settings: CheckSettings,
    policy: ThresholdPolicy,
    previous: Mapping[str, LinkState] | None = None,
    uplinks: UplinkCollector | None = None,
) -> tuple[Evidence, list[LinkResult]]:
    clock = time.perf_counter()
    results = await check_links(link_targets(inv), settings=settings, policy=policy, previous=previous, uplinks=uplinks)
    observations = []
    for r in results:
        facts: dict[str, object] = {"link_state": r.state.value, "link_loss": r.icmp.loss}
        if r.icmp.rtt_avg_ms is not None:
            facts["link_rtt_avg_ms"] = r.icmp.rtt_avg_ms
        if r.uplink is not None:
            facts["uplink_state"] = r.uplink.state
        why = f" ({r.reason})" if r.reasons else ""
        uplink = ""
        if r.uplink is not None:
            notes = f" ({'; '.join(r.uplink.notes)})" if r.uplink.notes else ""
            uplink = f"; uplink {r.uplink.state}{notes}"
        summary = (
            f"gateway {r.target.address}: {r.state.value}, loss {r.icmp.loss:g} %, "
            f"rtt avg {_ms(r.icmp.rtt_avg_ms)}{why}{uplink}"
        )
        observations.append(Observation(institution_target(inv[r.target.institution]), facts, summary))
    return Evidence("links", tuple(observations), seconds=time.perf_counter() - clock), results


async def _answers(client: SnmpClient, target: SnmpTarget) -> bool:
    try:
        await client.get(target, [SYS_OBJECT_ID])
    except SnmpError as exc:
        if exc.problem.kind is ProblemKind.TIMEOUT:
            return False
        if exc.problem.kind in (ProblemKind.REFUSED, ProblemKind.MALFORMED):
            return True  # it answered, so it took the community
        raise
    return True


async def _probe_switch(client: SnmpClient, switch: Switch, timeout_s: float, gate: asyncio.Semaphore) -> int:
    async def one(community: str) -> bool:
        target = SnmpTarget(
            host=str(switch.management),
            port=switch.snmp.port,
            version="2c",
            community=Secret(community),
            timeout=timeout_s,
            retries=0,
        )
        async with gate:
            return await _answers(client, target)

    found = await asyncio.gather(*(one(c) for c in DEFAULT_COMMUNITIES))
    return sum(found)


async def collect_snmp_communities(inv: Inventory, timeout_ms: float, concurrency: int) -> Evidence:
    clock = time.perf_counter()
    switches = inv.switches()
    gate = asyncio.Semaphore(max(1, concurrency))
    async with SnmpClient() as client:
        if switches:
            # The one v2c engine every probe shares, now, in this task's first step: made at the first GET,
            # its 0.2-0.6 s of CPU stalled the loop while the SSH connects of ssh-exposure were being timed.
            client.prepare([SnmpTarget(host="127.0.0.1", community=Secret("public"))])
        outcomes = await asyncio.gather(
            *(_probe_switch(client, s, timeout_ms / 1000, gate) for s in switches), return_exceptions=True
        )
    observations = []
    for switch, outcome in zip(switches, outcomes, strict=True):
        target = _member("switch", switch.id, switch.name, switches.institution_of(switch))
        where = f"{switch.management} udp/{switch.snmp.port}"
        if isinstance(outcome, SnmpError):
            observations.append(Observation(target, summary=where, error=str(outcome.problem)))
        elif isinstance(outcome, BaseException):
            raise outcome
        else:
            n = len(DEFAULT_COMMUNITIES)
            summary = (
                f"{where}: answers SNMP v2c with {outcome} of the {n} default communities"
                if outcome
                else f"{where}: no answer to SNMP v2c with the default communities within {timeout_ms:g} ms"
            )
            observations.append(Observation(target, {"snmp_default_answers": outcome}, summary))
    return Evidence("snmp-communities", tuple(observations), seconds=time.perf_counter() - clock)


async def collect_ssh_exposure(inv: Inventory, timeout_ms: float, concurrency: int) -> Evidence:
    clock = time.perf_counter()
    servers = inv.servers()
    probes: list[TcpTarget] = []
    for server in servers:
        if server.role == BASTION_ROLE:
            continue
        for service in server.services:
            if service.protocol == "ssh":
                probes.append(TcpTarget(server.institution, server.id, service.name, service.address, service.port))
    results = await connect_many(probes, timeout_ms, concurrency=concurrency)
    by_server: dict[str, list[str]] = {}
    open_servers: set[str] = set()
    for r in results:
        t = r.target
        seen = (
            f"{t.service} {t.address}:{t.port} accepted a connection from the scanner in {_ms(r.connect_ms)}"
            if r.connected
            else f"{t.service} {t.address}:{t.port}: {r.error}"
        )
        by_server.setdefault(t.server, []).append(seen)
        if r.connected:
            open_servers.add(t.server)
    observations: list[Observation] = []
    for server in servers:
        target = _member("server", server.id, server.name, servers.institution_of(server))
        if server.role == BASTION_ROLE:
            observations.append(
                Observation(target, summary="the bastion itself: its SSH is meant to be reachable", applicable=False)
            )
        elif server.id in by_server:
            facts = {"ssh_open_to_scanner": server.id in open_servers, "role": server.role or ""}
            observations.append(Observation(target, facts, "; ".join(by_server[server.id])))
    return Evidence("ssh-exposure", tuple(observations), seconds=time.perf_counter() - clock)
