"""Pragmas and FTS5 options for the SQLite event store's writer: CPU and wall time per event, A/B.

    [CHUNK=500] python bench/events_writer_tune.py [EVENTS] [TURNS] [VARIANT ...]

Stores the same bench events once per variant, in interleaved turns (the order reversed every
other turn), and prints the median CPU and wall microseconds per event of ``store.write`` and the
file sizes. ``base`` is the store as it is; each other variant changes one setting on a fresh store
before the first write. The stores are real (searchable): only settings differ.
"""

from __future__ import annotations

import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.events import Stream, remove_db
from netguard.events.sqlite_store import SQLiteEventStore
from netguard.lab.synthetic_events import synthetic_events

FTS_TABLES = ("events_fts", "events_cjk", "events_terms")


def _fts(option: str, value: int, tables: tuple[str, ...] = FTS_TABLES) -> Callable[[SQLiteEventStore], None]:
    def setup(store: SQLiteEventStore) -> None:
        for t in tables:
            store.conn.execute(f"INSERT INTO {t}({t}, rank) VALUES (?, ?)", (option, value))

    return setup


def _pragma(*sql: str) -> Callable[[SQLiteEventStore], None]:
    def setup(store: SQLiteEventStore) -> None:
        for s in sql:
            store.conn.execute(f"PRAGMA {s}").fetchall()

    return setup


def _both(*fns: Callable[[SQLiteEventStore], None]) -> Callable[[SQLiteEventStore], None]:
    def setup(store: SQLiteEventStore) -> None:
        for fn in fns:
            fn(store)

    return setup


def _none(store: SQLiteEventStore) -> None:
    pass


def _precreate(page_size: int) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        conn = sqlite3.connect(path)
        conn.execute(f"PRAGMA page_size={page_size}")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.close()
        os.chmod(path, 0o600)

    return make


# name -> (before the store opens the file, after it opened it)
VARIANTS: dict[str, tuple[Callable[[Path], None] | None, Callable[[SQLiteEventStore], None]]] = {
    "base": (None, _none),
    "base2": (None, _none),  # base again: the noise between two identical stores
    "hash8m": (None, _fts("hashsize", 8 << 20)),
    "hash32m": (None, _fts("hashsize", 32 << 20)),
    "hash128m": (None, _fts("hashsize", 128 << 20)),
    "crisis64": (None, _fts("crisismerge", 64)),
    "automerge16": (None, _fts("automerge", 16)),
    "pgsz16k": (None, _fts("pgsz", 16000)),
    "ckpt1k": (None, _pragma("wal_autocheckpoint=1000")),  # the default before 4,000
    "ckpt4k": (None, _pragma("wal_autocheckpoint=4000")),
    "ckpt10k": (None, _pragma("wal_autocheckpoint=10000")),
    "ckpt_batch": (None, _pragma("wal_autocheckpoint=0")),  # checkpointed after each write() below
    "nockpt": (None, _pragma("wal_autocheckpoint=0")),  # never checkpointed: what checkpoints cost the writer
    "mmap256m": (None, _pragma("mmap_size=268435456")),
    "temp_mem": (None, _pragma("temp_store=MEMORY")),
    "cache256m": (None, _pragma("cache_size=-262144")),
    "page4k": (_precreate(4096), _none),  # the page size before 16 KiB became the default
    "page8k": (_precreate(8192), _none),
    "page16k": (_precreate(16384), _none),
    "page32k": (_precreate(32768), _none),
    "page64k": (_precreate(65536), _none),
    "batch20k": (None, _none),
    "batch50k": (None, _none),
    "chunk500": (None, _none),
    "batch10k": (None, _none),
    "hash32m+ckpt10k": (None, _both(_fts("hashsize", 32 << 20), _pragma("wal_autocheckpoint=10000"))),
}
BATCH = {"batch20k": 20_000, "batch50k": 50_000, "batch10k": 10_000}
# The event sink hands the store 500 events per write (netguard.events.sink.DEFAULT_BATCH_SIZE).
CHUNK = {"chunk500": 500}


def store_bytes(path: Path) -> int:
    """The bytes of a store's file and its WAL."""
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


Timings = dict[str, list[float]]


def run_turns(
    names: list[str], turns: int, measure: Callable[[str], tuple[float, float, int]]
) -> tuple[Timings, Timings, dict[str, int]]:
    """``measure(name)`` of each variant in interleaved turns (the order reversed every other turn, so a
    load that drifts falls on every variant alike): CPU and wall us/event per turn, and the bytes."""
    cpu: Timings = {n: [] for n in names}
    wall: Timings = {n: [] for n in names}
    size: dict[str, int] = {}
    for turn in range(turns):
        for name in names if turn % 2 == 0 else names[::-1]:
            c, w, size[name] = measure(name)
            cpu[name].append(c * 1e6)
            wall[name].append(w * 1e6)
            load = os.getloadavg()[0]
            print(f"  turn {turn} {name}: cpu {c * 1e6:.2f} wall {w * 1e6:.2f} us/event; load {load:.1f}", flush=True)
    return cpu, wall, size


def write_time(name: str, events: list[Any], workdir: Path) -> tuple[float, float, int]:
    """CPU and wall seconds per event of writing ``events`` (in chunks, as a feed delivers them), and the bytes."""
    path = workdir / f"{name}.db"
    before, setup = VARIANTS[name]
    if before is not None:
        before(path)
    store = SQLiteEventStore(path) if name not in BATCH else SQLiteEventStore(path, batch_size=BATCH[name])
    try:
        setup(store)
        cpu = wall = 0.0
        chunk = CHUNK.get(name, int(os.environ.get("CHUNK", "50000")))
        for i in range(0, len(events), chunk):
            part = events[i : i + chunk]
            t0, c0 = time.perf_counter(), time.process_time()
            store.write(part)
            if name == "ckpt_batch":
                store.conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            wall += time.perf_counter() - t0
            cpu += time.process_time() - c0
        return cpu / len(events), wall / len(events), store_bytes(path)
    finally:
        store.close()
        remove_db(path)


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    turns = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    names = ["base", *[n for n in sys.argv[3:] if n != "base"]] if len(sys.argv) > 3 else list(VARIANTS)
    events = list(Stream(count, list(synthetic_events(10_000)), 1_790_000_000_000))
    print(f"{count:,} events x {turns} turns; load average at start {os.getloadavg()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="ng-bench-", dir=os.environ.get("BENCH_DIR")) as tmp:
        cpu, wall, size = run_turns(names, turns, lambda name: write_time(name, events, Path(tmp)))
    base_c, base_w = statistics.median(cpu["base"]), statistics.median(wall["base"])
    print(f"\nload average at end {os.getloadavg()}")
    head = f"{'variant':<18}{'cpu us':>8}{'wall us':>9}{'cpu ev/s':>10}{'wall ev/s':>10}"
    print(f"{head}{'d cpu':>8}{'d wall':>8}{'MB':>7}")
    for name in names:
        c, w = statistics.median(cpu[name]), statistics.median(wall[name])
        print(
            f"{name:<18}{c:8.2f}{w:9.2f}{1e6 / c:10,.0f}{1e6 / w:10,.0f}"
            f"{(c - base_c) / base_c * 100:+7.1f}%{(w - base_w) / base_w * 100:+7.1f}%{size[name] / 1e6:7.1f}"
        )
    return 0


if __name__ == "__main__":
    random.seed(0)
    sys.exit(main())
