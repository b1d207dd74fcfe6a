"""Where a PostgreSQL follower may put its checkpoint while still reading: before every held statement.

PostgreSQL's statement parser (:func:`audit.formats.pg_statements.statements`)
holds one statement per session until the entry that completes it arrives:
its ``DETAIL:  parameters:`` line, its ``duration:`` line, its error, the
session's next statement or its disconnection. Statements therefore leave
the parser out of file order, and the offset of the last one emitted says
nothing about the ones still held: a checkpoint there would skip them after
a restart (lost), or cut their parameters and duration off.

:class:`PendingStatements` sits between the entry reader and the statement
parser and watches the same entries: each ``LOG`` entry that starts a
statement (``statement:``, ``execute …:``, with or without a ``duration:``
before it) is noted as its session's open statement, replacing the
session's previous one (which the parser emits on that entry); a statement
the parser emits at an open offset closes it. :meth:`mark` is then the
offset of the earliest open statement, or, with none open, of the last
statement start seen (everything before it has been emitted; reading it
again gives an event with the same id, stored once). A checkpoint at the
mark never passes a statement the parser still holds.

It tracks more than the parser holds, never less: a start the parser emits
at once (``duration: … statement:``) is open until the follower reports it
emitted, which it does as it receives it. Memory is one entry per live session.

After a restart at a mark, a lone ``duration:`` of a session whose statement
started before the mark is taken as late: for a statement stored without
it (``ParseOptions.resumed``), when it is at least as long as the log must
stay quiet for an idle flush (a statement stored at one ran that long). A
mark may lie inside a statement that ran that long and whose duration had
been read before the restart (a mark is the earliest statement still held,
and that one may have started inside another, longer one): its duration is
then counted late although it was stored with the statement. Keeping marks
out of every such statement would hold them back for as long as long
statements overlap, on a busy server indefinitely, so each restart may
count these few too many rather than read the log again from far back.

A pause (the log went quiet: the parser emits all it holds) is a point with
nothing held: given ``resume_at`` (the follower's position in the stream at
the pause), the mark moves there, past every statement the pause stored, so
that after a restart they are not read again (their id is stored: a second
reading, now with its duration, would be dropped as a duplicate without a
word) and what arrives for them is late as it would have been without the
restart.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator

from audit.formats.pg_entries import PAUSED, PgEntry
from audit.records import BadLine

_FEW = 8  # open statements up to which the earliest is found by a scan (cheaper than keeping a heap)


def starts_statement(message: str) -> bool:
    """Whether a LOG message is one the statement parser turns into a statement it may hold."""
    if message.startswith("duration: "):
        message = message.partition("  ")[2]
    return message.startswith(("statement: ", "execute "))


class PendingStatements:
    """The open statements of the entries passed through :meth:`entries` (see the module docstring)."""

    def __init__(self, resume_at: Callable[[], int] | None = None) -> None:
        self._open: dict[str | None, int] = {}  # session -> offset of its open statement
        self._session: dict[int, str | None] = {}  # open offset -> session
        # When more than a few are open, the open offsets as a heap too, closed ones left in it until they reach
        # the top: the earliest open one in O(log n) per statement, where min() over every session's was O(n).
        self._heap: list[int] = []
        self._last_start: int | None = None
        self._resume_at = resume_at
        self._resumed: int | None = None  # where the stream stood at the last pause

    def entries(self, source: Iterator[PgEntry | BadLine]) -> Iterator[PgEntry | BadLine]:
        for e in source:
            if isinstance(e, BadLine):
                pass
            elif e.severity == "LOG" and starts_statement(e.message):
                key = e.key
                previous = self._open.get(key)
                if previous is not None:
                    self._session.pop(previous, None)
                self._open[key] = e.offset
                self._session[e.offset] = key
                if len(self._session) > _FEW:
                    if self._heap and len(self._heap) <= 2 * len(self._session) + 64:
                        heapq.heappush(self._heap, e.offset)
                    else:  # (built when the open ones become many; rebuilt when mostly closed ones)
                        self._heap = list(self._session)
                        heapq.heapify(self._heap)
                elif self._heap:
                    self._heap = []  # (it holds every open offset or is empty: this one was not pushed)
                self._last_start = e.offset
            elif e is PAUSED and self._resume_at is not None:
                # The parser now emits all it holds: nothing is open, and everything before here is emitted.
                self._open.clear()
                self._session.clear()
                self._heap.clear()
                self._resumed = self._resume_at()
            yield e

    def emitted(self, offset: int) -> None:
        """The parser emitted the statement that starts at ``offset``."""
        if offset in self._session:
            key = self._session.pop(offset)
            if self._open.get(key) == offset:
                del self._open[key]

    def mark(self) -> int | None:
        """The offset a checkpoint may point at now (relative to the entries' stream), None before any start."""
        if len(self._session) <= _FEW:
            if self._heap:
                self._heap = []  # (out of date from here on: built again when they are many)
            if self._session:
                return min(self._session)
        else:
            heap = self._heap
            while heap[0] not in self._session:
                heapq.heappop(heap)
            return heap[0]
        if self._resumed is not None and (self._last_start is None or self._resumed > self._last_start):
            return self._resumed
        return self._last_start
