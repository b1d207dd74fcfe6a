"""Sessions as records: start and end rows, the recording chain, and its verification.

When a session ends, the SHA-256 of its finished recording enters a keyed
hash chain (:mod:`netguard.hashchain`, context ``bastion-recordings``, the
same key as the action journal). ``verify`` re-reads every finished recording
and walks the chain: a recording edited, truncated or deleted after the fact
no longer matches its link, and a link removed or edited breaks the chain;
either way the session is named.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from netguard.errors import NetGuardError
from netguard.hashchain import GENESIS, ChainCheck, ChainKey, Link, link_digest, verify_links
from netguard.store.codec import canonical_json, opt_from_db_time, to_db_time, utcnow
from netguard.store.db import transaction

CHAIN_CONTEXT = "bastion-recordings"


@dataclass(frozen=True)
class SessionRecord:
    id: str
    user: str
    target: str
    account: str
    source_ip: str
    kind: str
    command: str | None
    started: datetime
    ended: datetime | None
    exit_status: int | None
    bytes_in: int
    bytes_out: int
    recording: str | None
    recording_sha256: str | None
    killed_by: str | None


@dataclass(frozen=True)
class RecordingProblem:
    session_id: str
    problem: str


@dataclass(frozen=True)
class VerifyReport:
    chain: ChainCheck
    recordings: int
    problems: tuple[RecordingProblem, ...]

    @property
    def ok(self) -> bool:
        return self.chain.ok and not self.problems


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _payload(session_id: str, sha256: str) -> str:
    return canonical_json({"session": session_id, "sha256": sha256})


_COLUMNS = (
    "id, user, target, account, source_ip, kind, command, started, ended, exit_status, bytes_in, bytes_out, "
    "recording, recording_sha256, killed_by"
)


def _record(row: tuple[object, ...]) -> SessionRecord:
    return SessionRecord(
        id=str(row[0]),
        user=str(row[1]),
        target=str(row[2]),
        account=str(row[3]),
        source_ip=str(row[4]),
        kind=str(row[5]),
        command=None if row[6] is None else str(row[6]),
        started=opt_from_db_time(str(row[7])) or utcnow(),
        ended=opt_from_db_time(None if row[8] is None else str(row[8])),
        exit_status=None if row[9] is None else int(str(row[9])),
        bytes_in=int(str(row[10])),
        bytes_out=int(str(row[11])),
        recording=None if row[12] is None else str(row[12]),
        recording_sha256=None if row[13] is None else str(row[13]),
        killed_by=None if row[14] is None else str(row[14]),
    )


class SessionLog:
    def __init__(self, conn: sqlite3.Connection, key: ChainKey | None) -> None:
        self.conn = conn
        self.key = key

    def start(self, record: SessionRecord) -> None:
        with transaction(self.conn):
            self.conn.execute(
                f"INSERT INTO bastion_sessions ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    record.id,
                    record.user,
                    record.target,
                    record.account,
                    record.source_ip,
                    record.kind,
                    record.command,
                    to_db_time(record.started),
                    None,
                    None,
                    0,
                    0,
                    record.recording,
                    None,
                    None,
                ),
            )

    def finish(
        self,
        session_id: str,
        *,
        exit_status: int | None,
        bytes_in: int,
        bytes_out: int,
        killed_by: str | None,
        recording: Path | None,
        recording_sha256: str | None = None,
    ) -> str | None:
        """Close the row and chain the recording's hash in one transaction; returns the hash.

        ``recording_sha256`` is the hash the recorder computed while writing (no second read of
        a large file); without it the file is hashed here.
        """
        sha = recording_sha256
        if sha is None and recording is not None and recording.exists():
            sha = file_sha256(recording)
        with transaction(self.conn):
            self.conn.execute(
                "UPDATE bastion_sessions SET ended = ?, exit_status = ?, bytes_in = ?, bytes_out = ?, "
                "recording_sha256 = ?, killed_by = ? WHERE id = ?",
                (to_db_time(utcnow()), exit_status, bytes_in, bytes_out, sha, killed_by, session_id),
            )
            if sha is not None:
                last = self.conn.execute(
                    "SELECT seq, hash FROM bastion_recording_chain ORDER BY seq DESC LIMIT 1"
                ).fetchone()
                seq, prev = (int(last[0]) + 1, str(last[1])) if last else (1, GENESIS)
                digest = link_digest(prev, _payload(session_id, sha), self.key, CHAIN_CONTEXT)
                self.conn.execute(
                    "INSERT INTO bastion_recording_chain (seq, session_id, recording_sha256, prev_hash, hash, key_id) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (seq, session_id, sha, prev, digest, self.key.key_id if self.key else None),
                )
        return sha

    def get(self, session_id: str) -> SessionRecord:
        row = self.conn.execute(f"SELECT {_COLUMNS} FROM bastion_sessions WHERE id = ?", (session_id,)).fetchone()
        if row is None:
            matches = self.conn.execute(
                f"SELECT {_COLUMNS} FROM bastion_sessions WHERE id LIKE ? ORDER BY started", (session_id + "%",)
            ).fetchall()
            if len(matches) != 1:
                raise NetGuardError(f"no bastion session {session_id!r}" + (" (ambiguous)" if matches else ""))
            row = matches[0]
        return _record(row)

    def recent(self, limit: int = 100, *, open_only: bool = False) -> list[SessionRecord]:
        where = "WHERE ended IS NULL " if open_only else ""
        rows = self.conn.execute(
            f"SELECT {_COLUMNS} FROM bastion_sessions {where}ORDER BY started DESC LIMIT ?", (limit,)
        )
        return [_record(r) for r in rows]

    def _links(self) -> Iterator[tuple[Link, str]]:
        rows = self.conn.execute(
            "SELECT seq, session_id, recording_sha256, prev_hash, hash, key_id "
            "FROM bastion_recording_chain ORDER BY seq"
        )
        for seq, sid, sha, prev, digest, key_id in rows:
            yield Link(int(seq), str(prev), str(digest), _payload(str(sid), str(sha)), key_id), str(sid)

    def verify(self) -> VerifyReport:
        links = list(self._links())
        check = verify_links((link for link, _ in links), key=self.key, context=CHAIN_CONTEXT, noun="recording")
        chained = {sid for _, sid in links}
        problems: list[RecordingProblem] = []
        if check.broken is not None:
            sid = next((s for link, s in links if link.seq == check.broken.seq), "?")
            problems.append(RecordingProblem(sid, f"chain link {check.broken.seq} {check.broken.problem}"))
        rows = self.conn.execute(
            "SELECT s.id, s.recording, c.recording_sha256 FROM bastion_sessions s "
            "LEFT JOIN bastion_recording_chain c ON c.session_id = s.id WHERE s.ended IS NOT NULL ORDER BY s.started"
        ).fetchall()
        count = 0
        for sid, recording, chained_sha in rows:
            if recording is None:
                continue
            count += 1
            path = Path(recording)
            if sid not in chained:
                problems.append(RecordingProblem(sid, "finished session has no link in the recording chain"))
            elif not path.exists():
                problems.append(RecordingProblem(sid, f"recording {path} was deleted"))
            elif file_sha256(path) != chained_sha:
                problems.append(RecordingProblem(sid, f"recording {path} was changed since the session ended"))
        return VerifyReport(check, count, tuple(problems))
