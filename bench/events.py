"""Event-store ingest benchmark: NetGuard's writers beside the plain ways to load the same events.

    python bench/events.py [--events 1000000] [--runs 3] [--backends sqlite,elasticsearch]

For each backend it streams N distinct events (a pool of synthetic events of
every kind, each copy given a new time and id, in time order) through
NetGuard's store and, on the same input in the same run, through the anchor.
Only the writers are timed: the feed makes each chunk of 50,000 events before
the clock starts, and memory stays bounded by the chunk.

- SQLite: a bare ``executemany`` of the JSON into a table with only a primary
  key: the floor any SQLite store pays, without NetGuard's id index, time
  index and trigram text index.
- Elasticsearch: ``elasticsearch.helpers.streaming_bulk``, the official
  client's bulk helper, into an index with the same mapping.

The SQLite store copies its log into the file (WAL checkpoints) from a thread of
its own, which works while the feed makes the next chunk, as it would while a
follower parses the next lines: that thread's CPU is printed apart, whole, so a
reader can add it to the writer's (on one core it would be the writer's).

It prints the median events/s over the runs, the ratio NetGuard/anchor, and
resident memory sampled at 10 %, 50 % and 100 % of the stream (flat = the
writers stream in bounded batches). Then, on the store the last run filled, it
times each example of docs/query.md (:data:`EXAMPLES`): the median of 3 of the
first 50 hits and the total, wall clock and this process's CPU time. With no ``--es-url`` it starts the test
harness's Elasticsearch node (as ``make test`` does) and stops it after.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from elasticsearch import Elasticsearch, helpers

from bench import rss_kib
from netguard.events.es_store import ElasticsearchEventStore
from netguard.events.mappings import template
from netguard.events.model import Event, format_timestamp
from netguard.events.schema import KINDS
from netguard.events.sqlite_store import SQLiteEventStore
from netguard.events.store import EventStore
from netguard.lab.synthetic_events import synthetic_events


def rss_mib() -> float:
    return rss_kib() / 1024


class Stream:
    """N distinct events from a fixed pool, made on the fly (memory does not grow with N)."""

    def __init__(self, count: int, pool: list[Event], start_ms: int) -> None:
        self.count = count
        self.pool = pool
        self.start_ms = start_ms
        self.samples: dict[int, float] = {}

    def __iter__(self) -> Iterator[Event]:
        marks = {self.count // 10: 10, self.count // 2: 50, self.count - 1: 100}
        pool, size = self.pool, len(self.pool)
        second, prefix = -1, ""
        for i in range(self.count):
            base = pool[i % size]
            # One event per millisecond, in time order, as a live feed delivers them.
            ts = self.start_ms + i
            if ts // 1000 != second:
                second = ts // 1000
                prefix = format_timestamp(second * 1000)[:-4]
            stamp = f"{prefix}{ts % 1000:03d}Z"
            new_id = f"{i:032x}"
            fields = dict(base.fields)
            fields["event.id"], fields["@timestamp"] = new_id, stamp
            if i in marks:
                self.samples[marks[i]] = rss_mib()
            text = base.json.replace(base.id, new_id, 1).replace(base.fields["@timestamp"], stamp, 1)
            yield Event(base.kind, new_id, ts, fields, text)


# Seconds on the wall clock, seconds of this process's CPU, events stored.
Timing = tuple[float, float, int]


def timed(fn: Callable[[Iterable[Event]], int], stream: Stream, chunk: int = 50_000) -> Timing:
    """Time ``fn`` alone: the feed makes each chunk of events before the clock starts.

    The CPU time is this process's (SQLite runs in it): on a shared machine, where other jobs
    take the cores away, it is the steadier measure of the work a writer does.
    """
    spent, cpu, n = 0.0, 0.0, 0
    it = iter(stream)
    while batch := list(itertools.islice(it, chunk)):
        t0, c0 = time.perf_counter(), time.process_time()
        n += fn(batch)
        spent += time.perf_counter() - t0
        cpu += time.process_time() - c0
    return spent, cpu, n


# Every example of docs/query.md, as written there (``a AND b`` and friends as real terms), plus
# the probes of the earlier benchmark. Some find nothing in the synthetic data: still timed.
EXAMPLES = (
    "user.name:alice",
    "user:alice",
    "user:adm*",
    "user:?ob",
    'sql:"delete from"',
    "sql:select*patients",
    "drop",
    '"drop table"',
    "患者",
    "sql:身份证",
    "error.message:*",
    "risk:>=high",
    "bytes:<1000",
    "bytes:[1000 TO 5000]",
    "risk:{low TO critical}",
    "source.ip:10.1.0.0/16",
    "source.ip:10.1.0.181",
    "@timestamp:2026-11-25",
    "@timestamp:>now-24h",
    "user:(alice OR bob)",
    "user:alice AND outcome:failure",
    "user:alice outcome:failure",
    "user:alice OR source.ip:10.1.0.0/16",
    "NOT user:alice",
    "-user:alice",
    "(user:alice OR user:bob) AND NOT outcome:success",
    "mac:3C:52:82:*",
    "mac:AA-BB-CC-DD-EE-FF",
    "source.ip:::/0",
    "source.ip:::/64",
    "source.ip:::/96",
    "source.ip:0.0.0.0/0",
    "source.ip:::ffff:10.0.0.0/104",
    "source.ip:::ffff:10.1.2.3",
    "file.size:>1.5",
    "sql:\\*",
    "command:\\[a-z\\]",
    "user:*a????????b",
    "tags:pii",
    "user:alice AND risk:>=high",
    "kind:device AND action:new AND netguard.device.authorised:false",
    "NOT outcome:success AND risk:critical",
)


# One probe: median milliseconds (wall, and this process's CPU), total hits, and the ids of the first
# page (to compare backends). On a loaded machine the CPU time is the steadier figure for SQLite, which
# runs in this process; Elasticsearch's work is on the wall clock only.
Probe = tuple[float, float, int, list[str]]


def probe_queries(store: EventStore, latencies: dict[str, Probe], now: int) -> None:
    """Median of 3 timings of each example's first page (50 hits) and total, on the loaded store."""
    store.refresh()
    for q in EXAMPLES:
        times, cpu = [], []
        for _ in range(3):
            t0, c0 = time.perf_counter(), time.process_time()
            result = store.search(q, limit=50, now=now)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        ms, cpu_ms = statistics.median(times) * 1000, statistics.median(cpu) * 1000
        latencies[q] = (ms, cpu_ms, result.total, [e.id for e in result.hits])


def write_and_probe(store: EventStore, stream: Stream, latencies: dict[str, Probe] | None) -> Timing:
    """Time the store's writer; then, when asked, time the examples on what it stored."""
    result = timed(lambda s: store.write(s).written, stream)
    if latencies is not None:
        # "now" an hour after the last event, so that the relative-time examples match some.
        probe_queries(store, latencies, stream.start_ms + stream.count + 3_600_000)
    return result


def remove_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def sqlite_netguard(stream: Stream, workdir: Path, latencies: dict[str, Probe] | None = None) -> Timing:
    path = workdir / f"ng-{uuid.uuid4().hex}.db"
    store = SQLiteEventStore(path)
    try:
        timing = write_and_probe(store, stream, latencies)
        if store.checkpointer is not None:
            # Its CPU counts in the timed writes only when it runs during them: said apart, whole.
            done = store.checkpointer
            print(
                f"  (the WAL checkpoint thread: {done.checkpoints} checkpoints, {done.cpu_seconds:.2f} s of CPU, "
                f"{done.cpu_seconds / max(timing[2], 1) * 1e6:.2f} us/event, beside the writer)",
                flush=True,
            )
        return timing
    finally:
        store.close()
        remove_db(path)


def sqlite_anchor(stream: Stream, workdir: Path) -> Timing:
    path = workdir / f"plain-{uuid.uuid4().hex}.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE events (id TEXT PRIMARY KEY, doc TEXT NOT NULL)")

    def load(events: Iterable[Event]) -> int:
        rows = [(e.id, e.json) for e in events]
        for i in range(0, len(rows), 5000):  # the same transaction size as NetGuard's writer
            conn.execute("BEGIN")
            conn.executemany("INSERT INTO events VALUES (?, ?)", rows[i : i + 5000])
            conn.execute("COMMIT")
        return len(rows)

    try:
        return timed(load, stream)
    finally:
        conn.close()
        remove_db(path)


def es_netguard(stream: Stream, client: Elasticsearch, latencies: dict[str, Probe] | None = None) -> Timing:
    prefix = "bench" + uuid.uuid4().hex[:8]
    store = ElasticsearchEventStore(client, prefix=prefix, replicas=0)
    try:
        return write_and_probe(store, stream, latencies)
    finally:
        client.indices.delete(index=f"{prefix}-*", allow_no_indices=True)
        client.indices.delete_index_template(name=f"{prefix}-*")


def es_anchor(stream: Stream, client: Elasticsearch) -> Timing:
    index = "benchplain" + uuid.uuid4().hex[:8]
    body = template(index, KINDS["sql"], 0)["template"]
    # One index with the union of every kind's fields, so the mapping work is comparable.
    props: dict[str, Any] = {}
    for kind in KINDS.values():
        props.update(template(index, kind, 0)["template"]["mappings"]["properties"])
    client.indices.create(index=index, settings=body["settings"], mappings={"dynamic": False, "properties": props})

    def load(events: Iterable[Event]) -> int:
        actions = ({"_op_type": "create", "_index": index, "_id": e.id, "_source": e.json} for e in events)
        n = 0
        for ok, _ in helpers.streaming_bulk(client, actions, chunk_size=2000, raise_on_error=False):
            n += ok
        return n

    try:
        return timed(load, stream)
    finally:
        client.indices.delete(index=index)


def run_pair(
    name: str,
    count: int,
    runs: int,
    pool: list[Event],
    ours: Callable[[Stream, dict[str, Probe] | None], Timing],
    anchor: Callable[[Stream], Timing],
    probe: bool = True,
) -> dict[str, Any]:
    rates_ours, rates_anchor, cpu_ours, cpu_anchor, mem = [], [], [], [], {}
    latencies: dict[str, Probe] = {}
    for r in range(runs):
        s1 = Stream(count, pool, 1_790_000_000_000 + r * 10 * count)
        secs, cpu, n = ours(s1, latencies if r == runs - 1 and probe else None)
        if n != count:
            raise SystemExit(f"{name}: NetGuard stored {n} of {count} events")
        rates_ours.append(count / secs)
        cpu_ours.append(count / cpu)
        mem = s1.samples
        s2 = Stream(count, pool, 1_790_000_000_000 + r * 10 * count)
        secs, cpu, n = anchor(s2)
        if n != count:
            raise SystemExit(f"{name}: the anchor stored {n} of {count} events")
        rates_anchor.append(count / secs)
        cpu_anchor.append(count / cpu)
        print(
            f"  {name} run {r + 1}: netguard {rates_ours[-1]:,.0f}/s ({cpu_ours[-1]:,.0f}/s of CPU), "
            f"anchor {rates_anchor[-1]:,.0f}/s ({cpu_anchor[-1]:,.0f}/s of CPU); load average {_load()}",
            flush=True,
        )
    med_ours, med_anchor = statistics.median(rates_ours), statistics.median(rates_anchor)
    return {
        "backend": name,
        "events": count,
        "runs": runs,
        "netguard_events_per_s": round(med_ours),
        "anchor_events_per_s": round(med_anchor),
        "ratio": round(med_ours / med_anchor, 3),
        "netguard_events_per_cpu_s": round(statistics.median(cpu_ours)),
        "anchor_events_per_cpu_s": round(statistics.median(cpu_anchor)),
        "rss_mib_at_10_50_100_pct": [round(mem.get(k, 0.0), 1) for k in (10, 50, 100)],
        "queries": {
            q: {"ms": round(ms, 1), "cpu_ms": round(cpu_ms, 1), "hits": total, "first_page": ids}
            for q, (ms, cpu_ms, total, ids) in latencies.items()
        },
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--backends", default="sqlite,elasticsearch")
    ap.add_argument("--es-url", default=os.environ.get("NETGUARD_BENCH_ES_URL"))
    ap.add_argument("--es-version", default="8.19.8", help="harness node to start when no --es-url")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    ap.add_argument("--no-queries", action="store_true", help="time the writers only, not the examples")
    args = ap.parse_args()

    pool = list(synthetic_events(10_000))
    print(f"load average at start {_load()}", flush=True)
    results = []
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if "sqlite" in backends:
        with tempfile.TemporaryDirectory(prefix="ng-bench-") as tmp:
            work = Path(tmp)
            print(f"sqlite: {args.events:,} events x {args.runs} runs", flush=True)
            results.append(
                run_pair(
                    "sqlite",
                    args.events,
                    args.runs,
                    pool,
                    lambda s, lat: sqlite_netguard(s, work, lat),
                    lambda s: sqlite_anchor(s, work),
                    not args.no_queries,
                )
            )
    if "elasticsearch" in backends:
        nodes = None
        if args.es_url:
            client = Elasticsearch(args.es_url, request_timeout=120, basic_auth=_env_auth())
        else:
            from tests.harness.elasticsearch import ElasticsearchNodes

            nodes = ElasticsearchNodes([args.es_version])
            node = nodes.get(args.es_version)
            client = Elasticsearch(**(node.client_kwargs() | {"request_timeout": 120}))
        try:
            print(f"elasticsearch: {args.events:,} events x {args.runs} runs", flush=True)
            results.append(
                run_pair(
                    "elasticsearch",
                    args.events,
                    args.runs,
                    pool,
                    lambda s, lat: es_netguard(s, client, lat),
                    lambda s: es_anchor(s, client),
                    not args.no_queries,
                )
            )
        finally:
            client.close()
            if nodes is not None:
                nodes.stop_all()
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(
            f"\n{'backend':<14}{'netguard/s':>12}{'anchor/s':>12}{'ratio':>8}"
            f"{'netguard/CPU s':>16}{'anchor/CPU s':>14}   RSS MiB at 10/50/100 %"
        )
        for r in results:
            mem = "/".join(f"{m:.0f}" for m in r["rss_mib_at_10_50_100_pct"])
            print(
                f"{r['backend']:<14}{r['netguard_events_per_s']:>12,}{r['anchor_events_per_s']:>12,}"
                f"{r['ratio']:>8.2f}{r['netguard_events_per_cpu_s']:>16,}{r['anchor_events_per_cpu_s']:>14,}   {mem}"
            )
        print_queries(results)
    return 0


def print_queries(results: list[dict[str, Any]]) -> None:
    """One row per example: each backend's milliseconds and hits, and whether they found the same events."""
    by = {r["backend"]: r["queries"] for r in results if r["queries"]}
    if not by:
        return
    lite, es = by.get("sqlite", {}), by.get("elasticsearch", {})
    count = next(r["events"] for r in results)
    print(f"\nsearch on {count:,} events (median of 3, first 50 hits + total); load average {_load()}")
    print(f"{'sqlite ms':>10}{'cpu ms':>9}{'es ms':>9}{'hits':>9}  {'same':<5} query")
    for q in EXAMPLES:
        a, b = lite.get(q), es.get(q)
        ms_a = f"{a['ms']:.1f}" if a else "-"
        cpu_a = f"{a['cpu_ms']:.1f}" if a else "-"
        ms_b = f"{b['ms']:.1f}" if b else "-"
        hits = (a or b or {"hits": 0})["hits"]
        same = "-" if not (a and b) else "yes" if (a["hits"], a["first_page"]) == (b["hits"], b["first_page"]) else "NO"
        print(f"{ms_a:>10}{cpu_a:>9}{ms_b:>9}{hits:>9}  {same:<5} {q}")


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _env_auth() -> tuple[str, str] | None:
    user, password = os.environ.get("NETGUARD_BENCH_ES_USER"), os.environ.get("NETGUARD_BENCH_ES_PASSWORD")
    return (user, password) if user and password else None


if __name__ == "__main__":
    random.seed(0)
    sys.exit(main())
