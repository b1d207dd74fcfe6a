"""What a capability plugs into the runner: a task.

A task is any object with a ``name``, a ``handles(target)`` test and an async
``run(target, context)`` that returns a value (NAV's plugins: ``can_handle``,
then collect into a container; nornir's tasks). It does not subclass anything:
:class:`Task` is a protocol, so a collector module depends on nothing but the
records it reads. The task returns data and never writes storage; processors
(:mod:`netguard.runner.processors`) turn results into events or state.

``context`` is whatever the capability needs and the runner passes through
untouched (an SNMP client, a secrets resolver, a probe count); the runner
never looks at it.

Blocking work (a library without asyncio) goes through :class:`SyncTask`,
which runs the function in a thread of its own and awaits the answer. A thread
cannot be cancelled: when it outlives the runner's timeout the target is
reported failed and its slot freed, but the thread runs on until the function
returns, so blocking functions must bound their own I/O (socket timeouts) too.
The thread is a daemon rather than :func:`asyncio.to_thread`'s pool worker
because ``asyncio.run`` waits for the default pool at shutdown: one stuck
``to_thread`` call held a finished run for 30 s here, and would keep a CLI
from exiting at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

T = TypeVar("T")
C = TypeVar("C")
V = TypeVar("V")
T_contra = TypeVar("T_contra", contravariant=True)
C_contra = TypeVar("C_contra", contravariant=True)
V_co = TypeVar("V_co", covariant=True)


class Task(Protocol[T_contra, C_contra, V_co]):
    """One unit of collection or checking, run once per target it handles."""

    @property
    def name(self) -> str:
        """Short and stable: it names the task in results, events and progress."""
        ...

    def handles(self, target: T_contra) -> bool:
        """False: the target is reported ``skipped`` for this task (not a failure)."""
        ...

    async def run(self, target: T_contra, context: C_contra) -> V_co:
        """The value for this target; any exception makes it a failed result."""
        ...


def _every(_target: object) -> bool:
    return True


@dataclass(frozen=True)
class SyncTask(Generic[T, C, V]):
    """A blocking function ``func(target, context)`` as a task, run in a worker thread."""

    name: str
    func: Callable[[T, C], V]
    accepts: Callable[[T], bool] = _every

    def handles(self, target: T) -> bool:
        return self.accepts(target)

    async def run(self, target: T, context: C) -> V:
        return await in_thread(self.name, self.func, target, context)


async def in_thread(name: str, func: Callable[[T, C], V], target: T, context: C) -> V:
    """``func(target, context)`` in a daemon thread; cancelling the await abandons the thread."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[V] = loop.create_future()
    call = contextvars.copy_context()

    def work() -> None:
        try:
            outcome: tuple[V | None, BaseException | None] = (call.run(func, target, context), None)
        except BaseException as exc:  # handed to the awaiting task, which decides
            outcome = (None, exc)
        with contextlib.suppress(RuntimeError):  # a closed loop: the run ended without this answer
            loop.call_soon_threadsafe(_settle, future, *outcome)

    threading.Thread(target=work, name=f"netguard-{name}", daemon=True).start()
    return await future


def _settle(future: asyncio.Future[V], value: V | None, exc: BaseException | None) -> None:
    if future.done():  # cancelled at the deadline; the late answer is not wanted
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(value)  # type: ignore[arg-type]


def target_id(target: object) -> str:
    """How results name a target: its ``id`` (institutions, switches, servers), else its
    ``mac`` (devices), else ``str(target)``."""
    for attribute in ("id", "mac"):
        value = getattr(target, attribute, None)
        if isinstance(value, str):
            return value
    return str(target)
