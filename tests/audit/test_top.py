"""`netguard audit top` over sql events from a real MariaDB log, on SQLite and (targeted) Elasticsearch."""

from __future__ import annotations

import json
import logging
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from elasticsearch import Elasticsearch

from audit.event_fields import event_fields, log_position
from audit.formats import ParseOptions
from audit.pipeline import Audited, Pipeline
from audit.reader import Counts, audit_file
from audit.risk_settings import RiskSettings, Sensitive
from audit.sql_rules import sql_classifier
from audit.timestamps import zone
from cli import main
from netguard.events import make_event
from netguard.events.es_store import ElasticsearchEventStore
from netguard.events.model import Event
from netguard.events.sqlite_store import SQLiteEventStore
from netguard.events.store import EventStore
from tests.audit.conftest import ServerRun

logging.getLogger("sqlglot").setLevel(logging.ERROR)
SETTINGS = RiskSettings(sensitive={"his": Sensitive(frozenset({"患者"}), frozenset({"id_card", "phone", "姓名"}))})


def log_events(run: ServerRun) -> list[Event]:
    path = run.logs["mysql-general"]
    options = ParseOptions(source=str(path), tz=zone("Asia/Shanghai"))
    pipeline = Pipeline(sql_classifier(SETTINGS, None))
    items = [i for i in audit_file(path, "mysql-general", options, pipeline, Counts()) if isinstance(i, Audited)]
    return [make_event("sql", event_fields(i), position=log_position(i, "maria", "k")) for i in items]


def expected(events: list[Event], field: str, prefix: str = "") -> Counter[str]:
    counts: Counter[str] = Counter()
    for e in events:
        value = e.fields.get(field)
        for v in value if isinstance(value, list) else [] if value is None else [value]:
            if str(v).startswith(prefix):
                counts[str(v)] += 1
    return counts


def ranked(counts: Counter[str]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


BYS = [
    ("user.name", "", None),
    ("netguard.sql.tables", "", None),
    ("netguard.sql.fingerprint_id", "", "netguard.sql.fingerprint"),
    ("tags", "rule:", None),
    ("db.namespace", "", None),
]


def check_store(store: EventStore, events: list[Event]) -> None:
    for field, prefix, sample in BYS:
        want = ranked(expected(events, field, prefix))
        got = store.top(field, kinds=("sql",), limit=3, prefix=prefix, sample=sample)
        assert got.total == len(events)
        assert [(b.value, b.count) for b in got.buckets] == want[:3], field
        assert got.other == sum(c for _, c in want[3:]), field
        if field == "user.name":
            assert got.missing == sum(1 for e in events if e.fields.get(field) is None)
        if sample:
            by_id = {e.fields[field]: e.fields[sample] for e in events}
            assert all(b.sample == by_id[b.value] for b in got.buckets)
    # A query narrows what is counted.
    narrowed = store.top("user.name", "risk:>=high", kinds=("sql",))
    high = [e for e in events if e.fields.get("netguard.risk") in ("high", "critical")]
    assert [(b.value, b.count) for b in narrowed.buckets] == ranked(expected(high, "user.name"))


def test_top_on_sqlite_from_a_real_log(mariadb_run: ServerRun, tmp_path: Path) -> None:
    events = log_events(mariadb_run)
    assert {"rule:SQL-WHERE-LESS", "rule:SQL-ACCOUNT-CHANGE"} <= set(expected(events, "tags"))
    store = SQLiteEventStore(tmp_path / "events.db")
    try:
        store.write(events)
        check_store(store, events)
    finally:
        store.close()


@pytest.fixture
def es_store(es_node: Any, es_client: Elasticsearch) -> Iterator[ElasticsearchEventStore]:
    """A store under a fresh index prefix on the real node (as tests/events/conftest.py), removed after."""
    prefix = "t" + uuid.uuid4().hex[:10]
    store = ElasticsearchEventStore(es_client, prefix=prefix, replicas=0, hosts=[es_node.url])
    yield store
    es_client.options(ignore_status=404).indices.delete(index=f"{prefix}-*", allow_no_indices=True)
    es_client.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}-*")


def test_top_on_elasticsearch_matches_sqlite(mariadb_run: ServerRun, es_store: ElasticsearchEventStore) -> None:
    events = log_events(mariadb_run)
    es_store.write(events)
    es_store.refresh()
    check_store(es_store, events)


def cli(config: Path, *args: str) -> Any:
    return CliRunner().invoke(main, ["--config", str(config), "audit", "top", *args])


@pytest.fixture
def hostile_store(tmp_path: Path) -> Path:
    config = tmp_path / "netguard.yaml"
    config.write_text("events:\n  backend: sqlite\n  sqlite:\n    path: events.db\n", encoding="utf-8")
    store = SQLiteEventStore(tmp_path / "events.db")
    users = ["\x1b[31mroot\x1b[0m", "[bold]admin[/bold]", "evil\u202egnp.exe", ":smile:"]
    events = [
        make_event(
            "sql",
            {
                "event.action": "query",
                "user.name": user,
                "db.query.text": "SELECT ?",
                "netguard.sql.fingerprint_id": "ab" * 16,
                "netguard.sql.fingerprint": "select ? /*\x07*/",
                "tags": ["rule:[red]X[/red]"],
            },
            timestamp=1_790_000_000 + i,
        )
        for i, user in enumerate(u for n, u in enumerate(users) for _ in range(n + 1))
    ]
    store.write(events)
    store.close()
    return config


def test_hostile_values_are_shown_as_stored(hostile_store: Path) -> None:
    out = cli(hostile_store, "--by", "user", "--wide").output
    assert "\x1b" not in out and "\u202e" not in out
    for shown in ("\\x1b[31mroot\\x1b[0m", "[bold]admin[/bold]", "evil\\u202egnp.exe", ":smile:"):
        assert shown in out
    fp = cli(hostile_store, "--by", "fingerprint", "--wide").output
    assert "select ? /*\\x07*/" in fp and "\x07" not in fp
    rule = json.loads(cli(hostile_store, "--by", "rule", "--json").output)
    assert rule["top"] == [{"value": "[red]X[/red]", "count": 10}]
    users = json.loads(cli(hostile_store, "--by", "user", "--json").output)
    assert users["top"][0]["value"] == ":smile:" and users["total"] == 10


def test_usage_errors_are_one_line(hostile_store: Path) -> None:
    bad = cli(hostile_store, "--by", "user", "user:(")
    assert bad.exit_code == 2 and bad.output.startswith("error: ") and "Traceback" not in bad.output
    empty = cli(hostile_store, "--by", "user", "--since", "24h", "--until", "48h")
    assert empty.exit_code == 2 and "window is empty" in empty.output
