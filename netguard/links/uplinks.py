"""SNMP health of institutions' uplink ports: status, errors, discards, utilisation from two counter samples.

Which ports: every switch of an institution whose inventory entry lists
``uplinks`` (port names, as discovery and the eviction guards read them); an
institution without one has no uplink part in its verdict.

How, per switch (at most ``concurrency`` switches at once, each within
``deadline`` seconds, one SNMP client for all):

1. walk ifName and ifDescr together and find each listed port as discovery
   does: its ifName, its ifDescr (case-insensitive) or its ifIndex as text. A
   name that matches nothing is an unknown port, with that reason;
2. sample 1: one GET of every port's ifOperStatus, ifAdminStatus, ifHighSpeed,
   ifSpeed, ifHCInOctets/ifHCOutOctets (Counter64), ifInOctets/ifOutOctets,
   ifInErrors/ifOutErrors and ifInDiscards/ifOutDiscards (Counter32), timed
   with the monotonic clock when the answer arrives;
3. wait ``interval_s`` from that answer, then sample 2, the same GET;
4. per port: rates are (second - first) / elapsed seconds. A counter that went
   down has wrapped once (modulo 2^64 for HC, 2^32 for the others): a 32-bit
   octet counter wraps every 34 s at 1 Gbit/s, so the interval must stay well
   under that on 32-bit agents (the default, 4 s for 5 probes a second apart, does). The
   HC counters are used when both samples have them, else the 32-bit ones.
   Utilisation is the busier direction's bits per second over the speed
   (ifHighSpeed Mbit/s, else ifSpeed bit/s unless 0 or its 4294967295 "faster
   than this"); an unknown speed leaves utilisation unknown, never 0. The
   status is taken from the second sample.

A switch that does not answer (timeout, wrong credentials, a secret that
cannot be resolved) makes each of its listed ports unknown with the reason;
it never raises, and the link's state stays what ICMP and TCP say.

The collector runs on the same event loop as the ICMP and TCP probes, so the
pysnmp engines (about 0.2 s of CPU each, one for v2c and one per v3
credential set) are made before the run, in :meth:`SnmpUplinks.prepare`:
made at the first request instead, they stalled the loop for up to 3 s here,
and a TCP connect that finished meanwhile was timed at 3 s.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from netguard.discovery.decode import text_from_value
from netguard.discovery.oids import IF_ADMIN_STATUS, IF_DESCR, IF_HIGH_SPEED, IF_NAME, IF_OPER_STATUS, IF_SPEED
from netguard.discovery.uplinks import names_port
from netguard.errors import NetGuardError
from netguard.inventory import Inventory
from netguard.links.records import IcmpSettings, LinkTarget, UplinkHealth
from netguard.links.settings import UplinkSettings
from netguard.secrets import SecretResolver
from netguard.snmp import Outcome, SnmpError, SnmpTarget, run_bounded, target_for_switch
from netguard.snmp.client import SnmpClient
from netguard.snmp.values import Oid, Value

_IF_TABLE = (1, 3, 6, 1, 2, 1, 2, 2, 1)
_IFX_TABLE = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1)
COLUMNS: dict[str, Oid] = {
    "speed": IF_SPEED,
    "admin": IF_ADMIN_STATUS,
    "oper": IF_OPER_STATUS,
    "in_octets": (*_IF_TABLE, 10),
    "in_discards": (*_IF_TABLE, 13),
    "in_errors": (*_IF_TABLE, 14),
    "out_octets": (*_IF_TABLE, 16),
    "out_discards": (*_IF_TABLE, 19),
    "out_errors": (*_IF_TABLE, 20),
    "hc_in_octets": (*_IFX_TABLE, 6),
    "hc_out_octets": (*_IFX_TABLE, 10),
    "high_speed": IF_HIGH_SPEED,
}
STATUS = {1: "up", 2: "down", 3: "testing", 4: "unknown", 5: "dormant", 6: "notPresent", 7: "lowerLayerDown"}
GET_CHUNK = 36  # var-binds per GET: three ports' worth, well inside one UDP datagram
_GAUGE_MAX = 4294967295
WRAP32 = 2**32
WRAP64 = 2**64


@dataclass(frozen=True)
class UplinkJob:
    """One switch to read: its inventory id, institution, target (None: ``problem`` says why) and port names."""

    switch: str
    institution: str
    ports: tuple[str, ...]
    target: SnmpTarget | None
    problem: str | None = None


@dataclass(frozen=True)
class Sample:
    at: float  # monotonic seconds when the answer arrived
    values: Mapping[Oid, Value]


def uplink_jobs(inv: Inventory, resolver: SecretResolver, *, timeout_s: float, retries: int) -> list[UplinkJob]:
    """A job per switch that lists uplinks, in the institutions of ``inv`` (a view is fine)."""
    jobs: list[UplinkJob] = []
    wanted = {i.id for i in inv}
    for switch in inv.switches():
        if not switch.uplinks or switch.institution not in wanted:
            continue
        try:
            target: SnmpTarget | None = target_for_switch(switch, resolver, timeout=timeout_s, retries=retries)
            problem = None
        except (NetGuardError, OSError, ValueError) as exc:
            # A secret not resolved or not readable, credentials the inventory got wrong: the messages name the
            # reference or the file, never a value. Anything else is a bug, not a port's note.
            target, problem = None, f"SNMP credentials: {exc}"
        jobs.append(UplinkJob(switch.id, switch.institution, switch.uplinks, target, problem))
    return jobs


def snmp_uplinks(
    inv: Inventory, resolver: SecretResolver, settings: UplinkSettings, icmp: IcmpSettings
) -> SnmpUplinks | None:
    """The collector for the switches of ``inv`` that list uplinks, sampling over the span of the ICMP
    run ``icmp`` describes (unless ``settings`` fixes the interval); ``None`` when no switch lists one."""
    jobs = uplink_jobs(inv, resolver, timeout_s=settings.timeout_ms / 1000, retries=settings.retries)
    return SnmpUplinks(jobs, interval_s=settings.interval_for(icmp)) if jobs else None


def counter_rate(first: Value, second: Value, seconds: float, wrap: int) -> float | None:
    """Increase per second of a counter between two samples, one wrap allowed; None when either is missing."""
    if not isinstance(first, int) or not isinstance(second, int) or seconds <= 0:
        return None
    delta = second - first
    if delta < 0:
        delta += wrap
    if delta < 0:
        return None  # more than one wrap, or not a counter of this width
    return delta / seconds


def speed_mbps(values: Mapping[Oid, Value], ifindex: int) -> float | None:
    high = values.get((*COLUMNS["high_speed"], ifindex))
    if isinstance(high, int) and high > 0:
        return float(high)
    low = values.get((*COLUMNS["speed"], ifindex))
    if isinstance(low, int) and 0 < low < _GAUGE_MAX:
        return low / 1e6
    return None


def _sum(*rates: float | None) -> float | None:
    known = [r for r in rates if r is not None]
    return round(sum(known), 3) if known else None


def port_health(switch: str, name: str, ifindex: int, first: Sample, second: Sample) -> UplinkHealth:
    """One port's health from two samples (pure: tested without an agent)."""

    def both(column: str) -> tuple[Value, Value]:
        oid = (*COLUMNS[column], ifindex)
        return first.values.get(oid), second.values.get(oid)

    seconds = second.at - first.at
    oper = second.values.get((*COLUMNS["oper"], ifindex))
    admin = second.values.get((*COLUMNS["admin"], ifindex))
    if not isinstance(oper, int):
        return UplinkHealth(switch, name, None, ifindex=ifindex, error="the agent gave no ifOperStatus for it")
    hc_in, hc_out = both("hc_in_octets"), both("hc_out_octets")
    if all(isinstance(v, int) for v in (*hc_in, *hc_out)):
        counters, wrap, in_octets, out_octets = "64-bit", WRAP64, hc_in, hc_out
    else:
        counters, wrap, in_octets, out_octets = "32-bit", WRAP32, both("in_octets"), both("out_octets")
    in_rate = counter_rate(*in_octets, seconds, wrap)
    out_rate = counter_rate(*out_octets, seconds, wrap)
    in_bps = None if in_rate is None else round(in_rate * 8, 1)
    out_bps = None if out_rate is None else round(out_rate * 8, 1)
    speed = speed_mbps(second.values, ifindex)
    busier = max((b for b in (in_bps, out_bps) if b is not None), default=None)
    utilisation = None if speed is None or busier is None else round(100 * busier / (speed * 1e6), 3)
    errors = _sum(*(counter_rate(*both(c), seconds, WRAP32) for c in ("in_errors", "out_errors")))
    discards = _sum(*(counter_rate(*both(c), seconds, WRAP32) for c in ("in_discards", "out_discards")))
    return UplinkHealth(
        switch=switch,
        interface=name,
        oper_up=oper == 1,
        utilisation_pct=utilisation,
        errors_per_s=errors,
        discards_per_s=discards,
        ifindex=ifindex,
        oper_status=STATUS.get(oper, str(oper)),
        admin_status=STATUS.get(admin, str(admin)) if isinstance(admin, int) else None,
        speed_mbps=speed,
        in_bps=in_bps,
        out_bps=out_bps,
        counters=counters if in_bps is not None or out_bps is not None else None,
        interval_s=round(seconds, 3),
    )


def match_ports(names: Mapping[int, str], descrs: Mapping[int, str], wanted: Sequence[str]) -> dict[str, int | None]:
    """Each wanted port name → its ifIndex, the lowest that discovery's :func:`names_port` accepts."""
    found: dict[str, int | None] = {}
    indexes = sorted(set(names) | set(descrs))
    for port in wanted:
        found[port] = next((x for x in indexes if names_port(port, x, names.get(x), descrs.get(x))), None)
    return found


class SnmpUplinks:
    """The :class:`~netguard.links.check.UplinkCollector` over SNMP.

    ``uplinks.prepare()`` before ``asyncio.run(check_links(..., uplinks=uplinks))``
    makes the SNMP engines ahead of the timed probes; the call uses that client
    and closes it on its own loop (pysnmp closes its sockets through the loop).
    Without ``prepare``, a call makes and closes a client of its own.
    """

    def __init__(
        self, jobs: Sequence[UplinkJob], *, interval_s: float, concurrency: int = 64, deadline_s: float | None = None
    ) -> None:
        self.jobs = tuple(jobs)
        self.interval_s = interval_s
        self.concurrency = concurrency
        self.deadline_s = deadline_s
        self._client: SnmpClient | None = None

    def prepare(self) -> None:
        if self._client is None:
            self._client = SnmpClient()
        self._client.prepare(j.target for j in self.jobs if j.target is not None)

    def close(self) -> None:
        """Close a prepared client that was never used (it holds no socket yet)."""
        if self._client is not None:
            self._client.close()
            self._client = None

    async def __call__(self, targets: Sequence[LinkTarget]) -> Mapping[str, Sequence[UplinkHealth]]:
        wanted = {t.institution for t in targets}
        jobs = [j for j in self.jobs if j.institution in wanted]
        if not jobs:
            return {}
        deadline = self.deadline_s
        if deadline is None:
            slowest = max((j.target.timeout * (j.target.retries + 1) for j in jobs if j.target), default=0.0)
            deadline = self.interval_s + 4 * slowest + 5.0
        client, self._client = self._client or SnmpClient(), None
        try:
            outcomes: list[Outcome[list[UplinkHealth]]] = await run_bounded(
                jobs,
                lambda job: self._switch(client, job),
                label=lambda job: job.target.label if job.target else job.switch,
                limit=self.concurrency,
                deadline=deadline,
            )
        finally:
            client.close()
        found: dict[str, list[UplinkHealth]] = {}
        for job, outcome in zip(jobs, outcomes, strict=True):
            if outcome.value is not None:
                ports = outcome.value
            else:
                why = str(outcome.problem) if outcome.problem else "not read"
                ports = [UplinkHealth(job.switch, p, None, error=why) for p in job.ports]
            found.setdefault(job.institution, []).extend(ports)
        return found

    async def _switch(self, client: SnmpClient, job: UplinkJob) -> list[UplinkHealth]:
        if job.target is None:
            return [UplinkHealth(job.switch, p, None, error=job.problem) for p in job.ports]
        target = job.target
        name_walk, descr_walk = await client.walk_columns(target, [IF_NAME, IF_DESCR])
        for walk in (name_walk, descr_walk):
            if walk.problem is not None and not walk.rows:
                raise SnmpError(walk.problem)
        names = {oid[-1]: text_from_value(v) or "" for oid, v in name_walk.rows if len(oid) == len(IF_NAME) + 1}
        descrs = {oid[-1]: text_from_value(v) or "" for oid, v in descr_walk.rows if len(oid) == len(IF_DESCR) + 1}
        matched = match_ports(names, descrs, job.ports)
        indexes = sorted({x for x in matched.values() if x is not None})
        first = second = None
        if indexes:
            oids = [(*column, x) for x in indexes for column in COLUMNS.values()]
            first = await self._sample(client, target, oids)
            await asyncio.sleep(max(0.0, first.at + self.interval_s - time.monotonic()))
            second = await self._sample(client, target, oids)
        result = []
        for port, ifindex in matched.items():
            if ifindex is None or first is None or second is None:
                result.append(UplinkHealth(job.switch, port, None, error=f"no interface named '{port}' on the switch"))
            else:
                result.append(port_health(job.switch, port, ifindex, first, second))
        return result

    @staticmethod
    async def _sample(client: SnmpClient, target: SnmpTarget, oids: Sequence[Oid]) -> Sample:
        values: dict[Oid, Value] = {}
        for start in range(0, len(oids), GET_CHUNK):
            values.update(await client.get(target, oids[start : start + GET_CHUNK]))
        return Sample(time.monotonic(), values)
