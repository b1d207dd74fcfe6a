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

A resumed parse must be able to tell a *late* entry from one already used.
After a restart at the mark, an entry (a lone ``duration:``) of a session
whose statement started before the mark is taken as arriving for a statement
stored without it: late (``ParseOptions.resumed``). That holds only if no
mark splits a statement from an entry the parser added to it. So each
statement emitted with entries of its session after its start (its
parameters, duration, error) leaves a *span*, from its start to the last of
them, and a mark that would fall inside a span (after its start, at or
before its end) is moved back to the span's start: the statement is read
again whole (same id, stored once). Spans are kept merged and sorted; those
wholly before the last mark are dropped, and past ``MAX_SPANS`` the two
earliest are merged (a wider span only moves marks back: more read again,
never a line taken as late wrongly).

A pause (the log went quiet: the parser emits all it holds) is a point with
nothing held: given ``resume_at`` (the follower's position in the stream at
the pause), the mark moves there, past every statement the pause stored, so
that after a restart they are not read again (their id is stored: a second
reading, now with its duration, would be dropped as a duplicate without a
word) and what arrives for them is late as it would have been without the
restart.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator

from audit.formats.pg_entries import PAUSED, PgEntry
from audit.records import BadLine

MAX_SPANS = 10_000  # merged spans kept (see the module docstring): the two earliest merged past it


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
        self._latest: dict[str | None, int] = {}  # session -> its latest entry after its open statement's start
        self._last_start: int | None = None
        self._resume_at = resume_at
        self._resumed: int | None = None  # where the stream stood at the last pause
        # Spans (start, end), merged, sorted by start: a mark must not fall in (start, end].
        self._starts: list[int] = []
        self._ends: list[int] = []

    def entries(self, source: Iterator[PgEntry | BadLine]) -> Iterator[PgEntry | BadLine]:
        latest = self._latest
        for e in source:
            if isinstance(e, BadLine):
                pass
            elif e.severity == "LOG" and starts_statement(e.message):
                key = e.key
                previous = self._open.get(key)
                if previous is not None:
                    # The parser emits the previous statement here, with what its session logged up to now.
                    self._session.pop(previous, None)
                    self._span(previous, latest.pop(key, previous))
                self._open[key] = e.offset
                self._session[e.offset] = key
                self._last_start = e.offset
            elif e is PAUSED:
                if self._resume_at is not None:
                    # The parser now emits all it holds: nothing is open, and nothing before here is held.
                    self._open.clear()
                    self._session.clear()
                    latest.clear()
                    self._resumed = self._resume_at()
            elif e.key in self._open:
                latest[e.key] = e.offset
            yield e

    def emitted(self, offset: int) -> None:
        """The parser emitted the statement that starts at ``offset``."""
        if offset in self._session:
            key = self._session.pop(offset)
            if self._open.get(key) == offset:
                del self._open[key]
                self._span(offset, self._latest.pop(key, offset))

    def mark(self) -> int | None:
        """The offset a checkpoint may point at now (relative to the entries' stream), None before any start."""
        at: int | None
        if self._open:
            at = min(self._open.values())
        elif self._resumed is not None and (self._last_start is None or self._resumed > self._last_start):
            at = self._resumed
        else:
            at = self._last_start
        return None if at is None else self.lowered(at, forget=True)

    def lowered(self, at: int, forget: bool = False) -> int:
        """``at``, or the start of the span it falls in (a mark there would split a statement from its entries)."""
        starts, ends = self._starts, self._ends
        i = bisect.bisect_left(starts, at) - 1  # the last span starting before `at`
        if i >= 0 and ends[i] >= at:
            at = starts[i]
            i -= 1
        if forget and i >= 0:  # spans ending before the mark: no later mark falls in them
            del starts[: i + 1], ends[: i + 1]
        return at

    def _span(self, start: int, end: int) -> None:
        if end <= start:
            return
        starts, ends = self._starts, self._ends
        i = bisect.bisect_left(starts, start)
        # Merge with the spans it touches: the one before it if that reaches its start, those after it it reaches.
        if i > 0 and ends[i - 1] >= start:
            i -= 1
            start = starts[i]
            end = max(end, ends[i])
        j = i
        while j < len(starts) and starts[j] <= end:
            end = max(end, ends[j])
            j += 1
        starts[i:j] = [start]
        ends[i:j] = [end]
        if len(starts) > MAX_SPANS:
            starts[0:2] = [starts[0]]
            ends[0:2] = [max(ends[0], ends[1])]
