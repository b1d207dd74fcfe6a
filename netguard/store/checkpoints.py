"""Where each reader is in each file it tails: the checkpoint registry.

Like Filebeat's registry, one row per (source, file), not per path: a log
rotated by renaming is still the same file, and the next file under the old
name is a new one. A file is known by its **identity**: the device and inode
it lives on, and a **fingerprint**, the SHA-256 of its first bytes (up to
``fingerprint_bytes``, 1024 by default; fewer while the file is shorter, in
which case the length hashed is recorded and the fingerprint is lengthened
when the file has grown). The fingerprint catches what device and inode
alone miss: an inode number reused for a new file after the old one was
deleted, and a file rewritten in place.

The rule :meth:`CheckpointRegistry.open` applies to a path, in order:

1. An active checkpoint of the source has this device and inode, and the
   file's first ``fingerprint_len`` bytes still hash to its fingerprint:
   - the file is at least as long as the offset: **resume** at the offset
     (if the path differs, the file was renamed; the row follows it);
   - it is shorter: it was **truncated** (``copytruncate``, ``> file``):
     the old checkpoint is retired and the file is read again from 0 under a
     new identity.
2. A checkpoint has this device and inode but the first bytes differ: the
   file was **replaced** in place or its inode was reused; retire, start at 0.
3. No checkpoint has this device and inode but one was recorded at this path:
   a different file now has the name (**rotated** away, or replaced by a
   rename). Start the new file at 0; the decision names the old checkpoint as
   ``previous`` so the follower can finish the old file (:meth:`locate` finds
   it among the rotated names by identity) and then :meth:`retire` it.
4. Otherwise the file is **new**: start at 0.

A new identity is a new ``file_key`` (random, recorded before anything is
read), and events read from a file take their ids from (source, file_key,
offset) (:class:`netguard.events.model.LogPosition`): a file re-read after a
crash gives the same ids, while a truncated or replaced file, whose offsets
start again at 0, gives new ones. Losing the registry loses that memory: the
file is read again under a new key and its events are stored twice.

Offsets only move forward, and only with what the event sink confirmed: the
follower hands the sink a :class:`Mark` as the ack token of each submission
and commits the marks the sink acknowledged (:meth:`commit`). A crash loses
at most the unconfirmed tail, which is read and sent again under the same ids.
A follower's loop, in short::

    decision = registry.open(source, path, handle)  # handle: the file it opened
    handle.seek(decision.offset)
    key = decision.checkpoint.file_key
    # for each chunk of records read, ending at byte `end`:
    sink.submit([make_event(..., position=LogPosition(source, key, offset, path)), ...],
                ack=decision.checkpoint.at(end))
    # now and then, on the follower's own thread:
    acks = sink.poll_acks()
    confirmed = list(itertools.takewhile(lambda a: a[1].durable, acks))
    registry.commit([mark for mark, _ in confirmed])
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, BinaryIO

from netguard.errors import StoreError
from netguard.store.codec import from_db_time, to_db_time, utcnow
from netguard.store.db import transaction

DEFAULT_FINGERPRINT_BYTES = 1024


class Action(StrEnum):
    RESUME = "resume"
    START = "start"


@dataclass(frozen=True, slots=True)
class Mark:
    """A reader's position to commit once the sink confirms everything before it."""

    source: str
    file_key: str
    offset: int


@dataclass(frozen=True, slots=True)
class Checkpoint:
    source: str
    file_key: str
    path: str
    device: int
    inode: int
    fingerprint: str
    fingerprint_len: int
    offset: int
    active: bool
    retired_reason: str | None
    first_seen: datetime
    updated: datetime

    def at(self, offset: int) -> Mark:
        return Mark(self.source, self.file_key, offset)


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with a path: ``action`` at ``offset``, and why."""

    action: Action
    offset: int
    reason: str
    checkpoint: Checkpoint
    previous: Checkpoint | None = None  # the file that had this name before (rotated): finish it, then retire it


@dataclass(frozen=True, slots=True)
class FileIdentity:
    device: int
    inode: int
    size: int
    head: bytes  # the first min(size, fingerprint_bytes) bytes

    def fingerprint(self, length: int | None = None) -> str:
        data = self.head if length is None else self.head[:length]
        return hashlib.sha256(data).hexdigest()


def identify(
    path: Path | str, handle: BinaryIO | None = None, *, fingerprint_bytes: int = DEFAULT_FINGERPRINT_BYTES
) -> FileIdentity:
    """Device, inode, size and first bytes of an open file (``handle``) or of ``path``.

    With a handle, everything comes from that open file, so a rename between
    the follower's open and this call cannot mix two files.
    """
    try:
        if handle is not None:
            return _identify_fd(handle.fileno(), fingerprint_bytes)
        fd = os.open(path, os.O_RDONLY)
        try:
            return _identify_fd(fd, fingerprint_bytes)
        finally:
            os.close(fd)
    except OSError as exc:
        raise StoreError(f"cannot read {path} to identify it: {exc.strerror or exc}") from None


def _identify_fd(fd: int, fingerprint_bytes: int) -> FileIdentity:
    st = os.fstat(fd)
    head = os.pread(fd, fingerprint_bytes, 0) if fingerprint_bytes > 0 else b""
    return FileIdentity(device=st.st_dev, inode=st.st_ino, size=st.st_size, head=head)


_COLUMNS = (
    "source, file_key, path, device, inode, fingerprint, fingerprint_len, byte_offset, state, retired_reason, "
    "first_seen, updated"
)


class CheckpointRegistry:
    """The checkpoints table of the state database (see the module docstring for the rule)."""

    def __init__(self, conn: sqlite3.Connection, *, fingerprint_bytes: int = DEFAULT_FINGERPRINT_BYTES) -> None:
        if fingerprint_bytes < 1:
            raise StoreError("checkpoint fingerprint_bytes must be at least 1")
        self.conn = conn
        self.fingerprint_bytes = fingerprint_bytes

    # --- reading
    def get(self, source: str, file_key: str) -> Checkpoint | None:
        row = self.conn.execute(
            f"SELECT {_COLUMNS} FROM checkpoints WHERE source = ? AND file_key = ?", (source, file_key)
        ).fetchone()
        return _row(row) if row else None

    def all(self, source: str | None = None, *, active_only: bool = True) -> list[Checkpoint]:
        where, params = [], []
        if source is not None:
            where.append("source = ?")
            params.append(source)
        if active_only:
            where.append("state = 'active'")
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = self.conn.execute(f"SELECT {_COLUMNS} FROM checkpoints{clause} ORDER BY source, first_seen", params)
        return [_row(r) for r in rows]

    # --- deciding
    def open(
        self, source: str, path: Path | str, handle: BinaryIO | None = None, *, now: datetime | None = None
    ) -> Decision:
        """Decide where to read ``path`` from (resume or start at 0), recording a new file at once."""
        ident = identify(path, handle, fingerprint_bytes=self.fingerprint_bytes)
        at = now or utcnow()
        where = str(path)
        with transaction(self.conn):
            same_inode = self._active(source, "device = ? AND inode = ?", (ident.device, ident.inode))
            for cp in same_inode:
                if ident.size < cp.offset:
                    self._retire(cp, f"truncated: {ident.size} bytes, checkpoint at {cp.offset}", at)
                    return self._start(source, ident, where, at, f"{where} was truncated; reading it again from 0")
                if ident.fingerprint(cp.fingerprint_len) == cp.fingerprint and len(ident.head) >= cp.fingerprint_len:
                    return self._resume(cp, ident, where, at)
                self._retire(cp, "replaced: same device and inode, different first bytes", at)
                return self._start(source, ident, where, at, f"{where} was replaced in place (or its inode reused)")
            at_path = self._active(source, "path = ?", (where,))
            if at_path:
                new = self._start(source, ident, where, at, f"a different file now has the name {where} (rotated)")
                # The latest file to hold the name; older unfinished ones are still in all(source).
                return Decision(new.action, new.offset, new.reason, new.checkpoint, previous=at_path[-1])
            return self._start(source, ident, where, at, f"new file {where}")

    def locate(self, checkpoint: Checkpoint, candidates: Iterable[Path | str]) -> Path | None:
        """Which of ``candidates`` (e.g. ``mysql.log.1``) is the file of ``checkpoint`` now, by identity."""
        for candidate in candidates:
            try:
                st = os.stat(candidate)
            except OSError:
                continue
            if (st.st_dev, st.st_ino) != (checkpoint.device, checkpoint.inode):
                continue
            try:
                ident = identify(candidate, fingerprint_bytes=self.fingerprint_bytes)
            except StoreError:
                continue
            if ident.fingerprint(checkpoint.fingerprint_len) == checkpoint.fingerprint:
                return Path(candidate)
        return None

    # --- writing
    def commit(self, marks: Mark | Sequence[Mark], *, now: datetime | None = None) -> int:
        """Advance checkpoints to confirmed marks, in one transaction; returns how many rows moved.

        A mark behind the stored offset is ignored (a late duplicate ack);
        a mark for an unknown checkpoint is an error (a reader bug).
        """
        items = [marks] if isinstance(marks, Mark) else list(marks)
        best: dict[tuple[str, str], int] = {}
        for m in items:
            if m.offset < 0:
                raise StoreError(f"checkpoint {m.source}/{m.file_key}: offset {m.offset} is negative")
            key = (m.source, m.file_key)
            best[key] = max(best.get(key, 0), m.offset)
        stamp = to_db_time(now or utcnow())
        moved = 0
        with transaction(self.conn):
            for (source, file_key), offset in best.items():
                if self.get(source, file_key) is None:
                    raise StoreError(f"no checkpoint {file_key} for source '{source}'")
                cur = self.conn.execute(
                    "UPDATE checkpoints SET byte_offset = ?, updated = ? "
                    "WHERE source = ? AND file_key = ? AND byte_offset < ?",
                    (offset, stamp, source, file_key, offset),
                )
                moved += cur.rowcount
        return moved

    def retire(self, checkpoint: Checkpoint, reason: str, *, now: datetime | None = None) -> None:
        """The follower is done with a file (read to its end after rotation, or gone)."""
        with transaction(self.conn):
            self._retire(checkpoint, reason, now or utcnow())

    # --- internals (inside a transaction)
    def _active(self, source: str, cond: str, params: tuple[object, ...]) -> list[Checkpoint]:
        rows = self.conn.execute(
            f"SELECT {_COLUMNS} FROM checkpoints WHERE source = ? AND state = 'active' AND {cond} ORDER BY first_seen",
            (source, *params),
        )
        return [_row(r) for r in rows]

    def _resume(self, cp: Checkpoint, ident: FileIdentity, where: str, at: datetime) -> Decision:
        fp, fp_len = cp.fingerprint, cp.fingerprint_len
        if fp_len < len(ident.head):  # the file has grown: fingerprint more of it
            fp, fp_len = ident.fingerprint(), len(ident.head)
        self.conn.execute(
            "UPDATE checkpoints SET path = ?, fingerprint = ?, fingerprint_len = ?, updated = ? "
            "WHERE source = ? AND file_key = ?",
            (where, fp, fp_len, to_db_time(at), cp.source, cp.file_key),
        )
        reason = f"same file, resuming at byte {cp.offset}"
        if cp.path != where:
            reason = f"{cp.path} was renamed to {where}; resuming at byte {cp.offset}"
        updated = self.get(cp.source, cp.file_key)
        assert updated is not None
        return Decision(Action.RESUME, cp.offset, reason, updated)

    def _start(self, source: str, ident: FileIdentity, where: str, at: datetime, reason: str) -> Decision:
        stamp = to_db_time(at)
        key = uuid.uuid4().hex[:16]
        self.conn.execute(
            f"INSERT INTO checkpoints ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, 0, 'active', NULL, ?, ?)",
            (source, key, where, ident.device, ident.inode, ident.fingerprint(), len(ident.head), stamp, stamp),
        )
        cp = self.get(source, key)
        assert cp is not None
        return Decision(Action.START, 0, reason, cp)

    def _retire(self, cp: Checkpoint, reason: str, at: datetime) -> None:
        self.conn.execute(
            "UPDATE checkpoints SET state = 'retired', retired_reason = ?, updated = ? "
            "WHERE source = ? AND file_key = ? AND state = 'active'",
            (reason, to_db_time(at), cp.source, cp.file_key),
        )


def _row(row: tuple[Any, ...]) -> Checkpoint:
    source, key, path, dev, ino, fp, fp_len, offset, state, reason, first, updated = row
    return Checkpoint(
        source=str(source),
        file_key=str(key),
        path=str(path),
        device=int(dev),
        inode=int(ino),
        fingerprint=str(fp),
        fingerprint_len=int(fp_len),
        offset=int(offset),
        active=state == "active",
        retired_reason=None if reason is None else str(reason),
        first_seen=from_db_time(str(first)),
        updated=from_db_time(str(updated)),
    )
