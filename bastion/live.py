"""Live sessions: the recording being written, its watchers, and the means to end it.

One :class:`LiveSession` per relayed channel. Every recorded event goes
through :meth:`LiveSession._record`, which counts it against the recording
cap and hands it, stamped with its time, to the session's
:class:`bastion.recorder.Recorder`; that thread writes the file and serves the
watchers, so the relay thread never waits on JSON escaping, the disk or the
hash. A watcher that joins gets the file as written so far and then every
later line, so it sees the whole session with nothing missed or doubled. A
slow watcher has a bounded queue and is dropped when it falls behind rather
than slowing the session.
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

from bastion.asciicast import Header, Writer
from bastion.recorder import Recorder


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
    _recorder: Recorder | None = field(default=None, repr=False)
    _closers: list[Callable[[], None]] = field(default_factory=list, repr=False)
    _recorded: int = 0
    _capped: bool = False

    def open_recording(self, width: int, height: int, title: str, env: dict[str, str]) -> None:
        self.recording.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.recording, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        fh = os.fdopen(fd, "wb", buffering=1 << 18)
        header = Header(width, height, self.started.timestamp(), title, env)
        self._recorder = Recorder(self.recording, fh, header)

    # -- recording ----------------------------------------------------------------------------

    def output(self, data: bytes) -> None:
        self.bytes_out += len(data)
        self._record(lambda w: w.output(data), len(data))

    def input(self, data: bytes) -> None:
        self.bytes_in += len(data)
        self._record(lambda w: w.input(data), len(data))

    def resize(self, width: int, height: int) -> None:
        # Called from paramiko's thread or the control socket's: a failed recording is reported
        # to the relay (its next piece raises), never raised into those threads.
        with contextlib.suppress(OSError):
            self._record(lambda w: w.resize(width, height), 0)

    def marker(self, label: str) -> None:
        with contextlib.suppress(OSError):
            self._record(lambda w: w.marker(label), 0)

    def _record(self, action: Callable[[Writer], None], size: int) -> None:
        # The lock keeps the cap check and the queueing in one order across the threads that
        # record (the relay, a kill from the control socket, a resize from paramiko's thread).
        with self._lock:
            if self._recorder is None or self._capped:
                return
            self._recorded += size
            if self._recorded > self.max_recording_bytes:
                self._capped = True
                cap = self.max_recording_bytes
                self._recorder.submit(lambda w: w.marker(f"netguard: recording stopped at {cap} bytes"), 0)
                return
            self._recorder.submit(action, size)

    def close_recording(self) -> str | None:
        """Finish the file; the SHA-256 of the recording as written (None without one)."""
        with self._lock:
            recorder, self._recorder = self._recorder, None
        return recorder.close() if recorder is not None else None

    # -- watching and ending ------------------------------------------------------------------

    def watch(self) -> tuple[str, queue.Queue[str | None]]:
        """The recording so far, and a queue of every later line (None at the end)."""
        with self._lock:
            recorder = self._recorder
        if recorder is None:
            done: queue.Queue[str | None] = queue.Queue(1)
            done.put(None)
            so_far = self.recording.read_text(encoding="utf-8") if self.recording.exists() else ""
            return so_far, done
        return recorder.join()

    def on_kill(self, closer: Callable[[], None]) -> None:
        self._closers.append(closer)

    def kill(self, by: str) -> None:
        self.killed_by = by
        self.marker(f"netguard: session ended by {by}")
        for closer in self._closers:
            # a half-closed channel must not stop the others closing
            with contextlib.suppress(Exception):
                closer()


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
