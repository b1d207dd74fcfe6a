"""Reading one log file through its parser and the analysis pipeline, counting as it goes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from audit.formats import FORMATS, ParseOptions
from audit.pipeline import Audited, Pipeline
from audit.records import BadLine
from netguard.errors import NetGuardError


class AuditInputError(NetGuardError):
    """A log file that cannot be read, or an unknown format."""


@dataclass
class Counts:
    statements: int = 0
    bad_lines: int = 0
    unparsed: int = 0  # statements sqlglot could not analyse (kept, flagged)
    by_risk: dict[str, int] = field(default_factory=dict)


def audit_file(
    path: Path, fmt: str, options: ParseOptions, pipeline: Pipeline, counts: Counts
) -> Iterator[Audited | BadLine]:
    """Every statement of ``path`` analysed, and every bad line, in file order (per session for PostgreSQL)."""
    parser = FORMATS.get(fmt)
    if parser is None:
        raise AuditInputError(f"unknown log format '{fmt}' (one of {', '.join(FORMATS)})")
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise AuditInputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    with stream:
        try:
            for record in parser(stream, options):
                if isinstance(record, BadLine):
                    counts.bad_lines += 1
                    yield record
                    continue
                item = pipeline.process(record)
                counts.statements += 1
                if item.analysis.parse_error:
                    counts.unparsed += 1
                risk = item.verdict.risk
                counts.by_risk[risk] = counts.by_risk.get(risk, 0) + 1
                yield item
        except OSError as exc:
            raise AuditInputError(f"{path}: read failed: {exc.strerror or exc}") from exc
