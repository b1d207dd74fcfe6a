"""Wildcard matching in time linear in the value's length, whatever the pattern.

A pattern is literal runs, ``?`` (one character) and ``*`` (any run). Split on
``*`` it is a list of segments, each of a fixed length (a ``?`` is one
character). A value matches ``S0*S1*...*Sk`` exactly when ``S0`` is its prefix,
``Sk`` its suffix (not overlapping ``S0``), and ``S1 .. Sk-1`` occur in that
order in between: taking the leftmost occurrence of each middle segment is
always right, because whatever a later segment could use, an earlier choice
leaves it more room. So there is no backtracking: each segment is looked for
once, left to right, with ``str.find`` (no ``?``) or a regular expression
without quantifiers (literals and ``.`` only, which cannot backtrack), and the
work is bounded by the value's length times the segment's length.

A backtracking regex such as ``.*a.*a.*b`` takes time cubic in the value's
length (518 s on one 2,000-character command line), holding the event store's
lock all the while; this is why the SQLite backend matches with this module.
Elasticsearch compiles the same patterns to automata, also linear.

Patterns cross the SQL boundary as text in Elasticsearch's wildcard syntax
(``\\*``, ``\\?``, ``\\\\`` are literal): :func:`pattern_text` writes it and
:func:`matcher` reads it back, once per distinct pattern (cached).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from netguard.events.query.syntax import Pattern, Wild


@dataclass(frozen=True)
class _Segment:
    """A run between two ``*``: fixed length; ``regex`` is None when it has no ``?``."""

    text: str
    regex: re.Pattern[str] | None

    @property
    def length(self) -> int:
        return len(self.text)

    def at(self, value: str, i: int) -> bool:
        if self.regex is None:
            return value.startswith(self.text, i)
        return self.regex.match(value, i) is not None

    def find(self, value: str, start: int, end: int) -> int:
        """The leftmost i >= start where the segment occurs within value[start:end], or -1."""
        if self.regex is None:
            return value.find(self.text, start, end)
        m = self.regex.search(value, start, end)
        return -1 if m is None else m.start()


@dataclass(frozen=True)
class Matcher:
    """A compiled pattern: its segments split on ``*``; ``fold`` lowers the value first."""

    segments: tuple[_Segment, ...]
    fold: bool

    def __call__(self, value: str) -> bool:
        if self.fold:
            value = value.lower()
        segs = self.segments
        first = segs[0]
        if len(segs) == 1:
            return len(value) == first.length and first.at(value, 0)
        last = segs[-1]
        end = len(value) - last.length
        if end < first.length or not first.at(value, 0) or not last.at(value, end):
            return False
        pos = first.length
        for seg in segs[1:-1]:
            if seg.length == 0:
                continue
            i = seg.find(value, pos, end)
            if i < 0:
                return False
            pos = i + seg.length
        return True


def pattern_text(pattern: Pattern, *, lower: bool = False) -> str:
    """The pattern in wildcard syntax: ``*``/``?`` are wildcards, ``\\`` escapes a literal ``*``, ``?``, ``\\``."""
    out = []
    for seg in pattern:
        if isinstance(seg, Wild):
            out.append(seg.value)
        else:
            out.append(re.sub(r"([*?\\])", r"\\\1", seg.lower() if lower else seg))
    return "".join(out)


def read_pattern(text: str) -> Pattern:
    """The inverse of :func:`pattern_text`."""
    parts: list[str | Wild] = []
    buf: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            buf.append(text[i + 1])
            i += 2
            continue
        if ch in "*?":
            if buf:
                parts.append("".join(buf))
                buf = []
            parts.append(Wild.STAR if ch == "*" else Wild.ONE)
        else:
            buf.append(ch)
        i += 1
    if buf:
        parts.append("".join(buf))
    return tuple(parts)


def compile_matcher(pattern: Pattern, *, anywhere: bool, fold: bool) -> Matcher:
    """``anywhere``: the pattern may occur anywhere in the value; ``fold``: ignore case (``str.lower``)."""
    groups: list[list[str | Wild]] = [[]]
    for seg in (Wild.STAR, *pattern, Wild.STAR) if anywhere else pattern:
        if seg is Wild.STAR:
            groups.append([])
        else:
            groups[-1].append(seg.lower() if fold and isinstance(seg, str) else seg)
    return Matcher(tuple(_segment(g) for g in groups), fold)


def _segment(items: list[str | Wild]) -> _Segment:
    text = "".join(x if isinstance(x, str) else "?" for x in items)
    if not any(x is Wild.ONE for x in items):
        return _Segment(text, None)
    regex = "".join(re.escape(x) if isinstance(x, str) else "." for x in items)
    return _Segment(text, re.compile(regex, re.DOTALL))


@functools.lru_cache(maxsize=512)
def matcher(text: str, anywhere: bool, fold: bool) -> Matcher:
    return compile_matcher(read_pattern(text), anywhere=anywhere, fold=fold)
