"""The records link checks produce: probe settings, per-target statistics, classified results.

All frozen. Statistics are computed once from the raw round-trip times when a
prober finishes (:meth:`IcmpStats.from_rtts`), so every consumer (table,
``--json``, state store, events) shows the same numbers.

Jitter is the mean absolute difference between consecutive round-trip times
of the replies received, in send order (RFC 3393's IP packet delay variation
between successive packets, without RFC 3550's smoothing); lost probes are
skipped, so it needs two replies and is ``None`` otherwise. A standard
deviation would mix a slow but steady link with an erratic one; consecutive
differences measure how much the delay moves from one probe to the next.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from netguard.errors import NetGuardError

if TYPE_CHECKING:  # only annotations: the prober then starts without loading the inventory package
    from netguard.inventory.model import IPAddress, Tier


class LinkState(StrEnum):
    UP = "up"
    DEGRADED = "degraded"
    DOWN = "down"


@dataclass(frozen=True)
class IcmpSettings:
    """fping's knobs: ``count`` (-c), ``interval_ms`` (-p, between probes to one
    target), ``timeout_ms`` (-t, per probe: a later reply counts as lost) and
    ``gap_ms`` (-i, the least time between two sends to any targets)."""

    count: int = 5
    interval_ms: float = 1000.0
    timeout_ms: float = 1000.0
    gap_ms: float = 2.0
    payload_size: int = 56  # ping's and fping's default: 64-byte ICMP messages

    def __post_init__(self) -> None:
        if self.count < 1:
            raise NetGuardError(f"count must be at least 1, not {self.count}")
        if self.interval_ms <= 0 or self.timeout_ms <= 0:
            raise NetGuardError("interval and timeout must be positive (milliseconds)")
        if self.gap_ms < 0:
            raise NetGuardError(f"the gap between sends cannot be negative ({self.gap_ms} ms)")
        if not 16 <= self.payload_size <= 1400:
            raise NetGuardError(f"payload size must be 16 to 1400 bytes, not {self.payload_size}")


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


@dataclass(frozen=True)
class IcmpStats:
    """What one target answered: probes sent and received, RTTs in ms (``None`` when no reply)."""

    address: IPAddress
    sent: int
    received: int
    rtts_ms: tuple[float | None, ...] = ()  # per probe in send order; None = lost
    errors: tuple[str, ...] = ()  # distinct send errors and ICMP errors seen, e.g. "no route to host"
    rtt_min_ms: float | None = None
    rtt_avg_ms: float | None = None
    rtt_max_ms: float | None = None
    jitter_ms: float | None = None

    @property
    def loss(self) -> float:
        """Loss in percent of the probes sent (100 when nothing could be sent)."""
        if self.sent == 0:
            return 100.0
        return round(100.0 * (self.sent - self.received) / self.sent, 3)

    @classmethod
    def from_rtts(
        cls, address: IPAddress, rtts: Sequence[float | None], sent: int, errors: Sequence[str] = ()
    ) -> IcmpStats:
        got = [r for r in rtts if r is not None]
        diffs = [abs(b - a) for a, b in itertools.pairwise(got)]
        return cls(
            address=address,
            sent=sent,
            received=len(got),
            rtts_ms=tuple(_rounded(r) for r in rtts),
            errors=tuple(dict.fromkeys(errors)),
            rtt_min_ms=_rounded(min(got)) if got else None,
            rtt_avg_ms=_rounded(sum(got) / len(got)) if got else None,
            rtt_max_ms=_rounded(max(got)) if got else None,
            jitter_ms=_rounded(sum(diffs) / len(diffs)) if diffs else None,
        )


@dataclass(frozen=True)
class TcpTarget:
    """One service to connect to: which server and service of which institution."""

    institution: str
    server: str
    service: str
    address: IPAddress
    port: int

    @property
    def name(self) -> str:
        return f"{self.server}/{self.service}"


@dataclass(frozen=True)
class TcpResult:
    target: TcpTarget
    connected: bool
    connect_ms: float | None = None
    error: str | None = None  # "connection refused", "timed out after 1000 ms", ...


@dataclass(frozen=True)
class UplinkHealth:
    """SNMP health of one uplink port of an institution's switch (see :mod:`netguard.links.uplinks`).

    ``oper_up`` is ``None`` when the port could not be read (agent silent,
    port not found): then ``error`` says why and the port's state is unknown,
    which never makes the link down. Rates are per second over the interval
    between the two counter samples; ``utilisation_pct`` is the busier
    direction over the port's speed (``None`` when the speed is unknown).
    """

    switch: str
    interface: str
    oper_up: bool | None
    utilisation_pct: float | None = None
    errors_per_s: float | None = None  # in + out
    discards_per_s: float | None = None  # in + out
    ifindex: int | None = None
    oper_status: str | None = None  # IF-MIB names: up, down, lowerLayerDown ...
    admin_status: str | None = None
    speed_mbps: float | None = None
    in_bps: float | None = None
    out_bps: float | None = None
    counters: str | None = None  # "64-bit" (ifHC*) or "32-bit" (ifIn/OutOctets, wrap allowed)
    interval_s: float | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "switch": self.switch,
            "interface": self.interface,
            "ifindex": self.ifindex,
            "oper_status": self.oper_status if self.oper_up is not None else "unknown",
            "admin_status": self.admin_status,
            "speed_mbps": self.speed_mbps,
            "in_bps": self.in_bps,
            "out_bps": self.out_bps,
            "utilisation_pct": self.utilisation_pct,
            "errors_per_s": self.errors_per_s,
            "discards_per_s": self.discards_per_s,
            "counters": self.counters,
            "interval_s": self.interval_s,
            "error": self.error,
        }


@dataclass(frozen=True)
class UplinkVerdict:
    """The uplink part of a link's verdict: ``up``, ``degraded``, ``down`` or ``unknown`` (not read)."""

    state: str
    reasons: tuple[str, ...] = ()  # breaches: they also make the link degraded or down
    notes: tuple[str, ...] = ()  # ports that could not be read, and why
    breached: frozenset[tuple[str, str]] = frozenset()  # (switch, interface) of up ports beyond a limit


@dataclass(frozen=True)
class LinkTarget:
    """One institution's link as the checks see it: the address to ping and the services to connect to."""

    institution: str
    name: str
    tier: Tier
    township: str | None
    address: IPAddress
    services: tuple[TcpTarget, ...] = ()
    skipped_services: tuple[str, ...] = ()  # UDP-only services no connect can check, e.g. "ntp01/ntp udp/123"


@dataclass(frozen=True)
class LinkResult:
    """An institution's link, classified."""

    target: LinkTarget
    state: LinkState
    reasons: tuple[str, ...]
    icmp: IcmpStats
    tcp: tuple[TcpResult, ...] = ()
    uplinks: tuple[UplinkHealth, ...] = ()
    uplink: UplinkVerdict | None = None  # None: no uplink port of this institution is in the inventory
    previous_state: LinkState | None = None
    thresholds: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)

    @property
    def explanation(self) -> str:
        """The reasons, then the uplink ports that could not be read: what a table's reason column shows."""
        return "; ".join((*self.reasons, *(self.uplink.notes if self.uplink else ())))

    @property
    def changed(self) -> bool:
        """True when a previous state is known and differs."""
        return self.previous_state is not None and self.previous_state is not self.state

    def as_dict(self) -> dict[str, Any]:
        """The ``--json`` object: one per institution, flat fields first."""
        t = self.target
        return {
            "institution": t.institution,
            "name": t.name,
            "tier": t.tier.value,
            "township": t.township,
            "target": str(t.address),
            "state": self.state.value,
            "reason": self.reason,
            "previous_state": self.previous_state.value if self.previous_state else None,
            "sent": self.icmp.sent,
            "received": self.icmp.received,
            "loss": self.icmp.loss,
            "rtt_min_ms": self.icmp.rtt_min_ms,
            "rtt_avg_ms": self.icmp.rtt_avg_ms,
            "rtt_max_ms": self.icmp.rtt_max_ms,
            "jitter_ms": self.icmp.jitter_ms,
            "rtts_ms": list(self.icmp.rtts_ms),
            "errors": list(self.icmp.errors),
            "services": [
                {
                    "server": r.target.server,
                    "service": r.target.service,
                    "address": str(r.target.address),
                    "port": r.target.port,
                    "connected": r.connected,
                    "connect_ms": r.connect_ms,
                    "error": r.error,
                }
                for r in self.tcp
            ],
            "services_not_checked": list(t.skipped_services),
            "uplink_state": self.uplink.state if self.uplink else None,
            "uplink_reason": "; ".join((*self.uplink.reasons, *self.uplink.notes)) if self.uplink else None,
            "uplinks": [u.as_dict() for u in self.uplinks],
            "thresholds": self.thresholds,
        }
