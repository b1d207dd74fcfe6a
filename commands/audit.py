"""``netguard audit``: database query auditing (this slice: ``parse``)."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import click

from audit.formats import FORMATS, ParseOptions
from audit.formats.base import DEFAULT_LOG_LINE_PREFIX
from audit.lines import visible
from audit.pipeline import Audited, Pipeline, to_json
from audit.reader import Counts, audit_file
from audit.records import BadLine
from audit.timestamps import zone
from netguard.errors import EXIT_FINDINGS

_DIALECTS = ("mysql", "postgres", "oracle", "tsql", "sqlite", "mariadb")
_MAX_BAD_SHOWN = 20


@click.group()
def audit() -> None:
    """Database query auditing: who ran which SQL, from where.

    Reads SQL logs (MySQL/MariaDB, PostgreSQL, audit exports), fingerprints and
    analyses each statement, and flags risky ones (see docs/audit.md).
    """


@audit.command()
@click.option(
    "--format",
    "fmt",
    required=True,
    metavar="FORMAT",
    type=click.Choice(list(FORMATS)),
    help="The log's format: " + ", ".join(FORMATS) + ".",
)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--log-line-prefix",
    default=DEFAULT_LOG_LINE_PREFIX,
    show_default=True,
    help="PostgreSQL's log_line_prefix, for --format postgres and pgaudit.",
)
@click.option("--dialect", type=click.Choice(_DIALECTS), help="SQL dialect of a jsonl export that does not name one.")
@click.option(
    "--timezone", "tz_name", metavar="ZONE", help="IANA zone of timestamps written without one (default: local)."
)
@click.option("--system", type=click.Choice(["mysql", "mariadb"]), help="db.system for MySQL-format logs.")
@click.option("--raw", is_flag=True, help="Print statements as logged, literals and parameters included (PII!).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per statement per line (NDJSON).")
def parse(
    fmt: str,
    file: Path,
    log_line_prefix: str,
    dialect: str | None,
    tz_name: str | None,
    system: str | None,
    raw: bool,
    as_json: bool,
) -> None:
    """Analyse a SQL log file without storing it.

    One JSON line per statement on stdout, bad lines on stderr.

    Literals are masked unless --raw. Exit 1 when any line could not be read.
    """
    # sqlglot warns on every statement it keeps as an opaque command; the
    # analysis records that itself.
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    options = ParseOptions(
        source=str(file), tz=zone(tz_name), log_line_prefix=log_line_prefix, dialect=dialect, system=system
    )
    counts = Counts()
    try:
        pipeline = Pipeline()
        bad_shown = _print(audit_file(file, fmt, options, pipeline, counts), pipeline, raw, as_json)
    except BrokenPipeError:
        # The reader went away (| head): stop quietly, as other Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(0) from None
    if counts.bad_lines > bad_shown:
        click.echo(f"... {counts.bad_lines - bad_shown} more bad lines not shown", err=True)
    summary = f"{file}: {counts.statements} statements, {counts.bad_lines} bad lines"
    if counts.unparsed:
        summary += f", {counts.unparsed} not understood by sqlglot (kept, flagged parse_error)"
    if counts.statements == 0 and counts.bad_lines:
        summary += f" - nothing looked like --format {fmt}: wrong format?"
    click.echo(summary, err=True)
    if counts.bad_lines:
        raise SystemExit(EXIT_FINDINGS)


def _print(items: Iterator[Audited | BadLine], pipeline: Pipeline, raw: bool, as_json: bool) -> int:
    """Statements to stdout, the first bad lines to stderr; returns how many bad lines were shown."""
    write = sys.stdout.write
    shown = 0
    for item in items:
        if isinstance(item, BadLine):
            if shown < _MAX_BAD_SHOWN:
                click.echo(f"{item.source}:{item.line}: {item.reason}: {item.excerpt}", err=True)
                shown += 1
            continue
        if as_json:
            write(pipeline.json_line(item, raw))
            write("\n")
        else:
            d = to_json(item, raw)
            who = f"{d['user'] or '?'}@{d['client'] or '?'}"
            write(f"{d['ts'] or '-'} {who} {d['db'] or '-'} [{d['risk']}] {visible(d['statement'], 200)}\n")
    sys.stdout.flush()
    return shown
