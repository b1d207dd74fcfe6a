"""SQLite's own cost of the event store's writes, under different settings: a recorded replay, A/B.

    [CHUNK=500] python bench/events_sql_replay.py [EVENTS] [TURNS] [VARIANT ...]

The store writes the bench events once through a recording connection, which keeps every
statement and its parameters. Each variant then replays that record into a fresh store, in
interleaved turns (the order reversed every other turn), with Python's garbage collector off:
the CPU time is what SQLite (and the driver's binding) spends, without the Python that made the
rows, which is the same for every setting and only adds noise on a shared machine. Variants are
those of :mod:`bench.events_writer_tune` (pragmas, FTS5 options, page size).
"""

from __future__ import annotations

import gc
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.events import Stream, remove_db
from bench.events_writer_tune import VARIANTS, run_turns, store_bytes
from netguard.events.sqlite_store import SQLiteEventStore
from netguard.lab.synthetic_events import synthetic_events


class Recorder:
    """Stands in for the store's connection: runs each statement and keeps it with its parameters."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self.log: list[tuple[str, Any, bool]] = []

    def execute(self, sql: str, params: Any = ()) -> Any:
        self.log.append((sql, tuple(params), False))
        return self._conn.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Any]) -> Any:
        rows = list(rows)
        self.log.append((sql, rows, True))
        return self._conn.executemany(sql, rows)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def record(events: list[Any], workdir: Path, chunk: int) -> list[tuple[str, Any, bool]]:
    """The statements of writing ``events`` in calls of ``chunk`` events each."""
    path = workdir / "record.db"
    store = SQLiteEventStore(path)
    recorder = Recorder(store.conn)
    store.conn = recorder  # type: ignore[assignment]
    try:
        for i in range(0, len(events), chunk):
            store.write(events[i : i + chunk])
    finally:
        store.conn = recorder._conn
        store.close()
        remove_db(path)
    return recorder.log


def replay(name: str, log: list[tuple[str, Any, bool]], count: int, workdir: Path) -> tuple[float, float, int]:
    path = workdir / f"{name}.db"
    before, setup = VARIANTS[name]
    if before is not None:
        before(path)
    store = SQLiteEventStore(path)
    try:
        setup(store)
        conn = store.conn
        t0, c0 = time.perf_counter(), time.process_time()
        for sql, params, many in log:
            if many:
                conn.executemany(sql, params)
            else:
                conn.execute(sql, params).fetchall()
        cpu, wall = time.process_time() - c0, time.perf_counter() - t0
        return cpu / count, wall / count, store_bytes(path)
    finally:
        store.close()
        remove_db(path)


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    turns = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    names = ["base", *[n for n in sys.argv[3:] if n != "base"]] if len(sys.argv) > 3 else list(VARIANTS)
    names = [n for n in names if n not in ("batch50k", "batch10k")]  # the batches are in the record
    with tempfile.TemporaryDirectory(prefix="ng-bench-", dir=os.environ.get("BENCH_DIR")) as tmp:
        # As bench/events.py feeds the store (50,000 per write), or as the event sink does (500: CHUNK=500).
        chunk = int(os.environ.get("CHUNK", "50000"))
        log = record(list(Stream(count, list(synthetic_events(10_000)), 1_790_000_000_000)), Path(tmp), chunk)
        gc.collect()
        gc.disable()
        print(f"{count:,} events x {turns} turns; load average at start {os.getloadavg()}", flush=True)
        cpu, wall, size = run_turns(names, turns, lambda name: replay(name, log, count, Path(tmp)))
    base_c, base_w = statistics.median(cpu["base"]), statistics.median(wall["base"])
    print(f"\nload average at end {os.getloadavg()}")
    print(f"{'variant':<18}{'cpu us':>8}{'wall us':>9}{'d cpu':>8}{'d wall':>8}{'MB':>7}  cpu turns")
    for name in names:
        c, w = statistics.median(cpu[name]), statistics.median(wall[name])
        turns_text = " ".join(f"{v:.1f}" for v in cpu[name])
        print(
            f"{name:<18}{c:8.2f}{w:9.2f}{(c - base_c) / base_c * 100:+7.1f}%{(w - base_w) / base_w * 100:+7.1f}%"
            f"{size[name] / 1e6:7.1f}  {turns_text}"
        )
    return 0


if __name__ == "__main__":
    random.seed(0)
    sys.exit(main())
