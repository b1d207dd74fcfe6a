"""The recorder thread: the hash of what it wrote, watchers that join mid-session, back-pressure, write errors."""

from __future__ import annotations

import hashlib
import itertools
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bastion import recorder as recorder_module
from bastion.asciicast import Header, Writer, read
from bastion.live import LiveSession
from bastion.recorder import Recorder


def _live(tmp_path: Path, cap: int = 1 << 30) -> LiveSession:
    live = LiveSession(
        "s1", "alice", "his-db01", "root", "127.0.0.1", "shell", datetime.now(UTC), tmp_path / "r" / "s1.cast"
    )
    live.max_recording_bytes = cap
    live.open_recording(80, 24, "alice root@his-db01", {"TERM": "xterm"})
    return live


def test_hash_is_of_the_file_as_written_and_events_keep_their_order(tmp_path: Path) -> None:
    live = _live(tmp_path)
    pieces = [f"line {i} 患者\r\n".encode() for i in range(2000)]
    for i, piece in enumerate(pieces):
        (live.output if i % 2 else live.input)(piece)
    live.resize(120, 40)
    sha = live.close_recording()
    data = live.recording.read_bytes()
    assert sha == hashlib.sha256(data).hexdigest()
    _, events = read(live.recording)
    got = list(events)
    assert [e.data for e in got if e.code in "io"] == [p.decode() for p in pieces]
    assert got[-1].code == "r"
    assert all(b.at >= a.at for a, b in itertools.pairwise(got))


def test_watcher_joining_mid_session_sees_everything_once(tmp_path: Path) -> None:
    live = _live(tmp_path)
    for i in range(500):
        live.output(f"before {i}\n".encode())
    so_far, q = live.watch()
    for i in range(500):
        live.output(f"after {i}\n".encode())
    live.close_recording()
    later: list[str] = []
    while (line := q.get(timeout=10)) is not None:
        later.append(line)
    assert so_far + "".join(later) == live.recording.read_text(encoding="utf-8")


def test_watch_after_the_end_gets_the_whole_file(tmp_path: Path) -> None:
    live = _live(tmp_path)
    live.output(b"done\r\n")
    live.close_recording()
    so_far, q = live.watch()
    assert so_far == live.recording.read_text(encoding="utf-8")
    assert q.get(timeout=5) is None


def test_cap_stops_recording_with_a_marker(tmp_path: Path) -> None:
    live = _live(tmp_path, cap=1000)
    for _ in range(50):
        live.output(b"x" * 100)
    live.close_recording()
    _, events = read(live.recording)
    got = list(events)
    assert sum(len(e.data) for e in got if e.code == "o") <= 1000
    assert got[-1].code == "m" and "recording stopped at 1000 bytes" in got[-1].data


class _SlowFile:
    """A file whose writes wait for a gate: the disk that cannot keep up."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.written = bytearray()

    def write(self, data: bytes) -> int:
        self.gate.wait()
        self.written += data
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


def test_a_slow_disk_holds_the_relay_back_instead_of_queueing_without_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recorder_module, "MAX_PENDING_BYTES", 64 * 1024)
    fh = _SlowFile()
    fh.gate.set()  # the header goes through
    rec = Recorder(tmp_path / "x.cast", fh, Header(80, 24, 0.0))  # type: ignore[arg-type]
    fh.gate.clear()
    submitted = threading.Event()

    def relay() -> None:
        for _ in range(100):
            rec.submit(lambda w: w.output(b"y" * 4096), 4096)
        submitted.set()

    thread = threading.Thread(target=relay, daemon=True)
    thread.start()
    # 400 KiB cannot all be queued behind a 64 KiB limit while the disk is stuck.
    assert not submitted.wait(1.0)
    fh.gate.set()
    assert submitted.wait(30)
    sha = rec.close()
    assert sha == hashlib.sha256(bytes(fh.written)).hexdigest()
    assert fh.written.count(b"y") == 100 * 4096


class _FullDisk(_SlowFile):
    full = False

    def write(self, data: bytes) -> int:
        if self.full:
            raise OSError(28, "No space left on device")
        self.written += data
        return len(data)


def test_a_write_error_reaches_the_relay(tmp_path: Path) -> None:
    fh = _FullDisk()
    rec = Recorder(tmp_path / "x.cast", fh, Header(80, 24, 0.0))  # type: ignore[arg-type]
    fh.full = True  # from now on every write fails
    rec.submit(lambda w: w.output(b"z" * 300_000), 300_000)
    rec.join()  # queued behind the failing write: once answered, the failure is known
    with pytest.raises(OSError, match="No space"):
        rec.submit(lambda w: w.output(b"z"), 1)
    assert rec.close() is None


def test_after_a_write_error_a_kill_still_ends_the_session(tmp_path: Path) -> None:
    live = _live(tmp_path)
    closed: list[str] = []
    live.on_kill(lambda: closed.append("channel"))
    disk = _FullDisk()
    disk.full = True
    assert live._recorder is not None
    live._recorder._fh = disk  # type: ignore[assignment]  # the disk fills up mid-session
    live.output(b"x" * 10_000)
    live.watch()  # answered after the failed write: the failure is known from here on
    live.kill("admin")  # its marker cannot be written, the session still ends
    assert closed == ["channel"] and live.killed_by == "admin"
    with pytest.raises(OSError, match="No space"):
        live.output(b"more")
    assert live.close_recording() is None


def test_a_lone_event_reaches_the_file_without_more_events_or_the_close(tmp_path: Path) -> None:
    # Events are batched (the recorder lingers for company), never held back until the next one.
    live = _live(tmp_path)
    live.output(b"only this\r\n")
    deadline = time.monotonic() + 10
    while b"only this" not in live.recording.read_bytes() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert b"only this" in live.recording.read_bytes()
    live.close_recording()


def test_a_burst_is_recorded_event_for_event_in_order(tmp_path: Path) -> None:
    live = _live(tmp_path)
    pieces = [bytes([65 + i % 26]) * (1000 + i) for i in range(3000)]  # ~5.5 MiB, past BATCH_BYTES
    for piece in pieces:
        live.output(piece)
    sha = live.close_recording()
    assert sha == hashlib.sha256(live.recording.read_bytes()).hexdigest()
    _, events = read(live.recording)
    assert [e.data.encode() for e in events] == pieces


def test_events_queued_while_a_burst_is_written_follow_it_without_a_second_linger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The recorder lingers once per burst. Lingering again for each later event held every event of
    # a steady stream back LINGER and woke the thread per event; with a long LINGER that shows as an
    # event never written until the close.
    monkeypatch.setattr(recorder_module, "LINGER", 600.0)
    path = tmp_path / "x.cast"
    rec = Recorder(path, path.open("wb"), Header(80, 24, 0.0))
    writing, release = threading.Event(), threading.Event()

    def first(w: Writer) -> None:
        writing.set()
        release.wait(30)
        w.output(b"first")

    rec.submit(first, recorder_module.BATCH_BYTES)  # a whole batch: written without lingering
    assert writing.wait(30)
    rec.submit(lambda w: w.output(b"second"), 6)  # queued while the burst is being written
    release.set()
    deadline = time.monotonic() + 30
    while b"second" not in path.read_bytes() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert b"first" in path.read_bytes() and b"second" in path.read_bytes()
    rec.close()
