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
from audit.records import BadLine, Record

DEFAULT_LOG_LINE_PREFIX = "%m [%p] "  # PostgreSQL's default since 10


@dataclass(frozen=True)
class ParseOptions:
    source: str  # the file name recorded with every statement
    tz: dt.tzinfo  # zone for timestamps written without one
    log_line_prefix: str = DEFAULT_LOG_LINE_PREFIX
    dialect: str | None = None  # jsonl: the dialect when records do not name one
    system: str | None = None  # db.system override (mysql or mariadb)


Parser = Callable[[BinaryIO, ParseOptions], Iterator[Record]]


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
