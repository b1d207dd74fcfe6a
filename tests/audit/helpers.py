"""Parsing bytes with a named format, for tests that build their own logs."""

from __future__ import annotations

import io
from zoneinfo import ZoneInfo

from audit.formats import FORMATS, ParseOptions
from audit.records import BadLine, Statement

SHANGHAI = ZoneInfo("Asia/Shanghai")


def parse_bytes(
    fmt: str, data: bytes, prefix: str = "%m [%p] ", dialect: str | None = None
) -> tuple[list[Statement], list[BadLine]]:
    options = ParseOptions(source="test.log", tz=SHANGHAI, log_line_prefix=prefix, dialect=dialect)
    stmts: list[Statement] = []
    bad: list[BadLine] = []
    for record in FORMATS[fmt](io.BytesIO(data), options):
        if isinstance(record, BadLine):
            bad.append(record)
        else:
            stmts.append(record)
    return stmts, bad
