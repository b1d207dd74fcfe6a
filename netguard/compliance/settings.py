"""The ``scan`` section of ``netguard.yaml``::

    scan:
      rules: [site-controls.yaml]   # more control packs, after the built-in one (relative: to this file)
      audit_retention: 200d         # the age the scheduled `events purge --older-than` uses;
                                    # unset: DJ-AUDIT-RETENTION is not applicable
      sql_window_hours: 24          # DJ-DB-AUDITED: sql events within this many hours
      snmp_timeout_ms: 1000         # per default-community probe, no retries
      tcp_timeout_ms: 1000          # per SSH connect
      concurrency: 256              # probes in flight at once

The link check itself uses the ``links`` section (count, interval, timeout).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from netguard.events.query.plan import parse_duration_ms
from netguard.inventory.nodes import join
from netguard.section import Section, SectionReader

_DAY_MS = 86_400_000


@dataclass(frozen=True)
class ScanSettings:
    rules: tuple[Path, ...] = ()
    retention_days: float | None = None
    sql_window_hours: int = 24
    snmp_timeout_ms: int = 1000
    tcp_timeout_ms: int = 1000
    concurrency: int = 256


def _parse(r: SectionReader, node: yaml.Node) -> ScanSettings | None:
    keys = ("rules", "audit_retention", "sql_window_hours", "snmp_timeout_ms", "tcp_timeout_ms", "concurrency")
    fields = r.mapping(node, "scan", (), keys)
    if fields is None:
        return None
    rules = []
    for _path, _item, text in r.scalar_items(fields, "rules"):
        path = Path(text).expanduser()
        rules.append(path if path.is_absolute() else r.base / path)
    retention: float | None = None
    age = r.text(fields, "audit_retention")
    if age is not None:
        ms = parse_duration_ms(age)
        if ms is None:
            where = fields.get("audit_retention")
            assert where is not None
            r.error(where, join(fields.path, "audit_retention"), f"'{age}' is not a duration such as 200d")
        else:
            retention = ms / _DAY_MS
    defaults = ScanSettings()
    return ScanSettings(
        rules=tuple(rules),
        retention_days=retention,
        sql_window_hours=r.integer(fields, "sql_window_hours", 1, 24 * 366) or defaults.sql_window_hours,
        snmp_timeout_ms=r.integer(fields, "snmp_timeout_ms", 10, 60_000) or defaults.snmp_timeout_ms,
        tcp_timeout_ms=r.integer(fields, "tcp_timeout_ms", 10, 60_000) or defaults.tcp_timeout_ms,
        concurrency=r.integer(fields, "concurrency", 1, 10_000) or defaults.concurrency,
    )


SCAN = Section("scan", ScanSettings, _parse)
