"""The event sink: long-running producers hand it events; it stores them in the background.

A producer (the bastion, the log follower, link checks on a timer) calls
:meth:`EventSink.submit` with events and an ``ack``. One background thread
takes submissions in order, gathers them into batches (``batch_size`` events,
or whatever has waited ``batch_seconds``) and writes each batch to the event
store. Each submission is then acknowledged, in submission order, with an
:class:`Ack` carrying its batch's :class:`BatchOutcome`. ``ack`` is either a
callable (called on the sink's thread; it must be quick and must not call
back into the sink) or any other value, a token, which the producer collects
with :meth:`EventSink.poll_acks` on its own thread (what the log follower
does with its checkpoint :class:`~netguard.store.checkpoints.Mark`: SQLite
connections stay on the thread that opened them).

An acknowledged event is **durable**: stored (written now or already there),
or on local disk in the :class:`~netguard.events.spool.Spool`, or refused by
the store for good and kept in the spool's ``rejected`` table with the
reason. A follower advances its checkpoint only past durable events; events
not yet acknowledged when the process dies are read again and, having the
same ids, stored once.

Outages. When a write fails as a whole (the store unreachable, timing out,
refusing the request), the batch goes to the spool and the sink marks the
store unhealthy: new batches are then appended to the spool untried (so an
outage costs one failed request per retry, not one per batch), and the
oldest spooled events are retried with exponential back-off
(``retry_initial`` doubling up to ``retry_max`` seconds). Once a retry
succeeds the store is healthy again: new batches go straight to it and the
spool drains beside them, oldest first, a batch at a time. Events whose write
half-succeeded are spooled whole: the store answers the re-sent ones as
duplicates (Elasticsearch ``create`` → 409), so nothing is stored twice. A
new sink on the same spool path drains what an earlier process left there
(it starts unhealthy until the first retry works).

Back-pressure, never loss. At most ``max_pending`` events wait in memory
(acknowledged ones leave). When the spool is full, the sink keeps its batch
in memory and keeps retrying; memory fills; :meth:`submit` then blocks the
producer for up to ``submit_timeout`` seconds and raises :class:`SinkFull`
(counted) if still no room: the producer keeps its events (the follower
stays at its checkpoint) and tries again. Everything is counted in
:class:`SinkStats`.

:meth:`flush` waits (bounded) until everything submitted is acknowledged.
:meth:`close` stops taking submissions and flushes, bounded too; if the
thread is stuck (a write hanging on a stopped node), what it holds is put in
the spool from the closing thread and acknowledged as spooled. The stuck
write may still land later: the spooled copy is then a duplicate, which the
store drops, so close never loses an acknowledged event.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from netguard.errors import StoreError
from netguard.events.model import Event
from netguard.events.spool import DEFAULT_MAX_BYTES, Spool
from netguard.events.store import EventStore, WriteResult

DEFAULT_BATCH_SIZE = 500
DEFAULT_BATCH_SECONDS = 0.5
DEFAULT_MAX_PENDING = 20_000
DEFAULT_SUBMIT_TIMEOUT = 30.0
DEFAULT_RETRY_INITIAL = 0.5
DEFAULT_RETRY_MAX = 30.0


class SinkFull(StoreError):
    """The sink cannot take more events now (store down and spool full); keep them and retry."""


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """What happened to one batch (one or more submissions)."""

    events: int = 0
    stored: int = 0
    duplicates: int = 0
    spooled: int = 0
    rejected: int = 0
    errors: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Ack:
    """One submission acknowledged: ``seq`` counts submissions from 1, in order."""

    seq: int
    events: int
    batch: BatchOutcome
    durable: bool = True  # False only when close() could neither store nor spool it


@dataclass(frozen=True, slots=True)
class SinkStats:
    submitted: int = 0  # events accepted by submit()
    acked: int = 0  # events acknowledged (durable)
    stored: int = 0  # written to the store (directly or from the spool)
    duplicates: int = 0  # already in the store
    spooled: int = 0  # put in the spool
    delivered_from_spool: int = 0  # taken out of the spool into the store
    rejected: int = 0  # refused by the store for good, kept in the spool's rejected table
    refused_submits: int = 0  # submit() calls that timed out on back-pressure
    refused_events: int = 0
    not_durable: int = 0  # events close() could neither store nor spool (acked with durable=False)
    failed_writes: int = 0  # store writes that failed as a whole (outage)
    callback_errors: int = 0
    pending: int = 0  # events in memory, not yet acknowledged
    spool_events: int = 0
    spool_bytes: int = 0
    last_error: str = ""


@dataclass
class _Submission:
    seq: int
    events: list[Event]
    ack: Any
    arrived: float
    done: bool = False


@dataclass
class _Counters:
    stats: SinkStats = field(default_factory=SinkStats)

    def add(self, **deltas: int) -> None:
        self.stats = replace(self.stats, **{k: getattr(self.stats, k) + v for k, v in deltas.items()})


class EventSink:
    """Batches, writes, spools and acknowledges events for long-running producers (see the module docstring)."""

    def __init__(
        self,
        store: EventStore,
        spool_path: Path | str,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        batch_seconds: float = DEFAULT_BATCH_SECONDS,
        max_pending: int = DEFAULT_MAX_PENDING,
        spool_max_bytes: int = DEFAULT_MAX_BYTES,
        submit_timeout: float = DEFAULT_SUBMIT_TIMEOUT,
        retry_initial: float = DEFAULT_RETRY_INITIAL,
        retry_max: float = DEFAULT_RETRY_MAX,
        name: str = "netguard-sink",
    ) -> None:
        if batch_size < 1 or max_pending < 1:
            raise StoreError("event sink: batch_size and max_pending must be positive")
        self.store = store
        self.spool = Spool(spool_path, max_bytes=spool_max_bytes)
        self.batch_size = batch_size
        self.batch_seconds = batch_seconds
        self.max_pending = max_pending
        self.submit_timeout = submit_timeout
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self._cond = threading.Condition()
        self._queue: deque[_Submission] = deque()  # not yet taken by the worker
        self._inflight: list[_Submission] = []  # taken, not yet acknowledged
        self._tokens: deque[tuple[Any, Ack]] = deque()
        self._counters = _Counters()
        self._pending_events = 0
        self._seq = 0
        self._acked_seq = 0
        self._closing = False
        self._abandoned = False  # close() gave up on the worker; it must touch nothing
        self._backoff = retry_initial
        self._next_retry = 0.0  # monotonic time of the next attempt at the store while the spool holds events
        # Whether the last attempt at the store worked: while it does, new batches go straight to it even
        # with a backlog (which drains beside them); while it does not, they go to the spool untried.
        self._healthy = not len(self.spool)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    # --- the producer's side
    def submit(self, events: Sequence[Event], ack: Any = None, *, timeout: float | None = None) -> int:
        """Queue ``events``; returns the submission's sequence number (its :class:`Ack` carries it).

        Blocks while ``max_pending`` events wait, up to ``timeout`` (default
        ``submit_timeout``) seconds, then raises :class:`SinkFull`.
        """
        batch = list(events)
        wait = self.submit_timeout if timeout is None else timeout
        deadline = time.monotonic() + wait
        with self._cond:
            if self._closing:
                raise StoreError("the event sink is closed")
            # One submission larger than the bound is taken when nothing else waits, or it could never go in.
            while self._pending_events and self._pending_events + len(batch) > self.max_pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    self._count(refused_submits=1, refused_events=len(batch))
                    raise SinkFull(self._full_message(len(batch), wait))
                self._cond.wait(left)
                if self._closing:
                    raise StoreError("the event sink is closed")
            self._seq += 1
            self._queue.append(_Submission(self._seq, batch, ack, time.monotonic()))
            self._pending_events += len(batch)
            self._count(submitted=len(batch))
            self._cond.notify_all()
            return self._seq

    def poll_acks(self) -> list[tuple[Any, Ack]]:
        """Acknowledged token submissions since the last call, in submission order."""
        with self._cond:
            out = list(self._tokens)
            self._tokens.clear()
            return out

    def stats(self) -> SinkStats:
        with self._cond:
            return replace(
                self._counters.stats,
                pending=self._pending_events,
                spool_events=len(self.spool),
                spool_bytes=self.spool.bytes,
            )

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every submission so far is acknowledged; False if ``timeout`` passed first."""
        deadline = time.monotonic() + timeout
        with self._cond:
            target = self._seq
            self._cond.notify_all()
            while self._acked_seq < target:
                left = deadline - time.monotonic()
                if left <= 0 or not self._thread.is_alive():
                    return self._acked_seq >= target
                self._cond.wait(left)
            return True

    def wait_delivered(self, timeout: float = 30.0) -> bool:
        """Wait until everything submitted is in the store (nothing in memory or in the spool)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._next_retry = 0.0  # try the store now rather than at the end of the back-off
            self._cond.notify_all()
            while self._pending_events or len(self.spool):
                left = deadline - time.monotonic()
                if left <= 0 or not self._thread.is_alive():
                    return False
                self._cond.wait(min(left, 0.5))
            return True

    def close(self, timeout: float = 30.0) -> SinkStats:
        """Stop taking events, flush (bounded by ``timeout``), spool what is left; returns the final counts."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._rescue()
        stats = self.stats()
        self.spool.close()
        return stats

    def __enter__(self) -> EventSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _count(self, **deltas: int) -> None:
        with self._cond:  # an RLock: callers may already hold it
            self._counters.add(**deltas)

    # --- the worker
    def _run(self) -> None:
        while True:
            batch = self._take()
            if batch is None:
                return
            try:
                if batch:
                    self._deliver(batch)
                if len(self.spool) and time.monotonic() >= self._next_retry:
                    self._drain_one()
            except Exception as exc:  # never let one bad batch end a long-running producer's sink
                self._note_error(f"event sink: {type(exc).__name__}: {exc}")
                time.sleep(min(self._backoff, self.retry_max))
                self._requeue(batch)

    def _take(self) -> list[_Submission] | None:
        """The next batch; [] when only a spool retry is due; None when closed and done."""
        with self._cond:
            while True:
                if self._abandoned:
                    return None
                if self._inflight:  # a batch the spool had no room for: keep at it
                    return self._inflight
                now = time.monotonic()
                queued = sum(len(s.events) for s in self._queue)
                ready = bool(self._queue) and (
                    queued >= self.batch_size or self._closing or now - self._queue[0].arrived >= self.batch_seconds
                )
                if ready:
                    taken: list[_Submission] = []
                    count = 0
                    while self._queue and (not taken or count + len(self._queue[0].events) <= self.batch_size):
                        sub = self._queue.popleft()
                        taken.append(sub)
                        count += len(sub.events)
                    self._inflight = taken
                    return taken
                retry_due = len(self.spool) > 0 and now >= self._next_retry
                if retry_due:
                    return []
                if self._closing and not self._queue:
                    return None
                waits = [self._queue[0].arrived + self.batch_seconds - now] if self._queue else []
                if len(self.spool):
                    waits.append(self._next_retry - now)
                self._cond.wait(max(0.01, min(waits)) if waits else None)

    def _deliver(self, batch: list[_Submission]) -> None:
        events = [e for sub in batch for e in sub.events]
        if self._healthy or not len(self.spool):
            try:
                result = self.store.write(events)
            except Exception as exc:  # StoreError is the outage; anything else must not lose the batch either
                self._outage(_describe(exc))
            else:
                self._on_stored(result, events)
                self._ack(batch, self._outcome(len(events), result))
                return
        if self.spool.append(events):
            self._count(spooled=len(events))
            self._ack(batch, BatchOutcome(events=len(events), spooled=len(events)))
            return
        # Spool full: hold the batch (memory fills, submit() pushes back) and retry the store.
        if time.monotonic() < self._next_retry:
            with self._cond:
                self._cond.wait(max(0.01, self._next_retry - time.monotonic()))

    def _drain_one(self) -> None:
        chunk = self.spool.peek(self.batch_size)
        if not chunk:
            return
        try:
            result = self.store.write([e for _, e in chunk])
        except Exception as exc:
            self._outage(_describe(exc))
            return
        failed = set(result.failed_ids)
        reasons = _reasons(result)
        rejected = {seq: reasons.get(e.id, "refused by the event store") for seq, e in chunk if e.id in failed}
        self.spool.remove([seq for seq, _ in chunk], rejected, now_ms=int(time.time() * 1000))
        self._count(
            stored=result.written,
            duplicates=result.duplicates,
            rejected=len(rejected),
            delivered_from_spool=len(chunk) - len(rejected),
        )
        with self._cond:
            self._backoff = self.retry_initial
            self._next_retry = 0.0
            self._healthy = True
            self._cond.notify_all()

    def _on_stored(self, result: WriteResult, events: list[Event]) -> None:
        self._count(stored=result.written, duplicates=result.duplicates)
        if result.failed_ids:
            failed = set(result.failed_ids)
            self.spool.reject([e for e in events if e.id in failed], _reasons(result), now_ms=int(time.time() * 1000))
            self._count(rejected=len(failed))

    def _outcome(self, n: int, result: WriteResult) -> BatchOutcome:
        return BatchOutcome(
            events=n,
            stored=result.written,
            duplicates=result.duplicates,
            rejected=len(result.failed_ids),
            errors=tuple(result.errors),
        )

    def _outage(self, reason: str) -> None:
        with self._cond:
            self._healthy = False
            self._count(failed_writes=1)
            self._counters.stats = replace(self._counters.stats, last_error=reason)
            self._next_retry = time.monotonic() + self._backoff
            self._backoff = min(self._backoff * 2, self.retry_max)

    def _note_error(self, reason: str) -> None:
        with self._cond:
            self._counters.stats = replace(self._counters.stats, last_error=reason)

    def _requeue(self, batch: list[_Submission] | None) -> None:
        """After an unexpected error: the taken batch stays in flight and is tried again."""
        with self._cond:
            if batch:
                self._inflight = [s for s in batch if not s.done]

    def _ack(self, batch: list[_Submission], outcome: BatchOutcome, *, durable: bool = True) -> None:
        callbacks: list[tuple[Callable[[Ack], Any], Ack]] = []
        with self._cond:
            for sub in batch:
                if sub.done:
                    continue
                sub.done = True
                ack = Ack(seq=sub.seq, events=len(sub.events), batch=outcome, durable=durable)
                self._pending_events -= len(sub.events)
                self._acked_seq = max(self._acked_seq, sub.seq)
                if durable:
                    self._count(acked=len(sub.events))
                else:
                    self._count(not_durable=len(sub.events))
                if callable(sub.ack):
                    callbacks.append((sub.ack, ack))
                elif sub.ack is not None:
                    self._tokens.append((sub.ack, ack))
            self._inflight = [s for s in self._inflight if not s.done]
            self._cond.notify_all()
        for fn, ack in callbacks:
            try:
                fn(ack)
            except Exception as exc:  # a producer's callback must not stop the sink
                with self._cond:
                    self._count(callback_errors=1)
                    self._counters.stats = replace(self._counters.stats, last_error=f"ack callback: {exc}")

    def _rescue(self) -> None:
        """close() timed out with the worker stuck: spool what it holds and what still waits."""
        with self._cond:
            self._abandoned = True
            left = [s for s in [*self._inflight, *self._queue] if not s.done]
            self._queue.clear()
        events = [e for sub in left for e in sub.events]
        if not events:
            return
        stored = False
        with contextlib.suppress(StoreError):
            # Over the bound if need be: the process is stopping, and this is the last chance to keep them.
            stored = self.spool.append(events, force=True)
        if stored:
            self._count(spooled=len(events))
            self._ack(left, BatchOutcome(events=len(events), spooled=len(events)))
        else:
            self._ack(left, BatchOutcome(events=len(events), errors=("not stored, not spooled",)), durable=False)

    def _full_message(self, n: int, wait: float) -> str:
        last = self._counters.stats.last_error or "no error recorded"
        return (
            f"event sink full: {n} events not accepted after {wait:g} s; {self._pending_events} events wait in memory, "
            f"spool {self.spool.path} holds {len(self.spool)} events ({self.spool.bytes} of {self.spool.max_bytes} "
            f"bytes); last problem: {last}"
        )


def _describe(exc: Exception) -> str:
    return str(exc) if isinstance(exc, StoreError) else f"{type(exc).__name__}: {exc}"


def _reasons(result: WriteResult) -> dict[str, str]:
    """Event id → reason, from the store's error lines (``event <id>: <reason>``)."""
    out: dict[str, str] = {}
    for line in result.errors:
        if line.startswith("event ") and ": " in line:
            eid, _, why = line[len("event ") :].partition(": ")
            out[eid] = why
    return out
