"""Processors: what plugs into a run without touching the runner or the tasks.

The runner calls four hooks, in this order (nornir's processors):

``run_started(info)``
    once, before any target;
``task_started(task, target, target_id)``
    before a task runs on a target it handles (never for a skipped one);
``target_done(target, results)``
    once per target, when all its tasks have a result (ok, failed or skipped);
``run_done(result)``
    once, with the aggregate; also when the run is cancelled (``interrupted``),
    so buffered output (an event batch) is flushed either way.

Hooks are plain calls on the event loop, made from one loop at a time, so
processors need no locks; they must be quick (hand slow writes to a batch or a
sink). A hook that raises does not end the run: the runner records the error in
:attr:`RunResult.processor_errors <netguard.runner.result.RunResult>` and carries on.

Shipped here: :class:`Collect` (keeps results), :class:`EventWriter` (results
to events, written in batches) and :class:`Progress` (a callback per target,
which ``commands/output.progress`` turns into a bar on a terminal). The state
store's reconciliation is a processor too; docs/architecture.md shows it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Generic, Protocol, TypeVar

from netguard.events.model import Event
from netguard.events.store import WriteResult
from netguard.runner.result import RunInfo, RunResult, TargetResult

T = TypeVar("T")
V = TypeVar("V")

AnyResult = TargetResult[Any, Any]
_KEEP_ERRORS = 20  # reasons kept per run, as WriteResult does; every failure is still counted


class Processor(Protocol):
    """The hooks of a run; subclass it to inherit do-nothing defaults for the hooks you skip."""

    def run_started(self, info: RunInfo) -> None:
        return None

    def task_started(self, task: str, target: Any, target_id: str) -> None:
        return None

    def target_done(self, target: Any, results: tuple[AnyResult, ...]) -> None:
        return None

    def run_done(self, result: RunResult[Any, Any]) -> None:
        return None


class Collect(Processor):
    """Keeps the results ``keep`` accepts (all by default), as they arrive."""

    def __init__(self, keep: Callable[[AnyResult], bool] | None = None) -> None:
        self._keep = keep
        self.results: list[AnyResult] = []

    def target_done(self, target: Any, results: tuple[AnyResult, ...]) -> None:
        self.results.extend(r for r in results if self._keep is None or self._keep(r))


class Progress(Processor):
    """Calls ``advance(1)`` per finished target: a progress bar without importing one."""

    def __init__(self, advance: Callable[[int], None]) -> None:
        self._advance = advance

    def target_done(self, target: Any, results: tuple[AnyResult, ...]) -> None:
        self._advance(1)


class EventWriter(Processor, Generic[T, V]):
    """Turns each result into events with ``to_events`` and hands them to ``write`` in batches.

    ``write`` is an :meth:`EventStore.write <netguard.events.store.EventStore.write>`
    or anything with its shape (a batching sink). Nothing is dropped silently:
    a result ``to_events`` cannot convert (an :class:`~netguard.events.model.EventError`)
    and a batch ``write`` raises on are counted as failed in :attr:`outcome`,
    with the reason, and the run goes on. The last partial batch is written
    at ``run_done``, also when the run was interrupted.
    """

    def __init__(
        self,
        write: Callable[[Sequence[Event]], WriteResult],
        to_events: Callable[[TargetResult[T, V]], Iterable[Event]],
        *,
        batch_size: int = 500,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._write = write
        self._to_events = to_events
        self._batch_size = batch_size
        self._pending: list[Event] = []
        self.outcome = WriteResult()
        self.batches = 0

    def target_done(self, target: Any, results: tuple[AnyResult, ...]) -> None:
        for result in results:
            try:
                events = list(self._to_events(result))  # all of a result's events, or none
            except Exception as exc:  # one bad result is counted, the others still go out
                self.outcome.add_error(f"{result.target_id} {result.task}: {type(exc).__name__}: {exc}", _KEEP_ERRORS)
                continue
            self._pending.extend(events)
        self.flush(full_batches_only=True)

    def run_done(self, result: RunResult[Any, Any]) -> None:
        self.flush()

    def flush(self, *, full_batches_only: bool = False) -> None:
        """Write what is pending; with ``full_batches_only``, keep a partial batch for later."""
        while self._pending and (len(self._pending) >= self._batch_size or not full_batches_only):
            batch, self._pending = self._pending[: self._batch_size], self._pending[self._batch_size :]
            self.batches += 1
            try:
                self.outcome.merge(self._write(batch))
            except Exception as exc:  # a store that is down: count every event of the batch
                self.outcome.failed += len(batch)
                if len(self.outcome.errors) < _KEEP_ERRORS:
                    self.outcome.errors.append(f"writing {len(batch)} events: {type(exc).__name__}: {exc}")


class Hooks:
    """Calls every processor's hook in order; a hook that raises is recorded, not raised."""

    def __init__(self, processors: Sequence[Processor]) -> None:
        self._processors = tuple(processors)
        self.errors: list[str] = []

    def _call(self, hook: str, *args: Any) -> None:
        for processor in self._processors:
            try:
                getattr(processor, hook)(*args)
            except Exception as exc:
                self.errors.append(f"{type(processor).__name__}.{hook}: {type(exc).__name__}: {exc}")

    def run_started(self, info: RunInfo) -> None:
        self._call("run_started", info)

    def task_started(self, task: str, target: Any, target_id: str) -> None:
        self._call("task_started", task, target, target_id)

    def target_done(self, target: Any, results: tuple[AnyResult, ...]) -> None:
        self._call("target_done", target, results)

    def run_done(self, result: RunResult[Any, Any]) -> None:
        self._call("run_done", result)
