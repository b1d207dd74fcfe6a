"""``netguard events``: search, export and import the event store."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

import click

from commands.context import AppContext, pass_app
from commands.output import echo, json_option, json_safe, plural, print_json, progress, status
from commands.tables import Column, print_table, wide_option
from netguard.errors import EXIT_FINDINGS, NetGuardError, QueryError
from netguard.events import KINDS, EventError, EventStore, make_event, open_event_store
from netguard.events.deletions import PurgeRecord, older_events, purge_recorded
from netguard.events.model import Event, format_timestamp
from netguard.events.query import parse_duration_ms
from netguard.events.query import plan as p
from netguard.events.query.plan import now_ms
from netguard.events.schema import ALIASES, kind_fields

_KIND = click.Choice(sorted(KINDS))


def backend_option(func: Any) -> Any:
    return click.option(
        "--backend",
        type=click.Choice(["sqlite", "elasticsearch"]),
        help="Override the configured event store.",
    )(func)


def _window_options(func: Any) -> Any:
    func = click.option("--until", metavar="TIME", help="Only events before TIME (2026-11-25, 1h = an hour ago).")(func)
    func = click.option("--since", metavar="TIME", help="Only events from TIME on (24h, 7d, 2026-11-01).")(func)
    func = click.option(
        "--kind",
        "kinds",
        multiple=True,
        type=_KIND,
        metavar="KIND",
        help="Only this kind (repeatable; see `events fields`).",
    )(func)
    return func


def _open(app: AppContext, backend: str | None) -> EventStore:
    return open_event_store(app.config, backend)


def check_window(since: str | None, until: str | None) -> None:
    """An empty window is a mistake (``--since 24h --until 48h``), not a search without hits."""
    window = p.time_window(since, until)
    if (
        isinstance(window, p.Range)
        and isinstance(window.gte, int)
        and isinstance(window.lt, int)
        and window.gte >= window.lt
    ):
        raise QueryError(
            f"--since {since} is not before --until {until}: the window is empty "
            "(--since is the older end, e.g. --since 48h --until 24h)"
        )


@click.group(short_help="Search, export and import the audit trail.")
def events() -> None:
    """Search the audit trail: every event NetGuard recorded (see docs/query.md)."""


@events.command()
@click.argument("query", required=False, default="")
@_window_options
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1_000_000), help="Most hits shown.")
@backend_option
@wide_option
@json_option
@pass_app
def search(
    app: AppContext,
    query: str,
    kinds: tuple[str, ...],
    since: str | None,
    until: str | None,
    limit: int,
    backend: str | None,
    wide: bool,
    as_json: bool,
) -> None:
    """Find events matching QUERY, newest first.

    \b
    Examples:
      netguard events search 'user:alice AND risk:>=high' --since 24h
      netguard events search 'source.ip:10.1.0.0/16 NOT outcome:success'
      netguard events search '"drop table"' --kind sql
      netguard events search 'bytes:[1000 TO 5000]' --kind file-transfer
    """
    check_window(since, until)
    store = _open(app, backend)
    try:
        with status("searching"):
            result = store.search(query, kinds=kinds, since=since, until=until, limit=limit)
    finally:
        store.close()
    if as_json:
        print_json({"total": result.total, "hits": [dict(e.fields) for e in result.hits]})
        return
    title = plural(result.total, "event") + (
        f", newest {len(result.hits)} shown" if result.total > len(result.hits) else ""
    )
    rows: list[list[object]] = [
        [
            str(e.get("@timestamp", ""))[:19].replace("T", " "),
            e.kind,
            e.action,
            e.get("event.outcome", ""),
            e.get("user.name", ""),
            e.get("source.ip") or e.get("host.ip") or e.get("organization.name") or "",
            e.message,
        ]
        for e in result.hits
    ]
    print_table(title, SEARCH_COLUMNS, rows, wide=wide)


# Narrow terminals hide whole columns, lowest priority first: time, kind, where and the
# message stay on 80 columns; the message is cut, never a timestamp or an address.
SEARCH_COLUMNS = [
    Column("time (UTC)", keep=True, priority=9),
    Column("kind", keep=True, priority=8),
    Column("action", keep=True, priority=5),
    Column("outcome", keep=True, priority=4),
    Column("who", priority=3),
    Column("where", keep=True, priority=7),
    Column("message", priority=6, min_width=20),
]


@events.command(short_help="Write matching events to stdout as NDJSON.")
@click.argument("query", required=False, default="")
@_window_options
@backend_option
@pass_app
def export(
    app: AppContext, query: str, kinds: tuple[str, ...], since: str | None, until: str | None, backend: str | None
) -> None:
    """Write every matching event to stdout as NDJSON (one JSON object per line).

    Streams in pages, so it suits whole-store exports, e.g. moving from the
    embedded store to Elasticsearch:
    netguard events export | netguard events import --backend elasticsearch -
    """
    check_window(since, until)
    store = _open(app, backend)
    try:
        with progress("exporting events", None) as advance:
            for event in store.iter_search(query, kinds=kinds, since=since, until=until):
                click.echo(json_safe(event.json))
                advance(1)
    finally:
        store.close()


@events.command(name="import", short_help="Load events from an NDJSON file or stdin.")
@click.argument("source", type=click.File("rb"))
@backend_option
@json_option
@pass_app
def import_(app: AppContext, source: BinaryIO, backend: str | None, as_json: bool) -> None:
    """Load events from an NDJSON file (- for stdin), as `export` writes them.

    Each line must carry `netguard.kind`. Bad lines (not UTF-8, not JSON, not
    a valid event) are reported with their line number and counted; the good
    ones are stored. Exit code 1 if any line was bad. Re-importing the same
    file stores nothing twice.
    """
    bad: list[str] = []
    name = getattr(source, "name", "-")
    name = "-" if name == "<stdin>" else str(name)

    def parsed(advance: Callable[[int], None]) -> Iterator[Event]:
        # Bytes, decoded line by line: one undecodable line is one bad line, not the end.
        for lineno, raw in enumerate(source, 1):
            advance(1)
            try:
                doc = _parse_line(raw, first=lineno == 1)
                if doc is None:
                    continue
                event = make_event(str(doc.get("netguard.kind", "")), doc)
            except EventError as exc:
                bad.append(f"{name}:{lineno}: {exc}")
                continue
            except (ValueError, TypeError, OverflowError, RecursionError) as exc:
                # A value the event model could not handle (a timestamp out of range, ...):
                # still one bad line, never the end of the import.
                bad.append(f"{name}:{lineno}: not a valid event ({type(exc).__name__}: {exc})")
                continue
            yield event

    store = _open(app, backend)
    try:
        with progress("importing lines", None) as advance:
            result = store.write(parsed(advance))
        store.refresh()
    finally:
        store.close()
    failed = result.failed + len(bad)
    errors = bad[:50] + result.errors
    if as_json:
        print_json({"written": result.written, "duplicates": result.duplicates, "failed": failed, "errors": errors})
    else:
        for line in errors:
            echo(line, err=True)
        if len(bad) > 50:
            echo(f"... and {plural(len(bad) - 50, 'more bad line')}", err=True)
        echo(f"{result.written} written, {result.duplicates} already present, {failed} failed")
    if failed:
        raise click.exceptions.Exit(EXIT_FINDINGS)


def _parse_line(raw: bytes, *, first: bool) -> dict[str, Any] | None:
    """One NDJSON line as a JSON object; None for a blank line; EventError if it is bad."""
    if first and raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]  # a UTF-8 byte-order mark, as some editors write
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EventError(f"not UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})") from None
    if not line.strip():
        return None
    try:
        doc = json.loads(line)
    except ValueError as exc:
        raise EventError(f"not valid JSON ({exc})") from None
    except RecursionError:
        raise EventError("not valid JSON (nested too deeply)") from None
    if not isinstance(doc, dict):
        raise EventError("not a JSON object")
    return doc


@events.command(epilog="KIND is one of: " + ", ".join(sorted(KINDS)) + ".")
@click.argument("kind", required=False, type=_KIND, metavar="[KIND]")
@wide_option
@json_option
def fields(kind: str | None, wide: bool, as_json: bool) -> None:
    """List the event kinds, or the fields of one KIND, with their types."""
    if kind is None:
        rows: list[dict[str, Any]] = [
            {"kind": k.name, "title": k.title, "category": k.category, "actions": list(k.actions)}
            for k in KINDS.values()
        ]
        if as_json:
            print_json(rows)
            return
        columns = [Column("kind", keep=True, priority=9), Column("title", priority=5), Column("category", priority=2)]
        print_table(
            "event kinds",
            [*columns, Column("actions", priority=6)],
            [[r["kind"], r["title"], r["category"], ", ".join(r["actions"])] for r in rows],
            wide=wide,
        )
        return
    spec = KINDS[kind]
    reverse = {v: k for k, v in ALIASES.items()}
    frows: list[dict[str, Any]] = [
        {
            "field": f.name,
            "type": f.type.value,
            "array": f.array,
            "alias": reverse.get(f.name, ""),
            "description": f.description,
        }
        for f in kind_fields(spec)
    ]
    if as_json:
        print_json(frows)
        return
    print_table(
        f"fields of '{kind}' events",
        [
            Column("field", keep=True, priority=9),
            Column("type", keep=True, priority=8),
            Column("alias", keep=True, priority=7),
            Column("description", priority=5, min_width=20),
        ],
        [[r["field"], str(r["type"]) + ("[]" if r["array"] else ""), r["alias"], r["description"]] for r in frows],
        wide=wide,
    )


__all__ = ["events"]


MIN_RETENTION_DAYS = 180  # 等保2.0 8.1.5.4 d): audit records are kept at least six months


@events.command()
@click.option("--older-than", "older_than", required=True, metavar="AGE", help="Remove events older than AGE (200d).")
@click.option("--apply", is_flag=True, help="Really delete; without it, only say what would go.")
@click.option("--force", is_flag=True, help=f"With --apply: allow keeping less than {MIN_RETENTION_DAYS} days.")
@backend_option
@json_option
@pass_app
def purge(app: AppContext, older_than: str, apply: bool, force: bool, backend: str | None, as_json: bool) -> None:
    """Remove events older than AGE (retention). Dry run unless --apply.

    \b
    Any AGE may be previewed; applying one under 180 days
    (等保2.0 8.1.5.4 d: six months of audit data) needs --force as well.

    The purge is recorded as two events of kind `deletion` (who, the cut-off,
    how many), written before and after; those are never purged.

    Elasticsearch
    drops whole monthly indices, so it removes only months that end before the
    cut-off; SQLite removes exactly the events before it.
    """
    age = parse_duration_ms(older_than)
    if age is None:
        raise NetGuardError(f"--older-than takes a duration such as 200d, not '{older_than}'")
    if apply and age < MIN_RETENTION_DAYS * 86_400_000 and not force:
        raise NetGuardError(
            f"--older-than {older_than} keeps less than {MIN_RETENTION_DAYS} days of audit data "
            "(等保2.0 8.1.5.4 d); add --force if you must"
        )
    cutoff = now_ms() - age
    store = _open(app, backend)
    record: PurgeRecord | None = None
    try:
        # Records of earlier deletions are never purged (netguard/events/deletions.py), so not counted.
        older = store.count(older_events(cutoff))
        if apply:
            record = purge_recorded(store, cutoff, older_than=older_than, forced=force)
    finally:
        store.close()
    unit = "indices" if store.backend == "elasticsearch" else "events"
    removed = 0 if record is None else (record.indices if record.indices is not None else record.removed)
    report = {
        "older_than": older_than,
        "cutoff": format_timestamp(cutoff),
        "events_older": older,
        "applied": apply,
        "removed": removed,
        "removed_unit": unit,
        "removed_events": 0 if record is None else record.removed,
        "deletion_record": None if record is None else record.record_id,
    }
    short = age < MIN_RETENTION_DAYS * 86_400_000
    if as_json:
        print_json(report)
    elif apply:
        what = plural(removed, "index", "indices") if unit == "indices" else plural(removed, "event")
        if unit == "indices":
            what += f" ({plural(0 if record is None else record.removed, 'event')})"
        echo(f"removed {what} older than {report['cutoff']}; recorded as deletion event {report['deletion_record']}")
    else:
        older_text = f"{plural(older, 'event')} {'is' if older == 1 else 'are'}"
        echo(
            f"{older_text} older than {report['cutoff']}; nothing removed (add --apply"
            + (f", and --force: this keeps less than {MIN_RETENTION_DAYS} days)" if short else ")")
        )
