"""The log formats NetGuard reads, by the name ``--format`` takes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from audit.formats.base import ParseOptions, Parser
from audit.formats.jsonl import parse_jsonl
from audit.formats.mariadb_audit import parse_server_audit
from audit.formats.mysql_general import parse_general
from audit.formats.mysql_slow import parse_slow
from audit.formats.pg_entries import csv_entries, json_entries, stderr_entries
from audit.formats.pg_statements import statements
from audit.formats.pgaudit import parse_pgaudit
from audit.records import Record

# The entry reader of each PostgreSQL format, which the statement parser runs over (a follower
# watches the entries in between: audit.pg_pending).
PG_ENTRIES = {"postgres": stderr_entries, "postgres-csv": csv_entries, "postgres-json": json_entries}


def parse_postgres(stream: BinaryIO, options: ParseOptions) -> Iterator[Record]:
    return statements(stderr_entries(stream, options), options)


def parse_postgres_csv(stream: BinaryIO, options: ParseOptions) -> Iterator[Record]:
    return statements(csv_entries(stream, options), options)


def parse_postgres_json(stream: BinaryIO, options: ParseOptions) -> Iterator[Record]:
    return statements(json_entries(stream, options), options)


FORMATS: dict[str, Parser] = {
    "mysql-general": parse_general,
    "mysql-slow": parse_slow,
    "mariadb-audit": parse_server_audit,
    "postgres": parse_postgres,
    "postgres-csv": parse_postgres_csv,
    "postgres-json": parse_postgres_json,
    "pgaudit": parse_pgaudit,
    "jsonl": parse_jsonl,
}

__all__ = ["FORMATS", "PG_ENTRIES", "ParseOptions", "Parser"]
