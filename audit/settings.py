"""The ``audit`` section of ``netguard.yaml``: the SQL logs ``netguard audit ingest`` reads.

::

    audit:
      sources:
        his-mysql:                          # the source name: part of every event id
          path: /var/log/mysql/general.log
          format: mysql-general
          timezone: Asia/Shanghai           # required: the general log writes no zone
          institution: county-hospital
        his-pg:
          path: /var/log/postgresql/postgresql-15-main.log
          format: postgres
          log_line_prefix: "%m [%p] %q%u@%d "
          timezone: Asia/Shanghai
        his-oracle:
          path: /var/log/his/oracle-audit.jsonl
          format: jsonl
          dialect: oracle

The SQL risk rules' keys (``rules``, ``sensitive``, ``working_hours``,
``privileged_users``, ``application_roles``) are read by
:mod:`audit.risk_settings`.

A format whose timestamps carry no zone (the MySQL logs, server_audit, the
PostgreSQL stderr log, whose ``%m`` may say ``CST``) needs ``timezone``: the
machine's own zone is a guess an audit trail cannot rest on. Every key is
checked; a wrong one is a :class:`~netguard.errors.ConfigError` naming it and
where.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from audit.formats import FORMATS
from audit.formats.base import DEFAULT_LOG_LINE_PREFIX
from audit.risk_settings import RISK_KEYS, RiskSettings, parse_risk
from netguard.inventory.nodes import Fields
from netguard.section import Section, SectionReader

DIALECTS = ("mysql", "postgres", "oracle", "tsql", "sqlite", "mariadb")
# Formats whose timestamps can be written without a zone; jsonl and postgres-json/csv write an offset or UTC
# in practice, but a jsonl export may not, so only the self-describing PostgreSQL machine formats are exempt.
ZONELESS_FORMATS = frozenset({"mysql-general", "mysql-slow", "mariadb-audit", "postgres", "pgaudit", "jsonl"})
_SOURCE_KEYS = ("path", "format", "dialect", "timezone", "log_line_prefix", "institution", "system")


@dataclass(frozen=True)
class LogSource:
    """One log file to ingest, as configured or as given on the command line."""

    name: str
    path: Path
    format: str
    timezone: str | None = None
    log_line_prefix: str = DEFAULT_LOG_LINE_PREFIX
    dialect: str | None = None
    system: str | None = None
    institution: str | None = None


@dataclass(frozen=True)
class AuditSettings:
    sources: tuple[LogSource, ...] = ()
    risk: RiskSettings = field(default_factory=RiskSettings)  # the SQL rules' settings (audit/risk_settings.py)

    def source(self, name: str) -> LogSource | None:
        return next((s for s in self.sources if s.name == name), None)


def _source(r: SectionReader, name: str, node: yaml.Node, path: str) -> LogSource | None:
    f: Fields | None = r.mapping(node, path, ("path", "format"), _SOURCE_KEYS)
    if f is None:
        return None
    file = r.path(f, "path")
    fmt = r.choice(f, "format", tuple(FORMATS), "log format")
    dialect = r.choice(f, "dialect", DIALECTS, "SQL dialect") if "dialect" in f else None
    system = r.choice(f, "system", ("mysql", "mariadb"), "database system") if "system" in f else None
    tz = r.text(f, "timezone")
    if fmt in ZONELESS_FORMATS and tz is None and "timezone" not in f:
        r.error(node, path, f"missing 'timezone': {fmt} logs write times without a zone (e.g. Asia/Shanghai)")
    if file is None or fmt is None:
        return None
    return LogSource(
        name=name,
        path=file,
        format=fmt,
        timezone=tz,
        log_line_prefix=r.text(f, "log_line_prefix") or DEFAULT_LOG_LINE_PREFIX,
        dialect=dialect,
        system=system,
        institution=r.text(f, "institution"),
    )


def _parse(r: SectionReader, node: yaml.Node) -> AuditSettings | None:
    f = r.mapping(node, "audit", (), ("sources", *RISK_KEYS))
    if f is None:
        return None
    risk = parse_risk(r, f)
    sources_node = f.get("sources")
    if sources_node is None:
        return AuditSettings(risk=risk)
    names = r.mapping(sources_node, "audit.sources", (), any_key=True)
    if names is None:
        return None
    sources = []
    for name, (_key, value) in names.values.items():
        source = _source(r, name, value, f"audit.sources.{name}")
        if source is not None:
            sources.append(source)
    return AuditSettings(tuple(sources), risk)


AUDIT = Section("audit", AuditSettings, _parse)
