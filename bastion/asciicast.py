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


class TextSink(Protocol):
    def write(self, text: str, /) -> int: ...

    def flush(self) -> None: ...


class Writer:
    """Appends events to an open recording; one writer per session, flushed per event."""

    def __init__(self, fh: TextSink, header: Header, clock: Any = time.monotonic, autoflush: bool = True) -> None:
        self._fh = fh
        self._autoflush = autoflush
        self._clock = clock
        self._start = clock()
        self._decoders = {code: codecs.getincrementaldecoder("utf-8")("replace") for code in ("o", "i")}
        self.raw_bytes = {"o": 0, "i": 0}
        fh.write(json.dumps(header.to_json(), ensure_ascii=False) + "\n")
        fh.flush()

    def _event(self, code: str, data: str) -> None:
        at = round(self._clock() - self._start, 6)
        self._fh.write(json.dumps([at, code, data], ensure_ascii=False) + "\n")
        if self._autoflush:
            self._fh.flush()

    def flush(self) -> None:
        self._fh.flush()

    def output(self, data: bytes) -> None:
        self._stream("o", data)

    def input(self, data: bytes) -> None:
        self._stream("i", data)

    def _stream(self, code: str, data: bytes) -> None:
        self.raw_bytes[code] += len(data)
        text = self._decoders[code].decode(data)
        if text:
            self._event(code, text)

    def resize(self, width: int, height: int) -> None:
        self._event("r", f"{width}x{height}")

    def marker(self, label: str) -> None:
        self._event("m", label)

    def close(self) -> None:
        for code, decoder in self._decoders.items():
            tail = decoder.decode(b"", final=True)
            if tail:
                self._event(code, tail)
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
