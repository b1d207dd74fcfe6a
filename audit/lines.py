"""Reading a log as numbered lines with byte offsets, in constant memory.

Logs are read as bytes so offsets are exact byte positions (an event id is
derived from source and offset, and a follower resumes from an offset). Each
line is decoded as UTF-8 on its own; a line that is not valid UTF-8 or holds
NUL bytes (binary garbage, a torn write) is handed back undecoded for the
parser to report. The file is read in blocks split on newlines (reading line
by line costs twice as much; a block with no NUL or CR byte, the usual case, skips
the per-line checks and only decodes); no line is kept past :data:`MAX_LINE` bytes: a
longer one is reported and skipped, so a corrupt file cannot exhaust memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO, NamedTuple

MAX_LINE = 64 * 1024 * 1024
_EXCERPT = 80


class Line(NamedTuple):
    """A NamedTuple rather than a dataclass: one is made per log line, and tuples are cheapest."""

    number: int  # 1-based
    offset: int  # byte offset of the first byte
    text: str | None  # decoded, without the line ending; None when not decodable
    problem: str | None = None  # why text is None
    raw: bytes = b""  # the start of an undecodable line, for the message


class Pause(bytes):
    """The type of :data:`PAUSE`, an empty block told apart from the end of the input by identity."""


# What a follower's stream returns from read() when the log has gone quiet (no new bytes for a while)
# instead of b"" (the end): read_lines yields IDLE for it and reads on. A parser that holds an entry
# (the last one, which might still get continuation lines) emits it then as complete for now, keeping
# its other state (connections, the last time written), so the follower need not start it again.
PAUSE = Pause()
IDLE = Line(0, -1, None, "the log went quiet")  # compared by identity; never a line of the log

new_tuple = tuple.__new__
if Line._fields != ("number", "offset", "text", "problem", "raw"):
    raise ImportError("audit.lines.Line's fields changed: update read_lines, which builds it positionally")


def decode_line(number: int, offset: int, raw: bytes, max_line: int = MAX_LINE) -> Line:
    """One line's bytes (without its newline) as a Line: decoded, or None with the problem."""
    if len(raw) >= max_line:
        return Line(number, offset, None, f"line longer than {max_line} bytes, skipped", raw[:_EXCERPT])
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    if b"\x00" in raw:
        return Line(number, offset, None, "NUL bytes (binary data?)", raw[:_EXCERPT])
    try:
        return Line(number, offset, raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return Line(number, offset, None, f"not UTF-8 at byte {exc.start} (binary data?)", raw[:_EXCERPT])


def read_lines(stream: BinaryIO, max_line: int = MAX_LINE, chunk: int = 1 << 20) -> Iterator[Line]:
    """Numbered lines of ``stream`` with byte offsets, read a block at a time.

    A line still open at the end of a block is kept in pieces until its newline
    arrives; once it reaches ``max_line`` bytes only its length is counted.
    """
    number = 0
    line_start = 0  # byte offset of the line being assembled
    pending: list[bytes] = []
    pending_len = 0
    overlong: bytes | None = None  # excerpt of an overlong line being skipped
    clean_block = chunk < max_line  # a whole line inside one block is then never overlong
    while True:
        block = stream.read(chunk)
        if not block:
            if block is PAUSE:
                # Only ever at a line's end (the follower hands out whole lines): nothing is pending.
                yield IDLE
                continue
            break
        pieces = block.split(b"\n")
        tail = pieces.pop()
        if pieces:
            first = 0
            if pending or overlong is not None:
                number += 1
                head = pieces[0]
                total = pending_len + len(head)
                if overlong is not None:
                    yield Line(number, line_start, None, f"line longer than {max_line} bytes, skipped", overlong)
                else:
                    yield decode_line(number, line_start, b"".join(pending) + head, max_line)
                line_start += total + 1
                pending, pending_len, overlong = [], 0, None
                first = 1
            rest = pieces[first:] if first else pieces
            if clean_block and b"\x00" not in block and b"\r" not in block:
                # No NUL, no CR and every piece shorter than max_line: decoding is
                # the only check left (decode_line's other tests cannot fire).
                for raw in rest:
                    number += 1
                    try:
                        # tuple.__new__: a third of Line(...)'s cost (the NamedTuple's __new__ is Python code).
                        yield new_tuple(Line, (number, line_start, raw.decode("utf-8"), None, b""))
                    except UnicodeDecodeError:
                        yield decode_line(number, line_start, raw, max_line)
                    line_start += len(raw) + 1
            else:
                for raw in rest:
                    number += 1
                    yield decode_line(number, line_start, raw, max_line)
                    line_start += len(raw) + 1
        if tail:
            pending_len += len(tail)
            if overlong is None:
                pending.append(tail)
                if pending_len >= max_line:
                    overlong = b"".join(pending)[:_EXCERPT]
                    pending = []
    if pending or overlong is not None:
        number += 1
        if overlong is not None:
            yield Line(number, line_start, None, f"line longer than {max_line} bytes, skipped", overlong)
        else:
            yield decode_line(number, line_start, b"".join(pending), max_line)


def visible(text: str | bytes, limit: int = _EXCERPT) -> str:
    """An excerpt safe to print: control characters and undecodable bytes shown as escapes."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "backslashreplace")
    cut = text[:limit]
    out = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in cut)
    return out + ("…" if len(text) > limit else "")
