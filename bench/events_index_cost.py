"""What each index of the SQLite event store costs its writer: CPU time per event with it left out.

    python bench/events_index_cost.py [EVENTS] [TURNS]

Stores the same bench events (:class:`bench.events.Stream`) once per variant, in interleaved
turns (the order reversed every other turn, so a load that drifts during the run falls on every
variant alike), and prints the median CPU time per event of ``store.write``. CPU time, not the
wall clock: on a shared machine other jobs take the cores away, and SQLite runs in this process.

Variants (each against ``base``, the store as it is):

- ``*_sql``: the index's table replaced by a plain table (or the index dropped): what SQLite
  spends keeping that index. The Python that makes its rows still runs, and the rows still go in.
- ``terms+numbers_all``: the terms and numbers indexes' rows not made at all (``TermIndexer.store``
  skipped): their whole cost, Python included.
- ``ips+cjk_all``: the same for the address and CJK indexes (``sqlite_index.batch.store_rows`` skipped).

A variant store is not a working store (its searches would be wrong): it only times the writer.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.events import Stream, remove_db
from netguard.events.sqlite_index import batch as index_rows
from netguard.events.sqlite_store import SQLiteEventStore
from netguard.lab.synthetic_events import synthetic_events


def _plain(table: str, columns: str) -> list[str]:
    return [f"DROP TABLE {table}", f"CREATE TABLE {table}({columns})"]


SQL: dict[str, list[str]] = {
    "base": [],
    "kind_ts_sql": ["DROP INDEX events_kind_ts"],
    "user_idx_sql": ["DROP INDEX events_user"],
    "terms_sql": _plain("events_terms", "rowid INTEGER PRIMARY KEY, body"),
    "numbers_sql": _plain("event_numbers", "field, value, event"),
    "terms+numbers_all": [],
    "ips_sql": _plain("event_ips", "addr, event, fields"),
    "cjk_sql": _plain("events_cjk", "rowid INTEGER PRIMARY KEY, body"),
    "ips+cjk_all": [],
    "trigram_sql": _plain("events_fts", "rowid INTEGER PRIMARY KEY, body"),
}


def _skip(*args: Any, **kwargs: Any) -> None:
    """Stands in for a function whose rows a variant does not make."""


def write_cpu(name: str, events: list[Any], workdir: Path) -> float:
    """CPU seconds per event of writing ``events`` into a fresh store of variant ``name``."""
    path = workdir / f"{name}.db"
    store = SQLiteEventStore(path)
    real: Callable[..., None] = index_rows.store_rows
    try:
        for sql in SQL[name]:
            store.conn.execute(sql)
        if name == "terms+numbers_all":
            store._terms.store = _skip  # type: ignore[method-assign]
        if name == "ips+cjk_all":
            index_rows.store_rows = _skip
        c0 = time.process_time()
        store.write(events)
        return (time.process_time() - c0) / len(events)
    finally:
        index_rows.store_rows = real
        store.close()
        remove_db(path)


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    turns = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    names = list(SQL)
    events = list(Stream(count, list(synthetic_events(10_000)), 1_790_000_000_000))
    spent: dict[str, list[float]] = {n: [] for n in names}
    print(f"{count:,} events x {turns} turns; load average at start {os.getloadavg()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="ng-bench-") as tmp:
        for turn in range(turns):
            for name in names if turn % 2 == 0 else names[::-1]:
                spent[name].append(write_cpu(name, events, Path(tmp)) * 1e6)
                load = os.getloadavg()[0]
                print(f"  turn {turn} {name}: {spent[name][-1]:.2f} us/event of CPU; load {load:.1f}", flush=True)
    base = statistics.median(spent["base"])
    print(f"\n{'left out':<20}{'us/event':>9}{'events/s CPU':>14}{'saves us':>10}")
    for name, values in spent.items():
        m = statistics.median(values)
        print(f"{name:<20}{m:9.2f}{1e6 / m:14,.0f}{base - m:10.2f}")
    return 0


if __name__ == "__main__":
    random.seed(0)
    sys.exit(main())
