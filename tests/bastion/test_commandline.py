"""Interactive command reconstruction: the keys model, and the echo model against a real bash."""

from __future__ import annotations

import os
import pty
import select
import shutil
import time

import pytest

from bastion.commandline import CommandTracker, Line


def lines(tracker: CommandTracker, *chunks: bytes) -> list[Line]:
    out: list[Line] = []
    for chunk in chunks:
        out.extend(line for _, line in tracker.input(chunk) if line is not None)
    return out


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (b"ls -l\r", "ls -l"),
        (b"rm -rf /tmpx\x7f\r", "rm -rf /tmp"),
        (b"echo secret\x15whoami\r", "whoami"),
        (b"cat /etc/passwd /etc/shadow\x17\x17/etc/hosts\r", "cat /etc/hosts"),
        (b"ho\x01ec\x05stname\r", "echostname"),
        (b"abc\x1b[D\x1b[DX\r", "aXbc"),
        (b"abc\x1b[H\x1b[3~\r", "bc"),
        (b"sudo reboot\x03\rid\r", "id"),
        ("echo 患者\r".encode(), "echo 患者"),
    ],
)
def test_keys_model(keys, expected):
    got = lines(CommandTracker(), keys)
    assert [line.text for line in got] == [expected]
    assert got[0].source == "keys"


def test_multiline_paste_gives_one_line_each():
    tracker = CommandTracker()
    got = lines(tracker, b"\x1b[200~uptime\rwhoami\rdf -h\x1b[201~\r")
    assert [line.text for line in got] == ["uptime", "whoami", "df -h"]


def test_escape_sequence_cut_between_chunks():
    tracker = CommandTracker()
    got = lines(tracker, b"abc\x1b[", b"D\x1b", b"[DX\r")
    assert [line.text for line in got] == ["aXbc"]


def test_enter_is_the_last_byte_of_its_piece():
    pieces = CommandTracker().input(b"id\rls")
    assert pieces[0] == (b"id\r", Line("id", "keys"))
    assert pieces[1] == (b"ls", None)


def test_huge_output_without_newline_is_bounded():
    tracker = CommandTracker()
    tracker.output(b"x" * 5_000_000)
    tracker.output(b"\r\n$ ")
    tracker.input(b"\x1b[A")  # history: falls back to echo
    tracker.output(b"echo hi")
    assert lines(tracker, b"\r") == [Line("echo hi", "echo")]


def _bash_session(tracker: CommandTracker, keystrokes: list[bytes]) -> list[Line]:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash not installed")
    pid, fd = pty.fork()
    if pid == 0:  # child: an interactive bash with a known prompt, no rc files
        os.environ.update({"TERM": "xterm", "PS1": "prompt$ ", "HISTFILE": "/dev/null", "INPUTRC": "/dev/null"})
        os.execv(bash, [bash, "--norc", "--noprofile", "-i"])
    got: list[Line] = []

    def pump(until: float) -> None:
        while time.monotonic() < until:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if ready:
                try:
                    data = os.read(fd, 65536)
                except OSError:
                    return
                tracker.output(data)

    try:
        pump(time.monotonic() + 1.0)
        for keys in keystrokes:
            for piece, line in tracker.input(keys):
                os.write(fd, piece)
                if line is not None:
                    got.append(line)
            pump(time.monotonic() + 0.4)
    finally:
        os.write(fd, b"exit\r")
        pump(time.monotonic() + 0.3)
        os.waitpid(pid, 0)
    return got


def test_history_recall_and_completion_from_a_real_bash(tmp_path):
    (tmp_path / "patient_records_2026.csv").write_text("x")
    tracker = CommandTracker()
    got = _bash_session(
        tracker,
        [
            f"cd {tmp_path}\r".encode(),
            b"echo first-command\r",
            b"\x1b[A",  # up arrow: recall "echo first-command"
            b"\x7f\x7f\x7f\x7f\x7f\x7f\x7fsecond\r",
            b"cat patient_rec\t",  # completion fills in the file name
            b"\r",
        ],
    )
    texts = [(line.text, line.source) for line in got]
    assert texts[0] == (f"cd {tmp_path}", "keys")
    assert texts[1] == ("echo first-command", "keys")
    assert texts[2] == ("echo first-second", "echo")
    assert texts[3] == ("cat patient_records_2026.csv", "echo")
