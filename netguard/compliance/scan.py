"""One compliance scan: collect the evidence the controls need, evaluate, record, compare.

Order of work:

1. the network collectors (link check, default-community probes, SSH
   connects) run together on one event loop; the store collectors (bastion
   recordings, retention, sql events) after them. A collector that raises
   becomes an :class:`~netguard.compliance.model.Evidence` with an error, so
   its controls are ``error`` and every other control still runs;
2. :func:`~netguard.compliance.evaluate.evaluate` gives one result per
   (control, target);
3. the results go to the state store as one scan (label ``compliance``, one
   transaction) and to the event store as ``compliance`` events; the link
   check is also recorded as a ``links`` scan with its ``link`` events, so
   ``links history`` sees the scan's samples. Event write failures are
   counted and reported, never raised;
4. the scan is compared with the previous *compliance* scan (new failures,
   fixed ones).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
import sqlite3
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from netguard.compliance.controls import Control
from netguard.compliance.evaluate import evaluate
from netguard.compliance.model import ControlResult, Evidence
from netguard.compliance.network import collect_links, collect_snmp_communities, collect_ssh_exposure
from netguard.compliance.settings import ScanSettings
from netguard.compliance.stores import collect_devices, collect_recordings, collect_retention, collect_sql_events
from netguard.errors import NetGuardError
from netguard.events import Event, EventStore, WriteResult, make_event
from netguard.hashchain import ChainKey
from netguard.inventory import Inventory
from netguard.links.check import UplinkCollector
from netguard.links.recording import previous_states
from netguard.links.recording import record as record_links
from netguard.links.records import LinkResult
from netguard.links.settings import LinksConfig
from netguard.store.checks import CheckResult, CheckResultRepository, ScanDiff
from netguard.store.isolation import IsolationRepository
from netguard.store.sightings import SightingRepository

COLLECTORS = ("links", "snmp-communities", "ssh-exposure", "devices", "recordings", "retention", "sql-events")
SCAN_LABEL = "compliance"
_OUTCOME = {"pass": "success", "fail": "failure", "na": "unknown", "error": "unknown"}


@dataclass(frozen=True)
class ScanInputs:
    inventory: Inventory
    controls: Sequence[Control]
    settings: ScanSettings
    links: LinksConfig
    checks: CheckResultRepository
    sightings: SightingRepository
    state: sqlite3.Connection
    events: EventStore | None  # None: it could not be opened (events_error says why)
    events_backend: str = "sqlite"
    events_error: str | None = None
    chain_key: ChainKey | None = None
    uplinks: UplinkCollector | None = None  # the link check's SNMP uplink health; None: ICMP and TCP only


@dataclass(frozen=True)
class ScanOutcome:
    scan_id: str
    started: dt.datetime
    seconds: float
    results: list[ControlResult]
    links: list[LinkResult]
    evidence: dict[str, Evidence]
    previous_scan: str | None
    diff: ScanDiff | None
    events_written: WriteResult = field(default_factory=WriteResult)

    @property
    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(("pass", "fail", "na", "error"), 0)
        for r in self.results:
            counts[r.outcome] += 1
        return counts

    @property
    def ok(self) -> bool:
        """Every result passed or does not apply."""
        return all(r.outcome in ("pass", "na") for r in self.results)


def new_scan_id(now: dt.datetime) -> str:
    return f"scan-{now.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}"


def _failure(collector: str, exc: BaseException) -> Evidence:
    if isinstance(exc, NetGuardError | OSError | sqlite3.Error):
        why = str(exc) or type(exc).__name__
    else:  # not the text: an unexpected exception may quote a configuration value
        why = f"internal error ({type(exc).__name__})"
    return Evidence(collector, error=why)


async def _network(inputs: ScanInputs, wanted: set[str]) -> tuple[dict[str, Evidence], list[LinkResult]]:
    s = inputs.settings
    inv = inputs.inventory
    jobs: dict[str, Awaitable[object]] = {}
    if "links" in wanted:
        # The last known states, so the link events of this run tell state changes as `links check` does.
        previous = previous_states(inputs.checks, (i.id for i in inv))
        jobs["links"] = collect_links(inv, inputs.links.check, inputs.links.policy, previous, inputs.uplinks)
    if "snmp-communities" in wanted:
        jobs["snmp-communities"] = collect_snmp_communities(inv, s.snmp_timeout_ms, s.concurrency)
    if "ssh-exposure" in wanted:
        jobs["ssh-exposure"] = collect_ssh_exposure(inv, s.tcp_timeout_ms, s.concurrency)
    done = await asyncio.gather(*jobs.values(), return_exceptions=True)
    found: dict[str, Evidence] = {}
    links: list[LinkResult] = []
    for name, value in zip(jobs, done, strict=True):
        if isinstance(value, BaseException):
            if not isinstance(value, Exception):
                raise value  # KeyboardInterrupt, cancellation: not a collector's failure
            found[name] = _failure(name, value)
        elif isinstance(value, tuple):
            found[name], links = value
        else:
            assert isinstance(value, Evidence)
            found[name] = value
    return found, links


def _stores(inputs: ScanInputs, wanted: set[str]) -> dict[str, Evidence]:
    jobs: dict[str, Callable[[], Evidence]] = {
        "devices": lambda: collect_devices(inputs.sightings, inputs.inventory, _restricted(inputs.state)),
        "recordings": lambda: collect_recordings(inputs.state, inputs.chain_key),
        "retention": lambda: collect_retention(inputs.settings.retention_days, inputs.events_backend),
        "sql-events": lambda: _sql(inputs),
    }
    found: dict[str, Evidence] = {}
    for name, job in jobs.items():
        if name not in wanted:
            continue
        try:
            found[name] = job()
        except Exception as exc:  # one collector's failure is data: its controls say "error"
            found[name] = _failure(name, exc)
    return found


def _restricted(conn: sqlite3.Connection) -> frozenset[str]:
    return frozenset(state.mac for state in IsolationRepository(conn).restricted())


def _sql(inputs: ScanInputs) -> Evidence:
    if inputs.events is None:
        raise NetGuardError(f"the event store cannot be opened: {inputs.events_error or 'unknown reason'}")
    return collect_sql_events(inputs.events, inputs.inventory, inputs.settings.sql_window_hours)


def compliance_events(scan_id: str, results: Sequence[ControlResult], at: dt.datetime) -> list[Event]:
    events = []
    for r in results:
        t = r.target
        events.append(
            make_event(
                "compliance",
                {
                    "event.action": "check",
                    "event.outcome": _OUTCOME[r.outcome],
                    "organization.id": t.institution,
                    "netguard.tier": t.tier,
                    "netguard.township": t.township,
                    "rule.id": r.control_id,
                    "rule.name": r.title,
                    "rule.reference": ", ".join(r.references) or None,
                    "rule.ruleset": "compliance",
                    "netguard.compliance.scan_id": scan_id,
                    "netguard.compliance.control_id": r.control_id,
                    "netguard.compliance.title": r.title,
                    "netguard.compliance.result": r.outcome,
                    "netguard.compliance.target": t.id,
                    "netguard.compliance.evidence": r.summary,
                    "message": f"{r.control_id} {t.id}: {r.outcome}: {r.summary}",
                },
                timestamp=at,
            )
        )
    return events


def previous_compliance_scan(checks: CheckResultRepository, before: str) -> str | None:
    for scan in checks.scans():
        if scan.scan_id != before and scan.label == SCAN_LABEL:
            return scan.scan_id
    return None


def run_scan(inputs: ScanInputs, *, now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)) -> ScanOutcome:
    started = now()
    clock = time.perf_counter()
    wanted = {c.evidence for c in inputs.controls}
    evidence, links = asyncio.run(_network(inputs, wanted))
    evidence.update(_stores(inputs, wanted))
    results = evaluate(inputs.controls, evidence)
    scan_id = new_scan_id(started)
    previous = previous_compliance_scan(inputs.checks, scan_id)
    stored = [CheckResult(r.control_id, r.target.id, r.outcome, r.evidence(), started) for r in results]
    inputs.checks.store_scan(scan_id, stored, started=started, label=SCAN_LABEL)
    written = WriteResult()
    if inputs.events is not None:
        if links:
            written.merge(record_links(links, checks=inputs.checks, events=inputs.events, started=started).events)
        written.merge(inputs.events.write(compliance_events(scan_id, results, started)))
    else:
        written.failed = len(results)
        written.errors.append(f"the event store cannot be opened: {inputs.events_error or 'unknown reason'}")
    diff = inputs.checks.diff(previous, scan_id) if previous else None
    return ScanOutcome(
        scan_id=scan_id,
        started=started,
        seconds=time.perf_counter() - clock,
        results=results,
        links=links,
        evidence=evidence,
        previous_scan=previous,
        diff=diff,
        events_written=written,
    )
