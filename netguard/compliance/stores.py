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
