"""Session recordings in asciicast v2, the format asciinema and its players read.

A recording is one header line (JSON object: version 2, width, height,
timestamp, env, title) followed by one JSON array per event: ``[seconds since
start, code, data]`` with code ``o`` (output), ``i`` (input), ``r`` (resize,
data ``"COLSxROWS"``) or ``m`` (marker). koko and ContainerSSH record the same
way, so exports play in any standard player.

Terminal output arrives as bytes cut anywhere, also inside a UTF-8 sequence:
an incremental decoder per stream carries the tail of a cut character to the
next chunk, so nothing is mangled at chunk boundaries. Bytes that are not UTF-8
at all (a binary dumped to the terminal) become U+FFFD, as in asciinema itself;
the byte count of the raw stream is kept in the session's metadata.
"""

from __future__ import annotations

import codecs
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from netguard.errors import NetGuardError

EVENT_CODES = ("o", "i", "r", "m")


class RecordingError(NetGuardError):
    """A recording file is not valid asciicast v2."""


@dataclass(frozen=True)
class Header:
    width: int
    height: int
    timestamp: float
    title: str = ""
    env: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "version": 2,
            "width": self.width,
            "height": self.height,
            "timestamp": int(self.timestamp),
        }
        if self.title:
            doc["title"] = self.title
        if self.env:
            doc["env"] = self.env
        return doc


@dataclass(frozen=True)
class Event:
    at: float
    code: str
    data: str


class BytesSink(Protocol):
    def write(self, data: bytes, /) -> int: ...

    def flush(self) -> None: ...


# JSON's escapes for the characters it requires escaped (as Python's json writes them with
# ensure_ascii=False): the quote, the backslash and the C0 controls.
_SHORT_ESCAPES = (
    (b"\\", b"\\\\"),
    (b'"', b'\\"'),
    (b"\n", b"\\n"),
    (b"\r", b"\\r"),
    (b"\t", b"\\t"),
    (b"\x08", b"\\b"),
    (b"\x0c", b"\\f"),
    (b"\x1b", b"\\u001b"),  # not a short escape, but terminal output is full of it
)
_OTHER_C0 = re.compile(rb"[\x00-\x07\x0b\x0e-\x1a\x1c-\x1f]")
_OTHER_C0_BYTES = bytes([*range(0x00, 0x08), 0x0B, *range(0x0E, 0x1B), *range(0x1C, 0x20)])


def json_string_body(utf8: bytes) -> bytes:
    """The inside of a JSON string for valid UTF-8 ``utf8``, byte for byte what ``json.dumps``
    (ensure_ascii=False) writes, but by ``bytes.replace`` passes instead of a per-character
    encoder: about 10x faster on terminal output, which is most of a session's recording cost."""
    for raw, escaped in _SHORT_ESCAPES:
        if raw in utf8:
            utf8 = utf8.replace(raw, escaped)
    # bytes.translate finds them at memory speed; the regex only runs when there are some.
    if len(utf8.translate(None, _OTHER_C0_BYTES)) != len(utf8):
        utf8 = _OTHER_C0.sub(lambda m: b"\\u%04x" % m.group()[0], utf8)
    return utf8


def _split_incomplete(data: bytes) -> tuple[bytes, bytes]:
    """``data`` less a UTF-8 sequence its last bytes begin but do not finish, and that tail."""
    for back in (1, 2, 3):
        if len(data) < back:
            break
        byte = data[-back]
        if byte & 0xC0 == 0x80:
            continue  # a continuation byte: its lead is further back
        if byte >= 0xC0:
            need = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            if need > back:
                return data[:-back], data[-back:]
        break
    return data, b""


class Writer:
    """Appends events to an open recording (a binary file); one writer per session.

    Output and input arrive as bytes cut anywhere: the valid UTF-8 part of each
    piece is escaped straight into the JSON line (:func:`json_string_body`), and
    an incomplete sequence at its end waits for the next piece. Bytes that are
    not UTF-8 go through an incremental decoder that writes U+FFFD for them.
    """

    def __init__(self, fh: BytesSink, header: Header, clock: Any = time.monotonic, autoflush: bool = True) -> None:
        self._fh = fh
        self._autoflush = autoflush
        self._clock = clock
        self._start = clock()
        self._tails = {"o": b"", "i": b""}
        self.raw_bytes = {"o": 0, "i": 0}
        fh.write(json.dumps(header.to_json(), ensure_ascii=False).encode("utf-8") + b"\n")
        fh.flush()

    def _line(self, code: str, body: bytes) -> None:
        at = round(self._clock() - self._start, 6)
        # join, not bytes %-formatting: the latter copies a large body ~50x slower (6 ms per MiB).
        self._fh.write(b"".join((b"[", repr(float(at)).encode(), b', "', code.encode(), b'", "', body, b'"]\n')))
        if self._autoflush:
            self._fh.flush()

    def _event(self, code: str, data: str) -> None:
        self._line(code, json_string_body(data.encode("utf-8")))

    def flush(self) -> None:
        self._fh.flush()

    def output(self, data: bytes) -> None:
        self._stream("o", data)

    def input(self, data: bytes) -> None:
        self._stream("i", data)

    def _stream(self, code: str, data: bytes) -> None:
        self.raw_bytes[code] += len(data)
        if not self._tails[code] and data.isascii():
            # The common case, checked at memory speed: nothing to decode, nothing to carry over.
            self._line(code, json_string_body(data))
            return
        pending = self._tails[code] + data if self._tails[code] else data
        try:
            _, used = codecs.utf_8_decode(pending, "strict", False)
        except UnicodeDecodeError:
            # Not UTF-8 (a binary on the terminal): replace what is invalid, as asciinema does,
            # keeping a sequence cut at the end for the next piece.
            body, self._tails[code] = _split_incomplete(pending)
            if body:
                self._event(code, body.decode("utf-8", "replace"))
            return
        self._tails[code] = pending[used:]
        if used:
            self._line(code, json_string_body(pending[:used] if used < len(pending) else pending))

    def resize(self, width: int, height: int) -> None:
        self._event("r", f"{width}x{height}")

    def marker(self, label: str) -> None:
        self._event("m", label)

    def close(self) -> None:
        for code, tail in self._tails.items():
            if tail:
                self._event(code, tail.decode("utf-8", "replace"))
                self._tails[code] = b""
        self._fh.flush()


def read(path: Path) -> tuple[Header, Iterator[Event]]:
    """The header, and the events lazily; a malformed line raises with its number."""
    fh = path.open(encoding="utf-8", errors="strict")
    try:
        first = fh.readline()
        header = _header(json.loads(first), path)
    except (ValueError, UnicodeDecodeError):
        fh.close()
        raise RecordingError(f"{path}:1: not an asciicast v2 header") from None
    return header, _events(fh, path)


def _header(doc: Any, path: Path) -> Header:
    if not isinstance(doc, dict) or doc.get("version") != 2:
        raise RecordingError(f"{path}:1: not an asciicast v2 header")
    try:
        env = doc.get("env") or {}
        return Header(
            int(doc["width"]),
            int(doc["height"]),
            float(doc.get("timestamp", 0)),
            str(doc.get("title", "")),
            {str(k): str(v) for k, v in env.items()},
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        raise RecordingError(f"{path}:1: asciicast header lacks width/height") from None


def _events(fh: IO[str], path: Path) -> Iterator[Event]:
    with fh:
        for number, line in enumerate(fh, start=2):
            if not line.strip():
                continue
            try:
                at, code, data = json.loads(line)
                if code not in EVENT_CODES or not isinstance(data, str):
                    raise ValueError
                yield Event(float(at), code, data)
            except (ValueError, TypeError):
                raise RecordingError(f"{path}:{number}: not an asciicast event") from None


def paced(
    events: Iterator[Event], speed: float = 1.0, idle_limit: float | None = None
) -> Iterator[tuple[float, Event]]:
    """Events with the delay to wait before each: divided by ``speed``, pauses capped at ``idle_limit``."""
    if speed <= 0:
        raise RecordingError("replay speed must be above 0")
    last = 0.0
    for event in events:
        gap = max(0.0, event.at - last)
        last = event.at
        if idle_limit is not None:
            gap = min(gap, idle_limit)
        yield gap / speed, event
