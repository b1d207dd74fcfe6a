"""How many rows an FTS5 table counts as held, read from its own records.

A contentless table made with ``columnsize=0`` (every new event store's) cannot be scanned
(``SELECT count(*) FROM events_cjk`` is refused), and told to forget a row it never held it
still counts it off: its averages record (``%_data`` id 1, whose first varint is the row
count) shows both.
"""

from __future__ import annotations

import sqlite3


def fts_rows(conn: sqlite3.Connection, table: str) -> int:
    block: bytes = conn.execute(f"SELECT block FROM {table}_data WHERE id = 1").fetchone()[0]
    value = 0
    for i, byte in enumerate(block[:9]):
        if i == 8:  # SQLite's varint: the ninth byte carries all 8 bits
            return (value << 8) | byte
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            break
    return value
