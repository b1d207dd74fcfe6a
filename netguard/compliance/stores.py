"""Evidence from the stores and the configuration: bastion recordings, audit retention, sql events.

* ``recordings`` (8.1.4.3 c): :meth:`bastion.sessions.SessionLog.verify` over
  the state store: the chain of recording hashes and every finished
  session's recording file. Not applicable while the bastion has recorded
  nothing (no chain links, no finished recordings).
* ``retention`` (8.1.5.4 d): the configured ``scan.audit_retention``, the age
  the scheduled ``events purge`` runs with (``events purge`` itself refuses
  ages under 180 days without ``--force``). Not applicable when unset: the
  store then keeps every event until someone purges by hand, and the scan
  cannot see a purge schedule it was not told about.
* ``devices`` (8.1.3.1 b): the open device sightings discovery left in the
  state store, per institution: a MAC that is neither an authorised device
  of the inventory nor protected (gateways, switches, servers, the
  ``protected`` list, by MAC or IP) is unauthorised. An institution with no
  open sighting is not applicable: discovery has not covered it, and no
  sighting is not evidence of a clean network. A sighting the store does not
  place in an institution is placed by its IP, else by its switch; one that
  stays unplaced is counted on the county, never dropped.
* ``sql-events`` (8.1.4.3): for every inventory server whose role is
  ``database``, the ``sql`` events of the last hours whose ``host.name`` is
  the server's id or whose ``destination.address`` is its address.
"""

from __future__ import annotations

import sqlite3
import time

from bastion.sessions import SessionLog
from netguard.compliance.model import COUNTY, Evidence, Observation, Target
from netguard.events import EventStore
from netguard.hashchain import ChainKey
from netguard.inventory import Inventory
from netguard.store.sightings import SightingRecord, SightingRepository

DATABASE_ROLE = "database"
MIN_RETENTION_DAYS = 180


def collect_recordings(conn: sqlite3.Connection, key: ChainKey | None) -> Evidence:
    clock = time.perf_counter()
    report = SessionLog(conn, key).verify()
    seconds = time.perf_counter() - clock
    if report.recordings == 0 and report.chain.links == 0:
        obs = Observation(COUNTY, summary="the bastion has no recorded sessions", applicable=False)
        return Evidence("recordings", (obs,), seconds=seconds)
    problems = [f"session {p.session_id}: {p.problem}" for p in report.problems]
    summary = f"{report.recordings} recordings, {report.chain.links} chain links"
    if report.chain.unverified:
        summary += f", {report.chain.unverified} links not verified (no state.journal_key, or another key)"
    if problems:
        shown = "; ".join(problems[:5])
        summary += f"; {len(problems)} problems: {shown}" + (" ..." if len(problems) > 5 else "")
    facts = {"recordings": report.recordings, "recording_problems": len(problems)}
    return Evidence("recordings", (Observation(COUNTY, facts, summary),), seconds=seconds)


def collect_retention(retention_days: float | None, backend: str) -> Evidence:
    if retention_days is None:
        summary = (
            f"scan.audit_retention is not set: the {backend} event store keeps events until `events purge` removes them"
        )
        return Evidence("retention", (Observation(COUNTY, summary=summary, applicable=False),))
    verdict = "at least" if retention_days >= MIN_RETENTION_DAYS else "less than"
    summary = f"the {backend} event store keeps {retention_days:g} days ({verdict} {MIN_RETENTION_DAYS})"
    return Evidence("retention", (Observation(COUNTY, {"retention_days": retention_days}, summary),))


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def collect_sql_events(store: EventStore, inv: Inventory, window_hours: int) -> Evidence:
    clock = time.perf_counter()
    servers = inv.servers()
    observations: list[Observation] = []
    for server in servers:
        if server.role != DATABASE_ROLE:
            continue
        inst = servers.institution_of(server)
        target = Target("server", server.id, server.name or server.id, inst.id, inst.tier.value, inst.township)
        query = f"host.name:{_quoted(server.id)} OR destination.address:{_quoted(str(server.address))}"
        count = store.count(query, kinds=["sql"], since=f"{window_hours}h")
        summary = f"{count} sql events for {server.id} ({server.address}) in the last {window_hours} h"
        facts = {"sql_events": count, "sql_window_hours": window_hours, "role": DATABASE_ROLE}
        observations.append(Observation(target, facts, summary))
    return Evidence("sql-events", tuple(observations), seconds=time.perf_counter() - clock)


def _place(inv: Inventory, s: SightingRecord) -> str | None:
    if s.institution_id and s.institution_id in inv:
        return s.institution_id
    if s.ip:
        found = inv.by_ip(s.ip)
        if found is not None:
            return found.id
    switch = inv.switch(s.switch) if s.switch else None
    return switch.institution if switch is not None else None


def _authorised(inv: Inventory, s: SightingRecord) -> bool:
    return inv.by_mac(s.mac) is not None or inv.protected_reason(mac=s.mac, ip=s.ip) is not None


def collect_devices(
    sightings: SightingRepository, inv: Inventory, restricted: frozenset[str] = frozenset()
) -> Evidence:
    """``restricted``: MACs eviction holds isolated now (see :meth:`IsolationRepository.restricted`)."""
    clock = time.perf_counter()
    seen: dict[str | None, set[str]] = {}
    rogue: dict[str | None, dict[str, str | None]] = {}
    held: dict[str | None, set[str]] = {}
    for s in sightings.open_sightings():
        place = _place(inv, s)
        seen.setdefault(place, set()).add(s.mac)
        if _authorised(inv, s):
            continue
        if s.mac in restricted:
            held.setdefault(place, set()).add(s.mac)
            continue
        known = rogue.setdefault(place, {})
        known[s.mac] = known.get(s.mac) or s.ip
    observations: list[Observation] = []
    for inst in inv:
        target = Target("institution", inst.id, inst.name, inst.id, inst.tier.value, inst.township)
        observations.append(
            _device_observation(target, seen.get(inst.id, set()), rogue.get(inst.id, {}), held.get(inst.id, set()))
        )
    if None in seen:
        observations.append(
            _device_observation(COUNTY, seen[None], rogue.get(None, {}), held.get(None, set()), unplaced=True)
        )
    return Evidence("devices", tuple(observations), seconds=time.perf_counter() - clock)


def _device_observation(
    target: Target, seen: set[str], rogue: dict[str, str | None], held: set[str], *, unplaced: bool = False
) -> Observation:
    where = "devices no institution's addresses or switches place" if unplaced else "devices"
    if not seen:
        return Observation(target, summary="no open device sightings: discovery has not covered it", applicable=False)
    listed = ", ".join(f"{mac} ({ip or 'no IP'})" for mac, ip in sorted(rogue.items())[:5])
    more = " ..." if len(rogue) > 5 else ""
    summary = f"{len(seen)} {where} present, {len(rogue)} not authorised" + (f": {listed}{more}" if rogue else "")
    if held:
        summary += f"; {len(held)} unauthorised but isolated by eviction: {', '.join(sorted(held)[:5])}"
    facts = {"devices_seen": len(seen), "unauthorised_devices": len(rogue), "isolated_devices": len(held)}
    return Observation(target, facts, summary)
