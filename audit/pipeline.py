"""From a parsed statement to what NetGuard reports about it.

For each :class:`~audit.records.Statement`: mask its literals (always: the
masked text is also what sqlglot sees, so analysis never handles PII), take
the pt-query-digest fingerprint of the text as logged (ids must match
pt-query-digest's, which fingerprints the raw text), analyse the shape once
(:class:`~audit.analysis.Analyser`'s cache) and classify it.

:func:`to_json` renders one result as the object ``netguard audit parse --json``
prints; the statement text is the masked one unless ``raw`` is asked for, and
bound parameters (PII) appear only then.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from audit.analysis import Analyser, Analysis
from audit.fingerprint import fingerprint, fingerprint_id
from audit.masking import Masker, bind_parameters
from audit.records import Statement
from audit.risk import BuiltinClassifier, Classifier, Verdict


@dataclass(frozen=True, slots=True)
class Audited:
    statement: Statement
    masked: str
    fingerprint: str
    fingerprint_id: str
    analysis: Analysis
    verdict: Verdict


class Pipeline:
    def __init__(self, classifier: Classifier | None = None, analyser: Analyser | None = None) -> None:
        self.classifier: Classifier = classifier or BuiltinClassifier()
        self.analyser = analyser or Analyser()
        self._maskers: dict[str, Masker] = {}

    def _masker(self, dialect: str) -> Masker:
        masker = self._maskers.get(dialect)
        if masker is None:
            masker = self._maskers[dialect] = Masker(dialect)
        return masker

    def process(self, stmt: Statement) -> Audited:
        masked = self._masker(stmt.dialect).mask(stmt.text)
        fp = fingerprint(stmt.text)
        analysis = self.analyser.analyse(masked, stmt.dialect)
        verdict = self.classifier.classify(stmt, analysis)
        return Audited(stmt, masked, fp, fingerprint_id(fp), analysis, verdict)


_QUOTED = re.compile(r"\"[^\"]*\"|'[^']*'")


def _ms(ns: int | None) -> float | None:
    return None if ns is None else ns / 1_000_000


def to_json(item: Audited, raw: bool = False) -> dict[str, Any]:
    s = item.statement
    a = item.analysis
    out: dict[str, Any] = {
        "ts": s.ts.isoformat() if s.ts else None,
        "user": s.user,
        "db": s.db,
        "client": s.client,
        "statement": bind_parameters(s.text, s.params) if raw else item.masked,
        "statement_type": a.statement_type,
        "tables": list(a.tables),
        "columns_read": list(a.columns_read),
        "columns_written": list(a.columns_written),
        "where_less": a.where_less,
        "has_limit": a.has_limit,
        "joins": a.joins,
        "select_star": a.select_star,
        "fingerprint": item.fingerprint,
        "fingerprint_id": item.fingerprint_id,
        "risk": item.verdict.risk,
        "rules": [
            {"id": r.id, "title": r.title, "severity": r.severity, "reference": r.reference} for r in item.verdict.rules
        ],
        "source": s.source,
        "offset": s.offset,
        "line": s.line,
        "dialect": s.dialect,
        "system": s.system,
        "connection_id": s.connection_id,
        "client_port": s.client_port,
        "application": s.application,
        "duration_ms": _ms(s.duration_ns),
        "lock_time_ms": _ms(s.lock_time_ns),
        "rows_sent": s.rows_sent,
        "rows_examined": s.rows_examined,
        "outcome": s.outcome,
        # Server messages quote the offending value ('invalid input syntax for type integer: "张三"').
        "error": s.error if raw or s.error is None else _QUOTED.sub("?", s.error),
        "parse_error": a.parse_error,
    }
    if raw and s.params:
        out["parameters"] = list(s.params)
    return out
