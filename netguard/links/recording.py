"""Link results into the state store (check results) and the event store (``link`` events).

State store: one scan per check run, labelled ``links``, with one result per
institution under check id ``link`` (``pass`` when up, ``fail`` when degraded
or down; the evidence holds the state, reason and numbers) and one per TCP
service under ``link.tcp`` (target ``institution/server/service``). Compliance
(等保 8.1.5.4 c, "every institution's link up") and scan diffs read these.

The previous state of each institution is the ``state`` in its newest
``link`` result; :func:`previous_states` walks the stored scans newest first
and stops as soon as every institution asked about is found (or after
``max_scans``), so a run filtered to one township still finds the last state of
each of its institutions even if the newest scan covered another township.

Events: a ``sample`` per institution (ICMP numbers, state, tier, township,
and the uplink part of the verdict as ``netguard.link.uplink.state``), per
TCP service (connect time as ``event.duration``) and per uplink port (probe
``snmp``: the switch as ``observer.name``, the port as
``observer.ingress.interface.name``, its status, rates and utilisation; an
unread port has outcome ``unknown`` and the reason in ``error.message``),
plus a ``state-change`` when the state differs from the previous one. An institution
seen for the first time has no previous state and so no state change.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from netguard.events import Event, EventStore, WriteResult, make_event
from netguard.links.records import LinkResult, LinkState, TcpResult, UplinkHealth, UplinkVerdict
from netguard.store.checks import CheckResult, CheckResultRepository, ScanInfo

SCAN_LABEL = "links"
CHECK_LINK = "link"
CHECK_TCP = "link.tcp"
DEFAULT_MAX_SCANS = 200


def new_scan_id(now: dt.datetime) -> str:
    return f"links-{now.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}"


def previous_states(
    checks: CheckResultRepository, institutions: Iterable[str], *, max_scans: int = DEFAULT_MAX_SCANS
) -> dict[str, LinkState]:
    """The newest stored state of each institution, where one is stored."""
    wanted = set(institutions)
    found: dict[str, LinkState] = {}
    for scan in checks.scans(limit=max_scans):
        if not wanted - found.keys():
            break
        if scan.label != SCAN_LABEL:
            continue
        for result in checks.results(scan.scan_id):
            if result.check_id != CHECK_LINK or result.target not in wanted or result.target in found:
                continue
            try:
                found[result.target] = LinkState(str(result.evidence.get("state")))
            except ValueError:
                continue  # a result written by something else under our check id: no state to compare
    return found


def _tcp_target(result: TcpResult) -> str:
    t = result.target
    return f"{t.institution}/{t.server}/{t.service}"


def _tcp_evidence(result: TcpResult) -> dict[str, object]:
    t = result.target
    return {
        "address": str(t.address),
        "port": t.port,
        "connected": result.connected,
        "connect_ms": result.connect_ms,
        "error": result.error,
    }


def check_results(results: Sequence[LinkResult], at: dt.datetime) -> list[CheckResult]:
    rows: list[CheckResult] = []
    for r in results:
        evidence = r.as_dict()
        evidence.pop("institution")
        rows.append(CheckResult(CHECK_LINK, r.target.institution, "pass" if r.state is LinkState.UP else "fail",
                                evidence, at))  # fmt: skip
        for t in r.tcp:
            rows.append(CheckResult(CHECK_TCP, _tcp_target(t), "pass" if t.connected else "fail", _tcp_evidence(t), at))
    return rows


def _port_state(u: UplinkHealth, verdict: UplinkVerdict | None) -> str:
    if u.oper_up is None:
        return "unknown"
    if not u.oper_up:
        return LinkState.DOWN.value
    breached = verdict is not None and (u.switch, u.interface) in verdict.breached
    return LinkState.DEGRADED.value if breached else LinkState.UP.value


def _uplink_event(r: LinkResult, u: UplinkHealth, at: dt.datetime) -> Event:
    state = _port_state(u, r.uplink)
    if u.oper_up is None:
        said = f"unknown: {u.error}"
    else:
        util = f", {u.utilisation_pct:g} % utilised" if u.utilisation_pct is not None else ""
        said = f"{u.oper_status}{util}"
    return make_event(
        "link",
        {
            **_common(r),
            "event.action": "sample",
            "event.outcome": "unknown" if u.oper_up is None else "success" if u.oper_up else "failure",
            "netguard.link.target": f"{r.target.institution}/{u.switch}/{u.interface}",
            "netguard.link.probe": "snmp",
            "network.protocol": "snmp",
            "observer.name": u.switch,
            "observer.ingress.interface.name": u.interface,
            "netguard.link.state": state,
            "netguard.link.uplink.oper_status": u.oper_status if u.oper_up is not None else None,
            "netguard.link.uplink.utilisation_pct": u.utilisation_pct,
            "netguard.link.uplink.in_bps": u.in_bps,
            "netguard.link.uplink.out_bps": u.out_bps,
            "netguard.link.uplink.errors_per_s": u.errors_per_s,
            "netguard.link.uplink.discards_per_s": u.discards_per_s,
            "netguard.link.uplink.counters": u.counters,
            "error.message": u.error,
            "message": f"{r.target.institution} uplink {u.switch} {u.interface}: {said}",
        },
        timestamp=at,
    )


def _common(r: LinkResult) -> dict[str, object]:
    return {
        "organization.id": r.target.institution,
        "organization.name": r.target.name,
        "netguard.tier": r.target.tier.value,
        "netguard.township": r.target.township,
    }


def link_events(results: Sequence[LinkResult], at: dt.datetime) -> list[Event]:
    events: list[Event] = []
    for r in results:
        icmp = r.icmp
        rtt = f", rtt {icmp.rtt_avg_ms:g} ms" if icmp.rtt_avg_ms is not None else ""
        why = f" ({r.reason})" if r.reasons else ""
        events.append(
            make_event(
                "link",
                {
                    **_common(r),
                    "event.action": "sample",
                    "event.outcome": "success" if icmp.received else "failure",
                    "netguard.link.target": r.target.institution,
                    "netguard.link.probe": "icmp",
                    "network.protocol": "icmp",
                    "destination.ip": str(r.target.address),
                    "netguard.link.loss": icmp.loss,
                    "netguard.link.rtt_avg_ms": icmp.rtt_avg_ms,
                    "netguard.link.rtt_max_ms": icmp.rtt_max_ms,
                    "netguard.link.jitter_ms": icmp.jitter_ms,
                    "netguard.link.state": r.state.value,
                    "netguard.link.uplink.state": r.uplink.state if r.uplink else None,
                    "message": f"{r.target.institution} {r.target.address}: {r.state.value}, "
                    f"loss {icmp.loss:g} %{rtt}{why}",
                },
                timestamp=at,
            )
        )
        for t in r.tcp:
            events.append(
                make_event(
                    "link",
                    {
                        **_common(r),
                        "event.action": "sample",
                        "event.outcome": "success" if t.connected else "failure",
                        "event.duration": round(t.connect_ms * 1e6) if t.connect_ms is not None else None,
                        "netguard.link.target": _tcp_target(t),
                        "netguard.link.probe": "tcp",
                        "network.protocol": "tcp",
                        "destination.ip": str(t.target.address),
                        "destination.port": t.target.port,
                        "netguard.link.state": LinkState.UP.value if t.connected else LinkState.DOWN.value,
                        "error.message": t.error,
                        "message": f"{_tcp_target(t)} {t.target.address}:{t.target.port}: "
                        + (f"connected in {t.connect_ms:g} ms" if t.connected else str(t.error)),
                    },
                    timestamp=at,
                )
            )
        events.extend(_uplink_event(r, u, at) for u in r.uplinks)
        if r.changed and r.previous_state is not None:
            events.append(
                make_event(
                    "link",
                    {
                        **_common(r),
                        "event.action": "state-change",
                        "netguard.link.target": r.target.institution,
                        "netguard.link.probe": "icmp",
                        "destination.ip": str(r.target.address),
                        "netguard.link.state": r.state.value,
                        "netguard.link.previous_state": r.previous_state.value,
                        "netguard.link.loss": icmp.loss,
                        "netguard.link.rtt_avg_ms": icmp.rtt_avg_ms,
                        "message": f"{r.target.institution} link {r.previous_state.value} → {r.state.value}{why}",
                    },
                    timestamp=at,
                )
            )
    return events


@dataclass(frozen=True)
class Recorded:
    scan: ScanInfo
    events: WriteResult = field(default_factory=WriteResult)
    state_changes: int = 0


def record(
    results: Sequence[LinkResult],
    *,
    checks: CheckResultRepository,
    events: EventStore,
    started: dt.datetime,
    scan_id: str | None = None,
) -> Recorded:
    """Store the run's check results (one transaction), then its events; write failures are counted, not raised."""
    at = started.astimezone(dt.UTC)
    scan = checks.store_scan(scan_id or new_scan_id(at), check_results(results, at), started=at, label=SCAN_LABEL)
    written = events.write(link_events(results, at))
    return Recorded(scan, written, sum(1 for r in results if r.changed))
