"""The embedded SQLite event store on a real file."""

from __future__ import annotations

import ipaddress
import sqlite3
from pathlib import Path

import pytest

from netguard.errors import StoreError
from netguard.events import make_event
from netguard.events.model import Event
from netguard.events.sqlite_store import PAGE_SIZE, SQLiteEventStore
from netguard.events.store import WriteResult
from netguard.lab.synthetic_events import START_MS, synthetic_events
from tests.events.deadline import deadline
from tests.events.hard_queries import largest_queries


def test_wal_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "events.db"
    store = SQLiteEventStore(path)
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.write(synthetic_events(10))
    store.close()
    again = SQLiteEventStore(path)
    assert again.count() == 10
    again.close()


def test_resending_stores_nothing_twice(sqlite_store: SQLiteEventStore) -> None:
    events = list(synthetic_events(500))
    first = sqlite_store.write(events)
    assert (first.written, first.duplicates) == (500, 0)
    second = sqlite_store.write(events[100:300] + list(synthetic_events(600))[500:])
    assert (second.written, second.duplicates) == (100, 200)
    assert sqlite_store.count() == 600
    # The text index follows only stored rows: one hit per matching event, no ghosts.
    assert sqlite_store.count("kind:sql AND sql:select") == sum(
        1 for e in list(synthetic_events(600)) if e.kind == "sql" and "select" in e.fields["db.query.text"].lower()
    )


def test_iter_search_pages_in_order(sqlite_store: SQLiteEventStore) -> None:
    sqlite_store.write(synthetic_events(1000, step_ms=0))  # equal timestamps: order falls back to id
    ids = [e.id for e in sqlite_store.iter_search(page_size=64)]
    assert len(ids) == len(set(ids)) == 1000
    assert ids == sorted(ids)
    top = sqlite_store.search(limit=10)
    assert [e.id for e in top.hits] == ids[:10] and top.total == 1000


def test_purge_keeps_text_index_consistent(sqlite_store: SQLiteEventStore) -> None:
    sqlite_store.write(synthetic_events(300, step_ms=1000))
    cutoff = START_MS + 150_000
    removed = sqlite_store.purge(cutoff)
    assert removed == 150
    assert sqlite_store.count() == 150
    fts_rows = sqlite_store.conn.execute("SELECT count(*) FROM events_fts WHERE events_fts MATCH 'ran'").fetchone()[0]
    assert fts_rows == sqlite_store.count("message:ran")


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    SQLiteEventStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version=99")
    conn.close()
    with pytest.raises(StoreError, match="newer than this NetGuard"):
        SQLiteEventStore(path)


def test_unwritable_location_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="cannot open event store"):
        SQLiteEventStore(blocker / "events.db")


def test_text_match_is_substring_and_case_insensitive(sqlite_store: SQLiteEventStore) -> None:
    sqlite_store.write(
        [
            make_event(
                "bastion-command",
                {"event.action": "exec", "process.command_line": "sudo RM -rf /var/lib"},
                timestamp=START_MS / 1000,
            ),
            make_event(
                "bastion-command",
                {"event.action": "exec", "process.command_line": "ls 患者名单"},
                timestamp=START_MS / 1000,
            ),
        ]
    )
    assert sqlite_store.count('command:"rm -rf"') == 1
    assert sqlite_store.count("command:名单") == 1  # two characters: below the trigram, still found
    assert sqlite_store.count("command:r?\\ -rf") == 1
    assert sqlite_store.count("command:rmrf") == 0
    assert sqlite_store.count('command:"sudo\x00rm"') == 0  # a NUL (from an API caller) is a character


def test_threads_share_one_store_safely(sqlite_store: SQLiteEventStore) -> None:
    """A long-running producer (the bastion) writes from many threads while officers search."""
    import threading

    events = list(synthetic_events(2000, seed=21))
    errors: list[BaseException] = []

    def writer(part: int) -> None:
        try:
            for i in range(part, len(events), 4):
                sqlite_store.write([events[i]])
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    def reader() -> None:
        try:
            for _ in range(50):
                sqlite_store.search("risk:>=high", limit=5)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)] + [threading.Thread(target=reader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sqlite_store.count() == 2000
    assert sqlite_store.count("kind:sql AND sql:select") == sum(
        1 for e in events if e.kind == "sql" and "select" in e.fields["db.query.text"].lower()
    )


@pytest.mark.parametrize("network", ["10.1.0.0/16", "10.1.0.0/17", "10.0.0.0/8", "10.20.128.0/20", "fd00::/8"])
def test_cidr_matches_agree_with_python(sqlite_store: SQLiteEventStore, network: str) -> None:
    events = list(synthetic_events(1500, seed=5))
    sqlite_store.write(events)
    net = ipaddress.ip_network(network)
    for field in ("source.ip", "related.ip"):
        expected = 0
        for e in events:
            value = e.fields.get(field)
            values = value if isinstance(value, list) else [value] if value else []
            expected += any(ipaddress.ip_address(v) in net for v in values)
        assert sqlite_store.count(f"{field}:{network}") == expected, field
        assert sqlite_store.count(f"NOT {field}:{network}") == len(events) - expected, field


# --- issue 5: long lists, limits, linear matching, CIDR edge cases


def test_pathological_wildcards_do_not_hold_the_store(sqlite_store: SQLiteEventStore) -> None:
    long_command = "a" * 2000
    sqlite_store.write(
        [
            make_event(
                "bastion-command",
                {"event.action": "exec", "process.command_line": long_command, "user.name": "a" * 2000},
                timestamp=START_MS / 1000,
            ),
            make_event(
                "bastion-command",
                {"event.action": "exec", "process.command_line": long_command + "b", "user.name": "a" * 2000 + "b"},
                timestamp=START_MS / 1000,
            ),
        ]
    )
    # A backtracking regex or GLOB takes minutes on each of these; the alarm stops a regression.
    with deadline(20):
        assert sqlite_store.count("command:*a*a*b") == 1
        assert sqlite_store.count("*a*a*a*a*a*b") == 1
        assert sqlite_store.count("a*a*a*b?") == 0
        assert sqlite_store.count("user:*a*a*a*a*b") == 1
        assert sqlite_store.count("user:a*a*a*a*a") == 1


def test_multiline_statements_match_question_marks(sqlite_store: SQLiteEventStore) -> None:
    sql = 'SELECT *\nFROM\t"patients"\nWHERE id = 1'
    sqlite_store.write([make_event("sql", {"event.action": "query", "db.query.text": sql}, timestamp=START_MS / 1000)])
    # A bare word searches every text field; '?' stands for the newline, the tab, the quote.
    for query in ("select?*?from", "from??patients", "patients??where", "sql:from??patients", "*?from?*"):
        assert sqlite_store.count(query) == 1, query
    assert sqlite_store.count("from?patients") == 0


def test_a_thousand_values_for_one_field(sqlite_store: SQLiteEventStore) -> None:
    events = list(synthetic_events(800, seed=9))
    sqlite_store.write(events)
    users = sorted({e.fields["user.name"] for e in events if "user.name" in e.fields})
    listed = users[: len(users) // 2] + [f"nobody{i}" for i in range(1000)]
    listed = listed[:1000]
    expected = sum(1 for e in events if e.fields.get("user.name") in set(listed))
    assert 0 < expected < len(events)
    assert sqlite_store.count(" OR ".join(f"user:{u}" for u in listed)) == expected
    assert sqlite_store.count("user:(" + " OR ".join(listed) + ")") == expected
    assert sqlite_store.count(" ".join(f"-user:{u}" for u in listed)) == len(events) - expected
    ips = sorted({e.fields["source.ip"] for e in events if "source.ip" in e.fields})
    chosen = (ips[::2] + [f"192.0.2.{i % 250}" for i in range(1000)])[:1000]
    expected_ips = sum(1 for e in events if e.fields.get("source.ip") in set(chosen))
    assert expected_ips > 0
    assert sqlite_store.count("source.ip:(" + " OR ".join(chosen) + ")") == expected_ips
    # A thousand different conditions (ranges, CIDRs) are not a list of values, but still run.
    hosts = [f"{ip}/{32 if '.' in ip else 128}" for ip in chosen]
    assert sqlite_store.count(" OR ".join(f"source.ip:{net}" for net in hosts)) == expected_ips


def test_the_largest_and_deepest_query_allowed_runs(sqlite_store: SQLiteEventStore) -> None:
    from netguard.events.query import plan as p

    sqlite_store.write(synthetic_events(50))
    queries = largest_queries()
    sizes = [p.plan_size(p.compile_query(q)) for q in queries]
    assert max(clauses for clauses, _ in sizes) > p.MAX_CLAUSES - 100
    depths = sorted(depth for _, depth in sizes)
    assert depths[-1] == p.MAX_DEPTH and depths[-3] >= p.MAX_DEPTH - 1
    for query in queries:
        sqlite_store.count(query)  # no "parser stack overflow", "too many SQL variables", "too large"


def test_host_networks_and_ipv4_in_ipv6_networks(sqlite_store: SQLiteEventStore) -> None:
    sqlite_store.write(
        [
            make_event("sql", {"event.action": "query", "source.ip": ip}, timestamp=START_MS / 1000)
            for ip in ("10.1.2.3", "::ffff:10.1.2.4", "fd00::1", "::5")
        ]
    )
    counts = {
        "source.ip:10.1.2.3/32": 1,
        "source.ip:10.1.2.3/31": 1,
        "source.ip:10.1.2.0/30": 1,
        "source.ip:10.1.2.0/29": 2,
        "source.ip:::ffff:10.1.2.4/128": 1,
        "source.ip:::/0": 4,  # an IPv4 address is ::ffff:a.b.c.d, as in Elasticsearch
        "source.ip:::/64": 3,
        "source.ip:::/96": 1,
        "source.ip:0.0.0.0/0": 2,
        "NOT source.ip:::/64": 1,
    }
    assert {q: sqlite_store.count(q) for q in counts} == counts


def test_lists_of_wildcards_and_words_match_like_one_by_one(sqlite_store: SQLiteEventStore) -> None:
    events = list(synthetic_events(600, seed=4))
    sqlite_store.write(events)
    hosts = sorted({e.fields["host.name"] for e in events if "host.name" in e.fields})
    assert len(hosts) > 3
    lists = {
        "host.name": [f"{h[:3]}*{h[-1]}" for h in hosts[::2]] + [f"*{h[-4:]}" for h in hosts[1::3]] + ["zz*"] * 3,
        "command": ["ls", "rm?-?f", "*sudo*", "x" * 5, "tar?c"],
        "": ["drop", "sel?ct", "患者", "t?ble", "zzzq"],
    }
    for field, patterns in lists.items():
        prefix = f"{field}:" if field else ""
        alone = {e for pt in patterns for e in (x.id for x in sqlite_store.iter_search(prefix + pt))}
        together = {e.id for e in sqlite_store.iter_search(" OR ".join(prefix + pt for pt in patterns))}
        assert together == alone and 0 < len(alone) < len(events), field


def test_excluded_lists_are_one_condition_too(sqlite_store: SQLiteEventStore) -> None:
    from netguard.events.query.plan import compile_query
    from netguard.events.query.to_sqlite import to_sqlite

    events = list(synthetic_events(600, seed=6))
    sqlite_store.write(events)
    cidrs = [f"10.{i // 250}.{i % 250}.0/24" for i in range(1000)]
    excluded = " ".join(f"-source.ip:{c}" for c in cidrs)
    sql, _ = to_sqlite(compile_query(excluded))
    assert sql.count("event_ips") == 1  # one lookup in the address index
    nets = [ipaddress.ip_network(c) for c in cidrs]
    expected = sum(
        1
        for e in events
        if "source.ip" not in e.fields or not any(ipaddress.ip_address(e.fields["source.ip"]) in n for n in nets)
    )
    assert 0 < expected < len(events)
    assert sqlite_store.count(excluded) == expected
    names = sorted({e.fields["host.name"] for e in events if "host.name" in e.fields})
    patterns = [f"{n[:4]}*" for n in names[::2]]
    minus = " ".join(f"-host.name:{pt}" for pt in patterns)
    assert to_sqlite(compile_query(minus))[0].count("ng_wildcard_any") == 1
    expected_names = sum(
        1 for e in events if not any(e.fields.get("host.name", "").startswith(pt[:-1]) for pt in patterns)
    )
    assert 0 < expected_names < len(events)
    assert sqlite_store.count(minus) == expected_names


def test_a_pasted_value_of_any_length_is_a_query(sqlite_store: SQLiteEventStore) -> None:
    long_name = "医" * 8000  # the longest stored string, 24,000 bytes: SQLite's GLOB refuses patterns over 50,000
    sqlite_store.write(
        [
            make_event("sql", {"event.action": "query", "user.name": long_name, "host.name": long_name}, timestamp=t)
            for t in (START_MS / 1000, START_MS / 1000 + 1)
        ]
    )
    for field in ("user", "host.name"):
        assert sqlite_store.count(f"{field}:{long_name}") == 2
        assert sqlite_store.count(f"{field}:{long_name * 3}*") == 0
        assert sqlite_store.count(f"{field}:{long_name[:-1]}?") == 2
        assert sqlite_store.count(f"{field}:{long_name[:7000]}*") == 2


def test_stored_nul_characters_are_matched_like_any_other(sqlite_store: SQLiteEventStore) -> None:
    # SQLite's json_extract cuts "sudo\u0000rm" to "sudo": the matchers read the JSON text instead.
    sqlite_store.write(
        [
            make_event(
                "bastion-command",
                {"event.action": "exec", "process.command_line": "sudo\x00rm -rf", "tags": ["x\x00y", "z"]},
                timestamp=START_MS / 1000,
            )
        ]
    )
    for query in ("command:sudo?rm", "command:*rm*", "sudo?rm", "*?rm?-rf", "tags:x?y", "tags:*y", "NOT tags:q*"):
        assert sqlite_store.count(query) == 1, query
    for query in ("command:sudorm", "tags:x?", "NOT tags:*y", "command:sudo??rm"):
        assert sqlite_store.count(query) == 0, query


def test_a_write_pauses_the_cyclic_collector_and_gives_it_back_as_it_was(sqlite_store: SQLiteEventStore) -> None:
    """The collector is off while a batch is written, on again after (a failed batch too), and a
    caller that had turned it off finds it off."""
    import gc

    seen: list[bool] = []
    real = sqlite_store._write_batch

    def watching(batch: list[Event], result: WriteResult) -> None:
        seen.append(gc.isenabled())
        real(batch, result)

    sqlite_store._write_batch = watching  # type: ignore[method-assign]
    assert gc.isenabled()
    sqlite_store.write(synthetic_events(10))
    assert seen == [False] and gc.isenabled()
    sqlite_store.conn.execute("BEGIN")  # a transaction left open: the next batch's BEGIN IMMEDIATE fails
    with pytest.raises(StoreError):
        sqlite_store.write(synthetic_events(10))
    assert gc.isenabled() and not sqlite_store.conn.in_transaction  # the failed batch rolled back
    gc.disable()
    try:
        sqlite_store.write(list(synthetic_events(20))[10:])
        assert not gc.isenabled()
    finally:
        gc.enable()
    assert seen == [False, False, False] and sqlite_store.count() == 20


def test_a_purge_leaves_no_values_of_the_events_it_removed_and_every_writer_adds_them_back(tmp_path: Path) -> None:
    """The keyword dictionary (wildcards are tried on it) loses the values only purged events held, so a
    purge leaves no user name behind; a writer opened before the purge (another process) and the purging
    one both write a pruned value again when a new event holds it, so wildcards still find that event."""

    def login(user: str, at_ms: int) -> Event:
        return make_event("bastion-login", {"event.action": "login", "user.name": user}, timestamp=at_ms / 1000)

    def values(store: SQLiteEventStore) -> set[str]:
        return {r[0] for r in store.conn.execute("SELECT value FROM event_values WHERE field = 'user.name'")}

    path = tmp_path / "events.db"
    purging, other = SQLiteEventStore(path), SQLiteEventStore(path)
    try:
        other.write([login("zhangsan-old", START_MS), login("lisi", START_MS)])
        purging.write([login("lisi", START_MS + 5000)])
        assert values(purging) == {"zhangsan-old", "lisi"}
        assert purging.purge(START_MS + 1000) == 2
        assert values(purging) == {"lisi"}  # still held by the event the purge kept
        assert purging.count("user:zhangsan*") == 0
        # Both writers have "zhangsan-old" cached as already in the dictionary: each must write it again.
        other.write([login("zhangsan-old", START_MS + 6000)])
        assert values(other) == {"zhangsan-old", "lisi"} and purging.count("user:zhangsan*") == 1
        assert purging.purge(START_MS + 7000) == 2
        assert values(purging) == set()
        purging.write([login("zhangsan-old", START_MS + 8000)])
        assert other.count("user:zhangsan*") == 1 and other.count("user:*old") == 1
    finally:
        purging.close()
        other.close()


def test_a_purge_drops_the_shapes_no_event_has_and_writers_add_them_back(tmp_path: Path) -> None:
    """event_shapes (the sets of field names events carry, which ``field:*`` reads) loses the shapes only purged
    events had; a writer opened before the purge writes such a shape again when a new event has it."""
    rare = {"event.action": "login", "user.name": "wangwu", "source.ip": "10.1.2.3"}
    common = {"event.action": "login", "user.name": "lisi"}

    def shapes(store: SQLiteEventStore) -> int:
        return int(store.conn.execute("SELECT count(*) FROM event_shapes").fetchone()[0])

    path = tmp_path / "events.db"
    purging, other = SQLiteEventStore(path), SQLiteEventStore(path)
    try:
        other.write([make_event("bastion-login", rare, timestamp=START_MS / 1000)])
        purging.write([make_event("bastion-login", common, timestamp=START_MS / 1000 + 5)])
        assert shapes(purging) == 2
        assert purging.purge(START_MS + 1000) == 1
        assert shapes(purging) == 1 and purging.count("source.ip:*") == 0
        other.write([make_event("bastion-login", rare, timestamp=START_MS / 1000 + 6)])  # its cache had the shape
        assert shapes(purging) == 2 and purging.count("source.ip:*") == 1
    finally:
        purging.close()
        other.close()


def test_new_stores_get_large_pages_and_an_older_store_keeps_its_own(tmp_path: Path) -> None:
    fresh = SQLiteEventStore(tmp_path / "new.db")
    assert fresh.conn.execute("PRAGMA page_size").fetchone()[0] == PAGE_SIZE == 32_768
    fresh.close()
    # A store made with 16 KiB pages (as before): reopened, it keeps them, takes writes and answers.
    older = tmp_path / "older.db"
    conn = sqlite3.connect(older)
    conn.execute("PRAGMA page_size=16384")
    conn.execute("VACUUM")
    conn.close()
    store = SQLiteEventStore(older)
    store.write(synthetic_events(200))
    assert store.conn.execute("PRAGMA page_size").fetchone()[0] == 16_384
    assert store.count() == 200
    store.close()
