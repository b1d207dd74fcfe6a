"""Reading SQL logs into the event store, once or following them: ``netguard audit ingest``.

One :class:`LogFollower` per log source, on its own thread (the checkpoint
registry's SQLite connection stays there). For each file it asks the registry
where to start (:meth:`~netguard.store.checkpoints.CheckpointRegistry.open`:
resume, or start at 0 for a new, truncated or replaced file), then runs the
format's parser over a :class:`_Tail`, a stream over the open file that:

- hands the parser bytes only up to the last complete line, so a line being
  written is never read in part;
- when it has caught up, either ends (a one-shot read) or, following, does the
  follower's housekeeping (submit the batch, poll the sink's acks, commit) and
  waits ``poll_interval`` seconds, watching for a stop request, truncation
  (the file is now shorter than what was read) and rotation (the path now
  names another file: the old one is then read to its true end and finished);
- tells the follower whether the end it reports is **final** (the file is
  complete: a one-shot read of a file ending in a newline, or a rotated file
  drained). A parser flushes what it holds when its input ends (the last
  entry, which might still get continuation lines; PostgreSQL statements
  waiting for their duration): records yielded after a non-final end are
  *tentative* and are not emitted; they are read again, whole, next time;
- following, once the file has had no new bytes for ``idle_flush`` seconds
  (and has grown since the last idle flush), has the parser emit what it
  holds, so a log that goes quiet shows its last statement within seconds.
  For the formats whose parsers hold statements (``PAUSE_FORMATS``: the MySQL
  general and slow logs, PostgreSQL's three, pgaudit's) it returns
  :data:`~audit.lines.PAUSE` instead of data: the parser emits what it holds
  as complete for now (MySQL: the open entry and, general log, a held
  ``EXECUTE`` query; PostgreSQL: the entry being assembled and every statement
  waiting for its parameters, duration or error; pgaudit: the entry being
  assembled), keeps the rest of its state (connections, the last time written,
  sessions, pgaudit's statement ids) and reads on where it was.
  What it emits there is final, emitted like any record; what arrives for it
  later (continuation lines, a duration, parameters, an error) is not added
  (the event is stored, and events do not change): the parser tells each such
  line to ``ParseOptions.on_late`` and the follower counts it
  (``IngestCounts.late_lines``) and names the first ones' byte offsets in a
  message, never their text.
  For the other formats (one entry per line) it ends the parse with an
  **idle** end; what the parser flushes then is emitted, and
  the follower parses on from the first record it flushed, emitting only
  records that start past the idle end (a flushed entry's later lines are not
  added to it).

Statements are analysed (:class:`~audit.pipeline.Pipeline`), turned into
``sql`` events whose ids come from (source, file key, offset), and submitted
to the :class:`~netguard.events.sink.EventSink` in batches, each with a
checkpoint :class:`~netguard.store.checkpoints.Mark` as its ack token. The
follower commits a mark only once the sink has acknowledged it durable, so a
crash loses at most the unconfirmed tail, which is read again and stored once.

Where a mark may point. Resuming at offset ``m`` must re-read every statement
not yet acknowledged whole. When the input ends (the file read, a stop) the
parser flushes all it holds, so everything before the first record it flushed
provisionally, or the end read when it flushed nothing, has been emitted:
that is the mark. While following, for the formats whose parsers emit
statements in file order (``ORDERED_FORMATS``) the mark is the offset of the
last statement emitted (the next one starts after it; the last one is read
again and stored as a duplicate). PostgreSQL's parsers hold a statement per
session until its parameters, duration or error arrive, so statements leave out
of file order; for them a :class:`~audit.pg_pending.PendingStatements` watches
the entries the parser reads and the mark is the earliest statement it still
holds, never past one (after a SIGKILL the follower reads again from there:
duplicates, stored once, never loss). After an idle end the mark is the first
record flushed, so one flushed while it still waited is read again whole after
a crash (same id: stored once). A pause emits what the parser held for good:
the mark is then made as at any other point (MySQL: the last statement
emitted), except for the formats whose resumed parse tells late lines
(``RESUMED_FORMATS``: PostgreSQL's, pgaudit, the MySQL logs): there it is
where the pause left the stream, past what it stored. A restart then does not read a stored
statement again (a second reading, now whole or with its duration, would
have its id and be dropped as a duplicate without a word), and what arrives
for it after the restart is late, as without the restart (PostgreSQL: see
:mod:`audit.pg_pending` for the durations that may be counted late wrongly).

What a resumed parser cannot know is state written before ``m``: a MySQL
general log names a connection's user and client only on its ``Connect`` line
and writes a time only when it changes (the slow log likewise). For those
formats (``STATEFUL_FORMATS``) the parser is run from byte 0 and what lies
before ``m`` is skipped unanalysed: parsing alone is cheap next to analysis,
and attribution stays right. That replay happens when a follower starts (or
meets a new file), not at idle flushes: those pause the parse, not end it.
The replay pauses at ``m`` (:data:`~audit.lines.PAUSE`, as the idle flush
that moved the checkpoint there did): an entry still open there was stored
by that flush (a stop or an end flushes the open entry, and the mark is then
at its start), so the parser tells ``on_late`` of its lines after ``m``; a
line before ``m`` is not counted again (it was counted when first read).
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from audit.event_fields import SqlEvents, log_position
from audit.formats import FORMATS, PG_ENTRIES, ParseOptions
from audit.formats.pg_statements import statements
from audit.lines import PAUSE
from audit.pg_pending import PendingStatements
from audit.pipeline import Pipeline
from audit.records import BadLine, Record, Statement
from audit.risk import Classifier
from audit.settings import LogSource
from audit.timestamps import zone
from netguard.errors import NetGuardError, StoreError
from netguard.events.model import Event
from netguard.events.sink import EventSink, SinkFull
from netguard.store import StateStore
from netguard.store.checkpoints import Checkpoint, CheckpointRegistry, Mark

ORDERED_FORMATS = frozenset({"mysql-general", "mysql-slow", "mariadb-audit", "jsonl", "pgaudit"})
# Formats whose entries lean on earlier ones (a connection's user and client, a time written only when it changes).
STATEFUL_FORMATS = frozenset({"mysql-general", "mysql-slow"})
# Formats whose parsers take a pause (audit.lines.PAUSE) at an idle flush and read on: those that hold
# statements (the MySQL logs' last entry, PostgreSQL's statements waiting for their duration). The others
# hold at most their last entry, so ending their parse there and starting after it re-reads next to nothing.
PAUSE_FORMATS = STATEFUL_FORMATS | frozenset(PG_ENTRIES) | {"pgaudit"}
# Formats whose parse, resumed at a checkpoint (ParseOptions.resumed), tells on_late what arrives there for an
# entry stored before it (its next lines; PostgreSQL: a duration, parameters): their checkpoint after a pause
# may then be where the pause left the stream, past what it stored, which a restart does not read again.
# MySQL's (replayed from byte 0, see _Tail.replay_to): the parse pauses at the checkpoint as the idle flush did.
# Every pausing format: a pause stores an entry whose later lines may come after a restart, when only a
# resumed parse can count them.
RESUMED_FORMATS = PAUSE_FORMATS
# Events per submission, and per store write (the sink's batch_size): one SQLite transaction
# of 2000 events costs a third less per event than 500 (measured here; FTS indexing dominates).
BATCH = 2000
BATCH_SECONDS = 0.25
HEAD_BYTES = 1024  # compared at each poll to notice a file rewritten in place
IDLE_FLUSH = 1.5  # seconds without new bytes before what the parser holds is emitted
LATE_SHOWN = 10  # late lines whose byte offsets the run's message lists (the count has them all)


class IngestError(NetGuardError):
    """A log source that cannot be read."""


@dataclass
class IngestCounts:
    statements: int = 0  # emitted (submitted) statements
    bad_lines: int = 0
    unparsed: int = 0
    files: int = 0
    lost_rotated: int = 0  # rotated files that could no longer be found to finish
    parses: int = 0  # parser runs (a stateful format's resumed read replays its file from byte 0 in one)
    bytes_parsed: int = 0  # bytes handed to the parsers, replays included
    idle_flushes: int = 0
    # Lines (PostgreSQL: log entries) that arrived for a statement an idle flush had already stored: its
    # continuation, duration, parameters or error. Not added (the event is stored; events do not change).
    late_lines: int = 0
    late_at: list[tuple[Path, int]] = field(default_factory=list)  # file and byte of the first LATE_SHOWN
    messages: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _End:
    final: bool
    reason: str  # eof, stop, truncated, rotated, idle
    resume: int = 0  # idle: where the next parse starts (the first record the parser flushed)
    emitted_below: int = 0  # idle: every record before this offset has been emitted


class _Tail:
    """A read-only stream over a log being written (see the module docstring)."""

    def __init__(
        self,
        handle: BinaryIO,
        path: Path,
        *,
        follow: bool,
        finished: bool,
        stop: threading.Event,
        idle: Callable[[], None],
        poll_interval: float,
        idle_flush: float | None = None,
        quiet_from: int = 0,
        pause: bool = False,
        replay_to: int | None = None,
    ) -> None:
        self.handle = handle
        self.path = path
        self.follow = follow
        self.stop = stop
        self.idle = idle
        self.poll_interval = poll_interval
        self.pos = handle.tell()
        self.end: _End | None = None
        # Idle flush: after idle_flush seconds without new bytes, the parser is told to emit what it holds:
        # with `pause` (PAUSE_FORMATS) read() returns PAUSE and the parse goes on; otherwise the
        # parse ends (non-final, "idle"). Only once the file has grown past quiet_from (the last idle
        # flush), or a quiet file would be flushed (and re-read) again at every interval.
        self.idle_flush = idle_flush
        self.quiet_from = quiet_from
        self.pause = pause
        self.pauses = 0
        # A stateful format's replay from byte 0 (audit.follow's docstring): the stream stops at this offset (the
        # checkpoint, a line's start) and returns PAUSE once, as the idle flush that stored the entry open there
        # did, so the parser tells on_late of that entry's lines that follow (not counted in `pauses`).
        self.replay_to = replay_to
        self.bytes_read = 0  # handed to the parser
        self.last_data = time.monotonic()
        self._finished = finished  # the file is complete (rotated away): read it to its true end
        self._open_line = False  # part of a line longer than a block was handed out, its newline not yet
        fd = handle.fileno()
        st = os.fstat(fd)
        self._ident = (st.st_dev, st.st_ino)
        self._head = os.pread(fd, HEAD_BYTES, 0)

    def read(self, n: int = -1) -> bytes:
        if self.end is not None:
            return b""
        replay_to = self.replay_to
        if replay_to is not None:
            if self.pos >= replay_to:
                self.replay_to = None
                return PAUSE
            n = min(n if n > 0 else 1 << 20, replay_to - self.pos)
        while True:
            if self.stop.is_set():
                self.end = _End(False, "stop")
                return b""
            data = self.handle.read(n if n > 0 else 1 << 20)
            if data:
                self.last_data = time.monotonic()
                if self._finished:
                    self.pos += len(data)
                    self.bytes_read += len(data)
                    return data
                cut = data.rfind(b"\n") + 1
                if cut:
                    self._open_line = False
                    if cut < len(data):
                        self.handle.seek(self.pos + cut)
                    self.pos += cut
                    self.bytes_read += cut
                    return data[:cut]
                if len(data) == n:  # a line longer than the block: the line reader assembles it
                    self.pos += len(data)
                    self.bytes_read += len(data)
                    self._open_line = True
                    return data
                self.handle.seek(self.pos)
            ended = self._caught_up(partial=bool(data) or self._open_line)
            if ended is not None:
                if ended.reason == "idle" and self.pause:
                    self.quiet_from = self.pos
                    self.pauses += 1
                    return PAUSE
                self.end = ended
                return b""

    def _caught_up(self, partial: bool) -> _End | None:
        if self._finished:
            return _End(True, "rotated")
        if not self.follow:
            return _End(not partial, "eof")
        self.idle()
        fd = self.handle.fileno()
        if os.fstat(fd).st_size < self.pos or os.pread(fd, len(self._head), 0) != self._head:
            # Shorter than what was read, or rewritten in place (copytruncate that already refilled past us).
            return _End(False, "truncated")
        try:
            st = os.stat(self.path)
            here: tuple[int, int] | None = (st.st_dev, st.st_ino)
        except OSError:
            here = None
        if here != self._ident:
            self._finished = True  # renamed away (rotated) or deleted: read what is left, then finish
            return None
        if (
            self.idle_flush is not None
            and not partial
            and self.pos > self.quiet_from
            and time.monotonic() - self.last_data >= self.idle_flush
        ):
            return _End(False, "idle")
        self.stop.wait(self.poll_interval)
        return None


class LogFollower:
    """Reads one source into the sink, committing checkpoints as the sink confirms (see the module docstring)."""

    def __init__(
        self,
        source: LogSource,
        state_path: Path,
        sink: EventSink,
        *,
        follow: bool = False,
        stop: threading.Event | None = None,
        poll_interval: float = 0.25,
        on_bad: Callable[[BadLine], None] | None = None,
        classifier: Classifier | None = None,
        idle_flush: float | None = IDLE_FLUSH,
    ) -> None:
        self.source = source
        self.idle_flush = idle_flush if follow else None
        self.state_path = state_path
        self.sink = sink
        self.follow = follow
        self.stop = stop or threading.Event()
        self.poll_interval = poll_interval
        self.on_bad = on_bad
        self.counts = IngestCounts()
        self.registry: CheckpointRegistry  # opened by run(), on the follower's thread
        self.pipeline = Pipeline(classifier)  # one classifier per follower: its caches are not shared
        self.events = SqlEvents(institution=source.institution)
        self.options = ParseOptions(
            source=str(source.path),
            tz=zone(source.timezone),
            log_line_prefix=source.log_line_prefix,
            dialect=source.dialect,
            system=source.system,
            on_late=self._late,
        )
        # The running parse's (see _read): its stream's byte 0 in the file, and where unstored records start.
        self._path = source.path
        self._base = 0
        self._floor = 0
        self._batch: list[Event] = []
        self._not_durable = False
        self._batch_mark: Mark | None = None
        self._ordered_mark: tuple[Checkpoint, int] | None = None  # the batch's mark, not yet made
        self._batch_started = 0.0

    # --- the loop
    def run(self) -> IngestCounts:
        """Read (or follow until stopped); opens its own state store connection, on the calling thread."""
        with StateStore.open(self.state_path) as state:
            self.registry = state.checkpoints
            try:
                self._run()
            finally:
                self._report_late()
        return self.counts

    def _late(self, offset: int, line: int) -> None:
        """A parser's on_late: a line for a statement stored at an idle flush, counted, never its text."""
        at = offset + self._base
        if at < self._floor:
            return  # replayed for the parser's state (a late line there was counted when first read)
        self.counts.late_lines += 1
        if len(self.counts.late_at) < LATE_SHOWN:
            self.counts.late_at.append((self._path, at))

    def _report_late(self) -> None:
        n = self.counts.late_lines
        if n:
            # Byte offsets only: the lines may hold patient data, which no message repeats.
            where = ", ".join(f"{path} byte {at}" for path, at in self.counts.late_at)
            self.counts.messages.append(
                f"{self.source.name}: {n} late line{'s' if n != 1 else ''} (arrived after an idle flush had "
                f"stored the statement; not added to it, stored events do not change): {where}"
                + (" …" if n > LATE_SHOWN else "")
            )

    def _run(self) -> None:
        path = self.source.path
        while True:
            try:
                handle = path.open("rb")
            except FileNotFoundError:
                if not self.follow:
                    raise IngestError(f"{self.source.name}: {path}: no such file") from None
                if self.stop.wait(self.poll_interval):
                    break
                continue
            except OSError as exc:
                raise IngestError(f"{self.source.name}: {path}: cannot read: {exc.strerror or exc}") from exc
            with handle:
                decision = self.registry.open(self.source.name, path, handle)
                if decision.previous is not None:
                    self._finish_previous(decision.previous)
                end = self._read(handle, path, decision.checkpoint, decision.offset, self.follow)
                while end.reason == "idle":
                    # The parser emitted what it held; parse on from its first flushed record, emitting
                    # only what lies past the idle end (a statement flushed there is not emitted twice).
                    end = self._read(
                        handle, path, decision.checkpoint, end.resume, self.follow, emitted_below=end.emitted_below
                    )
            if end.reason in ("rotated", "truncated"):
                # Only once everything read from it is durable: a retired file is never read again.
                self._flush_and_commit()
                self.registry.retire(decision.checkpoint, end.reason)
            if not self.follow or end.reason == "stop":
                break
        self._flush_and_commit()

    def _finish_previous(self, previous: Checkpoint) -> None:
        """The file that had this name before (rotated while nobody followed it): read it to its end."""
        path = Path(previous.path)
        candidates = sorted(p for p in path.parent.glob(path.name + "*") if p != path)
        found = self.registry.locate(previous, candidates)
        if found is None:
            self.counts.lost_rotated += 1
            self.counts.messages.append(
                f"{self.source.name}: the file rotated away from {path} (read to byte {previous.offset}) "
                "is gone; what it held after that was not read"
            )
            self.registry.retire(previous, "rotated and not found")
            return
        with found.open("rb") as old:
            self._read(old, found, previous, previous.offset, follow=False, final=True)
        self._flush_and_commit()
        self.registry.retire(previous, f"rotated to {found}; read to its end")

    def _read(
        self,
        handle: BinaryIO,
        path: Path,
        cp: Checkpoint,
        start: int,
        follow: bool,
        final: bool = False,
        emitted_below: int | None = None,
    ) -> _End:
        """Parse from ``start`` (stateful formats: replay from 0), emitting records from ``emitted_below`` on."""
        if emitted_below is None:  # not a parse resumed after an idle flush
            self.counts.files += 1
        floor = start if emitted_below is None else emitted_below
        # Replay from 0 to rebuild the parser's state; what lies before `floor` is already stored.
        fmt = self.source.format
        base = 0 if fmt in STATEFUL_FORMATS else start
        self._path, self._base, self._floor = path, base, floor
        handle.seek(base)
        self.counts.parses += 1
        # A replay pauses where the stored part ends (see _Tail.replay_to): an entry open there was stored by the
        # idle flush that moved the checkpoint past its start, so its lines after it are late. Only at a line's
        # start, as every checkpoint is (a pause there would otherwise split a line).
        replay_to = (
            floor
            if fmt in STATEFUL_FORMATS and base < floor and os.pread(handle.fileno(), 1, floor - 1) == b"\n"
            else None
        )
        tail = _Tail(
            handle,
            path,
            follow=follow,
            finished=final,
            stop=self.stop,
            idle=self._housekeeping,
            poll_interval=self.poll_interval,
            idle_flush=self.idle_flush,
            quiet_from=floor,
            pause=fmt in PAUSE_FORMATS,
            replay_to=replay_to,
        )
        flushed: int | None = None  # the first offset the parser flushed at the end of its input
        # PostgreSQL: a PendingStatements watches the entries and says where a checkpoint may point mid-file
        # (after a pause: where the stream stood, past the statements the pause stored).
        # A statement an idle flush stored ran at least as long as the log stayed quiet: a shorter duration after
        # a restart is not late (half this follower's idle flush: the run that stored it may have had another).
        late_ms = 500 * (self.idle_flush or IDLE_FLUSH)
        pending = PendingStatements(lambda: tail.quiet_from - base) if fmt in PG_ENTRIES else None
        # Resumed at a checkpoint: what arrives there for what was stored before the restart (a PostgreSQL
        # duration, a continuation line) is late, and the parser tells on_late (see audit.pg_pending).
        resumed = late_ms if base > 0 and fmt in RESUMED_FORMATS else None
        options = dataclasses.replace(self.options, resumed=resumed) if resumed is not None else self.options
        records: Iterator[Record] = (
            statements(pending.entries(PG_ENTRIES[fmt](tail, options)), options)  # type: ignore[arg-type]
            if pending is not None
            else FORMATS[fmt](tail, options)  # type: ignore[arg-type]
        )
        ordered = fmt in ORDERED_FORMATS
        # pgaudit, MySQL: after a pause the mark is where it left the stream (everything before is emitted), not
        # the entry it stored, which a restart would read again whole (same id, dropped) and its late lines with it.
        pause_marks = ordered and fmt in RESUMED_FORMATS
        key = cp.file_key
        name = self.source.name
        make = self.events.event
        for record in records:
            offset = record.offset + base
            if pending is not None and isinstance(record, Statement):
                pending.emitted(record.offset)
            end = tail.end
            if end is not None and not end.final:
                # Flushed at the end of the input: maybe incomplete (a PostgreSQL statement still waiting
                # for its parameters or duration, a statement whose next lines are not written yet).
                flushed = offset if flushed is None else min(flushed, offset)
                if end.reason != "idle":
                    continue  # read again, whole, next time
            if offset < floor:
                continue  # replayed for the parser's state; stored before
            if isinstance(record, BadLine):
                self.counts.bad_lines += 1
                if self.on_bad is not None:
                    self.on_bad(BadLine(record.source, offset, record.line, record.reason, record.excerpt))
                continue
            stmt: Statement = record if base == 0 else record._replace(offset=offset)
            item = self.pipeline.process(stmt)
            self.counts.statements += 1
            if item.analysis.parse_error:
                self.counts.unparsed += 1
            self._add(make(item, log_position(item, name, key)))
            if ordered:
                # Made a Mark when submitted: one per batch, not per statement.
                self._ordered_mark = (cp, max(offset, tail.quiet_from) if pause_marks else offset)
            elif pending is not None and tail.end is None:
                at = pending.mark()
                if at is not None:
                    self._batch_mark = cp.at(at + base)
            if len(self._batch) >= BATCH or time.monotonic() - self._batch_started > BATCH_SECONDS:
                self._submit()
                self._poll()
        end = tail.end
        assert end is not None
        self.counts.bytes_parsed += tail.bytes_read
        self.counts.idle_flushes += tail.pauses + (end.reason == "idle")
        # At its end the parser has flushed all it held, so every record before `flushed` has been emitted.
        if end.reason != "truncated":
            self._ordered_mark = None
            self._batch_mark = cp.at(tail.pos if end.final or flushed is None else flushed)
        if end.reason == "idle":
            end = _End(False, "idle", resume=tail.pos if flushed is None else flushed, emitted_below=tail.pos)
        self._submit()
        self._poll()
        return end

    # --- the sink
    def _add(self, event: Event) -> None:
        if not self._batch:
            self._batch_started = time.monotonic()
        self._batch.append(event)

    def _submit(self) -> None:
        if self._ordered_mark is not None:
            cp, offset = self._ordered_mark
            self._batch_mark, self._ordered_mark = cp.at(offset), None
        if not self._batch and self._batch_mark is None:
            return
        while True:
            try:
                self.sink.submit(self._batch, ack=self._batch_mark)
                break
            except SinkFull:
                # Back-pressure: keep the events, commit what was confirmed, try again until told to stop.
                self._poll()
                if self.stop.is_set():
                    raise
        self._batch = []
        self._batch_mark = None

    def _poll(self) -> None:
        acks = self.sink.poll_acks()
        confirmed = [] if self._not_durable else list(itertools.takewhile(lambda a: a[1].durable, acks))
        if not self._not_durable and len(confirmed) < len(acks):
            # Events the sink could neither store nor spool: the checkpoint stays before them for good.
            self._not_durable = True
            self.counts.messages.append(
                f"{self.source.name}: some events were not stored; they are read again next run"
            )
        marks = [m for m, _ in confirmed if isinstance(m, Mark)]
        if marks:
            try:
                self.registry.commit(marks)
            except StoreError as exc:
                self.counts.messages.append(f"{self.source.name}: checkpoint not saved: {exc}")

    def _housekeeping(self) -> None:
        self._submit()
        self._poll()

    def _flush_and_commit(self) -> None:
        self._submit()
        self.sink.flush()
        self._poll()


def read_sources(
    followers: list[LogFollower],
) -> Iterator[tuple[LogFollower, IngestCounts | NetGuardError]]:
    """Run each follower on its own thread; yields each one's counts (or its error) as it ends."""
    results: dict[int, IngestCounts | NetGuardError] = {}

    def run(i: int, f: LogFollower) -> None:
        try:
            results[i] = f.run()
        except NetGuardError as exc:
            results[i] = exc
        except (OSError, sqlite3.Error) as exc:  # the disk, not the data: one line, the other sources go on
            results[i] = IngestError(f"{f.source.name}: {f.source.path}: {exc}")

    threads = [
        threading.Thread(target=run, args=(i, f), name=f"audit-{f.source.name}", daemon=True)
        for i, f in enumerate(followers)
    ]
    for t in threads:
        t.start()
    for i, t in enumerate(threads):
        while t.is_alive():
            t.join(0.2)
        yield followers[i], results.get(i, IngestError(f"{followers[i].source.name}: reader stopped"))
