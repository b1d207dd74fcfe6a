"""The SQLite store's side indexes (addresses, short CJK words) and the upgrade of older stores."""

from __future__ import annotations

import ipaddress
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from netguard.errors import StoreError
from netguard.events import make_event
from netguard.events.model import Event
from netguard.events.query.to_sqlite import fts_body
from netguard.events.schema import DEFAULT_TEXT_FIELDS
from netguard.events.sqlite_store import MIGRATIONS, SQLiteEventStore
from netguard.lab.synthetic_events import START_MS, synthetic_events
from netguard.store.db import migrate
from tests.events.fts_rows import fts_rows

NOW = START_MS + 2 * 3_600_000

CJK_TEXTS = [
    ("file-transfer", {"event.action": "upload", "file.path": "/home/ops/患者名单.xlsx"}),
    ("sql", {"event.action": "query", "db.query.text": "SELECT 姓名, 身份证号 FROM 患者 WHERE 编号 = ?"}),
    ("sql", {"event.action": "query", "db.query.text": "select 1", "message": "查询患"}),
    ("bastion-command", {"event.action": "exec", "process.command_line": "cat 者.txt", "message": "x者y"}),
    ("enforcement", {"event.action": "restore", "netguard.enforce.reason": "未授权终端接入 unauthorised"}),
    ("compliance", {"event.action": "check", "netguard.compliance.title": "デフォルト 콘텐츠 默认团体名"}),
    ("bastion-command", {"event.action": "exec", "process.command_line": "ls", "message": "患\x00者"}),
    ("bastion-command", {"event.action": "exec", "event.outcome": "ok\x00x", "process.command_line": "true"}),
]
CJK_QUERIES = [
    "患者",
    "患",
    "者",
    "姓名",
    "名",
    "授权",
    "接入",
    "入",
    "ト",
    "콘텐",
    "团",
    "x者",
    "sql:患者",
    "sql:名",
    "NOT 患者",
]


def _texts(event: Event) -> list[str]:
    return [str(event.fields[f]).lower() for f in DEFAULT_TEXT_FIELDS if f in event.fields]


def _cjk_events() -> list[Event]:
    return [
        make_event(kind, fields, timestamp=(START_MS + i * 1000) / 1000) for i, (kind, fields) in enumerate(CJK_TEXTS)
    ]


def _expected(query: str, events: list[Event]) -> int:
    negate = query.startswith("NOT ")
    word = query.removeprefix("NOT ")
    if word.startswith("sql:"):
        found = [word[4:] in e.fields.get("db.query.text", "") for e in events]
    else:
        found = [any(word in t for t in _texts(e)) for e in events]
    return sum(f != negate for f in found)


def test_words_of_one_or_two_cjk_characters_are_found_exactly(sqlite_store: SQLiteEventStore) -> None:
    events = _cjk_events() + list(synthetic_events(300, seed=4))
    sqlite_store.write(events)
    for query in CJK_QUERIES:
        assert sqlite_store.count(query) == _expected(query, events), query
    # Only events with CJK text are in the CJK index.
    indexed = fts_rows(sqlite_store.conn, "events_cjk")
    assert indexed == sum(1 for e in events if not fts_body(e.fields).isascii()) < len(events)


def test_addresses_are_found_through_their_index(sqlite_store: SQLiteEventStore) -> None:
    events = list(synthetic_events(900, seed=5))
    sqlite_store.write(events)
    for field in ("source.ip", "destination.ip", "host.ip", "related.ip"):
        for network in ("10.1.0.0/16", "10.0.0.0/8", "fd00::/8", "::/0", "10.0.0.10/32"):
            net = ipaddress.ip_network(network)

            def holds(e: Event, net: Any = net, field: str = field) -> bool:
                value = e.fields.get(field)
                values = value if isinstance(value, list) else [value] if value else []
                return any(_in(v, net) for v in values)

            expected = sum(1 for e in events if holds(e))
            assert sqlite_store.count(f"{field}:{network}") == expected, (field, network)
            assert sqlite_store.count(f"NOT {field}:{network}") == len(events) - expected, (field, network)
    some = next(e.fields["source.ip"] for e in events if "source.ip" in e.fields)
    assert sqlite_store.count(f"source.ip:{some}") == sum(1 for e in events if e.fields.get("source.ip") == some)


def _in(text: str, net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    addr = ipaddress.ip_address(text)
    if isinstance(net, ipaddress.IPv6Network) and isinstance(addr, ipaddress.IPv4Address):
        addr = ipaddress.IPv6Address("::ffff:" + text)
    return addr.version == net.version and addr in net


def test_purge_removes_the_side_index_rows(sqlite_store: SQLiteEventStore) -> None:
    events = _cjk_events() + list(synthetic_events(300, seed=9, step_ms=1000))
    sqlite_store.write(events)
    cutoff = START_MS + 150_000
    sqlite_store.purge(cutoff)
    kept = [e for e in events if e.timestamp_ms >= cutoff]
    conn = sqlite_store.conn
    assert (
        conn.execute("SELECT count(*) FROM event_ips WHERE event NOT IN (SELECT rowid FROM events)").fetchone()[0] == 0
    )
    assert sqlite_store.count("source.ip:10.0.0.0/8") == sum(
        1 for e in kept if "source.ip" in e.fields and _in(e.fields["source.ip"], ipaddress.ip_network("10.0.0.0/8"))
    )
    for query in ("患者", "者", "名"):
        assert sqlite_store.count(query) == _expected(query, kept), query


def test_the_first_page_is_the_newest_whichever_way_it_is_found(sqlite_store: SQLiteEventStore) -> None:
    sqlite_store.write(synthetic_events(2000, seed=11, step_ms=0))  # equal times: the order falls back to ids
    sqlite_store.write(synthetic_events(2000, seed=12))
    for query in (
        "",
        "user:alice",
        "source.ip:10.1.0.0/16",
        "source.ip:::/0",
        "NOT related.ip:10.1.0.0/16",
        "drop",
        "kind:link",
    ):
        every = [e.id for e in sqlite_store.iter_search(query)]
        for limit in (1, 10, 50):
            result = sqlite_store.search(query, limit=limit)
            assert result.total == len(every)
            assert [e.id for e in result.hits] == every[:limit], (query, limit)


def _write_as_version_1(path: Path, events: list[Event]) -> None:
    """A store as NetGuard wrote it before migration 2: events, and trigram rows with positions."""
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(conn, MIGRATIONS[:1], where="test store")
    for rowid, e in enumerate(events, 1):
        conn.execute(
            "INSERT INTO events(rowid, id, ts, kind, user, doc) VALUES (?, ?, ?, ?, ?, ?)",
            (rowid, e.id, e.timestamp_ms, e.kind, e.fields.get("user.name"), e.json),
        )
        conn.execute("INSERT INTO events_fts(rowid, body) VALUES (?, ?)", (rowid, fts_body(e.fields)))
    conn.close()


UPGRADE_QUERIES = [
    "",
    "source.ip:10.1.0.0/16",
    "related.ip:10.0.0.10",
    "host.ip:10.2.0.0/15",
    "source.ip:::/0",
    "患者",
    "者",
    "sql:身份证",
    "drop",
    '"drop table"',
    "risk:>=high",
    "NOT outcome:success AND risk:critical",
    "action:new",
    "user:?ob",
    "command:r?",
    "outcome:ok",
    "outcome:ok*",
    "NOT outcome:ok",
]


def test_an_older_store_upgrades_in_place(tmp_path: Path) -> None:
    events = _cjk_events() + list(synthetic_events(600, seed=13))
    old = tmp_path / "old.db"
    _write_as_version_1(old, events)
    # A reader cannot upgrade it, and is told how.
    with pytest.raises(StoreError, match="older than this NetGuard"):
        SQLiteEventStore(old, read_only=True)
    upgraded = SQLiteEventStore(old)
    fresh = SQLiteEventStore(tmp_path / "fresh.db")
    fresh.write(events)
    try:
        assert upgraded.conn.execute("PRAGMA user_version").fetchone()[0] == MIGRATIONS[-1][0]
        for query in UPGRADE_QUERIES:
            want = [e.id for e in fresh.iter_search(query, now=NOW)]
            assert [e.id for e in upgraded.iter_search(query, now=NOW)] == want, query
            assert upgraded.count(query, now=NOW) == len(want), query
        assert 0 < upgraded.count("source.ip:10.1.0.0/16") < len(events)
        # New events go on after the old ones, indexed like them.
        more = list(synthetic_events(700, seed=13))[600:]
        assert upgraded.write(more).written == 100
        fresh.write(more)
        for query in UPGRADE_QUERIES:
            assert upgraded.count(query, now=NOW) == fresh.count(query, now=NOW), query
    finally:
        upgraded.close()
        fresh.close()
