"""What every log parser shares: its options and its signature.

A parser is a function ``parse(stream, options) -> Iterator[Record]`` over a
binary stream. It keeps only the state the format needs (open connections,
a statement still collecting its continuation lines), so memory stays flat in
the size of the log.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from audit.lines import IDLE, Line, read_lines, visible
from audit.records import BadLine, Record, Statement

DEFAULT_LOG_LINE_PREFIX = "%m [%p] "  # PostgreSQL's default since 10


@dataclass(frozen=True)
class ParseOptions:
    source: str  # the file name recorded with every statement
    tz: dt.tzinfo  # zone for timestamps written without one
    log_line_prefix: str = DEFAULT_LOG_LINE_PREFIX
    dialect: str | None = None  # jsonl: the dialect when records do not name one
    system: str | None = None  # db.system override (mysql or mariadb)
    # Told (byte offset, line number) of each line that arrives, following a log, for a statement already
    # emitted at a pause (audit.lines.PAUSE): its continuation, its PostgreSQL duration, parameters or
    # error. Such a line is not added to anything (the statement was stored as it stood, and events do not
    # change), so the caller counts and reports it rather than it vanishing. PostgreSQL: once per entry.
    on_late: Callable[[int, int], None] | None = field(default=None, compare=False)
    # Set when the input starts where an earlier parse of the file stopped (a follower resuming at its
    # checkpoint): entries in it may then belong to statements that parse stored at an idle flush, and the
    # parser tells on_late of them (continuation lines; PostgreSQL: a lone duration, parameters). The value
    # is the shortest run time, in ms, of a statement stored so (the log stayed quiet at least that long
    # between its start and its end): a shorter duration is not late. See audit.pg_pending.
    resumed: float | None = None


Parser = Callable[[BinaryIO, ParseOptions], Iterator[Record]]

# The hot parsers build a Statement with ``new_tuple(Statement, (every field, in order))``: a
# keyword call of the 20-field NamedTuple's __new__ costs 1.1 µs, this 0.2 µs. The order they rely on
# is checked here, once, so a change to Statement fails at import rather than mislabelling fields.
STATEMENT_FIELDS = (
    "source", "offset", "line", "text", "dialect", "system", "ts", "user", "db", "client", "client_port",
    "connection_id", "application", "params", "duration_ns", "lock_time_ns", "rows_sent", "rows_examined",
    "outcome", "error",
)  # fmt: skip
if Statement._fields != STATEMENT_FIELDS:
    raise ImportError("audit.records.Statement's fields changed: update the parsers that build it positionally")
new_tuple = tuple.__new__


# Elasticsearch's long: a count or duration past it would get the whole event rejected at indexing.
MAX_LONG = 2**63 - 1


def count_number(value: str | bytes | None) -> int | None:
    """A count as logged (ASCII digits that fit a long), or None: ``int()`` refuses "²" (which
    isdigit() accepts) and more than 4300 digits, and takes "١٢" (Arabic-Indic); no server writes them."""
    if value is None or len(value) > 19 or not value.isascii() or not value.isdigit():
        return None
    n = int(value)
    return n if n <= MAX_LONG else None


def port_number(value: str | int | None) -> int | None:
    """A client's TCP port as logged (digits, or a JSON number), or None when no port can be it."""
    port = count_number(value) if isinstance(value, str) else value if type(value) is int else None
    return port if port is not None and 0 <= port <= 65535 else None


def scaled_ns(value: float | str | None, per_unit: int) -> int | None:
    """A duration (a number or its text, in units of ``per_unit`` ns) in ns, or None when it is not a
    finite number or overflows a long ("nan", "inf", garbage, a JSON 1e999 or NaN)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        ns = round(float(value) * per_unit)
    except (ValueError, OverflowError):
        return None
    return ns if -MAX_LONG <= ns <= MAX_LONG else None


def bad(options: ParseOptions, line: Line, reason: str | None = None) -> BadLine:
    """A BadLine for ``line``; an undecodable line gives its own reason."""
    text = line.text
    excerpt = visible(line.raw if text is None else text)
    return BadLine(options.source, line.offset, line.number, reason or line.problem or "unrecognised line", excerpt)


def json_values(stream: BinaryIO, options: ParseOptions) -> Iterator[tuple[Line, Any] | BadLine]:
    """Each non-blank line of a JSON-lines stream decoded (any JSON value); undecodable lines as BadLines.

    A follower's pause (:data:`audit.lines.IDLE`) is passed on as ``(IDLE, None)``."""
    for line in read_lines(stream):
        text = line.text
        if text is None:
            yield (IDLE, None) if line is IDLE else bad(options, line)
            continue
        if not text.strip():
            continue
        try:
            value = json.loads(text)
        except ValueError as exc:
            yield bad(options, line, f"not JSON: {exc}")
            continue
        # json.loads turns a "\ud800" with no partner into a lone surrogate, which no output can
        # encode (parse --json failed on it): a bad line, as undecodable bytes are. Tested only
        # when the line has such an escape, so the usual line costs one scan.
        if ("\\ud" in text or "\\uD" in text) and not _encodable(value):
            yield bad(options, line, "a JSON string holds a lone surrogate (not text)")
            continue
        yield line, value


def _encodable(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return False
    return True
