"""Writing one session's recording on a thread of its own, off the relay's path.

The relay thread only stamps each event with its time and queues it
(:meth:`Recorder.submit`); the recorder thread turns events into asciicast
lines (:class:`bastion.asciicast.Writer`: UTF-8 checks and JSON escaping),
writes them, hashes them and hands each line to the session's watchers. File
writes and SHA-256 of large blocks release the GIL, so on a machine with a
second core they overlap with the relay's own work instead of adding to it;
the hash of the finished file is known the moment it is closed, without
reading the file back.

Wake-ups are batched: the relay wakes the recorder only for the first event
after a quiet spell, and the recorder then lingers (up to LINGER, or until
BATCH_BYTES are queued, a watcher joins or the session closes) before it
writes what has gathered and flushes once. A bulk transfer queues one event
per 32 KiB packet; waking for each cost a thread switch, a turn at the GIL and
a write(2) per packet, in the process the relay is bound by. The recording is
the same, event for event, with the times stamped at submit; readers and
watchers see it at most LINGER later.

One queue carries everything, in order: events, a watcher joining (it gets the
file as written up to that point, then every later line, so nothing is
missed or doubled), and the close. The queue is bounded by bytes: when the
disk cannot keep up the relay waits (back-pressure) rather than dropping a
byte of the recording or growing without bound. The file is flushed whenever
the queue runs empty, so a reader or a crash loses at most what was in
flight. A write error (a full disk) is kept and raised to the relay on its
next submit, which ends the session as a failed write always has.
"""

from __future__ import annotations

import contextlib
import hashlib
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from bastion.asciicast import Header, Writer

MAX_PENDING_BYTES = 8 << 20
BATCH_BYTES = 1 << 20
LINGER = 0.02  # seconds
WATCH_QUEUE = 4096

Action = Callable[[Writer], None]


@dataclass
class _Join:
    """A watcher asking to join: answered with the file so far and its line queue."""

    reply: queue.Queue[tuple[str, queue.Queue[str | None]]] = field(default_factory=lambda: queue.Queue(1))


class Recorder:
    """The recording file of one session and the thread that writes it."""

    def __init__(self, path: Path, fh: BinaryIO, header: Header) -> None:
        self.path = path
        self._fh = fh
        self._sha = hashlib.sha256()
        self._watchers: list[queue.Queue[str | None]] = []
        self._items: deque[tuple[float, Action | _Join | None, int]] = deque()
        self._pending = 0
        self._cond = threading.Condition()
        self._error: OSError | None = None
        self._closed = False
        self._hurry = False  # a watcher joining or the close: no lingering
        self._now = time.monotonic()
        self._writer = Writer(_Tee(self), header, clock=lambda: self._now, autoflush=False)
        self._fh.flush()
        self._thread = threading.Thread(target=self._run, daemon=True, name="bastion-recorder")
        self._thread.start()

    # -- the relay's side -----------------------------------------------------------------------

    def submit(self, action: Action, size: int) -> None:
        """Queue one event, stamped now; waits while MAX_PENDING_BYTES are still unwritten."""
        with self._cond:
            if self._error is not None:
                raise self._error
            if self._closed:
                return
            while self._pending > MAX_PENDING_BYTES and self._error is None:
                self._cond.wait()
            first = not self._items
            self._items.append((time.monotonic(), action, size))
            self._pending += size
            if first or self._pending >= BATCH_BYTES:
                self._cond.notify_all()

    def join(self) -> tuple[str, queue.Queue[str | None]]:
        """The recording so far, and a queue of every later line (None at the end)."""
        with self._cond:
            closed = self._closed
            if not closed:
                request = _Join()
                self._items.append((time.monotonic(), request, 0))
                self._hurry = True
                self._cond.notify_all()
        if closed:
            self._thread.join()  # the file is complete once the thread is done
            done: queue.Queue[str | None] = queue.Queue(1)
            done.put(None)
            return _read(self.path), done
        return request.reply.get()

    def close(self) -> str | None:
        """Write what is queued, close the file; the SHA-256 of everything written (None if a write failed)."""
        with self._cond:
            if not self._closed:
                self._closed = True
                self._hurry = True
                self._items.append((time.monotonic(), None, 0))
                self._cond.notify_all()
        self._thread.join()
        return None if self._error is not None else self._sha.hexdigest()

    # -- the recorder thread ------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._items:
                    # Caught up: sleep until the next event, then let its burst gather. What queues
                    # while a burst is written is written straight after it, without lingering again
                    # (lingering per event would hold each one back LINGER and wake for each).
                    while not self._items:
                        self._hurry = False
                        self._cond.wait()
                    self._linger()
                at, item, size = self._items.popleft()
            if item is None:
                self._finish()
                return
            try:
                if isinstance(item, _Join):
                    # Answered even after a write error: a watcher must never wait for ever.
                    with contextlib.suppress(OSError):
                        self._fh.flush()
                    item.reply.put((_read(self.path), self._watch()))
                elif self._error is None:
                    self._now = at
                    item(self._writer)
                    if not self._items:
                        self._fh.flush()  # caught up: make it visible to readers before sleeping
            except OSError as exc:
                with self._cond:
                    self._error = exc
            finally:
                with self._cond:
                    self._pending -= size
                    self._cond.notify_all()

    def _linger(self) -> None:
        # Called holding the lock with something queued: let a burst gather (see the module doc).
        # A relay held back by MAX_PENDING_BYTES ends the wait too.
        deadline = self._items[0][0] + LINGER
        while not self._hurry and self._pending < min(BATCH_BYTES, MAX_PENDING_BYTES):
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._cond.wait(left)

    def _watch(self) -> queue.Queue[str | None]:
        q: queue.Queue[str | None] = queue.Queue(WATCH_QUEUE)
        self._watchers.append(q)
        return q

    def _finish(self) -> None:
        try:
            if self._error is None:
                self._writer.close()
        except OSError as exc:
            self._error = exc
        finally:
            with contextlib.suppress(OSError):
                self._fh.close()
            for q in self._watchers:
                with contextlib.suppress(queue.Full):
                    q.put_nowait(None)
            self._watchers.clear()

    def _line(self, data: bytes) -> None:
        # Called on the recorder thread, once per complete line.
        self._fh.write(data)
        self._sha.update(data)
        if self._watchers:
            line = data.decode("utf-8", "replace")
            for q in list(self._watchers):
                try:
                    q.put_nowait(line)
                except queue.Full:
                    # A slow watcher is dropped rather than slowing the session; it sees the end.
                    self._watchers.remove(q)
                    _end(q)


def _end(q: queue.Queue[str | None]) -> None:
    with contextlib.suppress(queue.Empty):
        q.get_nowait()  # room for the end mark
    with contextlib.suppress(queue.Full):
        q.put_nowait(None)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


class _Tee:
    """The writer's file: bytes go to the recording, the hash and the watchers."""

    def __init__(self, recorder: Recorder) -> None:
        self._recorder = recorder

    def write(self, data: bytes) -> int:
        self._recorder._line(data)
        return len(data)

    def flush(self) -> None:
        self._recorder._fh.flush()
