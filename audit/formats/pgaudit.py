"""pgaudit's ``AUDIT:`` lines in the PostgreSQL stderr log.

pgaudit writes, through the server's logger (so with the ``log_line_prefix``)::

    LOG:  AUDIT: SESSION,3,1,READ,SELECT,,,"SELECT * FROM 患者 WHERE id = $1",1

The message after ``AUDIT: `` is CSV: audit type (SESSION or OBJECT), statement
id, substatement id, class, command, object type, object name, statement,
parameter. One statement touching several objects is logged once per object
with the same ids, and SESSION and OBJECT auditing can both log it: the first
line of each (session, statement id, substatement id) is the statement, the
repeats are skipped. ``<previously logged>`` (``pgaudit.log_statement_once``)
takes the text from that first line. Parameters (``pgaudit.log_parameter``) are
a CSV list, ``<none>`` or ``<not logged>``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import BinaryIO

from audit.formats.base import ParseOptions
from audit.formats.pg_entries import stderr_entries
from audit.lines import visible
from audit.records import BadLine, Record

_NO_PARAMS = frozenset({"<none>", "<not logged>", ""})


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def parse_pgaudit(stream: BinaryIO, options: ParseOptions) -> Iterator[Record]:
    # Per session: the (statement id, substatement id) last emitted and its text.
    last: dict[str | None, tuple[str, str, str]] = {}
    for e in stderr_entries(stream, options):
        if isinstance(e, BadLine):
            yield e
            continue
        if e.severity != "LOG" or not e.message.startswith("AUDIT: "):
            continue
        try:
            fields = next(csv.reader(io.StringIO(e.message[7:], newline="")))
        except (csv.Error, StopIteration):
            fields = []
        if len(fields) < 8:
            yield BadLine(options.source, e.offset, e.line, "pgaudit line with fewer than 8 fields", visible(e.message))
            continue
        stmt_id, sub_id, text = fields[1], fields[2], fields[7]
        key = e.key
        previous = last.get(key)
        if previous is not None and previous[0] == stmt_id and previous[1] == sub_id:
            continue
        if text == "<previously logged>" and previous is not None:
            text = previous[2]
        last[key] = (stmt_id, sub_id, text)
        raw_params = fields[8] if len(fields) > 8 else ""
        params: tuple[str, ...] = ()
        if raw_params not in _NO_PARAMS:
            params = tuple(_quote(p) for p in next(csv.reader(io.StringIO(raw_params, newline=""))))
        yield e.statement(options.source, text, params)
