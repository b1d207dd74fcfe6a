"""The Python cost of making a batch's index rows in the SQLite event store, without SQLite.

    python bench/events_rows_cost.py [EVENTS] [TURNS] [OLD_TREE]

Times, in CPU microseconds per event, what ``SQLiteEventStore._write_batch`` does in Python
before SQLite sees a row: the tuples of the main insert, each event's text body
(``fts_body``), the address and CJK rows (``sqlite_index.batch.store_rows``), and the terms and
numbers rows (``TermIndexer.store``), handed to a connection that only takes the rows.

With ``OLD_TREE`` (a checkout of another commit, e.g. ``git archive BASE | tar -x -C /tmp/old``)
each turn runs once in a child process on that tree and once on this one, interleaved (the
order reversed every other turn), and the medians of both are printed: an A/B in one run.
"""

from __future__ import annotations

import functools
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parents[1]


class _Sink:
    """Stands in for the connection: takes the rows and drops them."""

    def executemany(self, sql: str, rows: Any) -> None:
        for _ in rows:
            pass


def _one_turn(count: int) -> dict[str, float]:
    """In a child whose sys.path starts with the tree to time: CPU us/event of each part, one turn."""
    from bench.events import Stream
    from netguard.events import sqlite_store

    # The side indexes' code: a package here, one module in an older tree (OLD_TREE).
    side: Any
    terms: Any
    try:
        from netguard.events.sqlite_index import batch as side
        from netguard.events.sqlite_index import terms
    except ImportError:
        from netguard.events import sqlite_index as side

        terms = side
    from netguard.events.query.to_sqlite import fts_body
    from netguard.lab.synthetic_events import synthetic_events

    events = list(Stream(count, list(synthetic_events(10_000)), 1_790_000_000_000))
    batches = [events[i : i + 20_000] for i in range(0, len(events), 20_000)]
    indexer = terms.TermIndexer(terms.TERM_FIELDS, terms.NUMBER_FIELDS)
    sink: Any = _Sink()
    # The store's cache of packed addresses, where this tree has one.
    store_rows: Any = side.store_rows
    if hasattr(side, "AddressKeys"):
        store_rows = functools.partial(side.store_rows, keys=side.AddressKeys())
    # A first pass fills the token cache, as a long-running store's is.
    for batch in batches[:1]:
        indexer.store(sink, [(i, e.fields, fts_body(e.fields)) for i, e in enumerate(batch)])
        indexer.committed()
    spent = {"main": 0.0, "body": 0.0, "ips+cjk": 0.0, "terms": 0.0}
    clock = time.process_time
    for n, batch in enumerate(batches):
        base = 1 + n * 20_000
        t0 = clock()
        if hasattr(sqlite_store, "_event_rows"):
            main = list(sqlite_store._event_rows(batch, base))
        else:  # a tree from before _event_rows (an A/B against it): its inline rows
            main = [
                (
                    base + i,
                    e.id,
                    e.timestamp_ms,
                    e.kind,
                    (f := e.fields).get("user.name"),
                    f.get("event.outcome"),
                    f.get("netguard.risk"),
                    f.get("event.action"),
                    e.json,
                )
                for i, e in enumerate(batch)
            ]
        t1 = clock()
        rows: Any
        if hasattr(side, "Batch"):  # this tree makes the rows per batch
            from netguard.events.query.to_sqlite import fts_bodies

            rowids = range(base, base + len(batch))
            rows = side.Batch(rowids, [e.fields for e in batch])
            rows.bodies = fts_bodies(rows)
            sink.executemany("", zip(rows.rowids, rows.bodies, strict=True))
        else:
            rows = [(base + i, e.fields, fts_body(e.fields)) for i, e in enumerate(batch)]
            sink.executemany("", [(rowid, body) for rowid, _, body in rows])
        t2 = clock()
        store_rows(sink, rows)
        t3 = clock()
        indexer.store(sink, rows)
        indexer.committed()
        t4 = clock()
        del main
        spent["main"] += t1 - t0
        spent["body"] += t2 - t1
        spent["ips+cjk"] += t3 - t2
        spent["terms"] += t4 - t3
    out = {k: v * 1e6 / len(events) for k, v in spent.items()}
    out["total"] = sum(out.values())
    return out


def _child(tree: Path, count: int) -> dict[str, float]:
    code = (
        f"import sys; sys.path.insert(0, {str(tree)!r}); sys.path.insert(0, {str(HERE / 'bench')!r});"
        f"import events_rows_cost as b; print(repr(b._one_turn({count})))"
    )
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True)
    result: dict[str, float] = eval(out.stdout.strip().splitlines()[-1])  # our own child's repr of a dict
    return result


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    turns = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    trees = {"new": HERE}
    if len(sys.argv) > 3:
        trees = {"old": Path(sys.argv[3]).resolve(), "new": HERE}
    names = list(trees)
    spent: dict[str, list[dict[str, float]]] = {n: [] for n in names}
    print(f"{count:,} events x {turns} turns; load average at start {os.getloadavg()}", flush=True)
    for turn in range(turns):
        for name in names if turn % 2 == 0 else names[::-1]:
            spent[name].append(_child(trees[name], count))
            parts = "  ".join(f"{k} {v:.2f}" for k, v in spent[name][-1].items())
            print(f"  turn {turn} {name}: {parts} (us/event CPU); load {os.getloadavg()[0]:.1f}", flush=True)
    print(f"load average at end {os.getloadavg()}")
    print(f"\nmedians, us/event of CPU\n{'tree':<6}" + "".join(f"{k:>9}" for k in spent[names[0]][0]))
    for name in names:
        keys = spent[name][0]
        print(f"{name:<6}" + "".join(f"{statistics.median(t[k] for t in spent[name]):9.2f}" for k in keys))
    return 0


if __name__ == "__main__":
    sys.exit(main())
