"""Startup time of the ``netguard`` command: wall and CPU time of a few common calls.

    python bench/startup.py [--runs 5] [--tree PATH ...]

Each case starts a fresh interpreter, as cron or a shell does, with the tree on
PYTHONPATH and ``from cli import main`` (what the console script runs), against an
empty event store in a temporary directory. With more than one ``--tree`` (a
checkout of an older commit beside this one, say) the trees are timed interleaved
in the same run, so that the load of a shared machine falls on both alike, and each
later tree's median is given as a ratio to the first's.

Wall time is what a person waits; on a loaded machine it is mostly waiting for a
core. CPU time (user + system of the child, from ``getrusage``) is close to what
the wall time would be on an idle core, and much steadier under load, so both are
shown, as medians. The load average before and after is printed with them.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAUNCH = "import sys; from cli import main; sys.exit(main(prog_name='netguard'))"
CASES: dict[str, list[str]] = {
    "--version": ["--version"],
    "--help": ["--help"],
    "events search (empty store)": ["events", "search", "user:alice AND risk:>=high", "--since", "24h"],
    "discover --help": ["discover", "--help"],
    "config show": ["config", "show"],
}


def once(tree: Path, args: list[str], workdir: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one ``netguard ARGS`` in a fresh interpreter."""
    env = {**os.environ, "PYTHONPATH": str(tree), "NETGUARD_CONFIG": str(workdir / "netguard.yaml")}
    env.update(NO_COLOR="1", COLUMNS="80")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", LAUNCH, *args], cwd=workdir, env=env, capture_output=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"{tree}: netguard {' '.join(args)} exited {done.returncode}:\n{done.stderr.decode()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def load() -> str:
    return " ".join(f"{n:.2f}" for n in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tree", type=Path, action="append", help="a source tree to time (default: this one)")
    opts = parser.parse_args()
    trees: list[Path] = [t.resolve() for t in opts.tree] if opts.tree else [ROOT]
    with tempfile.TemporaryDirectory(prefix="netguard-startup-") as tmp:
        workdir = Path(tmp)
        (workdir / "netguard.yaml").write_text("events:\n  sqlite:\n    path: events.db\n", encoding="utf-8")
        print(f"load average before: {load()}  ({os.cpu_count()} cores), {opts.runs} runs, medians")
        for tree in trees:  # a first run writes the bytecode caches and creates the store
            for args in CASES.values():
                once(tree, args, workdir)
        wall: dict[tuple[str, Path], list[float]] = {}
        cpu: dict[tuple[str, Path], list[float]] = {}
        for _ in range(opts.runs):
            for name, args in CASES.items():
                for tree in trees:
                    w, c = once(tree, args, workdir)
                    wall.setdefault((name, tree), []).append(w)
                    cpu.setdefault((name, tree), []).append(c)
        print(f"load average after:  {load()}")
        print(f"{'command':<28} {'tree':<24} {'wall s':>7} {'cpu s':>7} {'wall x':>7} {'cpu x':>7}")
        for name in CASES:
            first_wall = statistics.median(wall[name, trees[0]])
            first_cpu = statistics.median(cpu[name, trees[0]])
            for tree in trees:
                w, c = statistics.median(wall[name, tree]), statistics.median(cpu[name, tree])
                label = str(tree) if len(str(tree)) <= 24 else "…" + str(tree)[-23:]
                print(f"{name:<28} {label:<24} {w:7.3f} {c:7.3f} {w / first_wall:7.2f} {c / first_cpu:7.2f}")


if __name__ == "__main__":
    main()
