"""``netguard audit top``: who and what runs the most SQL, counted in the event store.

Both stores aggregate themselves (SQLite: one GROUP BY; Elasticsearch: a
terms aggregation), so the answer costs one query whatever the number of
events. ``--by rule`` counts every rule a statement matched (the ``rule:ID``
tags), not only the highest one in ``rule.id``.
"""

from __future__ import annotations

from dataclasses import dataclass

import click

from commands.context import AppContext, pass_app
from commands.events import backend_option, check_window
from commands.output import json_option, plural, print_json, status
from commands.tables import Column, print_table, wide_option
from netguard.events import open_event_store
from netguard.events.store import TopResult


@dataclass(frozen=True)
class By:
    field: str
    noun: str
    prefix: str = ""
    sample: str | None = None
    nouns: str | None = None

    @property
    def plural(self) -> str:
        return self.nouns or self.noun + "s"


BY = {
    "user": By("user.name", "user"),
    "client": By("source.ip", "client address", nouns="client addresses"),
    "table": By("netguard.sql.tables", "table"),
    "fingerprint": By("netguard.sql.fingerprint_id", "fingerprint", sample="netguard.sql.fingerprint"),
    "rule": By("tags", "rule", prefix="rule:"),
    "database": By("db.namespace", "database"),
    "risk": By("netguard.risk", "risk level"),
}


def top_json(by: str, result: TopResult) -> dict[str, object]:
    spec = BY[by]
    rows = []
    for b in result.buckets:
        row: dict[str, object] = {"value": b.value[len(spec.prefix) :], "count": b.count}
        if spec.sample:
            row["fingerprint"] = b.sample
        rows.append(row)
    return {
        "by": by,
        "field": spec.field,
        "total": result.total,
        "top": rows,
        "other": result.other,
        "missing": result.missing,
    }


@click.command(name="top", short_help="Most SQL by user, client, table, fingerprint or rule.")
@click.argument("query", required=False, default="")
@click.option("--by", "by", required=True, type=click.Choice(list(BY)), help="What to count statements by.")
@click.option("--since", metavar="TIME", help="Only statements from TIME on (24h, 7d, 2026-11-01).")
@click.option("--until", metavar="TIME", help="Only statements before TIME.")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 10_000), help="How many to show.")
@backend_option
@wide_option
@json_option
@pass_app
def top(
    app: AppContext,
    query: str,
    by: str,
    since: str | None,
    until: str | None,
    limit: int,
    backend: str | None,
    wide: bool,
    as_json: bool,
) -> None:
    """The users, clients, tables, fingerprints or rules with the most SQL statements.

    Among the sql events matching QUERY (docs/query.md), most first.

    \b
    Examples:
      netguard audit top --by user --since 24h
      netguard audit top --by fingerprint 'table:患者' --since 7d
      netguard audit top --by client 'risk:>=high' --json
    """
    check_window(since, until)
    spec = BY[by]
    store = open_event_store(app.config, backend)
    try:
        with status("counting"):
            result = store.top(
                spec.field,
                query,
                kinds=("sql",),
                since=since,
                until=until,
                limit=limit,
                prefix=spec.prefix,
                sample=spec.sample,
            )
    finally:
        store.close()
    if as_json:
        print_json(top_json(by, result))
        return
    rows: list[list[object]] = []
    for i, b in enumerate(result.buckets, 1):
        share = f"{100 * b.count / result.total:.1f} %" if result.total else ""
        cells: list[object] = [i, b.value[len(spec.prefix) :], b.count, share]
        if spec.sample:
            cells.append(b.sample or "")
        rows.append(cells)
    columns = [
        Column("#", keep=True, priority=9, justify="right"),
        Column(spec.noun, keep=True, priority=8, min_width=12),
        Column("statements", keep=True, priority=7, justify="right"),
        Column("share", keep=True, priority=5, justify="right"),
    ]
    if spec.sample:
        columns.append(Column("fingerprint", priority=6, min_width=20))
    title = f"top {plural(len(rows), spec.noun, spec.plural)} of {plural(result.total, 'statement')}"
    extras = []
    if result.other:
        extras.append(f"{result.other} more in other {spec.plural}")
    if result.missing:
        extras.append(f"{result.missing} without a {spec.noun}")
    print_table(title + (f" ({'; '.join(extras)})" if extras else ""), columns, rows, wide=wide)
