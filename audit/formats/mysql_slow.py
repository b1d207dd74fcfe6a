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

How it reads: the log is read in blocks of bytes and each block is cut at its
last entry start; one regular expression over the bytes then finds whole
entries (header, ``use``, ``SET timestamp``, body), so the per-line work is done
by the regex engine and byte offsets come straight from the match. Text
between entries is split into lines: server banners are skipped, anything else
is a bad line. A body line that is not UTF-8 or holds NUL bytes is reported and
left out of the statement.

Following a log (the stream returns :data:`audit.lines.PAUSE`: it went quiet),
the entry read last is taken as complete for now and emitted, the header state
(the last ``# Time:``, each connection's schema) kept; lines that arrive for it
later, before the next entry starts, are skipped, each told to ``options.on_late``
(the follower counts them) but server banners.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from typing import BinaryIO

from audit.formats.base import ParseOptions, bad, count_number, new_tuple, scaled_ns
from audit.formats.mysql_general import BANNER
from audit.lines import MAX_LINE, PAUSE, Line, decode_line
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
# The header line MariaDB and MySQL write in this form for every entry: what _PAIRS finds in it
# (each pair on its own line: _PAIRS never spans lines), read by one anchored match instead.
_QUERY_LINE = re.compile(r"# Query_time: (\S+) +Lock_time: (\S+) +Rows_sent: (\S+) +Rows_examined: (\S+)")
_QUERY_KEYS = ("Query_time", "Lock_time", "Rows_sent", "Rows_examined")  # its groups, in order


def _is_banner(text: str) -> bool:
    return text[:1] in ("/", "T") and BANNER.match(text) is not None


def _seconds_ns(value: str | None) -> int | None:
    return scaled_ns(value, 1_000_000_000)


_ENTRY = re.compile(
    rb"(?:# Time: (?P<time>[^\n]*)\n)?"
    rb"# User@Host: (?P<uh>[^\n]*)\n"
    # The "# " header lines, the one that changes with every entry (Query_time) apart: the lines
    # before it and after it repeat (Thread_id and Schema), so their readings are remembered.
    rb"(?P<meta>(?:# (?!Query_time: )[^\n]*\n)*)"
    # The Query_time line in the form every server writes, its four values read here (ASCII
    # digits: what _QUERY_LINE's groups give for such a line); any other form is read apart.
    rb"(?P<qt># Query_time: (?:(?P<qtime>[0-9.]+) +Lock_time: (?P<lock>[0-9.]+) +Rows_sent: (?P<sent>[0-9]+)"
    rb" +Rows_examined: (?P<examined>[0-9]+)\n|[^\n]*\n))?"
    rb"(?P<meta2>(?:# [^\n]*\n)*)"
    rb"(?:use (?P<use>[^\n]*);\n)?"
    rb"(?:SET timestamp=(?P<ts>[0-9]+(?:\.[0-9]+)?);\n)?"
    rb"(?P<body>(?:(?!# (?:Time|User@Host): )[^\n]*(?:\n|\Z))*)"
)
_BLOCK = 4 << 20
_MEMO = 4096
_MAX_ENTRY = MAX_LINE


def _entry_cut(buf: bytes) -> int:
    """Where the last entry in ``buf`` starts (its ``# Time:`` line if it has one); 0 if none after the start."""
    at = buf.rfind(b"\n# User@Host: ")
    if at < 0:
        return 0
    before = buf.rfind(b"\n", 0, at)
    if buf.startswith(b"# Time: ", before + 1):
        at = before
    return at + 1


def parse_slow(stream: BinaryIO, options: ParseOptions, *, shortcut: bool = True) -> Iterator[Record]:
    """The log's statements and bad lines (``shortcut=False``: every entry the general way, for the tests)."""
    system = options.system or "mysql"
    source = options.source
    tz = options.tz
    db_of: dict[str, str] = {}  # connection id -> schema, for servers that write "use" only on change
    # User@Host lines repeat (a few accounts): their readings are remembered, bounded.
    users: dict[bytes, tuple[str | None, ...]] = {}
    # So do the header lines but Query_time's (Thread_id, Schema): their pairs too.
    seen_meta: dict[bytes, tuple[tuple[str, str], ...]] = {}
    lock_of: dict[str, int | None] = {}
    # The shortcut's: Lock_time's bytes -> nanoseconds; header lines before Query_time -> (Thread_id, Schema)
    lock_ns_of: dict[bytes, int | None] = {}
    ids_of: dict[bytes, tuple[str | None, str | None]] = {}
    last_time: tuple[bytes, dt.datetime | None] = (b"", None)  # MariaDB writes "# Time:" only on change
    last_epoch: tuple[bytes, dt.datetime | None] = (b"", None)

    def gap(buf: bytes, start: int, end: int, offset: int, line: int) -> Iterator[Record]:
        """The lines between entries: banners and blank lines skipped, the rest bad."""
        for raw in buf[start:end].split(b"\n"):
            if raw:
                ln = decode_line(line, offset, raw, _MAX_ENTRY)
                if ln.text is None:
                    yield bad(options, ln)
                elif not _is_banner(ln.text) and ln.text.strip():
                    yield bad(options, ln, "not part of a slow-log entry")
            offset += len(raw) + 1
            line += 1

    def entry(m: re.Match[bytes], offset: int, line: int) -> Statement | list[Record]:
        """The entry's statement, or a list of its records when there is a problem (a plain function, not
        a generator: one generator per entry cost more than the rest of the header work)."""
        raw_time, raw_uh, raw_meta, _, qtime, lock, sent, examined, raw_meta2, use, epoch, body = m.groups()
        if shortcut and qtime is not None and not raw_meta2:
            # The usual entry: remembered headers, the Query_time line in its fixed form, a body that
            # decodes and holds no banner. Anything else goes the general way below.
            who = users.get(raw_uh)
            ids = ids_of.get(raw_meta)
            if (
                who
                and ids is not None
                and (raw_time is None or raw_time == last_time[0])
                and body.endswith(b";\n")
                and b"\x00" not in body
            ):
                try:
                    text = body[:-2].decode()  # without the ";" the server appended and the newline
                    use_db = use.decode().strip("`") if use is not None else None
                except UnicodeDecodeError:
                    text = ""
                if (
                    text
                    and ", Version: " not in text
                    and "Tcp port: " not in text
                    and not text.startswith("# administrator command:")
                ):
                    return fast_statement(who, ids, text, use_db, qtime, lock, sent, examined, epoch, offset, line)
        return general_entry(m, offset, line)

    def fast_statement(
        who: tuple[str | None, ...],
        ids: tuple[str | None, str | None],
        text: str,
        use_db: str | None,
        qtime: bytes,
        lock: bytes,
        sent: bytes,
        examined: bytes,
        epoch: bytes | None,
        offset: int,
        line: int,
    ) -> Statement:
        """What general_entry makes of such an entry, read directly (the header dict and _body skipped)."""
        nonlocal last_epoch
        ts = last_time[1]
        if epoch is not None:
            if epoch != last_epoch[0]:
                last_epoch = (epoch, from_epoch(float(epoch)))
            ts = last_epoch[1]
        conn_id = ids[0] or who[2]
        db = ids[1] or use_db
        if use_db and conn_id:
            db_of[conn_id] = use_db
        conn_db = db or (db_of.get(conn_id) if conn_id else None)
        lock_ns = lock_ns_of.get(lock)
        if lock_ns is None:
            if len(lock_ns_of) >= _MEMO:
                lock_ns_of.clear()
            lock_ns = lock_ns_of[lock] = _seconds_ns(lock.decode())
        return new_tuple(
            Statement,
            (
                source, offset, line, text, "mysql", system, ts, who[0],
                conn_db, who[1], None, conn_id, None, (), _seconds_ns(qtime.decode()), lock_ns,
                int(sent) if len(sent) < 19 else count_number(sent),  # ASCII digits: 18 of them fit a long
                int(examined) if len(examined) < 19 else count_number(examined), "unknown", None,
            ),
        )  # fmt: skip

    def general_entry(m: re.Match[bytes], offset: int, line: int) -> Statement | list[Record]:
        nonlocal last_time, last_epoch
        out: list[Record] = []
        raw_time, raw_uh, raw_meta, raw_qt, _, _, _, _, raw_meta2, use, epoch, body = m.groups()
        # Every header part must be UTF-8 before anything else is read (remembered parts were).
        try:
            who = users.get(raw_uh)
            user_host = raw_uh.decode() if who is None else ""
            before = seen_meta.get(raw_meta)
            before_text = raw_meta.decode() if before is None else ""
            query_line = raw_qt.decode() if raw_qt is not None else None
            after = seen_meta.get(raw_meta2) if raw_meta2 else ()
            after_text = raw_meta2.decode() if after is None else ""
            use_db = use.decode().strip("`") if use is not None else None
        except UnicodeDecodeError:
            return [bad(options, Line(line, offset, ""), "slow-log header is not UTF-8")]
        if who is None:
            u = _USER_HOST.match("# User@Host: " + user_host)
            who = (u.group("user") or None, u.group("ip") or u.group("host") or None, u.group("id")) if u else ()
            if len(users) >= _MEMO:
                users.clear()
            users[raw_uh] = who
        if before is None:
            before = _remember(seen_meta, raw_meta, before_text)
            if len(ids_of) >= _MEMO:
                ids_of.clear()
            pairs = dict(before)
            ids_of[raw_meta] = (pairs.get("Thread_id"), pairs.get("Schema"))
        if after is None:
            after = _remember(seen_meta, raw_meta2, after_text)
        if raw_time is not None and raw_time != last_time[0]:
            last_time = (raw_time, _header_time(raw_time, tz))
            if last_time[1] is None:
                out.append(bad(options, Line(line, offset, ""), "unreadable # Time: header"))
        ts = last_time[1]
        if epoch is not None:
            if epoch != last_epoch[0]:
                last_epoch = (epoch, from_epoch(float(epoch)))
            ts = last_epoch[1]
        body_start = m.start("body")
        body_line = line + m.string.count(b"\n", m.start(), body_start)
        lines, problems = _body(body, offset + body_start - m.start(), body_line)
        for problem in problems:
            out.append(bad(options, problem))
        text = lines[0].rstrip("\n") if len(lines) == 1 else "\n".join(lines).rstrip("\n")
        if not who:
            out.append(bad(options, Line(line, offset, ""), "unreadable # User@Host: header"))
            return out
        # Every pair of every header line, a later one winning (as one dict over all of them).
        header = dict(before)
        if query_line is not None:
            fixed = _QUERY_LINE.fullmatch(query_line, 0, len(query_line) - 1)  # without its newline
            if fixed is not None:
                header["Query_time"], header["Lock_time"], header["Rows_sent"], header["Rows_examined"] = fixed.groups()
            else:
                header.update(_PAIRS.findall(query_line))
        if after:
            header.update(after)
        conn_id = header.get("Thread_id") or who[2]
        db = header.get("Schema") or use_db
        if use_db and conn_id:
            db_of[conn_id] = use_db
        if not text:
            admin = b"# administrator command:"
            if admin not in raw_meta and admin not in (raw_qt or b"") and admin not in raw_meta2:
                # (else a protocol command: nothing to audit)
                out.append(bad(options, Line(line, offset, ""), "slow-log entry without a statement (file cut off?)"))
            return out
        if text.startswith("# administrator command:"):
            return out
        if text.endswith(";"):
            text = text[:-1]
        conn_db = db or (db_of.get(conn_id) if conn_id else None)
        lock = header.get("Lock_time")
        lock_ns = lock_of.get(lock) if lock is not None else None  # a handful of values: remembered
        if lock_ns is None and lock is not None:
            if len(lock_of) >= _MEMO:
                lock_of.clear()
            lock_ns = lock_of[lock] = _seconds_ns(lock)
        sent, examined = header.get("Rows_sent"), header.get("Rows_examined")
        stmt = new_tuple(
            Statement,
            (
                source, offset, line, text, "mysql", system, ts, who[0], conn_db, who[1], None, conn_id, None, (),
                _seconds_ns(header.get("Query_time")), lock_ns,
                count_number(sent), count_number(examined),
                "unknown", None,
            ),
        )  # fmt: skip
        if out:
            out.append(stmt)
            return out
        return stmt

    buf = b""
    base = 0  # byte offset of buf[0] in the file
    base_line = 1  # line number of buf[0]
    eof = False
    # A follower's log went quiet (PAUSE): the entry held in buf is read as complete for now, and lines
    # arriving after it for that entry (up to the next entry's start) are skipped, not read as bad lines.
    paused = False
    skipping = False
    while True:
        paused = False
        if not eof:
            block = stream.read(_BLOCK)
            if block:
                buf += block
                if skipping:
                    at = _entry_start(buf)
                    if at < 0:
                        at = buf.rfind(b"\n") + 1  # whole lines only: an entry's start may yet follow
                    else:
                        skipping = False
                    if at and options.on_late is not None:
                        _late_lines(buf[:at], base, base_line, options.on_late)
                    base_line += buf.count(b"\n", 0, at)
                    base += at
                    buf = buf[at:]
            elif block is PAUSE:
                paused = True
                skipping = skipping or bool(buf)
            else:
                eof = True
        if not buf:
            if eof:
                return
            continue
        limit = len(buf) if eof or paused else _entry_cut(buf)
        if limit == 0:
            if len(buf) < _MAX_ENTRY:
                continue  # one entry so far, not yet complete: read on
            limit = len(buf)  # one giant "entry" with no end in sight: report its lines
        pos, line = 0, base_line
        for m in _ENTRY.finditer(buf, 0, limit):
            start = m.start()
            if start == m.end():
                continue
            if start > pos:
                yield from gap(buf, pos, start, base + pos, line)
                line += buf.count(b"\n", pos, start)
            got = entry(m, base + start, line)
            if isinstance(got, list):
                yield from got
            else:
                yield got
            line += buf.count(b"\n", start, m.end())
            pos = m.end()
        if pos < limit:
            yield from gap(buf, pos, limit, base + pos, line)
            line += buf.count(b"\n", pos, limit)
        buf = buf[limit:]
        base += limit
        base_line = line
        if eof and not buf:
            return


def _late_lines(skipped: bytes, offset: int, line: int, on_late: Callable[[int, int], None]) -> None:
    """Tell ``on_late`` of each line of ``skipped`` (what arrived for an entry emitted at a pause) but
    server banners, which are no part of a statement (a blank line may be)."""
    for raw in skipped.split(b"\n")[:-1]:  # whole lines: the last piece is the empty one after the newline
        if not _is_banner(raw.decode("utf-8", "replace")):
            on_late(offset, line)
        offset += len(raw) + 1
        line += 1


def _entry_start(buf: bytes) -> int:
    """Where the first entry in ``buf`` starts (a ``# Time:`` or ``# User@Host:`` line), -1 if none does."""
    found = [
        0 if buf.startswith(head) else (at + 1 if (at := buf.find(b"\n" + head)) >= 0 else -1)
        for head in (b"# Time: ", b"# User@Host: ")
    ]
    return min((at for at in found if at >= 0), default=-1)


def _remember(seen: dict[bytes, tuple[tuple[str, str], ...]], raw: bytes, text: str) -> tuple[tuple[str, str], ...]:
    """The pairs of header lines (``_PAIRS`` never spans lines), remembered by their bytes, bounded."""
    pairs = tuple(_PAIRS.findall(text))
    if len(seen) >= _MEMO:
        seen.clear()
    seen[raw] = pairs
    return pairs


def _header_time(raw: bytes, tz: dt.tzinfo) -> dt.datetime | None:
    t = _TIME.match("# Time: " + raw.decode("ascii", "replace"))
    if t is None:
        return None
    if t.group("old"):
        return with_zone(dt.datetime.strptime(re.sub(r"\s+", " ", t.group("old")), "%y%m%d %H:%M:%S"), None, tz)
    return with_zone(dt.datetime.fromisoformat(t.group("iso")), t.group("zone"), tz)


def _body(raw: bytes, offset: int, line: int) -> tuple[list[str], list[Line]]:
    """The statement's lines, cut at a server banner; undecodable lines apart."""
    try:
        if b"\x00" in raw:
            raise UnicodeDecodeError("utf-8", raw, 0, 1, "NUL")
        text = raw.decode()
    except UnicodeDecodeError:
        lines: list[str] = []
        problems: list[Line] = []
        for piece in raw.split(b"\n"):
            ln = decode_line(line, offset, piece, _MAX_ENTRY)
            if ln.text is None:
                problems.append(ln)
            else:
                lines.append(ln.text)
            offset += len(piece) + 1
            line += 1
        return lines, problems
    if ", Version: " in text or "Tcp port: " in text:
        # MariaDB writes its banner after the statement before a log reopen (FLUSH LOGS).
        kept: list[str] = []
        after: list[Line] = []
        in_banner = False
        for part in text.split("\n"):
            in_banner = in_banner or _is_banner(part)
            if not in_banner:
                kept.append(part)
            elif part.strip() and not _is_banner(part):
                after.append(Line(line, offset, None, "not part of a slow-log entry", part.encode()[:80]))
            offset += len(part.encode()) + 1
            line += 1
        return kept, after
    return [text], []
