"""JSON lines exports: one statement per line, from databases NetGuard has no log parser for.

County HIS systems often run on Oracle or SQL Server, whose audit trails are
exported (unified audit, SQL Server Audit) rather than read as text logs. Each
line is an object; ``statement`` (or ``sql``) is required, the rest optional::

    {"ts": "2026-11-30T09:00:00+08:00", "user": "his", "db": "HIS", "client": "10.1.2.3",
     "statement": "SELECT …", "dialect": "oracle", "system": "oracle", "duration_ms": 3.2,
     "rows": 1, "connection_id": "123", "outcome": "success", "params": ["'1'"]}

The dialect comes from the record or from ``--dialect``; one is required,
because statements are analysed in it. A timestamp without a zone is read in
the configured zone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any, BinaryIO

from audit.formats.base import MAX_LONG, ParseOptions, bad, json_values, scaled_ns
from audit.lines import IDLE
from audit.records import BadLine, Record, Statement
from audit.timestamps import with_zone

# sqlglot dialect -> OpenTelemetry db.system
SYSTEMS = {"oracle": "oracle", "tsql": "mssql", "mysql": "mysql", "postgres": "postgresql", "sqlite": "sqlite"}


def _str(obj: dict[str, Any], *names: str) -> str | None:
    for name in names:
        value = obj.get(name)
        if value is not None and value != "":
            return str(value)
    return None


def parse_jsonl(stream: BinaryIO, options: ParseOptions) -> Iterator[Record]:
    for value in json_values(stream, options):
        if isinstance(value, BadLine):
            yield value
            continue
        line, obj = value
        if not isinstance(obj, dict):
            if line is not IDLE:  # (a follower's pause: nothing is held here)
                yield bad(options, line, "not a JSON object")
            continue
        statement = _str(obj, "statement", "sql")
        if statement is None:
            yield bad(options, line, "no 'statement' field")
            continue
        dialect = _str(obj, "dialect") or options.dialect
        if dialect is None:
            yield bad(options, line, "no dialect: name it in the record or with --dialect")
            continue
        ts: dt.datetime | None = None
        raw_ts = _str(obj, "ts", "timestamp", "@timestamp")
        if raw_ts is not None:
            try:
                parsed = dt.datetime.fromisoformat(raw_ts)
            except ValueError:
                yield bad(options, line, f"unreadable timestamp {raw_ts[:40]!r}")
                continue
            ts = parsed if parsed.tzinfo else with_zone(parsed, None, options.tz)
        duration = obj.get("duration_ms")
        rows = obj.get("rows")
        params = obj.get("params")
        outcome = _str(obj, "outcome") or "unknown"
        yield Statement(
            source=options.source,
            offset=line.offset,
            line=line.number,
            text=statement,
            dialect=dialect,
            system=_str(obj, "system") or SYSTEMS.get(dialect, dialect),
            ts=ts,
            user=_str(obj, "user"),
            db=_str(obj, "db", "database"),
            client=_str(obj, "client", "client_ip"),
            connection_id=_str(obj, "connection_id", "session"),
            application=_str(obj, "application"),
            params=tuple(str(p) for p in params) if isinstance(params, list) else (),
            duration_ns=scaled_ns(duration, 1_000_000) if isinstance(duration, int | float) else None,
            rows_sent=rows if type(rows) is int and 0 <= rows <= MAX_LONG else None,
            outcome=outcome if outcome in ("success", "failure", "unknown") else "unknown",
        )
