"""Statements from PostgreSQL log entries (``log_statement`` and ``log_min_duration_statement``).

What the server writes, per session, and what becomes of it:

- ``statement: SQL`` (simple protocol) → a statement;
- ``execute NAME: SQL`` (extended protocol: drivers, prepared statements) → a
  statement; the ``DETAIL:  parameters: $1 = '…', $2 = NULL`` that follows (a
  separate entry in stderr, a column in csv/json) is bound to it;
- ``duration: N ms  statement: SQL`` / ``duration: N ms  execute NAME: SQL``
  (duration logging without ``log_statement``) → a statement with its duration;
- ``duration: N ms`` alone → the duration of the session's pending statement,
  which is then complete;
- ``duration: N ms  parse|bind NAME: …`` → protocol steps, not executions: skipped
  (their ``DETAIL`` is not bound to anything);
- ``ERROR:`` followed by ``STATEMENT:  SQL`` (a column in csv/json) → marks the
  session's pending statement failed when it is the same text; otherwise (a
  syntax error: the server logs no ``statement:`` for text it cannot parse) it
  becomes a failed statement of its own, so it is not lost;
- pgaudit's ``AUDIT:`` lines and everything else → skipped here.

A statement is held per session until its duration, its error or the
session's next statement arrives, then emitted; the rest at end of input, or
when a follower's log goes quiet (``PAUSED`` from the entry reader): then as
they stand, and what arrives for them later (a duration, parameters, an error)
is not added to them: each such entry is told to ``options.on_late`` (the
follower counts them; a stderr error is two entries, ``ERROR`` and ``STATEMENT``).
Nothing says a session ended unless ``log_disconnections`` is on (it is off by
default), and a failed login leaves a ``FATAL`` no ``STATEMENT`` follows: a
follower on a busy server, whose input never ends, would hold one of each per
session it ever saw, and checkpoint before the oldest. So at most
``max_sessions`` are held: past that the longest-held statement is emitted as
it is (a session that waited that long for its duration has most likely
ended), and the oldest remembered error or protocol step is forgotten.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TypeVar

from audit.formats.base import ParseOptions
from audit.formats.pg_entries import PAUSED, PgEntry
from audit.records import BadLine, Record, Statement

_DURATION = re.compile(r"duration: (?P<ms>\d+(?:\.\d+)?) ms(?:  (?P<rest>.*))?\Z", re.S)
# _DURATION with a rest that starts "statement: " (the same digits: \d is any Unicode digit in both).
_DURATION_STATEMENT = re.compile(r"duration: (\d+(?:\.\d+)?) ms  statement: (.*)\Z", re.S)
_EXECUTE = re.compile(r"execute (?P<name>\S+?)(?: \(portal \S+\))?: (?P<sql>.*)\Z", re.S)
_PARAM = re.compile(r"\$(\d+) = (NULL|'(?:[^']|'')*')")
_K = TypeVar("_K")
_V = TypeVar("_V")
MAX_SESSIONS = 10_000  # sessions with something held (see the module docstring)


def parameters(detail: str) -> tuple[str, ...]:
    """``parameters: $1 = '1', $2 = NULL`` → ("'1'", "NULL"), in $n order (as SQL literals)."""
    found = {int(n): v for n, v in _PARAM.findall(detail)}
    return tuple(found.get(i, "NULL") for i in range(1, max(found, default=0) + 1))


def _renew(held: dict[_K, _V], key: _K, value: _V, max_sessions: int) -> None:
    """``held[key] = value`` as its newest entry (insertion order is age), the oldest forgotten at ``max_sessions``."""
    held.pop(key, None)
    if len(held) >= max_sessions:
        del held[next(iter(held))]
    held[key] = value


def statements(
    entries: Iterator[PgEntry | BadLine], options: ParseOptions, max_sessions: int = MAX_SESSIONS
) -> Iterator[Record]:
    # Per session; insertion order is age (a session's entry is taken out and put back when it changes).
    pending: dict[str | None, Statement] = {}
    last_error: dict[str | None, PgEntry] = {}
    last_was_execute: dict[str | None, bool] = {}
    # A follower's pause (PAUSED) emits what is held; each session's flushed text is remembered until its
    # next statement, so an error logged for it afterwards is not made a second, failed statement.
    flushed: dict[str | None, str] = {}
    # Told of each entry that arrives for a statement emitted at a pause (the follower counts them).
    on_late = options.on_late
    # A resumed parse (options.resumed): the sessions that started a statement in it. A lone duration of
    # any other session is for a statement that started before the input did: one stored by an earlier
    # parse without it, if it ran long enough to have been stored at an idle flush (audit.pg_pending).
    started: dict[str | None, None] | None = {} if options.resumed is not None and on_late is not None else None
    late_ms = options.resumed or 0.0

    def new(e: PgEntry, text: str, duration_ms: str | None) -> Statement:
        params = parameters(e.detail) if e.detail and e.detail.startswith("parameters: ") else ()
        if duration_ms:
            return e.statement(options.source, text, params, round(float(duration_ms) * 1_000_000), "success")
        return e.statement(options.source, text, params)

    def failed(e: PgEntry, key: str | None, text: str, error: PgEntry) -> Iterator[Statement]:
        reason = f"{error.sqlstate}: {error.message}" if error.sqlstate else error.message
        held = pending.pop(key, None)
        if held is not None and held.text == text:
            yield held._replace(outcome="failure", error=reason)
            return
        if held is None and flushed.get(key) == text:
            del flushed[key]  # emitted at a pause, as it stood: its error is not added (nor stored apart)
            if on_late is not None:
                on_late(error.offset, error.line)
                if e is not error:  # stderr: the STATEMENT entry after the ERROR one
                    on_late(e.offset, e.line)
            return
        if held is not None:
            yield held
        yield new(error, text, None)._replace(outcome="failure", error=reason)

    for e in entries:
        if isinstance(e, BadLine):
            yield e
            continue
        key = e.key
        sev = e.severity
        if sev == "LOG":
            msg = e.message
            ds = _DURATION_STATEMENT.match(msg)
            if ds is not None:
                # log_min_duration_statement's usual entry, complete as it is: what the general way
                # below does with it, with one match.
                duration_ms, sql = ds.groups()
                _renew(last_was_execute, key, False, max_sessions)
                held = pending.pop(key, None)
                if held is not None:
                    yield held
                if flushed:
                    flushed.pop(key, None)
                if started is not None:
                    _renew(started, key, None, max_sessions)
                # new(e, sql, duration_ms), inline (one call less on the hottest path: the _renew above is one more)
                detail = e.detail
                params = parameters(detail) if detail and detail.startswith("parameters: ") else ()
                yield e.statement(options.source, sql, params, round(float(duration_ms) * 1_000_000), "success")
                continue
            text: str | None = None
            duration: str | None = None
            is_execute = False
            d = _DURATION.match(msg)
            if d is not None:
                duration = d.group("ms")
                rest = d.group("rest")
                if rest is None:
                    held = pending.pop(key, None)
                    if held is not None:
                        yield held._replace(duration_ns=round(float(duration) * 1_000_000), outcome="success")
                    elif on_late is not None and key in flushed:
                        on_late(e.offset, e.line)  # the duration of a statement emitted at a pause
                    elif (
                        started is not None
                        and on_late is not None
                        and key not in started
                        and float(duration) >= late_ms
                    ):
                        on_late(e.offset, e.line)  # the duration of a statement stored before the input started
                        _renew(started, key, None, max_sessions)  # (once: a later one is no statement's)
                    continue
                msg = rest
            if msg.startswith("statement: "):
                text = msg[11:]
            else:
                x = _EXECUTE.match(msg)
                if x is not None:
                    text, is_execute = x.group("sql"), True
            _renew(last_was_execute, key, is_execute, max_sessions)
            if text is None:
                if msg.startswith("disconnection: "):
                    held = pending.pop(key, None)
                    if held is not None:
                        yield held
                    flushed.pop(key, None)
                    last_error.pop(key, None)
                    last_was_execute.pop(key, None)
                continue
            held = pending.pop(key, None)
            if held is not None:
                yield held
            if flushed:
                flushed.pop(key, None)
            if started is not None:
                _renew(started, key, None, max_sessions)
            stmt = new(e, text, duration)
            if duration is not None and not is_execute:
                yield stmt
            else:
                if len(pending) >= max_sessions:
                    yield pending.pop(next(iter(pending)))
                pending[key] = stmt
                if duration is not None and e.detail is not None:
                    yield pending.pop(key)
        elif sev == "DETAIL":
            if last_was_execute.get(key) and e.message.startswith("parameters: "):
                if key in pending:
                    pending[key] = pending[key]._replace(params=parameters(e.message))
                    if pending[key].duration_ns is not None:
                        yield pending.pop(key)
                elif on_late is not None and key in flushed:
                    on_late(e.offset, e.line)  # the parameters of a statement emitted at a pause
            elif (
                started is not None
                and on_late is not None
                and key not in last_was_execute
                and e.message.startswith("parameters: ")
            ):
                # No entry of the session yet: the parameters of the last entry before the input started (which
                # the server writes with them, so only a pause came between): a statement stored without them.
                on_late(e.offset, e.line)
            last_was_execute[key] = False
        elif sev in ("ERROR", "FATAL", "PANIC"):
            if e.query is not None:  # csv/json: the statement is on the error entry itself
                yield from failed(e, key, e.query, e)
            else:
                _renew(last_error, key, e, max_sessions)
        elif sev == "STATEMENT":
            error = last_error.pop(key, None)
            if error is not None:
                yield from failed(e, key, e.message, error)
        elif e is PAUSED:
            # The log went quiet: what is held is complete for now. Later lines for it (its duration,
            # parameters or error) find nothing held and are not added; sessions and errors are kept.
            for k, held in pending.items():
                flushed.pop(k, None)
                flushed[k] = held.text
            while len(flushed) > max_sessions:
                del flushed[next(iter(flushed))]
            yield from pending.values()
            pending.clear()
    yield from pending.values()
