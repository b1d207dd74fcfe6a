"""Thresholds per tier, overrides per institution, and the up / degraded / down verdict.

A village clinic on a thin radio or ADSL uplink is not a county hospital on
fibre, so each tier has its own limits. The village limits are Zabbix's
defaults for its ICMP template (``{$ICMP_LOSS_WARN}`` 20 %,
``{$ICMP_RESPONSE_TIME_WARN}`` 0.15 s); township and county links are held
tighter:

=========  ===========  ============  =====================================
tier       loss warn    RTT warn      why
=========  ===========  ============  =====================================
county     > 1 %        > 20 ms       in-town fibre: any loss is a fault
township   > 5 %        > 50 ms       leased line or MSTP across the county
village    > 20 %       > 150 ms      Zabbix's defaults; radio/ADSL links
=========  ===========  ============  =====================================

The uplink ports' SNMP health (:mod:`netguard.links.uplinks`) has limits per
tier too: utilisation (the busier direction) at or above ``util_warn_pct``,
errors (in + out) or discards above their rate per second:

=========  ==========  ==========  ===========  ================================
tier       util warn   errors/s    discards/s   why
=========  ==========  ==========  ===========  ================================
county     ≥ 80 %      > 0         > 1          LibreNMS's 80 %; fibre has no errors
township   ≥ 80 %      > 1         > 5          a leased line: a few errors are noise
village    ≥ 90 %      > 2         > 10         Zabbix's {$IF.UTIL.MAX} 90, {$IF.ERRORS.WARN} 2
=========  ==========  ==========  ===========  ================================

Discards are held looser than errors: a busy port drops a little under bursts.

As in Zabbix's triggers, a value must *exceed* a limit. Verdict:

* **down**: no probe answered (loss at least ``loss_down``, 100 % by
  default: Zabbix's "unavailable by ICMP" needs every recent probe to fail),
  or every uplink port that could be read is down;
* **degraded**: loss above ``loss_warn``, mean RTT above ``rtt_warn_ms``,
  jitter above ``jitter_warn_ms`` (off by default), a service that refused or
  did not answer a TCP connect, a connect slower than ``connect_warn_ms``
  (the RTT limit unless set), or an uplink port down (others still up),
  utilised or erring beyond its tier's limits;
* **up** otherwise.

An uplink port whose agent did not answer is *unknown*: noted, never a
reason, so a dead SNMP agent does not make a working link degraded or down.

Every breach is a reason, so the table and the events say *why*, e.g.
``loss 35 % > 20 %``. Overrides are plain mappings (the ``links`` section of
``netguard.yaml`` is parsed by the caller): per tier and per institution, each
a mapping of the keys in :data:`KEYS` to numbers; an unknown key or a bad value
is a :class:`~netguard.errors.NetGuardError` naming where.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from netguard.errors import NetGuardError
from netguard.inventory.model import Tier
from netguard.links.records import IcmpStats, LinkState, LinkTarget, TcpResult, UplinkHealth, UplinkVerdict


@dataclass(frozen=True)
class Thresholds:
    loss_warn: float  # percent; degraded above it
    rtt_warn_ms: float  # mean RTT; degraded above it
    loss_down: float = 100.0  # percent; down at or above it
    jitter_warn_ms: float | None = None
    connect_warn_ms: float | None = None  # None: the RTT limit
    util_warn_pct: float = 80.0  # uplink utilisation, busier direction; degraded at or above it
    errors_warn_per_s: float = 0.0  # uplink errors in + out per second; degraded above it
    discards_warn_per_s: float = 1.0  # uplink discards in + out per second; degraded above it

    def as_dict(self) -> dict[str, float | None]:
        return dataclasses.asdict(self)


KEYS = tuple(f.name for f in dataclasses.fields(Thresholds))

DEFAULT_THRESHOLDS: dict[Tier, Thresholds] = {
    Tier.COUNTY: Thresholds(loss_warn=1.0, rtt_warn_ms=20.0),
    Tier.TOWNSHIP: Thresholds(loss_warn=5.0, rtt_warn_ms=50.0, errors_warn_per_s=1.0, discards_warn_per_s=5.0),
    Tier.VILLAGE: Thresholds(
        loss_warn=20.0, rtt_warn_ms=150.0, util_warn_pct=90.0, errors_warn_per_s=2.0, discards_warn_per_s=10.0
    ),
}


def _number(value: Any, key: str, where: str) -> float | None:
    if value is None and key in ("jitter_warn_ms", "connect_warn_ms"):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise NetGuardError(f"link thresholds for {where}: {key} must be a number, not {value!r}")
    number = float(value)
    if number < 0 or (key.startswith(("loss", "util")) and number > 100):
        raise NetGuardError(f"link thresholds for {where}: {key} {value!r} is out of range")
    return number


def _changes(changes: Any, where: str) -> dict[str, float | None]:
    if not isinstance(changes, Mapping):
        raise NetGuardError(f"link thresholds for {where} must be a mapping of {', '.join(KEYS)}")
    unknown = sorted(set(changes) - set(KEYS))
    if unknown:
        raise NetGuardError(f"link thresholds for {where}: unknown key '{unknown[0]}' (known: {', '.join(KEYS)})")
    return {str(key): _number(value, str(key), where) for key, value in changes.items()}


def _apply(base: Thresholds, changes: Mapping[str, float | None], where: str) -> Thresholds:
    result = dataclasses.replace(base, **changes)  # type: ignore[arg-type]
    if result.loss_down <= result.loss_warn:
        raise NetGuardError(f"link thresholds for {where}: loss_down must be above loss_warn")
    return result


@dataclass(frozen=True)
class ThresholdPolicy:
    """Limits per tier, and the changes an institution's override makes to its tier's limits."""

    tiers: Mapping[Tier, Thresholds]
    institutions: Mapping[str, Mapping[str, float | None]]

    @classmethod
    def build(
        cls,
        tiers: Mapping[str, Mapping[str, Any]] | None = None,
        institutions: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> ThresholdPolicy:
        """The defaults, changed by per-tier and per-institution overrides (institution over tier)."""
        for what, value in (("thresholds", tiers), ("institutions", institutions)):
            if value is not None and not isinstance(value, Mapping):
                raise NetGuardError(f"link {what} must be a mapping, not {type(value).__name__}")
        by_tier = dict(DEFAULT_THRESHOLDS)
        for name, changes in (tiers or {}).items():
            try:
                tier = Tier(name)
            except ValueError:
                raise NetGuardError(
                    f"link thresholds: unknown tier '{name}' (tiers: {', '.join(t.value for t in Tier)})"
                ) from None
            by_tier[tier] = _apply(by_tier[tier], _changes(changes, f"tier {name}"), f"tier {name}")
        per_institution = {
            str(inst_id): _changes(changes, f"institution {inst_id}")
            for inst_id, changes in (institutions or {}).items()
        }
        return cls(by_tier, per_institution)

    def for_target(self, target: LinkTarget) -> Thresholds:
        base = self.tiers[target.tier]
        changes = self.institutions.get(target.institution)
        return _apply(base, changes, f"institution {target.institution}") if changes else base

    def unknown_institutions(self, known: Iterable[str]) -> list[str]:
        """Overrides naming no institution of the inventory (reported, not silently ignored)."""
        return sorted(set(self.institutions) - set(known))


def _pct(value: float) -> str:
    return f"{value:g} %"


def classify(
    target: LinkTarget,
    icmp: IcmpStats,
    thresholds: Thresholds,
    tcp: Iterable[TcpResult] = (),
    uplinks: Iterable[UplinkHealth] = (),
) -> tuple[LinkState, tuple[str, ...]]:
    """The state of one institution's link and every reason for it."""
    reasons: list[str] = []
    state = LinkState.UP
    if icmp.loss >= thresholds.loss_down or icmp.received == 0:
        state = LinkState.DOWN
        detail = f"; {', '.join(icmp.errors)}" if icmp.errors else ""
        if icmp.received == 0:
            reasons.append(f"no reply to {icmp.sent} probe{'s' if icmp.sent != 1 else ''} to {target.address}{detail}")
        else:
            reasons.append(f"loss {_pct(icmp.loss)} ≥ {_pct(thresholds.loss_down)}{detail}")
    else:
        if icmp.loss > thresholds.loss_warn:
            reasons.append(f"loss {_pct(icmp.loss)} > {_pct(thresholds.loss_warn)}")
        if icmp.rtt_avg_ms is not None and icmp.rtt_avg_ms > thresholds.rtt_warn_ms:
            reasons.append(f"rtt {icmp.rtt_avg_ms:g} ms > {thresholds.rtt_warn_ms:g} ms")
        limit = thresholds.jitter_warn_ms
        if limit is not None and icmp.jitter_ms is not None and icmp.jitter_ms > limit:
            reasons.append(f"jitter {icmp.jitter_ms:g} ms > {limit:g} ms")
    connect_limit = thresholds.connect_warn_ms if thresholds.connect_warn_ms is not None else thresholds.rtt_warn_ms
    for r in tcp:
        where = f"{r.target.name} {r.target.address}:{r.target.port}"
        if not r.connected:
            reasons.append(f"{where}: {r.error}")
        elif r.connect_ms is not None and r.connect_ms > connect_limit:
            reasons.append(f"{where}: connect {r.connect_ms:g} ms > {connect_limit:g} ms")
    verdict = judge_uplinks(uplinks, thresholds)
    if verdict is not None:
        reasons.extend(verdict.reasons)
        if verdict.state == LinkState.DOWN.value:
            state = LinkState.DOWN
    if state is LinkState.UP and reasons:
        state = LinkState.DEGRADED
    return state, tuple(reasons)


def judge_uplinks(uplinks: Iterable[UplinkHealth], thresholds: Thresholds) -> UplinkVerdict | None:
    """The uplink part of the verdict; ``None`` when the institution has no uplink port to judge.

    Ports that could not be read are notes, not reasons. Every readable port
    down is ``down``; one of several down, or a limit breached, is
    ``degraded``; nothing readable at all is ``unknown``.
    """
    ports = list(uplinks)
    if not ports:
        return None
    reasons: list[str] = []
    notes: list[str] = []
    breached: set[tuple[str, str]] = set()
    known = [u for u in ports if u.oper_up is not None]
    for u in ports:
        where = f"uplink {u.switch} {u.interface}"
        if u.oper_up is None:
            notes.append(f"{where} unknown: {u.error or 'not read'}")
            continue
        if not u.oper_up:
            admin = " (disabled)" if u.admin_status == "down" else ""
            reasons.append(f"{where} is {u.oper_status or 'down'}{admin}")
            continue
        before = len(reasons)
        if u.utilisation_pct is not None and u.utilisation_pct >= thresholds.util_warn_pct:
            reasons.append(
                f"{where} at {_pct(round(u.utilisation_pct, 1))} utilisation ≥ {_pct(thresholds.util_warn_pct)}"
            )
        for label, rate, limit in (
            ("errors", u.errors_per_s, thresholds.errors_warn_per_s),
            ("discards", u.discards_per_s, thresholds.discards_warn_per_s),
        ):
            if rate is not None and rate > limit:
                reasons.append(f"{where}: {rate:g} {label}/s > {limit:g}")
        if len(reasons) > before:
            breached.add((u.switch, u.interface))
    if not known:
        state = "unknown"
    elif all(not u.oper_up for u in known):
        state = LinkState.DOWN.value
    elif reasons:
        state = LinkState.DEGRADED.value
    elif notes:
        state = "unknown"
    else:
        state = LinkState.UP.value
    return UplinkVerdict(state, tuple(reasons), tuple(notes), frozenset(breached))
