"""PostgreSQL log entries from the three log formats: stderr, csvlog, jsonlog.

An *entry* is one message the server logged (``LOG:  statement: …``,
``DETAIL:  parameters: …``, ``ERROR:  …``), with the session fields the
format gives. The statement logic (``pg_statements``) and pgaudit work on
entries, so they do not care which format the file is in.

- **stderr**: lines match the compiled ``log_line_prefix`` followed by
  ``SEVERITY:  message``; a line starting with a tab continues the previous
  message (multi-line statements). ``DETAIL`` and ``STATEMENT`` come as their
  own entries.
- **csvlog**: one CSV record per entry, possibly spanning lines (quoted
  newlines); a record is complete when its quote count is even. The first 23
  columns are the same from PG 12 to 17; 13 added ``backend_type``, 14
  ``leader_pid`` and ``query_id``; any count from 23 on is accepted. ``detail``
  and the failing ``query`` are columns of the same entry.
- **jsonlog** (PG 15+): one JSON object per line.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterator
from typing import BinaryIO, NamedTuple

from audit.formats.base import ParseOptions, bad, json_values, new_tuple, port_number
from audit.formats.pg_prefix import compile_prefix
from audit.lines import IDLE, Line, read_lines
from audit.records import BadLine, Statement
from audit.timestamps import from_epoch, with_zone

_CSV_MIN_COLUMNS = 23
_MILLISECONDS = tuple(dt.timedelta(milliseconds=i) for i in range(1000))
# The named groups of pg_prefix.compile_prefix's patterns that stderr_entries reads.
_PREFIX_GROUPS = (
    "m", "t", "tz_m", "tz_t", "n", "client", "host", "port", "pid", "session", "user", "db", "app", "severity",
)  # fmt: skip
_PG_TS = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?)(?: (\S+))?$")


class PgEntry(NamedTuple):
    """A NamedTuple rather than a frozen dataclass: one is built per log entry, and a tuple costs a fifth."""

    offset: int
    line: int
    severity: str
    message: str
    ts: dt.datetime | None = None
    pid: str | None = None
    session: str | None = None
    user: str | None = None
    db: str | None = None
    client: str | None = None
    client_port: int | None = None
    application: str | None = None
    detail: str | None = None  # csv/json: the DETAIL of this entry
    query: str | None = None  # csv/json: the statement that failed (ERROR entries)
    sqlstate: str | None = None

    @property
    def key(self) -> str | None:
        """What ties the entries of one session together: session id, else pid."""
        return self.session or self.pid

    def statement(
        self,
        source: str,
        text: str,
        params: tuple[str, ...] = (),
        duration_ns: int | None = None,
        outcome: str = "unknown",
    ) -> Statement:
        """A statement run by this entry's session, with who ran it, where and when."""
        return new_tuple(
            Statement,
            (
                source, self.offset, self.line, text, "postgres", "postgresql", self.ts, self.user, self.db,
                self.client, self.client_port, self.session or self.pid, self.application, params, duration_ns,
                None, None, None, outcome, None,
            ),
        )  # fmt: skip


# stderr_entries builds PgEntry positionally: a change of its fields must fail here, not mislabel them.
if PgEntry._fields != (
    "offset", "line", "severity", "message", "ts", "pid", "session", "user", "db", "client", "client_port",
    "application", "detail", "query", "sqlstate",
):  # fmt: skip
    raise ImportError("PgEntry's fields changed: update stderr_entries, which builds it positionally")


# What the entry readers yield for a follower's pause (audit.lines.IDLE: the log went quiet), after the
# entry they were assembling: the statement parser then emits what it holds. Compared by identity.
PAUSED = PgEntry(-1, 0, "", "the log went quiet")


def _pg_time(value: str | None, tz: dt.tzinfo) -> dt.datetime | None:
    if not value:
        return None
    m = _PG_TS.match(value)
    if m is None:
        return None
    return with_zone(dt.datetime.fromisoformat(m.group(1)), m.group(2), tz)


def stderr_entries(stream: BinaryIO, options: ParseOptions) -> Iterator[PgEntry | BadLine]:
    pattern = compile_prefix(options.log_line_prefix)
    tz = options.tz
    current: tuple[Line, re.Match[str], list[str]] | None = None
    last_second: tuple[str, str | None, dt.datetime] = ("", None, dt.datetime.min)

    # Each field's place in (*match.groups(), None): the prefix's escapes decide which groups exist,
    # and an absent one reads the None at the end (one tuple instead of groupdict and a dozen lookups).
    index = pattern.groupindex
    absent = pattern.groups
    at = {name: index[name] - 1 if name in index else absent for name in _PREFIX_GROUPS}
    i_m, i_t, i_tz_m, i_tz_t, i_n = at["m"], at["t"], at["tz_m"], at["tz_t"], at["n"]
    i_client, i_host, i_port, i_pid, i_session = at["client"], at["host"], at["port"], at["pid"], at["session"]
    i_user, i_db, i_app, i_severity = at["user"], at["db"], at["app"], at["severity"]

    def build() -> PgEntry:
        nonlocal last_second
        assert current is not None
        line, m, parts = current
        g = (*m.groups(), None)
        raw_time = g[i_m] or g[i_t]
        ts: dt.datetime | None = None
        if raw_time:
            zone = g[i_tz_m] or g[i_tz_t]
            # Many entries share a second: its zone-aware time is parsed once and
            # %m's milliseconds added to it (the same value fromisoformat gives).
            second, millis = raw_time[:19], raw_time[20:]
            if last_second[0] != second or last_second[1] != zone:
                last_second = (second, zone, with_zone(dt.datetime.fromisoformat(second), zone, tz))
            if not millis:
                ts = last_second[2]
            elif len(millis) == 3 and millis.isascii() and millis.isdigit():
                ts = last_second[2] + _MILLISECONDS[int(millis)]
            else:
                ts = with_zone(dt.datetime.fromisoformat(raw_time), zone, tz)
        else:
            epoch = g[i_n]
            if epoch:
                ts = from_epoch(float(epoch))
        client = g[i_client] or g[i_host]
        # Positionally (PgEntry's field order, checked at import): a keyword call costs ~1 µs more.
        return new_tuple(
            PgEntry,
            (
                line.offset, line.number, g[i_severity], "\n".join(parts), ts, g[i_pid], g[i_session],
                g[i_user] or None, g[i_db] or None, None if client in (None, "", "[local]") else client,
                None if g[i_port] is None else port_number(g[i_port]), g[i_app] or None, None, None, None,
            ),
        )  # fmt: skip

    # After a pause, or at the start of a resumed parse (which may start where a pause left off): continuation
    # lines of an entry emitted before are passed over (and told to on_late).
    skipping = options.resumed is not None
    on_late = options.on_late
    for line in read_lines(stream):
        text = line.text
        if text is None:
            if line is IDLE:
                if current is not None:
                    yield build()
                    current = None
                    skipping = True
                yield PAUSED
                continue
            yield bad(options, line)
            continue
        m = pattern.match(text)
        if m is None:
            if current is not None:
                if text.startswith("\t"):
                    current[2].append(text[1:])
                    continue
                yield build()
                current = None
            elif skipping and text.startswith("\t"):
                if on_late is not None:  # a line of an entry emitted at the pause: not added to it
                    on_late(line.offset, line.number)
                continue
            skipping = False
            if text:
                yield bad(options, line, "does not match the log_line_prefix (wrong --log-line-prefix or format?)")
            continue
        if current is not None:
            yield build()
        current = (line, m, [m.group("message")])
    if current is not None:
        yield build()


def _records(stream: BinaryIO, options: ParseOptions) -> Iterator[tuple[Line, str] | BadLine | Line]:
    """Whole CSV records (quoted newlines joined back) with the line they start on; a follower's pause (IDLE)
    between records (one that comes while a record's quote is still open is not passed on: the record waits
    for its lines, and the statements held wait for the next pause)."""
    first: Line | None = None
    parts: list[str] = []
    quotes = 0
    for line in read_lines(stream):
        text = line.text
        if text is None:
            if line is IDLE:
                # Not inside a record: a follower's checkpoint may be put where the pause came (audit.pg_pending),
                # and a record is written whole (a quote still open means its lines are on their way).
                if first is None:
                    yield line
                continue
            if first is not None:  # the record is torn: report it, resynchronise
                yield bad(options, first, "CSV record interrupted by undecodable data")
                first, parts, quotes = None, [], 0
            yield bad(options, line)
            continue
        if first is None:
            first = line
        parts.append(text)
        quotes += text.count('"')
        if quotes % 2 == 0:
            yield first, "\n".join(parts)
            first, parts, quotes = None, [], 0
    if first is not None:
        yield bad(options, first, "CSV record not terminated (file cut off?)")


def csv_entries(stream: BinaryIO, options: ParseOptions) -> Iterator[PgEntry | BadLine]:
    tz = options.tz
    for item in _records(stream, options):
        if isinstance(item, BadLine):
            yield item
            continue
        if isinstance(item, Line):
            yield PAUSED
            continue
        line, text = item
        try:
            row = next(csv.reader([text]))
        except (csv.Error, StopIteration) as exc:
            yield bad(options, line, f"not a CSV record: {exc}")
            continue
        if len(row) < _CSV_MIN_COLUMNS:
            yield bad(options, line, f"csvlog record with {len(row)} columns (PostgreSQL writes 23 to 26)")
            continue
        ts = _pg_time(row[0], tz)
        if ts is None:
            yield bad(options, line, "csvlog record without a log_time")
            continue
        client, _, port = row[4].rpartition(":") if ":" in row[4] and not row[4].startswith("[") else (row[4], "", "")
        yield PgEntry(
            offset=line.offset,
            line=line.number,
            severity=row[11],
            message=row[13],
            ts=ts,
            pid=row[3] or None,
            session=row[5] or None,
            user=row[1] or None,
            db=row[2] or None,
            client=client or None if client != "[local]" else None,
            client_port=port_number(port),
            application=row[22] or None,
            detail=row[14] or None,
            query=row[19] or None,
            sqlstate=row[12] or None,
        )


def json_entries(stream: BinaryIO, options: ParseOptions) -> Iterator[PgEntry | BadLine]:
    tz = options.tz
    for value in json_values(stream, options):
        if isinstance(value, BadLine):
            yield value
            continue
        line, obj = value
        if not isinstance(obj, dict) or "message" not in obj or "error_severity" not in obj:
            if line is IDLE:
                yield PAUSED
                continue
            yield bad(options, line, "not a jsonlog entry (no message or error_severity)")
            continue
        host = obj.get("remote_host")
        port = obj.get("remote_port")
        yield PgEntry(
            offset=line.offset,
            line=line.number,
            severity=str(obj["error_severity"]),
            message=str(obj["message"]),
            ts=_pg_time(str(obj.get("timestamp") or ""), tz),
            pid=str(obj["pid"]) if obj.get("pid") is not None else None,
            session=obj.get("session_id") or None,
            user=obj.get("user") or None,
            db=obj.get("dbname") or None,
            client=host if host and host != "[local]" else None,
            client_port=port_number(port),
            application=obj.get("application_name") or None,
            detail=obj.get("detail") or None,
            query=obj.get("statement") or None,
            sqlstate=obj.get("state_code") or None,
        )
