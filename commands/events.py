"""``netguard events``: search, export and import the event store."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any, TextIO

import click
from rich.table import Table

from commands.context import AppContext, pass_app
from commands.output import console, json_option, print_json, progress, status
from netguard.errors import EXIT_FINDINGS, NetGuardError
from netguard.events import KINDS, EventError, EventStore, make_event, open_event_store
from netguard.events.model import Event, format_timestamp
from netguard.events.query import parse_duration_ms
from netguard.events.query import plan as p
from netguard.events.query.plan import now_ms
from netguard.events.schema import ALIASES, FIELDS, kind_fields

_KIND = click.Choice(sorted(KINDS))


def _backend_option(func: Any) -> Any:
    return click.option(
        "--backend",
        type=click.Choice(["sqlite", "elasticsearch"]),
        help="Override the configured event store.",
    )(func)


def _window_options(func: Any) -> Any:
    func = click.option("--until", metavar="TIME", help="Only events before TIME (2026-11-25, 1h = an hour ago).")(func)
    func = click.option("--since", metavar="TIME", help="Only events from TIME on (24h, 7d, 2026-11-01).")(func)
    func = click.option("--kind", "kinds", multiple=True, type=_KIND, help="Only this kind (repeatable).")(func)
    return func


def _open(app: AppContext, backend: str | None) -> EventStore:
    return open_event_store(app.config, backend)


@click.group()
def events() -> None:
    """Search the audit trail: every event NetGuard recorded (see docs/query.md)."""


@events.command()
@click.argument("query", required=False, default="")
@_window_options
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1_000_000), help="Most hits shown.")
@_backend_option
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
    store = _open(app, backend)
    try:
        with status("searching"):
            result = store.search(query, kinds=kinds, since=since, until=until, limit=limit)
    finally:
        store.close()
    if as_json:
        print_json({"total": result.total, "hits": [dict(e.fields) for e in result.hits]})
        return
    out = console()
    table = Table(
        title=f"{result.total} event(s)"
        + (f", newest {len(result.hits)} shown" if result.total > len(result.hits) else "")
    )
    for col in ("time (UTC)", "kind", "action", "outcome", "who", "where", "message"):
        table.add_column(col, overflow="fold")
    for e in result.hits:
        table.add_row(
            str(e.get("@timestamp", ""))[:19].replace("T", " "),
            e.kind,
            e.action,
            str(e.get("event.outcome", "")),
            str(e.get("user.name", "")),
            str(e.get("source.ip") or e.get("host.ip") or e.get("organization.name") or ""),
            e.message,
        )
    out.print(table)


@events.command()
@click.argument("query", required=False, default="")
@_window_options
@_backend_option
@pass_app
def export(
    app: AppContext, query: str, kinds: tuple[str, ...], since: str | None, until: str | None, backend: str | None
) -> None:
    """Write every matching event to stdout as NDJSON (one JSON object per line).

    Streams in pages, so it suits whole-store exports, e.g. moving from the
    embedded store to Elasticsearch:
    netguard events export | netguard events import --backend elasticsearch -
    """
    store = _open(app, backend)
    try:
        with progress("exporting events", None) as advance:
            for event in store.iter_search(query, kinds=kinds, since=since, until=until):
                click.echo(event.json)
                advance(1)
    finally:
        store.close()


@events.command(name="import")
@click.argument("source", type=click.File("r", encoding="utf-8"))
@_backend_option
@json_option
@pass_app
def import_(app: AppContext, source: TextIO, backend: str | None, as_json: bool) -> None:
    """Load events from an NDJSON file (- for stdin), as `export` writes them.

    Each line must carry `netguard.kind`. Bad lines are reported with their
    line number and counted; the good ones are stored. Exit code 1 if any line
    was bad. Re-importing the same file stores nothing twice.
    """
    bad: list[str] = []
    name = getattr(source, "name", "-")

    def parsed(advance: Callable[[int], None]) -> Iterator[Event]:
        for lineno, line in enumerate(source, 1):
            advance(1)
            if not line.strip():
                continue
            try:
                doc = json.loads(line)
            except ValueError as exc:
                bad.append(f"{name}:{lineno}: not valid JSON ({exc})")
                continue
            try:
                if not isinstance(doc, dict):
                    raise EventError("not a JSON object")
                yield make_event(str(doc.get("netguard.kind", "")), doc)
            except EventError as exc:
                bad.append(f"{name}:{lineno}: {exc}")

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
        err = console(stderr=True)
        for line in errors:
            err.print(line, markup=False)
        if len(bad) > 50:
            err.print(f"... and {len(bad) - 50} more bad lines")
        console().print(f"{result.written} written, {result.duplicates} already present, {failed} failed", markup=False)
    if failed:
        raise click.exceptions.Exit(EXIT_FINDINGS)


@events.command()
@click.argument("kind", required=False, type=_KIND)
@json_option
def fields(kind: str | None, as_json: bool) -> None:
    """List the event kinds, or the fields of one KIND, with their types."""
    if kind is None:
        rows: list[dict[str, Any]] = [
            {"kind": k.name, "title": k.title, "category": k.category, "actions": list(k.actions)}
            for k in KINDS.values()
        ]
        if as_json:
            print_json(rows)
            return
        table = Table(title="event kinds")
        for col in ("kind", "title", "category", "actions"):
            table.add_column(col)
        for r in rows:
            table.add_row(str(r["kind"]), str(r["title"]), str(r["category"]), ", ".join(r["actions"]))
        console().print(table)
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
    table = Table(title=f"fields of '{kind}' events")
    for col in ("field", "type", "alias", "description"):
        table.add_column(col, overflow="fold")
    for r in frows:
        table.add_row(
            str(r["field"]), str(r["type"]) + ("[]" if r["array"] else ""), str(r["alias"]), str(r["description"])
        )
    console().print(table)


__all__ = ["events"]


MIN_RETENTION_DAYS = 180  # 等保2.0 8.1.5.4 d): audit records are kept at least six months


@events.command()
@click.option("--older-than", "older_than", required=True, metavar="AGE", help="Remove events older than AGE (200d).")
@click.option("--apply", is_flag=True, help="Really delete; without it, only say what would go.")
@click.option("--force", is_flag=True, help=f"Allow keeping less than {MIN_RETENTION_DAYS} days.")
@_backend_option
@json_option
@pass_app
def purge(app: AppContext, older_than: str, apply: bool, force: bool, backend: str | None, as_json: bool) -> None:
    """Remove events older than AGE (retention). Dry run unless --apply.

    Keeping less than 180 days (等保2.0 8.1.5.4 d) needs --force. Elasticsearch
    drops whole monthly indices, so it removes only months that end before the
    cut-off; SQLite removes exactly the events before it.
    """
    age = parse_duration_ms(older_than)
    if age is None:
        raise NetGuardError(f"--older-than takes a duration such as 200d, not '{older_than}'")
    if age < MIN_RETENTION_DAYS * 86_400_000 and not force:
        raise NetGuardError(
            f"--older-than {older_than} keeps less than {MIN_RETENTION_DAYS} days of audit data "
            "(等保2.0 8.1.5.4 d); add --force if you must"
        )
    cutoff = now_ms() - age
    store = _open(app, backend)
    try:
        older = store.count(p.Range(FIELDS["@timestamp"], lt=cutoff))
        removed = store.purge(cutoff) if apply else 0
    finally:
        store.close()
    unit = "indices" if store.backend == "elasticsearch" else "events"
    report = {
        "older_than": older_than,
        "cutoff": format_timestamp(cutoff),
        "events_older": older,
        "applied": apply,
        "removed": removed,
        "removed_unit": unit,
    }
    if as_json:
        print_json(report)
    elif apply:
        console().print(f"removed {removed} {unit} older than {report['cutoff']}", markup=False)
    else:
        console().print(
            f"{older} events are older than {report['cutoff']}; nothing removed (add --apply)", markup=False
        )
