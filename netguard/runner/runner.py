"""The collector runner: tasks over targets, bounded, timed, errors as data.

:meth:`Runner.run` takes targets (an inventory view: ``inv.switches(...)``,
``inv.filter(...)``, or any sequence), a list of tasks and a context, and
returns a :class:`~netguard.runner.result.RunResult`.

The algorithm:

* ``concurrency`` workers share one iterator over the targets; each takes the
  next target, runs every task on it in order, records the results, calls the
  ``target_done`` hooks and takes the next. At most ``concurrency`` targets are
  in flight, and the run holds ``concurrency`` asyncio tasks rather than one per
  target (a semaphore over 10,000 tasks would do the same bounding with 10,000
  coroutines alive at once); targets start in input order.
* Each (target, task) attempt runs under ``asyncio.timeout(timeout)``: a task
  that hangs is cancelled at the deadline and becomes a failed result
  (``TimeoutError``) while the other workers go on. A task's own
  ``TimeoutError`` keeps its message; only the runner's deadline says "no
  result within".
* Any ``Exception`` from ``handles`` or ``run`` is a failed result with the
  exception's type and redacted message. A ``CancelledError`` that does not
  come from cancelling the run (a library cancelling its own future) is a
  failed result too; one that does (``Task.cancelling()``, Ctrl-C under
  ``asyncio.run``) propagates.
* Cancelling the run cancels every worker, waits for them (nothing is left
  running), calls ``run_done`` with what finished (``interrupted=True``, so an
  event writer flushes its last batch) and re-raises ``CancelledError``.
  ``KeyboardInterrupt`` and ``SystemExit`` are never turned into results.

Results come back in target order, then task order, whatever order they
finished in, so two runs over the same targets compare line by line.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Generic, TypeVar

from netguard.runner.processors import Hooks, Processor
from netguard.runner.result import RunInfo, RunResult, Status, TargetResult, no_redaction, reason_of
from netguard.runner.task import Task, target_id

T = TypeVar("T")
C = TypeVar("C")
V = TypeVar("V")


@dataclass(frozen=True)
class Runner:
    """How to run: ``concurrency`` targets at once, ``timeout`` seconds per task on a target,
    and ``redact`` applied to every failure reason (see :func:`~netguard.runner.result.redactor`)."""

    concurrency: int = 32
    timeout: float = 30.0
    redact: Callable[[str], str] = no_redaction

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, not {self.concurrency}")
        if not self.timeout > 0:
            raise ValueError(f"timeout must be more than 0 seconds, not {self.timeout}")

    async def run(
        self,
        targets: Iterable[T],
        tasks: Sequence[Task[T, C, V]],
        context: C,
        *,
        processors: Sequence[Processor] = (),
        key: Callable[[T], str] = target_id,
    ) -> RunResult[T, V]:
        """Run every task on every target; see the module docstring for the rules."""
        return await _Run(self, tuple(targets), tuple(tasks), context, Hooks(processors), key).go()

    def run_sync(
        self,
        targets: Iterable[T],
        tasks: Sequence[Task[T, C, V]],
        context: C,
        *,
        processors: Sequence[Processor] = (),
        key: Callable[[T], str] = target_id,
    ) -> RunResult[T, V]:
        """:meth:`run` in a new event loop, for commands (Ctrl-C cancels the run cleanly)."""
        return asyncio.run(self.run(targets, tasks, context, processors=processors, key=key))


class _Run(Generic[T, C, V]):
    """The state of one run; built and thrown away by :meth:`Runner.run`."""

    def __init__(
        self,
        runner: Runner,
        targets: tuple[T, ...],
        tasks: tuple[Task[T, C, V], ...],
        context: C,
        hooks: Hooks,
        key: Callable[[T], str],
    ) -> None:
        self.runner = runner
        self.targets = targets
        self.tasks = tasks
        self.context = context
        self.hooks = hooks
        self.key = key
        self.slots: list[tuple[TargetResult[T, V], ...] | None] = [None] * len(targets)
        self.info = RunInfo(
            tasks=tuple(t.name for t in tasks),
            targets=len(targets),
            concurrency=runner.concurrency,
            timeout=runner.timeout,
            started=dt.datetime.now(dt.UTC),
        )

    async def go(self) -> RunResult[T, V]:
        start = time.perf_counter()
        self.hooks.run_started(self.info)
        feed = iter(enumerate(self.targets))
        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(min(self.runner.concurrency, len(self.targets))):
                    group.create_task(self._worker(feed))
        except asyncio.CancelledError:
            self._finish(time.perf_counter() - start, interrupted=True)
            raise
        return self._finish(time.perf_counter() - start, interrupted=False)

    def _finish(self, duration: float, *, interrupted: bool) -> RunResult[T, V]:
        done = [slot for slot in self.slots if slot is not None]
        result: RunResult[T, V] = RunResult(
            info=self.info,
            results=tuple(r for slot in done for r in slot),
            duration=duration,
            not_run=len(self.slots) - len(done),
            interrupted=interrupted,
        )
        self.hooks.run_done(result)
        return replace(result, processor_errors=tuple(self.hooks.errors))

    async def _worker(self, feed: Iterable[tuple[int, T]]) -> None:
        # Every worker pulls from the same iterator, so each target is taken exactly once.
        for index, target in feed:
            try:
                tid = self.key(target)
            except Exception:  # a target that cannot name itself still gets its results
                tid = f"#{index}"
            results = tuple([await self._attempt(task, target, tid) for task in self.tasks])
            self.slots[index] = results
            self.hooks.target_done(target, results)

    async def _attempt(self, task: Task[T, C, V], target: T, tid: str) -> TargetResult[T, V]:
        start = time.perf_counter()
        try:
            if not task.handles(target):
                return TargetResult(target, tid, task.name, Status.SKIPPED)
        except Exception as exc:
            return self._failed(task, target, tid, exc, start)
        self.hooks.task_started(task.name, target, tid)
        deadline = asyncio.timeout(self.runner.timeout)
        try:
            async with deadline:
                value = await task.run(target, self.context)
        except TimeoutError as exc:
            ours = TimeoutError(f"no result within {self.runner.timeout:g} s")
            return self._failed(task, target, tid, ours if deadline.expired() else exc, start)
        except asyncio.CancelledError as exc:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # the run itself is being cancelled
            return self._failed(task, target, tid, exc, start, fallback="cancelled")
        except Exception as exc:
            return self._failed(task, target, tid, exc, start)
        return TargetResult(target, tid, task.name, Status.OK, value=value, duration=time.perf_counter() - start)

    def _failed(
        self, task: Task[T, C, V], target: T, tid: str, exc: BaseException, start: float, fallback: str = ""
    ) -> TargetResult[T, V]:
        reason = reason_of(exc, self.runner.redact)
        if fallback and reason == type(exc).__name__:
            reason = f"{reason}: {fallback}"
        return TargetResult(
            target,
            tid,
            task.name,
            Status.FAILED,
            error_type=type(exc).__name__,
            reason=reason,
            duration=time.perf_counter() - start,
        )
