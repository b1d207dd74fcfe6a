"""`netguard audit report`: a real MariaDB log's day, per database; new fingerprints; hostile values; both stores."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from elasticsearch import Elasticsearch

from audit.report import NO_DATABASE, build_report, period, report_json
from audit.report_html import render_html
from cli import main
from netguard.events import make_event
from netguard.events.es_store import ElasticsearchEventStore
from netguard.events.model import Event, to_epoch_ms
from netguard.events.sqlite_store import SQLiteEventStore
from tests.audit.conftest import ServerRun
from tests.audit.test_top import log_events

SHANGHAI = ZoneInfo("Asia/Shanghai")
RISKY = ("medium", "high", "critical")


def day_of(events: list[Event]) -> dt.date:
    days = {dt.datetime.fromtimestamp(e.timestamp_ms / 1000, SHANGHAI).date() for e in events}
    assert len(days) == 1, "the workload ran across midnight in Shanghai; run again"
    return days.pop()


def past_event(db: str, fingerprint_id: str, when: dt.datetime) -> Event:
    return make_event(
        "sql",
        {
            "event.action": "query",
            "user.name": "doc",
            "db.namespace": db,
            "db.query.text": "an older statement of the same shape",
            "netguard.sql.fingerprint_id": fingerprint_id,
        },
        timestamp=when,
    )


@pytest.fixture
def stored(mariadb_run: ServerRun, tmp_path: Path) -> Iterator[tuple[SQLiteEventStore, list[Event], Event]]:
    events = log_events(mariadb_run)
    day = day_of(events)
    his = sorted({e.fields["netguard.sql.fingerprint_id"] for e in events if e.fields.get("db.namespace") == "his"})
    # The first 'his' fingerprint was already seen two days before; the same id in 'lis' does not count.
    before = dt.datetime.combine(day, dt.time(12), SHANGHAI) - dt.timedelta(days=2)
    old = past_event("his", str(his[0]), before)
    store = SQLiteEventStore(tmp_path / "events.db")
    store.write([*events, old, past_event("lis", str(his[1]), before)])
    yield store, events, old
    store.close()


def test_report_of_a_real_day(stored: tuple[SQLiteEventStore, list[Event], Event]) -> None:
    store, events, old = stored
    when = period(day_of(events).isoformat(), None, SHANGHAI)
    data = report_json(build_report(store, when))
    assert data["statements"] == len(events)
    by_db = Counter(e.fields.get("db.namespace", NO_DATABASE) for e in events)
    got = {d["database"] or NO_DATABASE: d for d in data["databases"]}
    assert {k: v["statements"] for k, v in got.items()} == dict(by_db)
    for name, d in got.items():
        mine = [e for e in events if e.fields.get("db.namespace", NO_DATABASE) == name]
        assert d["failures"] == sum(1 for e in mine if e.fields.get("event.outcome") == "failure")
        risky = [e for e in mine if e.fields.get("netguard.risk") in RISKY]
        assert d["risky"]["total"] == len(risky) == len(d["risky"]["shown"])
        assert {r["event_id"] for r in d["risky"]["shown"]} == {e.id for e in risky}
        users = Counter(e.fields.get("user.name") for e in mine if e.fields.get("user.name"))
        assert {u["value"]: u["count"] for u in d["users"]} == dict(users)
        fps = Counter(str(e.fields.get("netguard.sql.fingerprint_id")) for e in mine)
        seen_before = {old.fields["netguard.sql.fingerprint_id"]} if name == "his" else set()
        assert {f["fingerprint_id"]: f["count"] for f in d["new_fingerprints"]} == {
            k: v for k, v in fps.items() if k not in seen_before
        }
    his = got["his"]
    assert {"SQL-WHERE-LESS", "SQL-SENSITIVE-SELECT-STAR"} <= {r["value"] for r in his["rules"]}
    assert any("患者" in (r["statement"] or "") for r in his["risky"]["shown"])
    assert all("13800138000" not in (r["statement"] or "") for r in his["risky"]["shown"])  # masked as stored


def test_month_and_empty_period(stored: tuple[SQLiteEventStore, list[Event], Event]) -> None:
    store, events, _old = stored
    day = day_of(events)
    month = report_json(build_report(store, period(None, day.strftime("%Y-%m"), SHANGHAI)))
    # The month holds the day, plus the older events when they fall in the same month.
    assert month["statements"] >= len(events)
    empty = report_json(build_report(store, period("2001-01-01", None, SHANGHAI)))
    assert empty["statements"] == 0 and empty["databases"] == []
    assert period(None, None, SHANGHAI, today=dt.date(2026, 12, 1)).label == "2026-11-30"
    assert period(None, "2026-12", SHANGHAI).end_ms == to_epoch_ms(dt.datetime(2027, 1, 1, tzinfo=SHANGHAI))


HOSTILE = {
    "db.namespace": "<script>alert(1)</script>",
    "user.name": "\x1b[2J\x1b[31mroot",
    "db.query.text": "SELECT '\u202etxt.exe' FROM t -- </td></tr><img src=x onerror=alert(1)>",
    "netguard.sql.fingerprint_id": "\"'><b>x",
    "netguard.sql.fingerprint": "select ? \u200b\x07",
    "tags": ["rule:<i>R</i>"],
    "netguard.risk": "high",
}


def hostile_event() -> Event:
    return make_event(
        "sql", {"event.action": "query", **HOSTILE}, timestamp=dt.datetime(2026, 11, 30, 3, tzinfo=dt.UTC)
    )


def test_html_is_self_contained_and_escapes_every_stored_value(tmp_path: Path) -> None:
    store = SQLiteEventStore(tmp_path / "events.db")
    store.write(
        [make_event("sql", {"event.action": "query", **HOSTILE}, timestamp=dt.datetime(2026, 11, 30, 3, tzinfo=dt.UTC))]
    )
    page = render_html(build_report(store, period("2026-11-30", None, SHANGHAI)))
    store.close()
    for raw in ("<script", "<img", "<b>x", "<i>R", "\x1b", "\u202e", "\u200b", "\x07", "</td></tr><img"):
        assert raw not in page, repr(raw)
    for shown in (
        "&lt;script&gt;alert(1)&lt;/script&gt;",
        "\\x1b[2J\\x1b[31mroot",
        "\\u202etxt.exe",
        "&lt;i&gt;R&lt;/i&gt;",
    ):
        assert shown in page, shown
    # Nothing fetched from elsewhere: no scripts, links, images, fonts or URLs in attributes.
    # (Data may say "src=": escaped, it sits in text, never inside a tag.)
    assert not re.search(r"<(script|link|img|iframe|object)\b|<[a-z]+[^>]*\b(src|href)\s*=|url\(|@import", page, re.I)


def cli(config: Path, *args: str) -> Any:
    return CliRunner().invoke(main, ["--config", str(config), "audit", "report", *args])


def test_cli_json_html_and_errors(tmp_path: Path) -> None:
    config = tmp_path / "netguard.yaml"
    config.write_text("events:\n  backend: sqlite\n  sqlite:\n    path: events.db\n", encoding="utf-8")
    store = SQLiteEventStore(tmp_path / "events.db")
    store.write(
        [make_event("sql", {"event.action": "query", **HOSTILE}, timestamp=dt.datetime(2026, 11, 30, 3, tzinfo=dt.UTC))]
    )
    store.close()
    html_file = tmp_path / "report.html"
    out = cli(config, "--day", "2026-11-30", "--html", str(html_file), "--json")
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["databases"][0]["database"] == HOSTILE["db.namespace"] and data["html"] == str(html_file)
    assert os.stat(html_file).st_mode & 0o777 == 0o600
    os.chmod(html_file, 0o644)  # a report left readable by others is made private when written again
    assert cli(config, "--day", "2026-11-30", "--html", str(html_file)).exit_code == 0
    assert os.stat(html_file).st_mode & 0o777 == 0o600
    table = cli(config, "--day", "2026-11-30", "--wide")
    assert table.exit_code == 0 and "<script>alert(1)</script>" in table.output and "\x1b" not in table.output
    for args, message in [
        (("--day", "30/11/2026"), "--day takes YYYY-MM-DD"),
        (("--month", "2026-13"), "--month takes YYYY-MM"),
        (("--day", "2026-11-30", "--month", "2026-11"), "not both"),
        (("--timezone", "Mars/Base"), "unknown time zone"),
    ]:
        bad = cli(config, *args)
        assert bad.exit_code == 2 and bad.output.startswith("error: ") and message in bad.output, bad.output


@pytest.fixture
def es_store(es_node: Any, es_client: Elasticsearch) -> Iterator[ElasticsearchEventStore]:
    prefix = "t" + uuid.uuid4().hex[:10]
    store = ElasticsearchEventStore(es_client, prefix=prefix, replicas=0, hosts=[es_node.url])
    yield store
    es_client.options(ignore_status=404).indices.delete(index=f"{prefix}-*", allow_no_indices=True)
    es_client.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}-*")


def test_same_report_from_elasticsearch(
    stored: tuple[SQLiteEventStore, list[Event], Event], es_store: ElasticsearchEventStore
) -> None:
    store, events, _old = stored
    es_store.write(store.iter_search())
    es_store.refresh()
    when = period(day_of(events).isoformat(), None, SHANGHAI)
    now = to_epoch_ms(dt.datetime.now(dt.UTC))
    mine, theirs = (report_json(build_report(s, when, now_ms=now)) for s in (store, es_store))
    assert {**mine, "store": None} == {**theirs, "store": None}
