"""The database audit report of a day or a month: per database, its activity, its risky statements, its new shapes.

Everything is read from the event store with aggregations the store runs
itself (:meth:`EventStore.top`, ``count``, ``search``), so a month of a
county's statements costs a few queries per database, not a scan in Python:

1. the databases (``db.namespace``) active in the period, with their counts
   (statements without a database form their own group);
2. per database: statements by operation, the top users, clients, tables and
   matched rules, the failed statements, and the risky statements (risk
   ``medium`` or above; the newest :data:`RISKY_SHOWN` listed, all counted);
3. fingerprints never seen before: the fingerprint ids active in the period
   (up to :data:`MAX_FINGERPRINTS` per database) minus those with any event in
   the same database before the period starts, i.e. as far back as the store
   keeps events.

The period is a calendar day or month in a given zone (a county reads its
reports in local time); its bounds are exact instants, start inclusive.
Values are kept exactly as stored; renderers escape them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from netguard.errors import NetGuardError
from netguard.events.model import format_timestamp, to_epoch_ms
from netguard.events.query import plan as p
from netguard.events.schema import FIELDS
from netguard.events.store import Bucket, EventStore

RISKY_SHOWN = 100
RISKY_QUERY = "netguard.risk:>=medium"
MAX_FINGERPRINTS = 5000
NO_DATABASE = ""  # the group of statements whose log named no database


class ReportError(NetGuardError):
    """A report period that cannot be read (a bad --day or --month)."""


@dataclass(frozen=True)
class Period:
    kind: str  # day or month
    label: str  # 2026-11-30 or 2026-11
    start_ms: int
    end_ms: int
    timezone: str

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "label": self.label,
            "start": format_timestamp(self.start_ms),
            "end": format_timestamp(self.end_ms),
            "timezone": self.timezone,
        }


def period(day: str | None, month: str | None, tz: dt.tzinfo, today: dt.date | None = None) -> Period:
    """The period asked for, in zone ``tz``; yesterday (the last whole day there) when neither is given."""
    zone = str(getattr(tz, "key", None) or dt.datetime.now(tz).tzname() or tz)
    if day is not None and month is not None:
        raise ReportError("give --day or --month, not both")
    if month is not None:
        try:
            first = dt.datetime.strptime(month, "%Y-%m").date()
        except ValueError:
            raise ReportError(f"--month takes YYYY-MM, not '{month}'") from None
        after = dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)
        return Period("month", first.strftime("%Y-%m"), _ms(first, tz), _ms(after, tz), zone)
    if day is None:
        chosen = (today or dt.datetime.now(tz).date()) - dt.timedelta(days=1)
    else:
        try:
            chosen = dt.date.fromisoformat(day)
        except ValueError:
            raise ReportError(f"--day takes YYYY-MM-DD, not '{day}'") from None
    return Period("day", chosen.isoformat(), _ms(chosen, tz), _ms(chosen + dt.timedelta(days=1), tz), zone)


def _ms(day: dt.date, tz: dt.tzinfo) -> int:
    return to_epoch_ms(dt.datetime.combine(day, dt.time(), tzinfo=tz))


@dataclass(frozen=True)
class RiskyStatement:
    time: str
    user: str | None
    client: str | None
    risk: str | None
    rules: tuple[str, ...]
    statement: str | None
    fingerprint_id: str | None
    event_id: str


@dataclass(frozen=True)
class NewFingerprint:
    fingerprint_id: str
    fingerprint: str | None
    count: int


@dataclass
class DatabaseReport:
    database: str  # NO_DATABASE for statements without one
    statements: int
    failures: int = 0
    operations: list[Bucket] = field(default_factory=list)
    users: list[Bucket] = field(default_factory=list)
    clients: list[Bucket] = field(default_factory=list)
    tables: list[Bucket] = field(default_factory=list)
    rules: list[Bucket] = field(default_factory=list)
    risky_total: int = 0
    risky: list[RiskyStatement] = field(default_factory=list)
    new_fingerprints: list[NewFingerprint] = field(default_factory=list)
    fingerprints_compared: int = 0  # the period's fingerprints compared with the past (at most MAX_FINGERPRINTS)
    statements_not_compared: int = 0  # statements of the rarer fingerprints beyond that limit


@dataclass
class AuditReport:
    period: Period
    generated_ms: int
    backend: str
    total: int
    databases: list[DatabaseReport]


def _buckets(bs: list[Bucket], prefix: str = "") -> list[dict[str, Any]]:
    return [{"value": b.value[len(prefix) :], "count": b.count} for b in bs]


def report_json(r: AuditReport) -> dict[str, Any]:
    return {
        "period": r.period.as_json(),
        "generated": format_timestamp(r.generated_ms),
        "store": r.backend,
        "statements": r.total,
        "databases": [
            {
                "database": d.database or None,
                "statements": d.statements,
                "failures": d.failures,
                "operations": _buckets(d.operations),
                "users": _buckets(d.users),
                "clients": _buckets(d.clients),
                "tables": _buckets(d.tables),
                "rules": _buckets(d.rules, "rule:"),
                "risky": {"total": d.risky_total, "shown": [vars(x) | {"rules": list(x.rules)} for x in d.risky]},
                "new_fingerprints": [vars(f) for f in d.new_fingerprints],
                "fingerprints": {
                    "compared": d.fingerprints_compared,
                    "statements_not_compared": d.statements_not_compared,
                },
            }
            for d in r.databases
        ],
    }


def _in_database(name: str) -> p.Plan:
    f = FIELDS["db.namespace"]
    return p.Not(p.Exists(f)) if name == NO_DATABASE else p.OneOf(f, (name,))


def _all(*plans: p.Plan) -> p.Plan:
    return p.All(tuple(plans))


def build_report(store: EventStore, when: Period, *, now_ms: int | None = None) -> AuditReport:
    """Read the report of ``when`` from ``store`` (sql events only)."""
    now = now_ms if now_ms is not None else p.now_ms()
    window = p.Range(FIELDS["@timestamp"], gte=when.start_ms, lt=when.end_ms)
    kinds = ("sql",)
    per_db = store.top("db.namespace", window, kinds=kinds, limit=1000)
    groups = [(b.value, b.count) for b in per_db.buckets]
    if per_db.missing:
        groups.append((NO_DATABASE, per_db.missing))
    risky_plan = p.compile_query(RISKY_QUERY, now=now)
    databases = []
    for name, count in groups:
        scope = _all(window, _in_database(name))
        d = DatabaseReport(name, count)
        d.failures = store.count(_all(scope, p.OneOf(FIELDS["event.outcome"], ("failure",))), kinds=kinds)
        d.operations = store.top("db.operation.name", scope, kinds=kinds, limit=20).buckets
        d.users = store.top("user.name", scope, kinds=kinds, limit=10).buckets
        d.clients = store.top("source.ip", scope, kinds=kinds, limit=10).buckets
        d.tables = store.top("netguard.sql.tables", scope, kinds=kinds, limit=10).buckets
        d.rules = store.top("tags", scope, kinds=kinds, limit=20, prefix="rule:").buckets
        risky = store.search(_all(scope, risky_plan), kinds=kinds, limit=RISKY_SHOWN)
        d.risky_total = risky.total
        d.risky = [_risky(e.fields) for e in risky.hits]
        _new_fingerprints(store, d, scope, _all(_in_database(name), p.Range(FIELDS["@timestamp"], lt=when.start_ms)))
        databases.append(d)
    return AuditReport(when, now, store.backend, per_db.total, databases)


def _risky(f: Any) -> RiskyStatement:
    tags = f.get("tags") or []
    return RiskyStatement(
        time=str(f.get("@timestamp")),
        user=f.get("user.name"),
        client=f.get("source.ip") or ", ".join(f.get("related.hosts") or []) or None,
        risk=f.get("netguard.risk"),
        rules=tuple(str(t)[5:] for t in tags if str(t).startswith("rule:")),
        statement=f.get("db.query.text"),
        fingerprint_id=f.get("netguard.sql.fingerprint_id"),
        event_id=str(f.get("event.id")),
    )


def _new_fingerprints(store: EventStore, d: DatabaseReport, scope: p.Plan, before: p.Plan) -> None:
    fid = FIELDS["netguard.sql.fingerprint_id"]
    now = store.top(fid.name, scope, kinds=("sql",), limit=MAX_FINGERPRINTS, sample="netguard.sql.fingerprint")
    d.fingerprints_compared = len(now.buckets)
    d.statements_not_compared = now.other
    if not now.buckets:
        return
    ids = tuple(b.value for b in now.buckets)
    seen = store.top(fid.name, _all(before, p.OneOf(fid, ids)), kinds=("sql",), limit=len(ids))
    old = {b.value for b in seen.buckets}
    d.new_fingerprints = [NewFingerprint(b.value, b.sample, b.count) for b in now.buckets if b.value not in old]
