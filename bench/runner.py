"""Runner overhead: 10,000 trivial targets through the runner beside a plain loop.

    python bench/runner.py [--targets 10000] [--runs 5]

The task does nothing but return its target (one ``await asyncio.sleep(0)``,
so workers interleave as real I/O tasks would). The baseline awaits the same
task on every target in a plain ``for`` loop in the same event loop: what a
command would pay without the runner. The difference is the runner's own cost:
the worker pool, a timeout scope per (target, task), result records, ordering,
and the processor hooks (measured with and without a ``Collect`` and a
``Progress`` processor). Cases run interleaved; each overhead is the median
of paired differences, and the cost per target.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from netguard.runner import Collect, Processor, Progress, Runner


class Nothing:
    name = "nothing"

    def handles(self, target: int) -> bool:
        return True

    async def run(self, target: int, context: Any) -> int:
        await asyncio.sleep(0)
        return target


async def plain_loop(targets: list[int]) -> None:
    task = Nothing()
    values = [await task.run(t, None) for t in targets]
    assert len(values) == len(targets)


def through_runner(concurrency: int, with_processors: bool) -> Callable[[list[int]], Awaitable[None]]:
    async def go(targets: list[int]) -> None:
        processors: list[Processor] = [Collect(), Progress(lambda n: None)] if with_processors else []
        runner = Runner(concurrency=concurrency, timeout=30)
        result = await runner.run(targets, [Nothing()], None, processors=processors)
        assert len(result.ok) == len(targets)

    return go


def seconds(case: Callable[[list[int]], Awaitable[None]], targets: list[int]) -> float:
    async def timed() -> float:
        start = time.perf_counter()
        await case(targets)
        return time.perf_counter() - start

    return asyncio.run(timed())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    targets = list(range(args.targets))
    cases: dict[str, Callable[[list[int]], Awaitable[None]]] = {"plain loop": plain_loop}
    for concurrency in (1, 32, 256):
        for with_processors in (False, True):
            label = f"runner, concurrency {concurrency}{' + 2 processors' if with_processors else ''}"
            cases[label] = through_runner(concurrency, with_processors)
    # Interleaved and paired: on a shared machine the load drifts between runs, so each
    # overhead is the median of (runner - plain loop) measured back to back in one round.
    times: dict[str, list[float]] = {label: [] for label in cases}
    for _ in range(args.runs):
        for label, case in cases.items():
            times[label].append(seconds(case, targets))
    base = times["plain loop"]
    print(f"{args.targets} trivial targets, median of {args.runs} runs, Python {sys.version.split()[0]}")
    print(f"  {'plain loop':<36} {statistics.median(base) * 1000:8.1f} ms")
    for label, took in list(times.items())[1:]:
        extra = statistics.median(t - b for t, b in zip(took, base, strict=True))
        print(
            f"  {label:<36} {statistics.median(took) * 1000:8.1f} ms   overhead {extra * 1000:7.1f} ms"
            f" = {extra / args.targets * 1e6:5.1f} µs/target"
        )


if __name__ == "__main__":
    main()
