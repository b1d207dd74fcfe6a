"""The MySQL / MariaDB general query log.

Each entry is ``[time] <id> <Command>\\t<argument>``; the argument of a
statement runs on over the following lines until the next entry. The time is
either the old ``YYMMDD HH:MM:SS`` (written only when it changes; later entries
start with tabs and inherit it) or MySQL 8's ISO form with a zone
(``2024-05-01T10:00:00.123456Z``). Server banners (``…mariadbd, Version: …``,
``Tcp port: …``, ``Time  Id Command Argument``) appear at every log reopen.

User and client appear only on a connection's ``Connect`` line (``user@host on
db using TCP/IP``), later lines carry just the connection id, so the parser
keeps one small record per open connection (dropped at ``Quit``); ``Init DB``
and ``Change user`` update it. ``Query`` and ``Execute`` (a server-side prepared
statement, logged with its parameters substituted) are statements; ``Prepare``
is not an execution and is skipped, as are the other commands. A continuation
line with no entry before it (a log that starts mid-statement) is a bad line.

Following a log (:data:`audit.lines.IDLE` from the line reader: it went quiet),
the entry still open and any held ``EXECUTE`` query are emitted as they are and
the parse goes on with its connections; later lines of that entry are not added
to it: each is told to ``options.on_late`` (the follower counts them).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import BinaryIO

from audit.formats.base import ParseOptions, bad, new_tuple
from audit.lines import IDLE, Line, read_lines
from audit.records import Record, Statement
from audit.timestamps import with_zone

_COMMANDS = (
    "Connect|Query|Quit|Init DB|Prepare|Execute|Close stmt|Reset stmt|Field List|Change user|Statistics|Ping|"
    "Refresh|Shutdown|Processlist|Kill|Debug|Set option|Fetch|Long Data|Binlog Dump GTID|Binlog Dump|Table Dump|"
    "Connect Out|Register Slave|Time|Sleep|Create DB|Drop DB|Delayed insert|Daemon|Error|Killed|Reset connection"
)
_ENTRY = re.compile(
    r"(?:(?P<old>\d{6} [ \d]\d:\d\d:\d\d)|(?P<iso>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?)(?P<zone>Z|[+-]\d\d:\d\d)?)?"
    r"\s+(?P<id>\d+) (?P<cmd>" + _COMMANDS + r")(?:\t(?P<arg>.*)|$)",
    re.S,
)
# The server's start-up banner (both MySQL logs repeat it on every restart). The
# first ", Version: " is taken atomically: a later one leaves less room after it,
# so retrying them all (quadratic on a long line full of them) never helps.
BANNER = re.compile(r"(?>.*?, Version: ).* started with:$|Tcp port: \d+  Unix socket: |Time\s+Id\s+Command\s+Argument$")
_CONNECT = re.compile(r"(?P<user>[^@\s]*)@(?P<host>\S*)(?: as \S+)? on (?P<db>\S*)")
_STATEMENT_COMMANDS = frozenset({"Query", "Execute"})
_SQL_EXECUTE = re.compile(r"\s*EXECUTE\s", re.I)


@dataclass(frozen=True, slots=True)
class _Connection:
    user: str | None = None
    client: str | None = None
    db: str | None = None


_NO_CONNECTION = _Connection()


def _statement(
    source: str,
    system: str,
    line: Line,
    conn_id: str,
    text: str,
    ts: dt.datetime | None,
    connections: dict[str, _Connection],
) -> Statement:
    conn = connections.get(conn_id) or _NO_CONNECTION
    return new_tuple(
        Statement,
        (source, line.offset, line.number, text, "mysql", system, ts, conn.user, conn.db, conn.client, None, conn_id,
         None, (), None, None, None, None, "unknown", None),
    )  # fmt: skip


def parse_general(stream: BinaryIO, options: ParseOptions) -> Iterator[Record]:
    # The hot loop keeps its state in plain locals (no closure cells, no tuple to
    # unpack per line) and only builds a Statement for Query and Execute entries.
    system = options.system or "mysql"
    source = options.source
    tz = options.tz
    entry_match = _ENTRY.match
    banner_match = BANNER.match
    sql_execute = _SQL_EXECUTE.match
    statement_commands = _STATEMENT_COMMANDS
    connections: dict[str, _Connection] = {}
    # A Query "EXECUTE stmt USING …" is followed by an Execute entry with the real
    # text and values: that one is kept, the Query dropped, so it counts once.
    held: dict[str, Statement] = {}
    last_ts: dt.datetime | None = None
    # The old form repeats one second for many entries: parse each text once.
    last_old: str | None = None
    # The entry still collecting continuation lines (none when open_line is None):
    # its first line, command, connection id, time, argument, and the argument's
    # lines once a continuation arrives.
    open_line: Line | None = None
    open_cmd = ""
    open_id = ""
    open_ts: dt.datetime | None = None
    open_arg = ""
    open_more: list[str] | None = None
    # The open entry was emitted at a pause: its later lines are late (options.on_late), not joined to it.
    late = False
    on_late = options.on_late

    for line in read_lines(stream):
        text = line.text
        if text is None:
            if line is IDLE:
                # A follower's log went quiet: the open entry is complete for now. It is emitted and
                # its command forgotten, so lines that still arrive for it are passed over (told to
                # on_late when it was a statement: they are part of one already emitted, not bad lines);
                # connections and the last time are kept for the entries to come.
                if open_line is not None and open_cmd in statement_commands:
                    body = open_arg if open_more is None else "\n".join(open_more)
                    yield _statement(source, system, open_line, open_id, body, open_ts, connections)
                    late = True
                open_cmd = ""
                yield from held.values()
                held.clear()
                continue
            yield bad(options, line)
            continue
        m = entry_match(text)
        if m is None:
            # Cheap tests first: the banner regex only runs on lines that could be one.
            if (", Version: " in text or text.startswith(("Tcp port: ", "Time"))) and banner_match(text):
                if open_line is not None:
                    if open_cmd in statement_commands:
                        body = open_arg if open_more is None else "\n".join(open_more)
                        yield _statement(source, system, open_line, open_id, body, open_ts, connections)
                    open_line = None
                late = False
                continue
            if open_line is not None:
                if late:
                    if on_late is not None:
                        on_late(line.offset, line.number)
                elif open_more is None:
                    open_more = [open_arg, text]
                else:
                    open_more.append(text)
            elif text:
                yield bad(options, line, "not a general-log entry, and no statement before it to continue")
            continue

        if open_line is not None:
            if open_cmd in statement_commands:
                body = open_arg if open_more is None else "\n".join(open_more)
                done = _statement(source, system, open_line, open_id, body, open_ts, connections)
                if (body[:1] in ("e", "E") or body[:1].isspace()) and sql_execute(body):  # cheap test first
                    held[open_id] = done
                else:
                    yield done
            open_line = None

        old, iso, zone, conn_id, cmd, arg = m.groups()
        if held:
            previous = held.pop(conn_id, None)
            if previous is not None and cmd != "Execute":
                yield previous

        if old is not None:
            if old != last_old:
                last_ts = with_zone(dt.datetime.strptime(old.replace("  ", " 0"), "%y%m%d %H:%M:%S"), None, tz)
                last_old = old
        elif iso is not None:
            last_ts = with_zone(dt.datetime.fromisoformat(iso), zone, tz)
            last_old = None
        arg = arg or ""

        if cmd in ("Connect", "Change user"):
            c = _CONNECT.match(arg)
            if c is not None:
                connections[conn_id] = _Connection(
                    c.group("user") or None, c.group("host") or None, c.group("db") or None
                )
        elif cmd == "Init DB":
            connections[conn_id] = replace(connections.get(conn_id) or _Connection(), db=arg.strip() or None)
        elif cmd == "Quit":
            connections.pop(conn_id, None)
        open_line, open_cmd, open_id, open_ts, open_arg, open_more = line, cmd, conn_id, last_ts, arg, None
        late = False

    if open_line is not None and open_cmd in statement_commands:
        body = open_arg if open_more is None else "\n".join(open_more)
        yield _statement(source, system, open_line, open_id, body, open_ts, connections)
    yield from held.values()
