"""The MySQL / MariaDB slow query log (with ``long_query_time=0``, every statement).

An entry is a block of ``# `` header lines, then ``use db;`` (when the schema
changed) and ``SET timestamp=<epoch>;``, then the statement, which ends with a
``;`` the server appended and runs until the next entry::

    # Time: 261130 17:06:53                 (MariaDB; MySQL 8: 2026-11-30T17:06:53.123456Z)
    # User@Host: doc[doc] @  [127.0.0.1]    (MySQL 8 adds "Id: 6")
    # Thread_id: 6  Schema: his  QC_hit: No (MariaDB)
    # Query_time: 0.000151  Lock_time: 0.000050  Rows_sent: 1  Rows_examined: 1
    SET timestamp=1796058413;
    SELECT … ;

A new entry begins at ``# Time:`` or ``# User@Host:``; every ``Key: value`` pair
on the header lines is read, unknown ones ignored. ``SET timestamp`` gives the
exact time (epoch, so UTC); ``# Time:`` is the fallback. A statement line
starting with ``# `` that is not a header is pt-query-digest's blind spot too:
it is kept as part of the statement. ``# administrator command: Quit;`` bodies
are protocol commands, not SQL, and are skipped. An entry cut off before its
statement (a truncated file) is reported as a bad line.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import BinaryIO

from audit.formats.base import ParseOptions, bad
from audit.lines import Line, read_lines
from audit.records import Record, Statement
from audit.timestamps import from_epoch, with_zone

_TIME = re.compile(
    r"# Time: (?:(?P<old>\d{6}\s+\d{1,2}:\d\d:\d\d)"
    r"|(?P<iso>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?)(?P<zone>Z|[+-]\d\d:\d\d)?)"
)
_USER_HOST = re.compile(
    r"# User@Host: (?P<user>[^\[\s]*)\[[^\]]*\] @ (?P<host>\S*) \[(?P<ip>[^\]]*)\](?:\s+Id:\s+(?P<id>\d+))?"
)
_PAIRS = re.compile(r"(\w+):(?: (\S+))?")  # "Schema:   QC_hit: No" is an empty Schema
_USE = re.compile(r"use `?(?P<db>[^`;]+)`?;$")
_SET_TS = re.compile(r"SET timestamp=(?P<ts>\d+(?:\.\d+)?);$")
_BANNER = re.compile(r".*, Version: .* started with:$|Tcp port: \d+  Unix socket: |Time\s+Id\s+Command\s+Argument$")


def _is_banner(text: str) -> bool:
    return text[:1] in ("/", "T") and _BANNER.match(text) is not None


def _seconds_ns(value: str | None) -> int | None:
    try:
        return round(float(value) * 1_000_000_000) if value is not None else None
    except ValueError:
        return None


def _int(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None


def parse_slow(stream: BinaryIO, options: ParseOptions) -> Iterator[Record]:
    system = options.system or "mysql"
    source = options.source
    tz = options.tz
    db: dict[str, str] = {}  # connection id -> schema, for servers that write "use" only on change
    # The entry being read
    start: Line | None = None
    header: dict[str, str] = {}
    user = client = conn_id = None
    ts: dt.datetime | None = None
    body: list[str] = []
    in_body = False
    entry_db: str | None = None

    def finish() -> Statement | Line | None:
        """The finished entry's statement, its first line when it has none, or None (admin command)."""
        assert start is not None
        if not body:
            return start
        if body[0].startswith("# administrator command:"):
            return None
        text = "\n".join(body)
        if text.endswith(";"):
            text = text[:-1]
        return Statement(
            source=source,
            offset=start.offset,
            line=start.number,
            text=text,
            dialect="mysql",
            system=system,
            ts=ts,
            user=user,
            db=entry_db or (db.get(conn_id) if conn_id else None),
            client=client,
            connection_id=conn_id,
            duration_ns=_seconds_ns(header.get("Query_time")),
            lock_time_ns=_seconds_ns(header.get("Lock_time")),
            rows_sent=_int(header.get("Rows_sent")),
            rows_examined=_int(header.get("Rows_examined")),
        )

    def emit() -> Iterator[Record]:
        done = finish()
        if isinstance(done, Statement):
            yield done
        elif done is not None:
            yield bad(options, done, "slow-log entry without a statement (file cut off?)")

    last_epoch: tuple[str, dt.datetime | None] = ("", None)
    for line in read_lines(stream):
        text = line.text
        if text is None:
            yield bad(options, line)
            continue
        hashed = text.startswith("# ")
        is_time = hashed and text.startswith("# Time: ")
        is_user = hashed and not is_time and text.startswith("# User@Host: ")
        if is_time or is_user:
            if (start is not None and (in_body or (is_time and header))) or (start is not None and is_user and user):
                yield from emit()
                start = None
            if start is None:
                start, header, user, client, conn_id, ts, body, in_body, entry_db = (
                    line, {}, None, None, None, None, [], False, None
                )  # fmt: skip
            if is_time:
                t = _TIME.match(text)
                if t is None:
                    yield bad(options, line, "unreadable # Time: header")
                elif t.group("old"):
                    old = re.sub(r"\s+", " ", t.group("old"))
                    ts = with_zone(dt.datetime.strptime(old, "%y%m%d %H:%M:%S"), None, tz)
                else:
                    ts = with_zone(dt.datetime.fromisoformat(t.group("iso")), t.group("zone"), tz)
            else:
                u = _USER_HOST.match(text)
                if u is None:
                    yield bad(options, line, "unreadable # User@Host: header")
                else:
                    user = u.group("user") or None
                    client = u.group("ip") or u.group("host") or None
                    conn_id = u.group("id") or conn_id
            continue
        if start is None:
            if text and not _is_banner(text):
                yield bad(options, line, "not part of a slow-log entry")
            continue
        if not in_body:
            if hashed:
                pairs = dict(_PAIRS.findall(text))
                header.update(pairs)
                if "Thread_id" in pairs:
                    conn_id = pairs["Thread_id"]
                if "Schema" in pairs:
                    entry_db = pairs["Schema"] or None
                continue
            u2 = _USE.match(text) if text.startswith("use ") else None
            if u2 is not None:
                entry_db = u2.group("db")
                if conn_id:
                    db[conn_id] = entry_db
                continue
            s = _SET_TS.match(text) if text.startswith("SET timestamp=") else None
            if s is not None:
                epoch = s.group("ts")
                if epoch != last_epoch[0]:
                    last_epoch = (epoch, from_epoch(float(epoch)))
                ts = last_epoch[1]
                in_body = True
                continue
            in_body = True
        if _is_banner(text):
            yield from emit()
            start = None
            in_body = False
            continue
        body.append(text)

    if start is not None:
        yield from emit()
