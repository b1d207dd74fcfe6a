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
from dataclasses import dataclass
from typing import Any, BinaryIO

from audit.lines import Line, read_lines, visible
from audit.records import BadLine, Record, Statement

DEFAULT_LOG_LINE_PREFIX = "%m [%p] "  # PostgreSQL's default since 10


@dataclass(frozen=True)
class ParseOptions:
    source: str  # the file name recorded with every statement
    tz: dt.tzinfo  # zone for timestamps written without one
    log_line_prefix: str = DEFAULT_LOG_LINE_PREFIX
    dialect: str | None = None  # jsonl: the dialect when records do not name one
    system: str | None = None  # db.system override (mysql or mariadb)


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


def bad(options: ParseOptions, line: Line, reason: str | None = None) -> BadLine:
    """A BadLine for ``line``; an undecodable line gives its own reason."""
    text = line.text
    excerpt = visible(line.raw if text is None else text)
    return BadLine(options.source, line.offset, line.number, reason or line.problem or "unrecognised line", excerpt)


def json_values(stream: BinaryIO, options: ParseOptions) -> Iterator[tuple[Line, Any] | BadLine]:
    """Each non-blank line of a JSON-lines stream decoded (any JSON value); undecodable lines as BadLines."""
    for line in read_lines(stream):
        text = line.text
        if text is None:
            yield bad(options, line)
            continue
        if not text.strip():
            continue
        try:
            yield line, json.loads(text)
        except ValueError as exc:
            yield bad(options, line, f"not JSON: {exc}")
