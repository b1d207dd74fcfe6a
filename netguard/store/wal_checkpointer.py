"""Copying a WAL-mode SQLite file's log into the file (a checkpoint) from a thread of its own.

A WAL database takes each committed page into its ``-wal`` file; a checkpoint copies the
pages back into the database file so the log can start again. SQLite does it by default in
the committing connection, at the commit that takes the log past ``wal_autocheckpoint``
pages: the writer stops while pages are read back, written again and synced. SQLite's
documentation suggests running checkpoints from another thread instead ("Automatic
Checkpoint", https://sqlite.org/wal.html); :class:`WalCheckpointer` does that: a thread with
its own connection runs a ``PASSIVE`` checkpoint (one that never waits for or blocks the
writer or the readers) after commits, at most once per ``interval`` seconds. Python's
sqlite3 releases the GIL while SQLite works, so the copying runs on another core while the
process goes on making its next batch (parsing a log, building events). It does not make the
copying cheaper: the work moves off the writer's thread (the event store's writer: 21.3 ->
19.5 us an event on the wall clock, 300,000 bench events in 50,000-event writes, the thread
spending about 1 us an event beside it), so a machine with one core gains nothing.

The writer's own automatic checkpoint stays, moved to :data:`BACKSTOP_BYTES` of log. A writer that
never pauses (small commits back to back) appends while the thread copies, so the thread's
checkpoint never reaches the end of the log and the log never starts again; the writer's
checkpoint at the backstop copies the little that is left and lets it start again, which bounds
the log (135 MB at most with 500-event commits and a 128 MiB backstop, against 72 MB with the
writer doing it all).
If the thread fails (a file removed under it, a disk error), the next :meth:`committed` puts the
writer back on its usual checkpoint and the failure is kept in :attr:`failed`; the thread never
raises into the writer.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

# The log size at which the writer checkpoints itself while the thread runs: above what a 50,000-event write
# of the event store logs (about 95 MB), so a bulk load leaves the copying to the thread; low enough to bound it.
BACKSTOP_BYTES = 192 << 20


def backstop_pages(page_size: int) -> int:
    """The writer's ``wal_autocheckpoint`` while the thread runs, for pages of ``page_size`` bytes."""
    return max(1, BACKSTOP_BYTES // page_size)


class WalCheckpointer:
    """Checkpoints the WAL of the database at ``path`` from a thread, for one writer connection.

    The writer calls :meth:`committed` after each commit (the thread starts on the first) and
    :meth:`close` before it closes its own connection, so the writer's is the last connection
    and SQLite checkpoints and removes the log at close as it always does. ``own_pages`` is
    the writer's ``wal_autocheckpoint`` without the thread (restored if the thread fails). The
    writer's connection is passed to each call, not kept: the thread holds no reference to it.
    """

    def __init__(self, path: Path, *, own_pages: int, interval: float = 1.0) -> None:
        self.path = path
        self.interval = interval
        self.failed: str | None = None
        self.checkpoints = 0  # run by the thread
        self.cpu_seconds = 0.0  # the thread's CPU time in them
        self._own_pages = own_pages
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._fell_back = False

    def committed(self, writer: sqlite3.Connection) -> None:
        """A commit of ``writer`` went into the log: a checkpoint is due (now, or ``interval`` after the last).

        Call it from the writer's thread while it holds its connection: it may set a pragma on it.
        """
        if self._fell_back:
            return
        if self._thread is None:
            page = int(writer.execute("PRAGMA page_size").fetchone()[0])
            writer.execute(f"PRAGMA wal_autocheckpoint={backstop_pages(page)}")
            self._thread = threading.Thread(target=self._run, name=f"wal-checkpoint {self.path.name}", daemon=True)
            self._thread.start()
        elif not self._thread.is_alive():  # it failed: the writer checkpoints itself again
            writer.execute(f"PRAGMA wal_autocheckpoint={self._own_pages}")
            self._fell_back = True
            self.failed = self.failed or "the checkpoint thread stopped"
            return
        self._wake.set()

    def _run(self) -> None:
        try:
            conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            self.failed = f"cannot open {self.path} to checkpoint it: {exc}"
            return
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._stop.is_set():
                    break
                started = time.thread_time()
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                self.cpu_seconds += time.thread_time() - started
                self.checkpoints += 1
                self._stop.wait(self.interval)  # the commits made meanwhile wait for the next, together
        except sqlite3.Error as exc:
            self.failed = f"cannot checkpoint {self.path}: {exc}"
        finally:
            conn.close()

    def close(self) -> None:
        """Stop the thread (after the checkpoint it may be running) and close its connection."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop.set()
        self._wake.set()
        thread.join()
