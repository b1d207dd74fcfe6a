"""Run one job per device, at most ``limit`` at a time, each within its own deadline.

The result is one :class:`Outcome` per device, in the order given: either the
job's value or the problem that stopped it. A job that raises
:class:`~netguard.snmp.problems.SnmpError` reports its problem; a job that
runs past ``deadline`` seconds is cancelled and reported as
``deadline``; any other exception (a bug, or a library tripping over a
garbage packet) is reported as ``internal`` with its type, so one device never
ends the run for the others. ``on_done`` is called as each device finishes,
for progress bars and event hooks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from netguard.snmp.problems import ProblemKind, SnmpError, SnmpProblem

K = TypeVar("K")
T = TypeVar("T")


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """What one device gave: ``value`` or ``problem`` (exactly one is set)."""

    device: str
    value: T | None = None
    problem: SnmpProblem | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


async def run_bounded(
    items: Sequence[K],
    job: Callable[[K], Awaitable[T]],
    *,
    label: Callable[[K], str],
    limit: int = 64,
    deadline: float | None = None,
    on_done: Callable[[Outcome[T]], None] | None = None,
) -> list[Outcome[T]]:
    """``job(item)`` for every item, ``limit`` at a time; never raises for one item's failure."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    gate = asyncio.Semaphore(limit)

    async def one(item: K) -> Outcome[T]:
        device = label(item)
        async with gate:
            try:
                value = await asyncio.wait_for(job(item), deadline)
                outcome: Outcome[T] = Outcome(device, value=value)
            except SnmpError as exc:
                outcome = Outcome(device, problem=exc.problem)
            except TimeoutError:
                msg = f"not finished within {deadline:g} s: stopped"
                outcome = Outcome(device, problem=SnmpProblem(device, ProblemKind.DEADLINE, msg))
            except Exception as exc:
                msg = f"{type(exc).__name__} while handling this device"
                outcome = Outcome(device, problem=SnmpProblem(device, ProblemKind.INTERNAL, msg))
        if on_done is not None:
            on_done(outcome)
        return outcome

    return list(await asyncio.gather(*(one(item) for item in items)))
