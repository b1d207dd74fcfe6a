"""Live sessions: the recording being written, its watchers, and the means to end it.

One :class:`LiveSession` per relayed channel. Every recorded event goes
through :meth:`LiveSession.record`, which writes it to the asciicast file and
hands the same line to each watcher under one lock; a watcher that joins
gets the file as written so far and then every later line, so it sees the
whole session with nothing missed or doubled. A slow watcher has a bounded
queue and is dropped when it falls behind rather than slowing the session.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from bastion.asciicast import Header, Writer

WATCH_QUEUE = 4096


@dataclass
class LiveSession:
    id: str
    user: str
    target: str
    account: str
    source_ip: str
    kind: str
    started: datetime
    recording: Path
    command: str | None = None
    max_recording_bytes: int = 1 << 30
    bytes_in: int = 0
    bytes_out: int = 0
    killed_by: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _writer: Writer | None = field(default=None, repr=False)
    _file: BinaryIO | None = field(default=None, repr=False)
    _watchers: list[queue.Queue[str | None]] = field(default_factory=list, repr=False)
    _closers: list[Callable[[], None]] = field(default_factory=list, repr=False)
    _recorded: int = 0
    _capped: bool = False

    def open_recording(self, width: int, height: int, title: str, env: dict[str, str]) -> None:
        self.recording.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.recording, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        fh = os.fdopen(fd, "wb")
        self._file = fh
        tee = _Tee(fh, self)
        # Flushed when the relay goes idle (and at the end), not after every piece of a bulk transfer.
        self._writer = Writer(tee, Header(width, height, self.started.timestamp(), title, env), autoflush=False)
        tee.flush()

    # -- recording ----------------------------------------------------------------------------

    def output(self, data: bytes) -> None:
        self.bytes_out += len(data)
        self._record(lambda w: w.output(data), len(data))

    def input(self, data: bytes) -> None:
        self.bytes_in += len(data)
        self._record(lambda w: w.input(data), len(data))

    def resize(self, width: int, height: int) -> None:
        self._record(lambda w: w.resize(width, height), 0)

    def marker(self, label: str) -> None:
        self._record(lambda w: w.marker(label), 0)

    def _record(self, action: Callable[[Writer], None], size: int) -> None:
        with self._lock:
            if self._writer is None:
                return
            if self._capped:
                return
            self._recorded += size
            if self._recorded > self.max_recording_bytes:
                self._capped = True
                self._writer.marker(f"netguard: recording stopped at {self.max_recording_bytes} bytes")
                return
            action(self._writer)

    def flush(self) -> None:
        with self._lock:
            if self._writer is not None:
                self._writer.flush()

    def _emit_line(self, line: str) -> None:
        # Called by the writer under self._lock, once per complete line.
        for q in list(self._watchers):
            try:
                q.put_nowait(line)
            except queue.Full:
                self._watchers.remove(q)
                q.put(None)  # the watcher's reader is blocked on get(): it will see the end

    def close_recording(self) -> None:
        with self._lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
            if self._file is not None:
                self._file.close()
                self._file = None
            for q in self._watchers:
                q.put(None)
            self._watchers.clear()

    # -- watching and ending ------------------------------------------------------------------

    def watch(self) -> tuple[str, queue.Queue[str | None]]:
        """The recording so far, and a queue of every later line (None at the end)."""
        q: queue.Queue[str | None] = queue.Queue(WATCH_QUEUE)
        with self._lock:
            if self._writer is not None:
                self._writer.flush()  # what is still buffered belongs to "so far"
            so_far = self.recording.read_text(encoding="utf-8") if self.recording.exists() else ""
            if self._writer is None:
                q.put(None)
            else:
                self._watchers.append(q)
        return so_far, q

    def on_kill(self, closer: Callable[[], None]) -> None:
        self._closers.append(closer)

    def kill(self, by: str) -> None:
        self.killed_by = by
        self.marker(f"netguard: session ended by {by}")
        for closer in self._closers:
            # a half-closed channel must not stop the others closing
            with contextlib.suppress(Exception):
                closer()


class _Tee:
    """A text file that also hands each complete line to the session's watchers."""

    def __init__(self, fh: BinaryIO, session: LiveSession) -> None:
        self._fh = fh
        self._session = session

    def write(self, data: bytes) -> int:
        self._fh.write(data)
        if self._session._watchers:
            self._session._emit_line(data.decode("utf-8", "replace"))
        return len(data)

    def flush(self) -> None:
        self._fh.flush()


class Registry:
    """The live sessions of one server, by id."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, LiveSession] = {}

    def add(self, session: LiveSession) -> None:
        with self._lock:
            self._sessions[session.id] = session

    def remove(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)

    def get(self, session_id: str) -> LiveSession | None:
        with self._lock:
            if session_id in self._sessions:
                return self._sessions[session_id]
            matches = [s for k, s in self._sessions.items() if k.startswith(session_id)]
            return matches[0] if len(matches) == 1 else None

    def all(self) -> list[LiveSession]:
        with self._lock:
            return sorted(self._sessions.values(), key=lambda s: s.started)
