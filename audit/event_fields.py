"""One analysed statement as the fields of a ``sql`` event (docs/events.md).

For the event sink of issue 9's ingest slice: it passes these fields to
``netguard.events.make_event("sql", …)``. Field names are the schema's (ECS,
OpenTelemetry ``db.*``, ``netguard.sql.*``). The statement text and the server's
error message are always the masked ones. A client that is not an IP address (``localhost``, a host name)
goes to ``related.hosts``, since ``source.ip`` only holds addresses. The schema
has one ``rule.*`` per event: the highest-severity match is recorded there, and
every matched rule id is added to ``tags`` as ``rule:<id>``.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from audit.masking import mask_error
from audit.pipeline import Audited
from netguard.events.model import LogPosition


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
    s = item.statement
    a = item.analysis
    ip = _ip(s.client)
    fields: dict[str, Any] = {
        "@timestamp": s.ts,
        "event.action": "query",
        "event.outcome": s.outcome,
        "event.duration": s.duration_ns,
        "user.name": s.user,
        "source.ip": ip,
        "source.port": s.client_port,
        "related.hosts": [s.client] if s.client and ip is None else None,
        "host.name": host,
        "db.system": s.system,
        "db.namespace": s.db,
        "db.operation.name": a.statement_type or None,
        "db.collection.name": a.tables[0] if a.tables else None,
        "db.query.text": item.masked,
        "netguard.sql.fingerprint": item.fingerprint,
        "netguard.sql.fingerprint_id": item.fingerprint_id,
        "netguard.sql.tables": list(a.tables),
        "netguard.sql.where_less": a.where_less,
        "netguard.sql.rows_sent": s.rows_sent,
        "netguard.sql.rows_examined": s.rows_examined,
        "netguard.sql.connection_id": s.connection_id,
        "netguard.risk": item.verdict.risk,
        "error.message": mask_error(s.error),
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
