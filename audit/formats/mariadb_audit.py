"""MariaDB's server_audit plugin log (``server_audit_output_type=file``).

One event per line, comma-separated::

    20261130 17:06:53,host,doc,127.0.0.1,6,15,QUERY,his,'SELECT *\\n  FROM 患者',0
    timestamp        ,server,user,client,connection,query id,operation,database,object,return code

The object of a ``QUERY`` event is the statement in single quotes with
backslash escapes (``\\'``, ``\\n``, ``\\\\``), so a multi-line statement is still
one line. The return code is the server's error number (0 = success). The
plugin itself masks passwords (``*****``). ``CONNECT``, ``DISCONNECT``,
``FAILED_CONNECT`` and the table events (``READ``, ``WRITE``, ``CREATE``…) are
not statements and are skipped; the ``QUERY_DDL`` / ``QUERY_DML`` / ``QUERY_DCL``
variants are statements. The time is local time without a zone.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import BinaryIO

from audit.formats.base import ParseOptions, bad
from audit.lines import read_lines
from audit.records import Record, Statement
from audit.timestamps import with_zone

_EVENT = re.compile(
    r"(?P<ts>\d{8} \d\d:\d\d:\d\d),(?P<server>[^,]*),(?P<user>[^,]*),(?P<host>[^,]*),(?P<conn>\d+),(?P<qid>\d+),"
    r"(?P<op>[A-Z_]+),(?P<db>[^,]*),(?P<object>.*),(?P<rc>-?\d+)$",
    re.S,
)
_ESCAPE = re.compile(r"\\(.)", re.S)
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "0": "\0"}


def _unescape(quoted: str) -> str | None:
    if len(quoted) < 2 or not (quoted.startswith("'") and quoted.endswith("'")):
        return None
    return _ESCAPE.sub(lambda m: _ESCAPES.get(m.group(1), m.group(1)), quoted[1:-1])


def parse_server_audit(stream: BinaryIO, options: ParseOptions) -> Iterator[Record]:
    tz = options.tz
    last_raw_ts = ""
    last_ts: dt.datetime | None = None
    for line in read_lines(stream):
        text = line.text
        if text is None:
            yield bad(options, line)
            continue
        m = _EVENT.match(text)
        if m is None:
            if text:
                yield bad(options, line, "not a server_audit event")
            continue
        if not m.group("op").startswith("QUERY"):
            continue
        statement = _unescape(m.group("object"))
        if statement is None:
            yield bad(options, line, "server_audit QUERY without a quoted statement")
            continue
        raw_ts = m.group("ts")
        if raw_ts != last_raw_ts:
            last_raw_ts = raw_ts
            last_ts = with_zone(dt.datetime.strptime(raw_ts, "%Y%m%d %H:%M:%S"), None, tz)
        rc = m.group("rc")
        yield Statement(
            source=options.source,
            offset=line.offset,
            line=line.number,
            text=statement,
            dialect="mysql",
            system=options.system or "mariadb",
            ts=last_ts,
            user=m.group("user") or None,
            db=m.group("db") or None,
            client=m.group("host") or None,
            connection_id=m.group("conn"),
            outcome="success" if rc == "0" else "failure",
            error=None if rc == "0" else f"error {rc}",
        )
