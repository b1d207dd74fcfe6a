"""One analysed statement as the fields of a ``sql`` event (docs/events.md).

For the event sink of issue 9's ingest slice: it passes these fields to
``netguard.events.make_event("sql", …)``. Field names are the schema's (ECS,
OpenTelemetry ``db.*``, ``netguard.sql.*``). The statement text and the server's
error message are always the masked ones. A client that is not an IP address (``localhost``, a host name)
goes to ``related.hosts``, since ``source.ip`` only holds addresses. The schema
has one ``rule.*`` per event: the highest-severity match is recorded there, and
every matched rule id is added to ``tags`` as ``rule:<id>``.

:class:`SqlEvents` builds the same events as ``make_event("sql", event_fields(…))``
at a fraction of the cost: the fields one shape shares (:func:`shape_fields`)
are checked and serialised once, in a :class:`~netguard.events.template.EventTemplate`,
and each statement adds only its own (:func:`statement_fields`): time, user,
client, database, counters, error, rendered directly by a
:class:`~audit.sql_event_layout.SqlEventLayout` when they need no coercion.
"""

from __future__ import annotations

import ipaddress
from typing import Any, NamedTuple

from audit.analysis import Analysis
from audit.masking import mask_error
from audit.pipeline import Audited
from audit.risk import Verdict
from audit.sql_event_layout import Clock, SqlEventLayout
from netguard.events.model import Event, LogPosition
from netguard.events.template import EventFactory, EventTemplate

TEMPLATES = 20_000  # shapes (and clients) remembered; cleared when full, so memory stays bounded
SHAPE_TEXT = 16_000_000  # and characters of masked text in the shapes' keys (as audit.pipeline.SHAPE_TEXT)
_VARIANTS = 8  # verdicts remembered per shape, for classifiers that look at more than the shape


def _ip(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def log_position(item: Audited, source: str, file_key: str) -> LogPosition:
    """The event's identity: its log source, the checkpoint registry's key for the file, the byte offset.

    Re-reading a file stores nothing twice, and two identical statements at two offsets stay two events.
    """
    s = item.statement
    return LogPosition(source=source, file_key=file_key, offset=s.offset, path=s.source)


def event_fields(item: Audited, host: str | None = None) -> dict[str, Any]:
    """The ``sql`` event's fields; pass :func:`log_position` to ``make_event`` as ``position``."""
    return {**shape_fields(item, host), **statement_fields(item, _ip(item.statement.client))}


def shape_fields(item: Audited, host: str | None = None) -> dict[str, Any]:
    """The fields every execution of one shape shares (with one analysis, verdict and db.system)."""
    s = item.statement
    a = item.analysis
    fields: dict[str, Any] = {
        "event.action": "query",
        "host.name": host,
        "db.system": s.system,
        "db.operation.name": a.statement_type or None,
        "db.collection.name": a.tables[0] if a.tables else None,
        "db.query.text": item.masked,
        "netguard.sql.fingerprint": item.fingerprint,
        "netguard.sql.fingerprint_id": item.fingerprint_id,
        "netguard.sql.tables": list(a.tables),
        "netguard.sql.where_less": a.where_less,
        "netguard.risk": item.verdict.risk,
    }
    rules = item.verdict.rules
    if rules:
        top = max(rules, key=lambda r: ("info", "low", "medium", "high", "critical").index(r.severity))
        fields["rule.id"] = top.id
        fields["rule.name"] = top.title
        fields["rule.reference"] = top.reference
        fields["rule.ruleset"] = top.pack
        fields["tags"] = [f"rule:{r.id}" for r in rules]
    if a.parse_error:
        fields["tags"] = [*fields.get("tags", []), "sqlglot-unparsed"]
    return fields


def statement_fields(item: Audited, ip: str | None) -> dict[str, Any]:
    """The fields of one execution; ``ip`` is the client as an address, None when it is a name."""
    s = item.statement
    return {
        "@timestamp": s.ts,
        "event.outcome": s.outcome,
        "event.duration": s.duration_ns,
        "user.name": s.user,
        "source.ip": ip,
        "source.port": s.client_port,
        "related.hosts": [s.client] if s.client and ip is None else None,
        "db.namespace": s.db,
        "netguard.sql.rows_sent": s.rows_sent,
        "netguard.sql.rows_examined": s.rows_examined,
        "netguard.sql.connection_id": s.connection_id,
        "error.message": mask_error(s.error),
    }


class _Entry(NamedTuple):
    analysis: Analysis
    verdict: Verdict
    template: EventTemplate
    layout: SqlEventLayout


class SqlEvents:
    """``make_event("sql", event_fields(item, host) + organization.id, position)``, from a template per shape.

    One per log source (per-instance caches, bounded). A template is keyed by
    the masked text, the fingerprint and db.system, and holds one analysis and
    verdict; the pipeline hands out the same objects for one shape, so they are
    compared by identity first, by value when a classifier made a new verdict.
    """

    def __init__(self, host: str | None = None, institution: str | None = None) -> None:
        self.host = host
        self.institution = institution
        self._factory = EventFactory("sql")
        self._clock = Clock()
        self._templates: dict[tuple[str, str, str], list[_Entry]] = {}
        self._template_text = 0  # characters of the masked texts in _templates' keys
        self._ips: dict[str, str | None] = {}

    def _template(self, item: Audited) -> _Entry:
        key = (item.masked, item.fingerprint, item.statement.system)
        entries = self._templates.get(key)
        if entries is None:
            if len(self._templates) >= TEMPLATES or self._template_text + len(item.masked) > SHAPE_TEXT:
                self._templates.clear()
                self._template_text = 0
            self._template_text += len(item.masked)
            entries = self._templates[key] = []
        a, v = item.analysis, item.verdict
        for e in entries:
            if e.analysis is a and e.verdict is v:
                return e
        for e in entries:
            if e.analysis == a and e.verdict == v:
                return e
        shared = shape_fields(item, self.host)
        if self.institution is not None:
            shared["organization.id"] = self.institution
        entry = _Entry(a, v, self._factory.template(shared), SqlEventLayout(self._factory, shared, self._clock))
        if len(entries) >= _VARIANTS:
            entries.pop(0)
        entries.append(entry)
        return entry

    def event(self, item: Audited, position: LogPosition) -> Event:
        client = item.statement.client
        if client in self._ips:
            ip = self._ips[client]
        else:
            ip = _ip(client)
            if client is not None:
                if len(self._ips) >= TEMPLATES:
                    self._ips.clear()
                self._ips[client] = ip
        entry = self._template(item)
        if entry.layout.usable:
            s = item.statement
            event = entry.layout.make(s, ip, mask_error(s.error) if s.error is not None else None, position)
            if event is not None:
                return event
        return entry.template.make(statement_fields(item, ip), position=position)
