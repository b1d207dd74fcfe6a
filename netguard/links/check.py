"""One link check over many institutions: ICMP, TCP and (when given) SNMP uplink health, then a verdict.

A plain async API, so a runner can schedule it, bound it and cancel it:
:func:`check_links` probes every gateway in one ICMP run (see
:mod:`netguard.links.icmp`) while the TCP connects run beside it on the same
event loop, waits for both, and classifies each institution with its
thresholds (:mod:`netguard.links.classify`). Thresholds are resolved before
anything is sent, so a bad override fails fast.

SNMP uplink health comes from an :class:`UplinkCollector`: any async
callable returning, per institution id, the
:class:`~netguard.links.records.UplinkHealth` of its uplink ports (the one
NetGuard ships is :class:`netguard.links.uplinks.SnmpUplinks`). It runs beside
the probes, so its two counter samples cost no extra time when its interval
is within the ICMP run; without one, links are judged on ICMP and TCP alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from netguard.links.classify import ThresholdPolicy, classify, judge_uplinks
from netguard.links.icmp import SocketKind, ping
from netguard.links.records import IcmpSettings, LinkResult, LinkState, LinkTarget, TcpResult, UplinkHealth
from netguard.links.tcp import DEFAULT_CONCURRENCY, connect_many


class UplinkCollector(Protocol):
    async def __call__(self, targets: Sequence[LinkTarget]) -> Mapping[str, Sequence[UplinkHealth]]: ...


@dataclass(frozen=True)
class CheckSettings:
    icmp: IcmpSettings = field(default_factory=IcmpSettings)
    tcp_timeout_ms: float = 1000.0
    tcp_concurrency: int = DEFAULT_CONCURRENCY
    socket_kind: SocketKind = "auto"


async def _no_uplinks(targets: Sequence[LinkTarget]) -> Mapping[str, Sequence[UplinkHealth]]:
    return {}


async def check_links(
    targets: Sequence[LinkTarget],
    *,
    settings: CheckSettings | None = None,
    policy: ThresholdPolicy | None = None,
    previous: Mapping[str, LinkState] | None = None,
    uplinks: UplinkCollector | None = None,
) -> list[LinkResult]:
    """Check every target; one result per target, in the order given.

    ``previous`` (institution id -> last known state) fills
    :attr:`LinkResult.previous_state`, from which state changes are told.
    """
    settings = settings or CheckSettings()
    policy = policy or ThresholdPolicy.build()
    limits = [policy.for_target(t) for t in targets]
    services = [s for t in targets for s in t.services]
    icmp, tcp, health = await asyncio.gather(
        ping([t.address for t in targets], settings.icmp, socket_kind=settings.socket_kind),
        connect_many(services, settings.tcp_timeout_ms, concurrency=settings.tcp_concurrency),
        (uplinks or _no_uplinks)(targets),
    )
    by_institution: dict[str, list[TcpResult]] = {}
    for result in tcp:
        by_institution.setdefault(result.target.institution, []).append(result)
    known = previous or {}
    results: list[LinkResult] = []
    for target, limit in zip(targets, limits, strict=True):
        tcp_results = tuple(by_institution.get(target.institution, ()))
        uplink_health = tuple(health.get(target.institution, ()))
        state, reasons = classify(target, icmp[target.address], limit, tcp_results, uplink_health)
        results.append(
            LinkResult(
                target=target,
                state=state,
                reasons=reasons,
                icmp=icmp[target.address],
                tcp=tcp_results,
                uplinks=uplink_health,
                uplink=judge_uplinks(uplink_health, limit),
                previous_state=known.get(target.institution),
                thresholds=limit.as_dict(),
            )
        )
    return results
