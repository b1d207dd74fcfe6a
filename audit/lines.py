"""Reading a log as numbered lines with byte offsets, in constant memory.

Logs are read as bytes so offsets are exact byte positions (an event id is
derived from source and offset, and a follower resumes from an offset). Each
line is decoded as UTF-8 on its own; a line that is not valid UTF-8 or holds
NUL bytes (binary garbage, a torn write) is handed back undecoded for the
parser to report. One line is never read past :data:`MAX_LINE` bytes: a longer
line is reported and skipped, so a corrupt file cannot exhaust memory.
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


def read_lines(stream: BinaryIO, max_line: int = MAX_LINE) -> Iterator[Line]:
    offset = 0
    number = 0
    readline = stream.readline
    while True:
        raw = readline(max_line)
        if not raw:
            return
        number += 1
        start = offset
        offset += len(raw)
        if len(raw) >= max_line and not raw.endswith(b"\n"):
            # Swallow the rest of the overlong line without keeping it.
            while True:
                more = readline(max_line)
                offset += len(more)
                if not more or more.endswith(b"\n"):
                    break
            yield Line(number, start, None, f"line longer than {max_line} bytes, skipped", raw[:_EXCERPT])
            continue
        if raw.endswith(b"\n"):
            raw = raw[:-2] if raw.endswith(b"\r\n") else raw[:-1]
        if b"\x00" in raw:
            yield Line(number, start, None, "NUL bytes (binary data?)", raw[:_EXCERPT])
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield Line(number, start, None, f"not UTF-8 at byte {exc.start} (binary data?)", raw[:_EXCERPT])
            continue
        yield Line(number, start, text)


def visible(text: str | bytes, limit: int = _EXCERPT) -> str:
    """An excerpt safe to print: control characters and undecodable bytes shown as escapes."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "backslashreplace")
    cut = text[:limit]
    out = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in cut)
    return out + ("…" if len(text) > limit else "")
