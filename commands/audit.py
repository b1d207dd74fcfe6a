"""``netguard audit``: database query auditing (``parse``, ``ingest``, ``search``)."""

from __future__ import annotations

import codecs
import contextlib
import errno
import gc
import io
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import click

from audit.follow import BATCH, LogFollower, read_sources
from audit.formats import FORMATS, ParseOptions
from audit.formats.base import DEFAULT_LOG_LINE_PREFIX
from audit.lines import visible
from audit.pipeline import Audited, Pipeline, to_json
from audit.reader import Counts, audit_file
from audit.records import BadLine
from audit.settings import AUDIT, ZONELESS_FORMATS, AuditSettings, LogSource
from audit.sql_rules import classifier_for, classifiers_for
from audit.timestamps import zone
from commands.audit_report import report
from commands.audit_top import top
from commands.context import AppContext, pass_app
from commands.events import backend_option
from commands.events import search as events_search
from commands.output import echo, json_option, plural
from commands.tables import wide_option
from netguard.errors import EXIT_FINDINGS, NetGuardError, StoreError
from netguard.events import open_event_store
from netguard.events.sink import EventSink
from netguard.events.store import EventStore
from netguard.printable import visible as printable

_DIALECTS = ("mysql", "postgres", "oracle", "tsql", "sqlite", "mariadb")
_MAX_BAD_SHOWN = 20
_PRINT_BATCH = 256  # JSON lines per stdout write in parse (a few hundred KiB at most)
GC_FULL_EVERY = 1000  # see _fewer_full_collections


@click.group()
def audit() -> None:
    """Database query auditing: who ran which SQL, from where.

    Reads SQL logs (MySQL/MariaDB, PostgreSQL, audit exports), fingerprints and
    analyses each statement, and flags risky ones (see docs/audit.md).
    """


audit.add_command(top)
audit.add_command(report)


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
@pass_app
def parse(
    app: AppContext,
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
        pipeline = Pipeline(classifier_for(app.config))  # the SQL rules of netguard.yaml (audit/sql_rules.py)
        bad_shown = _print(audit_file(file, fmt, options, pipeline, counts), pipeline, raw, as_json)
    except BrokenPipeError:
        # The reader went away (| head): stop quietly, as other Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(0) from None
    if counts.bad_lines > bad_shown:
        echo(f"... {counts.bad_lines - bad_shown} more bad lines not shown", err=True)
    summary = f"{file}: {counts.statements} statements, {counts.bad_lines} bad lines"
    if counts.unparsed:
        summary += f", {counts.unparsed} not understood by sqlglot (kept, flagged parse_error)"
    if counts.statements == 0 and counts.bad_lines:
        summary += f" - nothing looked like --format {fmt}: wrong format?"
    echo(summary, err=True)
    if counts.bad_lines:
        raise SystemExit(EXIT_FINDINGS)


def _print(items: Iterator[Audited | BadLine], pipeline: Pipeline, raw: bool, as_json: bool) -> int:
    """Statements to stdout, the first bad lines to stderr; returns how many bad lines were shown."""
    out = _Out.open()
    shown = 0
    for item in items:
        if isinstance(item, BadLine):
            if shown < _MAX_BAD_SHOWN:
                out.flush()  # what came before it first, for a terminal that shows both streams
                echo(f"{item.source}:{item.line}: {item.reason}: {item.excerpt}", err=True)
                shown += 1
            continue
        if as_json:
            out.json(pipeline, item, raw)
        else:
            d = to_json(item, raw)
            # Who ran it and where come from the log too: shown visibly, as the statement is.
            who = f"{d['user'] or '?'}@{d['client'] or '?'} {d['db'] or '-'}"
            out.text(f"{d['ts'] or '-'} {printable(who)} [{d['risk']}] {visible(d['statement'], 200)}\n")
    out.flush()
    return shown


@dataclass
class _Out:
    """parse's stdout: JSON lines as UTF-8 bytes straight to the binary layer when stdout is UTF-8.

    Encoding each line's CJK text cost more than rendering it; :meth:`Pipeline.json_bytes` keeps the
    parts that repeat encoded. The lines go out :data:`_PRINT_BATCH` at a time, joined (unbuffered
    stdout, PYTHONUNBUFFERED, would otherwise make a system call of every line). Any other
    encoding, or a line UTF-8 cannot hold (a lone surrogate), goes through the text layer as
    before, so the bytes written are the same.
    """

    binary: io.BufferedIOBase | io.RawIOBase | None  # None: everything through sys.stdout
    pending: list[bytes] = field(default_factory=list)
    texted: bool = False  # the text layer may hold a line that must go out before the next bytes

    @classmethod
    def open(cls) -> _Out:
        stdout = sys.stdout
        buffer = getattr(stdout, "buffer", None)
        utf8 = codecs.lookup(stdout.encoding or "ascii").name == "utf-8"
        return cls(buffer if utf8 and isinstance(buffer, io.BufferedIOBase | io.RawIOBase) else None)

    def json(self, pipeline: Pipeline, item: Audited, raw: bool) -> None:
        if self.binary is not None:
            try:
                self.pending.append(pipeline.json_bytes(item, raw))
            except UnicodeEncodeError:
                self.text(pipeline.json_line(item, raw) + "\n")  # the text layer's error handler decides
                return
            if len(self.pending) >= _PRINT_BATCH:
                self._write()
        else:
            self.text(pipeline.json_line(item, raw) + "\n")

    def text(self, line: str) -> None:
        if self.pending:
            self._write()
        sys.stdout.write(line)
        self.texted = self.binary is not None

    def flush(self) -> None:
        if self.pending:
            self._write()
        sys.stdout.flush()

    def _write(self) -> None:
        binary = self.binary
        assert binary is not None
        if self.texted:
            sys.stdout.flush()  # the text layer's lines go first
            self.texted = False
        self.pending.append(b"")
        data = memoryview(b"\n".join(self.pending))
        self.pending.clear()
        while data:
            written = binary.write(data)  # a raw stream may take only part of it
            if written is None:
                raise BlockingIOError(errno.EAGAIN, "stdout is non-blocking and full")
            data = data[written:]
        if sys.stdout.line_buffering:  # a terminal: show each batch as it comes
            binary.flush()


@audit.command(short_help="Store SQL log statements as sql events (resumable).")
@click.argument("files", nargs=-1, metavar="[FILE]...", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", metavar="FORMAT", type=click.Choice(list(FORMATS)), help="The files' log format.")
@click.option(
    "--source",
    "source_name",
    metavar="NAME",
    help="Source name (part of every event id); without FILE, the configured source to read.",
)
@click.option("--timezone", "tz_name", metavar="ZONE", help="IANA zone of timestamps written without one.")
@click.option("--log-line-prefix", default=None, help="PostgreSQL's log_line_prefix (postgres, pgaudit).")
@click.option("--dialect", type=click.Choice(_DIALECTS), help="SQL dialect of a jsonl export that does not name one.")
@click.option("--system", type=click.Choice(["mysql", "mariadb"]), help="db.system for MySQL-format logs.")
@click.option("--follow", is_flag=True, help="Keep reading new data until SIGTERM/SIGINT (rotation handled).")
@pass_app
def ingest(
    app: AppContext,
    files: tuple[Path, ...],
    fmt: str | None,
    source_name: str | None,
    tz_name: str | None,
    log_line_prefix: str | None,
    dialect: str | None,
    system: str | None,
    follow: bool,
) -> None:
    """Store the statements of SQL logs as sql events, from where each was left.

    FILE... with --format, or the sources of 'audit:' in netguard.yaml. Each
    file resumes at its checkpoint; a rerun stores nothing twice. Exit 1 when
    any line could not be read.
    """
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    config = app.config
    sources = _sources(config.section(AUDIT), files, fmt, source_name, tz_name, log_line_prefix, dialect, system)
    for s in sources:
        zone(s.timezone)  # an unknown zone is a usage error before anything is read
    stop = threading.Event()
    bad_shown = [0]

    def on_bad(b: BadLine) -> None:
        if bad_shown[0] < _MAX_BAD_SHOWN:
            echo(f"{b.source}: byte {b.offset}: {b.reason}: {b.excerpt}", err=True)
        bad_shown[0] += 1

    classifier = classifiers_for(config)  # rule files and inventory read before anything is stored
    store = open_event_store(config)
    sink = EventSink(
        store, config.state_path.parent / "audit-spool.db", batch_size=_write_batch(store), name="audit-ingest"
    )
    followers = [
        LogFollower(s, config.state_path, sink, follow=follow, stop=stop, on_bad=on_bad, classifier=classifier())
        for s in sources
    ]
    started = time.monotonic()
    failed: list[str] = []
    restore_gc = _fewer_full_collections()
    try:
        previous: dict[signal.Signals, Any] = {}
        try:
            # Stop cleanly (flush, commit what was confirmed), following or not: the readers run on their own
            # threads. (Off the main thread signal.signal raises: the sink and store are closed all the same.)
            for sig in (signal.SIGTERM, signal.SIGINT):
                previous[sig] = signal.signal(sig, lambda *_: stop.set())
            for follower, result in read_sources(followers):
                if isinstance(result, NetGuardError):
                    failed.append(str(result))
                    continue
                for message in result.messages:
                    echo(message, err=True)
                echo(
                    f"{follower.source.name}: {plural(result.statements, 'statement')}, "
                    f"{plural(result.bad_lines, 'bad line')}"
                    + (f", {result.unparsed} not understood by sqlglot (kept, flagged)" if result.unparsed else "")
                    # Following: lines for a statement an idle flush stored already (not added; see the message).
                    + (f", {plural(result.late_lines, 'late line')}" if result.late_lines else "")
                )
        finally:
            stats = sink.close()
            if stats.stored:
                # Elasticsearch: one refresh at the end, so the next search sees them all (none during the load).
                # Failing here loses nothing: the events are stored, a later refresh shows them.
                with contextlib.suppress(StoreError):
                    store.refresh()
            store.close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    finally:
        restore_gc()  # on every way out: signal.signal raises off the main thread, closing a store can fail
    elapsed = time.monotonic() - started
    echo(
        f"events: {stats.stored} stored, {stats.duplicates} duplicates"
        + (f", {stats.spooled} spooled (store unavailable)" if stats.spooled else "")
        + (
            f", {stats.rejected} rejected (kept in {config.state_path.parent / 'audit-spool.db'})"
            if stats.rejected
            else ""
        )
        + f" in {elapsed:.1f} s"
    )
    for message in failed:
        echo(f"error: {message}", err=True)
    if failed:
        raise SystemExit(2)
    if sum(f.counts.bad_lines for f in followers):
        raise SystemExit(EXIT_FINDINGS)


def _fewer_full_collections() -> Callable[[], None]:
    """Make the cyclic GC's full collections rare while ingesting; returns what puts it back.

    Every event waits in a batch and in the sink long enough to reach the oldest generation, and
    is then freed by reference counting; that churn set off a full collection (a walk over every
    tracked object, sqlglot's included) every few thousand statements: 3-6 us of a statement's
    ~50 us (measured here with the collector off). Young generations are still collected as
    usual, so cyclic garbage does not build up in a long --follow; only the full walks wait
    longer (GC_FULL_EVERY collections of the middle generation instead of 10).
    """
    before = gc.get_threshold()
    gc.set_threshold(before[0], before[1], max(before[2], GC_FULL_EVERY))
    return lambda: gc.set_threshold(*before)


def _write_batch(store: EventStore) -> int:
    """Events per store write: one SQLite transaction, or several bulk requests Elasticsearch indexes in parallel."""
    if store.backend == "elasticsearch":
        from netguard.events.es_store import WRITE_BATCH

        return WRITE_BATCH
    return BATCH


def _sources(
    settings: AuditSettings,
    files: tuple[Path, ...],
    fmt: str | None,
    name: str | None,
    tz_name: str | None,
    prefix: str | None,
    dialect: str | None,
    system: str | None,
) -> list[LogSource]:
    """The sources to read: FILE... as given, or the configured ones (one with --source)."""
    if not files:
        if fmt is not None:
            raise UsageError("--format needs FILE...; configured sources name their own format")
        chosen = list(settings.sources)
        if name is not None:
            one = settings.source(name)
            if one is None:
                known = ", ".join(s.name for s in settings.sources) or "none configured"
                raise UsageError(f"no source '{name}' in the audit section of netguard.yaml (known: {known})")
            chosen = [one]
        if not chosen:
            raise UsageError("nothing to read: give FILE... with --format, or configure audit.sources")
        return [replace(s, timezone=tz_name or s.timezone) for s in chosen]
    if fmt is None:
        raise UsageError("FILE... needs --format")
    if name is not None and len(files) > 1:
        raise UsageError("--source names one file; give one FILE per command, or configure audit.sources")
    if tz_name is None and fmt in ZONELESS_FORMATS:
        raise UsageError(f"--timezone is required: {fmt} logs write times without a zone (e.g. Asia/Shanghai)")
    return [
        LogSource(
            name=name or str(file.resolve()),
            path=file,
            format=fmt,
            timezone=tz_name,
            log_line_prefix=prefix or DEFAULT_LOG_LINE_PREFIX,
            dialect=dialect,
            system=system,
        )
        for file in files
    ]


class UsageError(NetGuardError):
    """A combination of ingest options that does not make sense."""


@audit.command(name="search")
@click.argument("query", required=False, default="")
@click.option("--since", metavar="TIME", help="Only statements from TIME on (24h, 7d, 2026-11-01).")
@click.option("--until", metavar="TIME", help="Only statements before TIME (2026-11-25, 1h = an hour ago).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1_000_000), help="Most hits shown.")
@backend_option
@wide_option
@json_option
@click.pass_context
def search_(
    ctx: click.Context,
    query: str,
    since: str | None,
    until: str | None,
    limit: int,
    backend: str | None,
    wide: bool,
    as_json: bool,
) -> None:
    """Find stored SQL statements matching QUERY, newest first.

    The events of kind sql, in the query language of docs/query.md.

    \b
    Examples:
      netguard audit search 'user:app AND netguard.sql.tables:患者' --since 24h
      netguard audit search 'netguard.sql.where_less:true' --json
    """
    ctx.invoke(
        events_search,
        query=query,
        kinds=("sql",),
        since=since,
        until=until,
        limit=limit,
        backend=backend,
        wide=wide,
        as_json=as_json,
    )
