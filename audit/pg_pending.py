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
"""

from __future__ import annotations

from collections.abc import Iterator

from audit.formats.pg_entries import PgEntry
from audit.records import BadLine


def starts_statement(message: str) -> bool:
    """Whether a LOG message is one the statement parser turns into a statement it may hold."""
    if message.startswith("duration: "):
        message = message.partition("  ")[2]
    return message.startswith(("statement: ", "execute "))


class PendingStatements:
    """The open statements of the entries passed through :meth:`entries` (see the module docstring)."""

    def __init__(self) -> None:
        self._open: dict[str | None, int] = {}  # session -> offset of its open statement
        self._session: dict[int, str | None] = {}  # open offset -> session
        self._last_start: int | None = None

    def entries(self, source: Iterator[PgEntry | BadLine]) -> Iterator[PgEntry | BadLine]:
        for e in source:
            if not isinstance(e, BadLine) and e.severity == "LOG" and starts_statement(e.message):
                key = e.key
                previous = self._open.get(key)
                if previous is not None:
                    self._session.pop(previous, None)
                self._open[key] = e.offset
                self._session[e.offset] = key
                self._last_start = e.offset
            yield e

    def emitted(self, offset: int) -> None:
        """The parser emitted the statement that starts at ``offset``."""
        if offset in self._session:
            key = self._session.pop(offset)
            if self._open.get(key) == offset:
                del self._open[key]

    def mark(self) -> int | None:
        """The offset a checkpoint may point at now (relative to the entries' stream), None before any start."""
        if self._open:
            return min(self._open.values())
        return self._last_start
