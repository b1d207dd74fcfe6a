"""Both backends, one language: the same query returns the same events, in the same order.

Runs against the real Elasticsearch node the harness starts (8.x and 9.x).
"""

from __future__ import annotations

import random
import re
from typing import Any

import pytest

from netguard.errors import QueryError
from netguard.events import KINDS, Event, make_event
from netguard.events.es_store import ElasticsearchEventStore
from netguard.events.mappings import properties, template
from netguard.events.model import to_epoch_ms
from netguard.events.schema import DELETION_KIND
from netguard.events.sqlite_store import SQLiteEventStore
from netguard.lab.synthetic_events import START_MS, synthetic_event, synthetic_events
from tests.events.hard_queries import largest_queries

NOW = START_MS + 2 * 3_600_000  # one fixed "now" for relative times, the same for both

EDGE_CASES: list[tuple[str, dict[str, Any]]] = [
    (
        "bastion-command",
        {
            "event.action": "exec",
            "user.name": "x[1]",
            "process.command_line": "echo 'a*b?' [x]",
            "message": "literal * and ? in text",
        },
    ),
    (
        "bastion-command",
        {
            "event.action": "line",
            "user.name": "Alice",
            "process.command_line": "DROP database HIS",
            "message": "UPPER case Text",
        },
    ),
    (
        "sql",
        {
            "event.action": "query",
            "user.name": "医生01",
            "source.ip": "fd00:10:1::5",
            "db.query.text": "SELECT 姓名, 身份证号 FROM 患者 WHERE 编号 = ?",
            "message": "中文 SQL 查询",
        },
    ),
    (
        "device",
        {
            "event.action": "conflict",
            "host.mac": "00-11-22-33-44-55",
            "host.ip": "10.1.2.3",
            "netguard.device.conflicting_mac": "00:11:22:33:44:66",
            "message": "IP conflict",
        },
    ),
    (
        "sql",
        {
            "event.action": "query",
            "user.name": "a" * 1999 + "b",
            "source.ip": "::5",
            "db.query.text": 'SELECT *\nFROM\t"患者"\nWHERE id = \\1',
            "message": "multi-line statement",
        },
    ),
    (
        "bastion-command",
        {
            "event.action": "exec",
            "user.name": "a" * 2000,
            "process.command_line": "a" * 2000,
            "message": "a long line of one letter",
        },
    ),
    (
        "bastion-command",
        {
            "event.action": "exec",
            "process.command_line": "a" * 2000 + "b",
            "source.ip": "10.1.2.3",
            "message": "a long line ending in b",
        },
    ),
    (
        "bastion-command",
        {
            "event.action": "exec",
            "process.command_line": "sudo\x00rm -rf /tmp/x",
            "tags": ["x\x00y", "pii"],
            "message": "a NUL in the middle",
        },
    ),
    (
        "link",
        {
            "event.action": "state-change",
            "netguard.link.loss": 100.0,
            "netguard.link.state": "down",
            "netguard.link.previous_state": "up",
            "message": "link down",
        },
    ),
]

QUERIES = [
    "",
    "user:alice",
    "user.name:alice",
    "user:Alice",
    "user:ali*",
    "user:*.*",
    "user:?ob",
    "user:x\\[1\\]",
    "NOT user:alice",
    "-user:alice",
    "user:(alice OR bob)",
    "user:alice OR user:bob",
    "user:alice AND outcome:failure",
    "user:alice outcome:failure",
    "kind:sql",
    "kind:sql AND db.operation.name:DELETE",
    "netguard.sql.where_less:true",
    "netguard.sql.where_less:false",
    "NOT netguard.sql.where_less:true",
    "risk:>=high",
    "risk:<medium",
    "risk:[low TO high]",
    "risk:{low TO high}",
    "risk:critical",
    "NOT risk:*",
    "netguard.sql.rows_sent:>=4000",
    "netguard.sql.rows_sent:[100 TO 200]",
    "bytes:[1000 TO 5000000]",
    "file.size:<1000000",
    "netguard.link.loss:>0",
    "netguard.link.loss:100",
    "netguard.link.rtt_avg_ms:<1.5",
    "netguard.link.rtt_avg_ms:[10 TO 20.5}",
    "source.ip:10.1.0.0/16",
    "source.ip:10.0.0.0/8 AND NOT source.ip:10.1.0.0/16",
    "source.ip:fd00::/8",
    "source.ip:fd00:10:1::5",
    "related.ip:10.0.0.10",
    "host.ip:10.2.0.0/15",
    "@timestamp:>=2026-09-21T14:30:00Z",
    "@timestamp:[2026-09-21T14:00:00Z TO 2026-09-21T14:20:00Z]",
    "@timestamp:<now-1h",
    "@timestamp:2026-09-21",
    "drop",
    "DROP",
    '"drop table"',
    'sql:"delete from"',
    "sql:select*from",
    "sql:sel?ct",
    "患者",
    "sql:身份证",
    "file.path:*.sql",
    'command:"rm -rf"',
    "command:r?",
    "message:\\*",
    'message:"literal *"',
    "tags:pii",
    "tags:*",
    "netguard.device.seen_by:fdb AND NOT netguard.device.seen_by:arp",
    "organization.name:娜姑镇卫生院",
    "org:*卫生室",
    "township:娜姑镇 AND tier:village",
    "netguard.auth.failure_reason:*",
    "NOT netguard.auth.failure_reason:*",
    "error.message:*",
    "host.mac:0*",
    "port:GigabitEthernet0/0/7",
    "vlan:999",
    "(kind:sql OR kind:bastion-command) AND risk:high",
    'rule.reference:"8.1.3.1 b)"',
    "clause:8.1.4*",
    "netguard.device.authorised:false AND action:new",
    "db.system:mariadb AND NOT (user:root OR user:admin)",
    "netguard.enforce.reason:未授权",
    "netguard.enforce.dry_run:true",
    "destination.port:22",
    "event.duration:>500000000",
    "outcome:failure AND NOT kind:link",
    "session:s-0000001*",
    "mac:00-11-22-33-44-55",
    "netguard.device.conflicting_mac:0011.2233.4466",
    "host.mac:00:11:22:*",
    # issue 5: disagreements found by reading the SQLite compiler beside Elasticsearch
    "source.ip:10.1.2.3/32",
    "host.ip:10.1.2.3/32",
    "related.ip:10.1.2.3/32",
    "host.ip:10.1.2.3/31",
    "NOT source.ip:10.1.2.3/32",
    "source.ip:::/0",
    "source.ip:::/64",
    "NOT source.ip:::/64",
    "source.ip:::/96",
    "related.ip:::/0",
    "source.ip:0.0.0.0/0",
    "source.ip:::ffff:10.0.0.0/104",
    "source.ip:::ffff:10.1.2.3",
    "from??患者",
    "select?*?from",
    "sql:from??患者",
    "*?from?*",
    "=?\\\\1",
    'command:"a b"',
    "command:*a*a*b",
    "*a*a*a*a*b",
    "user:*a*a*b",
    "user:a*a*a*a",
    "command:a?*a?*a",
    # issue 9: what the SQLite side indexes answer (short CJK words, addresses, keys found in the text)
    "者",
    "姓名",
    "授权",
    "查",
    "NOT 患者",
    "sql:患者",
    "sql:名 OR 团体",
    "source.ip:10.1.2.3 OR host.ip:10.1.2.3",
    "related.ip:(10.0.0.10 OR fd00:10:1::5)",
    "NOT related.ip:10.0.0.0/8",
    "netguard.device.vendor:Dell",
    "NOT netguard.bastion.verdict:denied",
    "netguard.device.authorised:true AND NOT action:seen",
    "user:*i* AND NOT kind:sql",
    "command:sudo?rm",
    "sudo?rm?-rf",
    "tags:x?y",
    "tags:x*",
    "command:a????????",  # the most '?' the language allows: Elasticsearch must still compile it
    "user:*a????????b",
    "user:a*????????",
    "file.size:9223372036854775807",
    "file.size:>-9223372036854775808",
    "file.size:>1e3",
    "netguard.link.loss:<1e300",
    "netguard.link.rtt_avg_ms:>-1.5e-3",
    "@timestamp:<0001-01-02",
    "@timestamp:>now-100000w",
    "@timestamp:[now-5000w TO now+5000w]",
    "file.size:>-1.5",
    "file.size:[* TO 2000.5]",
    "netguard.sql.where_less:true OR netguard.sql.where_less:false",
    "source.ip:(10.1.2.3 OR 10.0.0.0/8 OR fd00:10:1::5)",
    "mac:(00-11-22-33-44-55 OR 0011.2233.4466)",
    "-user:alice -user:bob -user:Alice",
]


def corpus() -> list[Event]:
    events = list(synthetic_events(900, seed=11, step_ms=13_000))
    rng = random.Random(5)
    for i, (kind, fields) in enumerate(EDGE_CASES):
        events.append(make_event(kind, fields, timestamp=(START_MS + i * 60_000) / 1000))
    events.append(synthetic_event("sql", 10_000, rng))  # same timestamp as another: order by id
    return events


@pytest.fixture
def both(
    sqlite_store: SQLiteEventStore, es_store: ElasticsearchEventStore
) -> tuple[SQLiteEventStore, ElasticsearchEventStore]:
    events = corpus()
    assert sqlite_store.write(events).written == len(events)
    result = es_store.write(events)
    assert (result.written, result.failed) == (len(events), 0), result.errors
    es_store.refresh()
    return sqlite_store, es_store


def test_same_queries_same_hits(both: tuple[SQLiteEventStore, ElasticsearchEventStore]) -> None:
    lite, es = both
    nonempty = 0
    for q in QUERIES:
        lite_ids = [e.id for e in lite.iter_search(q, now=NOW)]
        es_ids = [e.id for e in es.iter_search(q, now=NOW, page_size=250)]
        assert lite_ids == es_ids, f"backends disagree on {q!r}: sqlite {len(lite_ids)} vs es {len(es_ids)}"
        assert lite.count(q, now=NOW) == es.count(q, now=NOW) == len(lite_ids)
        nonempty += bool(lite_ids)
    # The corpus must make the comparison mean something: most queries match some events, not all.
    assert nonempty >= 0.85 * len(QUERIES)


def test_same_results_with_kinds_and_windows(both: tuple[SQLiteEventStore, ElasticsearchEventStore]) -> None:
    lite, es = both
    for kinds, since, until in [
        (("sql",), None, None),
        (("device", "enforcement"), "90m", None),
        ((), "2026-09-21T14:10:00Z", "now-30m"),
        (("link",), None, "1h"),
    ]:
        a = lite.search("outcome:failure OR risk:>=medium", kinds=kinds, since=since, until=until, now=NOW, limit=40)
        b = es.search("outcome:failure OR risk:>=medium", kinds=kinds, since=since, until=until, now=NOW, limit=40)
        assert a.total == b.total > 0
        assert [e.id for e in a.hits] == [e.id for e in b.hits]
        assert [e.fields for e in a.hits] == [e.fields for e in b.hits]


def test_long_lists_same_hits(both: tuple[SQLiteEventStore, ElasticsearchEventStore]) -> None:
    lite, es = both
    events = corpus()
    users = sorted({e.fields["user.name"] for e in events if "user.name" in e.fields})
    ips = sorted({e.fields["source.ip"] for e in events if "source.ip" in e.fields})
    # Escape what the language would read as syntax (a stored user is "x[1]").
    some_users = [
        re.sub(r'([\\\[\]{}()"*?: ])', r"\\\1", u) for u in (users[::2] + [f"u{i}" for i in range(1000)])[:1000]
    ]
    some_ips = (ips[::3] + [f"192.0.2.{i % 250}" for i in range(1000)])[:1000]
    hosts = [f"{ip}/{32 if '.' in ip else 128}" for ip in some_ips]
    names = sorted({e.fields["host.name"] for e in events if "host.name" in e.fields})
    wildcards = ([f"{n[:3]}*{n[-1]}" for n in names[::2]] + [f"*{n[-3:]}" for n in names[1::2]])[:100]
    wildcards += [f"zz{i}*x?" for i in range(1000 - len(wildcards))]
    words = ["sudo", "rm?-", "t?r", "ls", "drop", "sel?ct"] + [f"q{i}z" for i in range(994)]
    queries = [
        " OR ".join(f"user:{u}" for u in some_users),
        "user:(" + " OR ".join(some_users) + ")",
        "source.ip:(" + " OR ".join(some_ips) + ")",
        " ".join(f"-user:{u}" for u in some_users),
        "NOT source.ip:(" + " OR ".join(some_ips) + ") AND kind:sql",
        "source.ip:(" + " OR ".join(hosts) + ")",  # a thousand CIDRs: a thousand clauses, under the limit
        "(" + " OR ".join(f"user:{u}" for u in some_users) + ") AND NOT source.ip:(" + " OR ".join(some_ips) + ")",
        "source.ip:(" + " OR ".join(f"10.{i // 250}.{i % 250}.0/24" for i in range(1000)) + ")",
        "host.name:(" + " OR ".join(wildcards) + ")",
        "command:(" + " OR ".join(words) + ")",
        " OR ".join(words[:120]),  # bare words: 120 x 8 text fields = 960 clauses
        " ".join(f"-source.ip:10.{i // 250}.{i % 250}.0/24" for i in range(1000)),
        " ".join(f"-host.name:{w}" for w in wildcards),
    ]
    for q in queries:
        lite_ids = [e.id for e in lite.iter_search(q, now=NOW)]
        es_ids = [e.id for e in es.iter_search(q, now=NOW, page_size=500)]
        assert lite_ids == es_ids, f"backends disagree on {q[:80]!r}...: sqlite {len(lite_ids)} vs es {len(es_ids)}"
        assert 0 < len(lite_ids) < len(events), q[:80]


def test_largest_queries_allowed_same_hits(both: tuple[SQLiteEventStore, ElasticsearchEventStore]) -> None:
    lite, es = both
    for q in largest_queries():
        assert [e.id for e in lite.iter_search(q, now=NOW)] == [e.id for e in es.iter_search(q, now=NOW)], q[:80]


@pytest.mark.parametrize(
    "query",
    [
        "netguard.link.loss:nan",
        "netguard.link.loss:>-inf",
        "netguard.link.loss:1e400",
        "file.size:99999999999999999999",
        "file.size:>1e19",
        "@timestamp:now-99999999999w",
        "(" * 40 + "user:a" + ")" * 40,
        "NOT " * 300 + "user:a",
        " OR ".join(f"bytes:>{i}" for i in range(1100)),
        " OR ".join(f"word{i}" for i in range(200)),
        "command:a????????????",
        "user:*a??????????????b",
    ],
)
def test_refused_alike_as_usage_errors(
    sqlite_store: SQLiteEventStore, es_store: ElasticsearchEventStore, query: str
) -> None:
    messages = []
    for store in (sqlite_store, es_store):
        with pytest.raises(QueryError) as info:
            store.search(query, now=NOW)
        messages.append(str(info.value))
    assert messages[0] == messages[1]


def test_one_of_each_kind_is_found_again_in_both(
    sqlite_store: SQLiteEventStore, es_store: ElasticsearchEventStore
) -> None:
    rng = random.Random(3)
    events = {kind: synthetic_event(kind, 42, rng) for kind in KINDS}
    for store in (sqlite_store, es_store):
        store.write(events.values())
        store.refresh()
        for kind, event in events.items():
            found = store.search(f"event.id:{event.id}", kinds=[kind], now=NOW)
            assert found.total == 1, (store.backend, kind)
            assert dict(found.hits[0].fields) == dict(event.fields)


def test_resending_a_batch_creates_no_duplicates(es_store: ElasticsearchEventStore) -> None:
    events = list(synthetic_events(700, seed=2))
    first = es_store.write(events)
    again = es_store.write(events[:400] + list(synthetic_events(800, seed=2))[700:])
    es_store.refresh()
    assert (first.written, first.duplicates) == (700, 0)
    assert (again.written, again.duplicates, again.failed) == (100, 400, 0)
    assert es_store.count() == 800
    # Time-based indices, one per kind and month.
    names = set(es_store.client.indices.get(index=f"{es_store.prefix}-*").body)
    assert f"{es_store.prefix}-sql-2026.09" in names and all(n.startswith(es_store.prefix + "-") for n in names)


def test_templates_map_types_explicitly(es_store: ElasticsearchEventStore) -> None:
    es_store.write(synthetic_events(20))
    mapping = es_store.client.indices.get_mapping(index=f"{es_store.prefix}-sql-*").body
    mappings = next(iter(mapping.values()))["mappings"]
    props = mappings["properties"]
    # Flat (template version 3): each field under its dotted name, no objects.
    assert props["source.ip"]["type"] == "ip"
    assert props["db.query.text"]["type"] == "keyword"
    assert props["@timestamp"]["type"] == "date"
    assert "db" not in props and "properties" not in props["source.ip"]
    assert mappings["dynamic"] in ("false", False)
    assert mappings["subobjects"] in ("false", False)


def test_indices_made_under_the_object_mapping_are_searched_alike(
    sqlite_store: SQLiteEventStore, es_store: ElasticsearchEventStore
) -> None:
    """The upgrade from template version 2: its indices keep their object mapping, the next month's are
    flat, and queries and aggregations over both find what SQLite finds."""
    prefix, client = es_store.prefix, es_store.client
    for kind in KINDS.values():  # an installation from before version 3
        old = template(prefix, kind, 0)
        old["version"] = 2
        old["template"]["mappings"] = {"dynamic": False, "properties": properties(kind)}
        client.indices.put_index_template(name=f"{prefix}-{kind.name}", **old)
    events = list(synthetic_events(300, seed=8, step_ms=3_600_000))  # 2026-09-21 .. 2026-10-03
    october = to_epoch_ms("2026-10-01T00:00:00Z")
    assert es_store.write([e for e in events if e.timestamp_ms < october]).written > 0
    es_store.ensure_templates()  # what the newer NetGuard does when it starts
    september_late = [e for e in events if e.timestamp_ms < october][-5:]
    assert es_store.write([e for e in events if e.timestamp_ms >= october]).written > 0
    assert es_store.write(september_late).duplicates == 5  # the old month's index still answers
    assert sqlite_store.write(events).written == len(events)
    es_store.refresh()
    mappings = {name: m["mappings"] for name, m in client.indices.get_mapping(index=f"{prefix}-sql-*").body.items()}
    assert "subobjects" not in mappings[f"{prefix}-sql-2026.09"]
    assert mappings[f"{prefix}-sql-2026.10"]["subobjects"] in ("false", False)
    for q in QUERIES:
        lite_ids = [e.id for e in sqlite_store.iter_search(q, now=NOW)]
        es_ids = [e.id for e in es_store.iter_search(q, now=NOW, page_size=250)]
        assert lite_ids == es_ids, f"backends disagree on {q!r}: sqlite {len(lite_ids)} vs es {len(es_ids)}"
    for field in ("user.name", "netguard.sql.fingerprint_id", "db.namespace"):
        assert sqlite_store.top(field, kinds=["sql"], limit=5) == es_store.top(field, kinds=["sql"], limit=5)


def test_purge_drops_whole_months_in_elasticsearch(es_store: ElasticsearchEventStore) -> None:
    # 2026-09-21 .. 2026-10-03, one event an hour: September and October indices.
    events = list(synthetic_events(300, seed=8, step_ms=3_600_000))
    es_store.write(events)
    es_store.refresh()
    october = to_epoch_ms("2026-10-01T00:00:00Z")
    # Every kind's September index, no October one, and never the deletion records' (netguard/events/deletions.py).
    assert es_store.purge(october + 5 * 3_600_000) == len(KINDS) - 1
    es_store.refresh()
    kept = sum(1 for e in events if e.timestamp_ms >= october or e.kind == DELETION_KIND)
    assert es_store.count() == kept > 0
